"""Page sections chosen by indicator metadata: uptake funnel, equity by group, results by attribute."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mhin_eval import charts, evaluate
from mhin_eval.catalogue import Indicator, Site
from mhin_eval.ui import analyses, components, context, state
from mhin_eval.wording import change_phrase, fmt_estimate

GROUP_LABELS = {"delivery_mode": "delivery mode", "ethnicity": "ethnic group"}


def funnel_stages(series: pd.DataFrame, indicators: list[Indicator], site: Site) -> pd.DataFrame:
    """Counts since go-live per funnel stage, for all families and per group of the stage's breakdown."""
    rows = []
    since = pd.Timestamp(site.go_live)
    for ind in sorted(indicators, key=lambda i: i.funnel_stage):
        data = series[(series["site"] == site.id) & (series["indicator"] == ind.id) & (series["period"] >= since)]
        if data.empty:
            continue
        rows.append({"stage": ind.label, "order": ind.funnel_stage, "group": "All", "count": data["value"].sum()
                     if (data["breakdown"] == "all").all() else data.loc[data["breakdown"] != "all", "value"].sum()})
        for group, part in data[data["breakdown"] != "all"].groupby("group"):
            rows.append({"stage": ind.label, "order": ind.funnel_stage, "group": str(group).capitalize(),
                         "count": part["value"].sum()})
    return pd.DataFrame(rows, columns=["stage", "order", "group", "count"])


def funnel_section(project: str, sites: tuple[Site, ...]) -> None:
    cat = context.catalogue()
    indicators = [i for i in cat.indicators_of(project, "series") if i.funnel_stage]
    series = analyses.project_series(project)
    st.caption("Families at each step since each site's go-live, in total and by delivery mode.")
    columns = st.columns(len(sites))
    for column, site in zip(columns, sites, strict=True):
        with column:
            stages = funnel_stages(series, indicators, site)
            st.plotly_chart(charts.funnel_chart(stages, title=f"Uptake since go-live: {site.name}"),
                            theme=None, key=f"funnel-{project}-{site.id}")


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
        f"ratios against the {reference} group."
    )
    columns = st.columns(len(sites))
    for column, site in zip(columns, sites, strict=True):
        with column:
            tables = analyses.equity_tables(project, site.id, indicator.id, reference, window)
            if isinstance(tables, str):
                st.info(tables)
                continue
            rates, ratios, words = tables
            st.caption(f"{site.name}: {words}.")
            st.plotly_chart(
                charts.group_rates_chart(rates.table, title=f"{indicator.label} rates: {site.name}",
                                         unit=f"per {indicator.rate_per:,.0f}", reference=reference),
                theme=None, key=f"rates-{project}-{site.id}")
            st.plotly_chart(charts.rate_ratio_chart(ratios.table, title=f"Rate ratio vs {reference}: {site.name}",
                                                    reference=reference),
                            theme=None, key=f"ratios-{project}-{site.id}")
            components.show_warnings(rates.warnings + ratios.warnings)
            groups = [g for g in ratios.table["group"] if g != reference]
            if groups:
                focus = "Black or Black British" if "Black or Black British" in groups else groups[0]
                change = analyses.equity_change(project, site.id, indicator.id, reference, focus)
                if isinstance(change, str):
                    st.info(change)
                elif change.level_change is not None:
                    st.markdown(
                        f"**At go-live, the {focus} vs {reference} rate ratio {change_phrase(change.level_change)}** "
                        f"(ratio of rate ratios, interrupted time series with a group interaction)."
                    )
                    components.show_warnings(change.warnings)


def stratified_section(project: str, sites: tuple[Site, ...], measure: Indicator, breakdown: str) -> None:
    st.subheader(f"{measure.label} by {GROUP_LABELS.get(breakdown, breakdown)}")
    records = []
    for site in sites:
        results = analyses.stratified_prepost(project, site.id, measure.id, breakdown)
        for group, result in results.items():
            records.append(
                {
                    "Site": site.name,
                    GROUP_LABELS.get(breakdown, breakdown).capitalize(): group,
                    "Pairs": result.n_pairs,
                    "Missing follow-up": result.n_missing_followup,
                    f"Mean difference ({measure.unit})": fmt_estimate(result.mean_difference),
                    "Warnings": " ".join(result.warnings),
                }
            )
    if records:
        st.dataframe(pd.DataFrame(records), hide_index=True)
    else:
        st.info(f"No {measure.label} records carry a {GROUP_LABELS.get(breakdown, breakdown)}.")
