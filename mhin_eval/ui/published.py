"""Published statistics page sections: mapped MHSDS measures over time (a site's trust beside England) and the
Mental Health Act annual rates by ethnicity beside the site's own data.

Names and labels from the catalogue or from NHS England's files are shown as plain text only.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mhin_eval import charts, published
from mhin_eval.catalogue import Site
from mhin_eval.loaders import published_context
from mhin_eval.text import plain
from mhin_eval.ui import analyses, components, context

MAIN_GROUPS = ["Asian or Asian British", "Black or Black British", "Mixed", "White", "Other Ethnic Groups"]
PERIOD_TYPES = {
    "month": "Monthly figures (open referrals at the month's end).",
    "rolling-3-month": "Rolling 3-month totals, each labelled by its last month, so consecutive values overlap: read "
                       "the trend, not month-to-month changes. They are never added to or mixed with monthly figures.",
}

def shown_sites(access) -> list[Site]:
    """Intervention sites this user may see that have a published-statistics code (trust or ICB)."""
    cat = context.catalogue()
    return [s for s in cat.sites if not s.is_comparison and access.allows_site(s.id) and (s.trust_code or s.icb_code)]


@st.cache_data(show_spinner=False, max_entries=32)
def _mapped(version: int, site_id: str) -> pd.DataFrame:
    cat = context.catalogue()
    codes = {m.code_for(cat, site_id) for m in published.mappings_for_site(cat, site_id)}
    measures = {x for m in published.mappings_for_site(cat, site_id) for x in (m.measure_id, m.denominator_measure_id) if x}
    rows = context.get_store().published(org_codes=sorted(codes | {"England"}), measure_ids=sorted(measures))
    return published.mapped_measures(rows, cat, site_id)


def mapped_measures(site_id: str) -> pd.DataFrame:
    """The site's mapped measures over time, trust and England (``published.mapped_measures``), cached per data version."""
    return _mapped(context.data_version(), site_id)


def _values_table(rows: pd.DataFrame, share: bool) -> pd.DataFrame:
    """Month by level: values as published (``*`` where suppressed) and, for shares, the per cent."""
    table = pd.DataFrame({"Month": sorted(rows["period"].unique())})
    for _, part in rows.groupby("level", sort=False):
        part = part.set_index("period")
        name = str(part["org_name"].iloc[0])
        table[f"{name}: as published"] = table["Month"].map(part["published_value"]).fillna("")
        if share:
            table[f"{name}: of"] = table["Month"].map(part["denominator_published_value"]).fillna("")
            table[f"{name}: %"] = table["Month"].map(part["share"].round(1))
    table["Month"] = pd.to_datetime(table["Month"]).dt.strftime("%b %Y")
    return table


def mapped_preview(frame: pd.DataFrame) -> None:
    """On the Upload page: the site series a published file will also store (catalogue mappings), per site and
    indicator with the months covered; nothing when none of its measures is mapped."""
    cat = context.catalogue()
    rows = published.derived_series(frame, cat)
    if rows.empty:
        return
    names = {s.id: s.name for s in cat.sites}
    by = rows.groupby(["site", "indicator"], sort=True)["period"]
    table = by.agg(["size", "min", "max"]).reset_index()
    st.subheader("Site series this file also stores")
    st.caption("The catalogue maps some of its published measures onto project indicators (the site's trust figure); "
               "suppressed values are left out.")
    st.dataframe(pd.DataFrame({
        "Site": table["site"].map(names), "Indicator": table["indicator"], "Months": table["size"],
        "First month": table["min"].dt.strftime("%b %Y"), "Last month": table["max"].dt.strftime("%b %Y"),
    }), hide_index=True)


def measures_section(site: Site) -> None:
    """Each mapped measure of the site: its trust's published figures beside England's, over time."""
    cat = context.catalogue()
    mappings = published.mappings_for_site(cat, site.id)
    st.header("Waiting times and referrals (MHSDS monthly statistics)")
    if not mappings:
        st.info("The catalogue maps no published measure onto this site's indicators.")
        return
    frame = mapped_measures(site.id)
    if frame.empty:
        st.info("The MHSDS monthly statistics these indicators come from are not loaded. An evaluator can upload "
                "the published CSV files on the Upload page, or run `python -m mhin_eval ingest FILE.csv`.")
        return
    st.caption("These figures are the site's series for the indicators below: the trust's published values, "
               "stored as the site's monthly series when the file was loaded. England's figure is shown beside them. "
               "Values NHS England suppressed (*) stay missing, never zero.")
    for mapping in mappings:
        rows = frame[frame["indicator"] == mapping.indicator]
        indicator = cat.indicator(mapping.project, mapping.indicator)
        st.subheader(plain(indicator.label))
        if rows.empty:
            st.info("No published values of this measure are loaded.")
            continue
        share = bool(mapping.denominator_measure_id)
        measure = f"{mapping.measure_id} of {mapping.denominator_measure_id}" if share else mapping.measure_id
        trust = rows[rows["level"] == published.TRUST]
        hidden = int((trust["published_value"] == "*").sum())
        components.chart(
            charts.published_measure_chart(rows, title=indicator.label, subtitle=f"Measure {measure}; "
                                           f"{'per cent' if share else indicator.unit}", unit=indicator.unit),
            key=f"published-measure-{site.id}-{mapping.indicator}")
        words = PERIOD_TYPES.get(mapping.period_type, "")
        months = pd.to_datetime(rows["period"])
        st.caption(plain(
            f"{words} Published {months.min():%b %Y} to {months.max():%b %Y}"
            + (f"; {hidden} month(s) of the trust's figure suppressed by NHS England." if hidden else ".")
        ))
        st.dataframe(_values_table(rows, share), hide_index=True)


def mha_section(site: Site) -> None:
    """England's and the site's ICB's detention rates by ethnic group beside the site's own detention rates."""
    cat = context.catalogue()
    if not site.icb_code or "ethnicity" not in {b for i in cat.indicators_of(site.project) for b in i.breakdowns}:
        return
    frame = _context(context.data_version(), site.id)
    st.header("Mental Health Act detentions by ethnic group (annual statistics)")
    if frame.empty:
        st.info("The Mental Health Act annual statistics are not loaded. Upload the published file on the Upload page.")
        return
    source, year = frame["source_title"].iloc[0], frame["year"].iloc[0]
    st.caption(plain(f"Source: NHS England, {source} ({year}), Open Government Licence v3.0. "
                     "Crude rates per 100,000 population."))
    icb_rows = frame.loc[frame["level"] == "ICB", "org_name"].dropna()
    icb_name = icb_rows.iloc[0].title().replace("Nhs ", "NHS ") if not icb_rows.empty else "ICB"
    rates = frame[(frame["statistic"] == "crude_rate") & frame["level"].isin(["England", "ICB"])
                  & frame["group"].isin(MAIN_GROUPS)]
    rates = rates.assign(source=rates["level"].map({"England": "England (published)", "ICB": f"{icb_name} (published)"}))

    own = analyses.equity_tables(site.project, site.id, "mha-detentions", "White", "latest-12")
    own_rows = pd.DataFrame(columns=["group", "rate", "ci_low", "ci_high"])
    words = "no period"
    if not isinstance(own, str):
        rates_table, _, words = own
        own_rows = rates_table.table
    synthetic = context.has_demo_data()
    own_label = f"{site.name} project data" + (" (synthetic demo)" if synthetic else "")

    st.subheader(plain(f"All detentions per 100,000 by ethnic group: England, {icb_name} and {site.name}"))
    table = pd.DataFrame({"Ethnic group": MAIN_GROUPS})
    for label, part in rates.groupby("source", sort=False):
        table[label] = table["Ethnic group"].map(part.set_index("group")["value"])
    if not own_rows.empty:
        table[own_label] = table["Ethnic group"].map(own_rows.set_index("group")["rate"].round(1))
    st.table(components.plain_table(table.set_index("Ethnic group").round(1)))
    st.caption(plain(
        f"Published rates are for {year} and cover everyone detained in the area; the project column is the site's "
        f"own {'synthetic ' if synthetic else ''}data for {words}, as an annual rate. "
        "Published figures come without confidence intervals."
    ))
    chart_rows = pd.concat([
        rates.assign(rate=rates["value"], ci_low=float("nan"), ci_high=float("nan"))[
            ["group", "source", "rate", "ci_low", "ci_high"]],
        own_rows.assign(source=own_label)[["group", "source", "rate", "ci_low", "ci_high"]],
    ], ignore_index=True)
    chart_rows = chart_rows.assign(order=chart_rows["group"].map({g: n for n, g in enumerate(MAIN_GROUPS)}))
    chart_rows = chart_rows.sort_values(["order", "source"])
    components.chart(
        charts.group_rates_chart(chart_rows.assign(group=chart_rows["group"] + " · " + chart_rows["source"],
                                                   count=float("nan"), denominator=float("nan"), note=""),
                                 title="All detentions per 100,000 population", unit="per 100,000"),
        key=f"published-rates-{site.id}")
    trust = frame[frame["level"] == "NHS Trust"]
    if not trust.empty:
        st.subheader(plain(f"{site.trust_name}: published counts, {year}"))
        st.table(components.plain_table(trust[["measure_id", "published_value"]].rename(
            columns={"measure_id": "Measure", "published_value": "Count as published"}).set_index("Measure")))


@st.cache_data(show_spinner=False)
def _context(version: int, site_id: str) -> pd.DataFrame:
    return published_context(context.get_store().published(), context.catalogue(), site_id)
