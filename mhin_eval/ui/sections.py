"""Page sections chosen by indicator metadata: uptake funnel, equity by group, results by attribute;
and the site's facilitators and barriers beside its outcomes."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mhin_eval import charts, evaluate
from mhin_eval.access.suppression import suppress_table
from mhin_eval.analysis.findings import findings_frame
from mhin_eval.catalogue import Indicator, Site
from mhin_eval.text import plain
from mhin_eval.ui import analyses, components, context, state
from mhin_eval.ui import sustainability as implementation
from mhin_eval.wording import change_phrase, fmt_estimate

GROUP_LABELS = {"delivery_mode": "delivery mode", "ethnicity": "ethnic group"}


def funnel_section(project: str, sites: tuple[Site, ...]) -> None:
    st.caption("Families at each step since each site's go-live, in total and by delivery mode.")
    columns = st.columns(len(sites))
    for column, site in zip(columns, sites, strict=True):
        with column:
            stages = analyses.funnel(project, site.id)
            components.chart(charts.funnel_chart(stages, title=f"Uptake since go-live: {site.name}"),
                            key=f"funnel-{project}-{site.id}")


def equity_section(project: str, sites: tuple[Site, ...], indicators: list[Indicator]) -> None:
    cat = context.catalogue()
    indicator_id = state.choose("Restrictive practice", [i.id for i in indicators], "equity_indicator",
                                format_func=lambda i: cat.indicator(project, i).label, horizontal=True)
    indicator = cat.indicator(project, indicator_id)
    reference = indicator.reference_group
    window = st.radio("Period", list(evaluate.EQUITY_WINDOWS), horizontal=True, key=f"equity-window-{project}",
                      format_func=lambda w: evaluate.EQUITY_WINDOWS[w].capitalize())
    st.caption(
        f"Crude annual rates per {indicator.rate_per:,.0f} population with exact Poisson 95% intervals, and rate "
        f"ratios against the {plain(reference)} group."
    )
    columns = st.columns(len(sites))
    for column, site in zip(columns, sites, strict=True):
        with column:
            tables = analyses.equity_tables(project, site.id, indicator.id, reference, window)
            if isinstance(tables, str):
                st.info(plain(tables))
                continue
            rates, ratios, words = tables
            st.caption(f"{plain(site.name)}: {plain(words)}.")
            components.chart(
                charts.group_rates_chart(rates.table, title=f"{indicator.label} rates: {site.name}",
                                         unit=f"per {indicator.rate_per:,.0f}", reference=reference),
                key=f"rates-{project}-{site.id}", summary=f"{site.name}: {words}.")
            components.chart(charts.rate_ratio_chart(ratios.table, title=f"Rate ratio vs {reference}: {site.name}",
                                                    reference=reference),
                            key=f"ratios-{project}-{site.id}")
            components.show_warnings(rates.warnings + ratios.warnings)
            groups = [g for g in ratios.table["group"] if g != reference]
            if groups:
                focus = "Black or Black British" if "Black or Black British" in groups else groups[0]
                change = analyses.equity_change(project, site.id, indicator.id, reference, focus)
                if isinstance(change, str):
                    st.info(plain(change))
                elif change.level_change is not None:
                    st.markdown(
                        f"**At go-live, the {plain(focus)} vs {plain(reference)} rate ratio "
                        f"{plain(change_phrase(change.level_change))}** "
                        f"(ratio of rate ratios, interrupted time series with a group interaction)."
                    )
                    components.show_warnings(change.warnings)


def stratified_section(project: str, sites: tuple[Site, ...], measure: Indicator, breakdown: str) -> None:
    """Before/after per group of an attribute (e.g. delivery mode); in a suppressed view the numbers of
    people are suppressed with their site total as the margin, and a hidden group gets no estimate."""
    group_label = GROUP_LABELS.get(breakdown, breakdown).capitalize()
    st.subheader(plain(f"{measure.label} by {GROUP_LABELS.get(breakdown, breakdown)}"))
    records = []
    for site in sites:
        results = analyses.stratified_prepost(project, site.id, measure.id, breakdown)
        for group, result in results.items():
            records.append({"Site": site.name, group_label: group, "Pairs": result.n_pairs,
                            "Missing follow-up": result.n_missing_followup,
                            "estimate": fmt_estimate(result.mean_difference), "Warnings": " ".join(result.warnings)})
        if results:
            records.append({"Site": site.name, group_label: "All", "estimate": "", "Warnings": "",
                            **{c: sum(r[c] for r in records if r["Site"] == site.name) for c in ("Pairs", "Missing follow-up")}})
    if not records:
        st.info(plain(f"No {measure.label} records carry a {GROUP_LABELS.get(breakdown, breakdown)}."))
        return
    table = pd.DataFrame(records)
    shown = analyses.counts()
    if shown.suppressed:
        table = suppress_table(table, ["Pairs", "Missing follow-up"], rule=shown.rule, total_row=(group_label, "All"),
                               by=["Site"])
        table = table.assign(
            estimate=table["estimate"].mask(table["Pairs"].isna(), "not shown (small group)"),
            Warnings=table["Warnings"].map(shown.text),
            **{"Pairs": table["Pairs_shown"], "Missing follow-up": table["Missing follow-up_shown"]},
        )
        st.caption(shown.rule.note)
    columns = ["Site", group_label, "Pairs", "Missing follow-up", "estimate", "Warnings"]
    st.dataframe(table[columns].rename(columns={"estimate": f"Mean difference ({measure.unit})"}), hide_index=True)


def _finding_line(row, spec) -> str:
    """One finding as a markdown list item; every part that came from the register is plain text."""
    line = (f"- **{plain(spec.domain_label(row.domain))}**: {plain(row.summary)} "
            f"({plain(row.source)}, {pd.Timestamp(row.date):%b %Y})")
    if isinstance(row.quote, str) and row.quote:
        line += f"\n  > *“{plain(row.quote)}”*"
    return line


def findings_section(project: str, sites: tuple[Site, ...], *, heading: bool = True) -> None:
    """Facilitators and barriers from the implementation-findings register, per site, beside the outcomes
    (``heading=False`` where a tab of that name already says what it is)."""
    cat = context.catalogue()
    spec = cat.findings
    if heading:
        st.header("Facilitators and barriers")
    if not sites:
        st.info("No site to show.")
        return
    rows = implementation.findings(project, tuple(s.id for s in sites))
    if rows.empty:
        st.info("No implementation findings (facilitators and barriers from interviews, surveys or workshops) "
                "are stored for " + ("this site" if len(sites) == 1 else "these sites") + " yet.")
        return
    st.caption(f"From the implementation-findings register, by {plain(spec.framework or 'domain')}; newest first.")
    columns = st.columns(len(sites))
    for column, site in zip(columns, sites, strict=True):
        with column:
            own = rows[rows["site"] == site.id]
            if len(sites) > 1:
                st.subheader(plain(site.name))
            if own.empty:
                st.info(f"No findings stored for {plain(site.name)}.")
                continue
            order = {d: n for n, d in enumerate(spec.domains)}
            own = own.assign(_o=own["domain"].map(order)).sort_values(["_o", "date"], ascending=[True, False],
                                                                      kind="stable")
            for kind in spec.kinds:
                part = own[own["kind"] == kind]
                heading = plain(f"{kind.capitalize()}s ({len(part)})")
                if part.empty:
                    st.markdown(f"**{heading}**  \nNone recorded.")
                    continue
                st.markdown(f"**{heading}**\n\n" + "\n".join(_finding_line(r, spec) for r in part.itertuples()))
    table = components.details_on_demand("All findings as a table",
                                         key=f"findings-{project}-{'-'.join(s.id for s in sites)}")
    if table.open:
        table.dataframe(findings_frame(rows, spec, site_names={s.id: s.name for s in sites}), hide_index=True)
