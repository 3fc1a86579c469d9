"""The site page's "Against similar sites" tab: synthetic control, synthetic DiD and the robustness panel, all
read from the site's synthetic-control record (mhin_eval.synth_record), as the deck and report read it."""

from __future__ import annotations

import streamlit as st

from mhin_eval import charts_synth, synth_record, synth_summary
from mhin_eval.catalogue import Site
from mhin_eval.text import plain
from mhin_eval.ui import analyses, components


def robustness_panel(project: str, site: Site, rec: synth_record.SynthRecord) -> None:
    """Every method's effect side by side (the ITS result of record first) and whether they agree."""
    st.subheader("Robustness: the effect under every method")
    effects = synth_record.method_effects(analyses.result_of_record(project, site.id, rec.indicator), rec)
    st.table(components.plain_table(synth_summary.robustness_table(effects).set_index("Method")))
    st.markdown(plain(synth_summary.agreement(effects)))


def against_similar_sites(project: str, site: Site) -> None:
    """Treated series against its synthetic control, the placebo gaps, the donor mix and every method's effect."""
    rec = analyses.synth_of_record(project, site.id)
    if rec is None:
        st.info(f"{plain(site.name)} has no comparison with similar sites.")
        return
    sc = rec.effect("sc")
    if rec.reason or sc is None or sc.estimate is None:
        st.info(plain(rec.reason or (sc.sentence if sc else "No synthetic control could be built.")))
        return
    st.markdown(f"**{plain(rec.label)}** at {plain(rec.site_name)} against {len(rec.donors)} similar "
                "organisations that had no such service (a synthetic control).")
    if rec.synthetic_donors:
        st.caption("The donors are the demo's synthetic series, invented to test the dashboard.")
    st.markdown(f"**{plain(sc.sentence)}**")
    st.markdown(plain(sc.weights_text))
    if rec.path is None:
        st.caption("Charts of the monthly values are shown to the evaluation team only.")
    else:
        title = f"{rec.label}: {rec.site_name} and its synthetic comparison"
        axis, subtitle = charts_synth.axis_titles(rec.unit)
        components.chart(charts_synth.synth_chart(rec.path, title=title, y_title=axis, subtitle=subtitle,
                                                  treated_name=rec.site_name), key=f"synth-{site.id}")
        components.chart(charts_synth.placebo_chart(rec.path, title="Is the gap unusual among similar sites?",
                                                    y_title=f"Gap, {axis.lower()}", subtitle=subtitle,
                                                    treated_name=rec.site_name), key=f"synth-placebo-{site.id}")
    st.caption(plain(f"Placebo test: {rec.site_name}'s gap after go-live, relative to its fit before, ranks with "
                     f"p = {sc.estimate.p_value:.2f} among the {len(rec.donors) + 1} organisations."))
    components.show_warnings(sc.warnings)

    robustness_panel(project, site, rec)
    box = components.details_on_demand("Methods and sensitivity checks", key=f"synth-{site.id}")
    if box.open:
        with box:
            for effect in rec.effects:
                if effect.estimate is None:
                    st.info(plain(effect.sentence))
                    continue
                st.markdown(plain(effect.methods))
                if effect.placebo_in_time is not None:
                    go_live, estimate = effect.placebo_in_time
                    st.markdown(f"Placebo in time ({effect.method_name.lower()}): with a pretend go-live in "
                                f"{go_live} the estimate is {estimate:.3g} (no effect expected).")
                if effect.leave_one_out is not None:
                    low, high = effect.leave_one_out
                    st.markdown(f"Leaving out one weighted donor at a time: {low:.3g} to {high:.3g}.")
                if effect.method != "sc":  # the synthetic control's are shown above
                    components.show_warnings(effect.warnings)
