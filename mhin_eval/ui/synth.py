"""The site page's "Against similar sites" tab: synthetic control, synthetic DiD and the robustness panel."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mhin_eval import charts_synth, donor_pools, synth_summary
from mhin_eval.analysis.results import AnalysisError
from mhin_eval.analysis.synth import METHOD_NAMES, SynthResult, synth
from mhin_eval.catalogue import Site
from mhin_eval.text import plain
from mhin_eval.ui import analyses, components, context


@st.cache_data(show_spinner="Building the synthetic comparison…", max_entries=64)
def _synth(version: int, project: str, site_id: str, method: str) -> SynthResult | str:
    cat = context.catalogue()
    site = cat.site(site_id)
    try:
        indicator, panel = donor_pools.donor_panel(cat, site, context.series(project, None, site.donor_pool.indicator))
        return synth(panel, unit="unit", time="period", value="value", treated=donor_pools.SITE_UNIT,
                     intervention=str(site.go_live), method=method)
    except AnalysisError as exc:
        return str(exc)


def _scale(est, unit: str) -> str:
    return f"difference, {unit}" if est is not None and est.scale == "difference" else "ratio (1 = no change)"


def against_similar_sites(project: str, site: Site) -> None:
    """Treated series against its synthetic control, the placebo gaps, the donor mix and every method's effect."""
    pool = site.donor_pool
    cat = context.catalogue()
    indicator = cat.indicator(project, pool.indicator)
    if pool.source == "demo" and not context.has_demo_data():
        st.info("This site's donor pool is the demo's synthetic donors, which fit the demo data only.")
        return
    version = context.data_version()
    results = {m: _synth(version, project, site.id, m) for m in ("sc", "sdid")}
    sc = results["sc"]
    if isinstance(sc, str):
        st.info(sc)
        return
    unit = f"per {indicator.rate_per:,.0f} {indicator.denominator}" if indicator.denominator else indicator.unit
    st.markdown(f"**{plain(indicator.label)}** at {plain(site.name)} against {len(sc.unit_weights)} similar "
                "organisations that had no such service (a synthetic control).")
    st.markdown(plain(synth_summary.weights_in_words(sc.unit_weights)))
    if analyses.counts().suppressed:
        st.caption("Charts of the monthly values are shown to the evaluation team only.")
    else:
        title = f"{indicator.label}: {site.name} and its synthetic comparison"
        components.chart(charts_synth.synth_chart(sc, title=title, y_title=unit.capitalize(), treated_name=site.name),
                        key=f"synth-{site.id}")
        components.chart(charts_synth.placebo_chart(sc, title="Is the gap unusual among similar sites?",
                                                   y_title=f"Gap, {unit}", treated_name=site.name),
                        key=f"synth-placebo-{site.id}")
        st.caption(plain(f"Placebo test: {site.name}'s gap after go-live, relative to its fit before, ranks with "
                         f"p = {sc.p_value:.2f} among the {len(sc.placebos) + 1} organisations."))
    components.show_warnings(sc.warnings)

    st.subheader("Robustness: the effect under every method")
    record = analyses.result_of_record(project, site.id, indicator.id)
    effects = []
    if record is not None:
        kind = "Controlled interrupted time series" if record.n_comparison else "Interrupted time series"
        effects.append(synth_summary.MethodEffect(f"{kind} (result of record)", record.estimate, record.quantity))
    for method, result in results.items():
        if isinstance(result, SynthResult):
            effects.append(synth_summary.MethodEffect(METHOD_NAMES[method].capitalize(), result.effect,
                                                      f"average difference after go-live, {unit}"))
    st.table(components.plain_table(pd.DataFrame([{
        "Method": e.method,
        "Effect": "—" if e.estimate is None else f"{e.estimate.estimate:.3g}",
        "95% CI": "—" if e.estimate is None else f"{e.estimate.ci_low:.3g} to {e.estimate.ci_high:.3g}",
        "What the number is": e.quantity,
    } for e in effects]).set_index("Method")))
    st.markdown(plain(synth_summary.agreement(effects)))
    box = components.details_on_demand("Methods and sensitivity checks", key=f"synth-{site.id}")
    if box.open:
        with box:
            for method, result in results.items():
                if isinstance(result, str):
                    st.info(result)
                    continue
                st.markdown(result.methods)
                if result.placebo_in_time is not None:
                    st.markdown(f"Placebo in time ({METHOD_NAMES[method]}): with a pretend go-live in "
                                f"{result.placebo_in_time.go_live} the estimate is "
                                f"{result.placebo_in_time.estimate:.3g} (no effect expected).")
                if result.leave_one_out:
                    low = min(lo.estimate for lo in result.leave_one_out)
                    high = max(lo.estimate for lo in result.leave_one_out)
                    st.markdown(f"Leaving out one weighted donor at a time: {low:.3g} to {high:.3g}.")
