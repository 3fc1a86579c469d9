"""Page building blocks: a result in words beside its chart, warnings shown, details on demand."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mhin_eval import charts, record
from mhin_eval.access.shown import COUNT_KINDS
from mhin_eval.analysis.its import ITSResult
from mhin_eval.analysis.prepost import tidy
from mhin_eval.analysis.results import Estimate
from mhin_eval.catalogue import Indicator, Site
from mhin_eval.chart_summary import summarise
from mhin_eval.text import plain
from mhin_eval.ui import analyses, auth, context, figures
from mhin_eval.wording import (
    DIRECTION_ICONS,
    change_phrase,
    diagnostics_in_words,
    direction,
    fmt_estimate,
    fmt_p,
)


def show_warnings(warnings, *, prefix: str = "") -> None:
    """Every analysis warning, shown (never swallowed), one alert each."""
    for text in dict.fromkeys(warnings):
        st.warning(plain(f"{prefix}{text}"), icon=":material/warning:")


def details_on_demand(label: str, *, key: str, icon: str | None = None):
    """An expander whose content runs only once it is opened (details on demand): while closed nothing in
    it is computed, sent or drawn. Use ``if box.open: with box: ...``."""
    return st.expander(label, key=f"details-{key}", icon=icon, on_change="rerun")


def lazy_tabs(labels: list[str], *, key: str = "section") -> dict:
    """Tabs of which only the open one runs its content (details on demand: a closed tab is neither computed
    nor drawn until chosen). The open tab is kept in the URL as ``?<key>=<label>``, so a link opens it.
    Returns ``{label: tab}`` for the open tab only; use ``if tab := tabs.get(label)``."""
    tabs = st.tabs(labels, key=key, on_change="rerun", bind="query-params")
    return {label: tab for label, tab in zip(labels, tabs, strict=True) if tab.open}


#: Longest accessible name read out for a chart; the whole summary is in its "Chart as text" expander.
ALT_CHARACTERS = 400


def chart(figure, *, key: str, summary: str = "", cached: tuple | None = None) -> None:
    """A plotly chart with an accessible name and the chart in words (WCAG 2.2 1.1.1).

    The name is the chart's title and ``summary`` (the result's sentence, when the page has one) or else what
    the chart draws; "Chart as text" opens every series in words (mhin_eval.chart_summary), read from the figure.
    With ``cached`` (what the figure depends on besides the data version and the view), ``figure`` is a function
    that builds it, called once per data version and view (mhin_eval.ui.figures)."""
    if cached is not None:
        kept = figures.drawn(cached, figure)
        figure, described = kept.figure, kept.described
    else:
        described = summarise(figure)
    alt = f"Chart: {described.name}. {summary or described.text}".strip()
    if len(alt) > ALT_CHARACTERS:
        alt = alt[:ALT_CHARACTERS - 1].rsplit(" ", 1)[0] + "…"
    st.plotly_chart(figure, theme=None, key=key, alt=alt)
    box = details_on_demand("Chart as text", key=f"text-{key}", icon=":material/description:")
    if box.open:
        with box:
            st.markdown("\n".join(f"- {plain(line)}" for line in ((summary,) if summary else ()) + described.lines))


def finding(sentence: str, est: Estimate | None, better: str) -> None:
    """The plain-language sentence of a main result with its direction icon."""
    icon = DIRECTION_ICONS[direction(est, better)] if est is not None else DIRECTION_ICONS["no estimate"]
    st.markdown(f"**{plain(sentence)}**  \n{icon}")


def plain_table(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` for ``st.table``, which reads every cell, header and index label as markdown: each text
    shown as plain text (mhin_eval.text)."""
    def text(v):
        return plain(v) if isinstance(v, str) else v

    def cells(column: pd.Series) -> pd.Series:
        textual = pd.api.types.is_object_dtype(column.dtype) or pd.api.types.is_string_dtype(column.dtype)
        return column.map(text).astype(object) if textual else column

    out = frame.apply(cells).rename(columns=text)
    if pd.api.types.is_object_dtype(out.index.dtype) or pd.api.types.is_string_dtype(out.index.dtype):
        out.index = out.index.map(text)
        out.index.name = plain(frame.index.name) if isinstance(frame.index.name, str) else frame.index.name
    return out


SCALE_WORDS = {"ratio": "ratio (1 = no change)", "difference": "difference", "proportion": "proportion (0 = no change)"}


def estimates_frame(tidy: pd.DataFrame, unit: str = "", conf_level: float = 0.95) -> pd.DataFrame:
    """An analysis's tidy estimates (quantity, estimate, ci_low, ci_high, p_value, scale, description) as a
    table people read: what each number is, its value, CI, p-value and scale in words."""
    level = f"{conf_level:.0%} CI"
    return pd.DataFrame({
        "Estimate": tidy["description"].str.capitalize(),
        "Value": tidy["estimate"].round(4),
        level: [f"{lo:.4g} to {hi:.4g}" for lo, hi in zip(tidy["ci_low"], tidy["ci_high"], strict=True)],
        "p-value": [fmt_p(p) for p in tidy["p_value"]],
        "Scale": [SCALE_WORDS.get(sc, sc) if sc != "difference" or not unit else f"difference in {unit}"
                  for sc in tidy["scale"]],
    })


def statistics_frame(tidy: pd.DataFrame) -> pd.DataFrame:
    """A before/after analysis's statistics (mhin_eval.analysis.prepost.tidy) as a table people read: blanks
    where a statistic has no interval, df or p-value, never "None" or "nan"."""
    def number(v, fmt="{:.4g}"):
        return "" if v is None or v != v else fmt.format(v)

    return pd.DataFrame({
        "Statistic": tidy["statistic"].str.capitalize(),
        "Value": [number(v) for v in tidy["value"]],
        "95% CI": ["" if lo != lo or lo is None else f"{lo:.4g} to {hi:.4g}"
                   for lo, hi in zip(tidy["ci_low"], tidy["ci_high"], strict=True)],
        "df": [number(v, "{:.3g}") for v in tidy["df"]],
        "p-value": ["" if p is None or p != p else fmt_p(p) for p in tidy["p_value"]],
        "n": [number(v, "{:,.0f}") for v in tidy["n"]],
        "Method": tidy["method"].fillna(""),
    })


def its_details(result: ITSResult, indicator: Indicator) -> None:
    """Estimates (the result's tidy frame), diagnostics and the methods paragraph of an ITS fit."""
    st.table(plain_table(estimates_frame(result.tidy(), indicator.unit, result.options.conf_level).set_index("Estimate")))
    st.caption(f"Diagnostics: {diagnostics_in_words(result.diagnostics)}. n = {record.its_n_detail(result)}.")
    st.markdown(plain(result.methods))


def its_block(project: str, site: Site, indicator: Indicator, *, key: str, options=None, comparisons=(),
              breakdown: str = "all", group: str = "all", details: bool = True, go_live=None) -> ITSResult | None:
    """One site's interrupted time series: sentence, chart, warnings and (optionally) details."""
    result = analyses.its(project, site.id, indicator.id, options, breakdown=breakdown, group=group,
                          comparisons=tuple(comparisons), go_live=go_live)
    of_record = (options is None and go_live is None and (breakdown, group) == ("all", "all")
                 and tuple(comparisons) == tuple(site.comparison_sites))
    go_live = go_live or site.go_live
    if isinstance(result, str):
        st.info(plain(result))
        return None
    shown_record = analyses.result_of_record(project, site.id, indicator.id) if of_record else None
    if shown_record is not None:
        est, sentence = shown_record.estimate, shown_record.sentence
    else:
        est, sentence = record.describe_its(result, site, indicator)
    finding(sentence, est, indicator.better)
    shown = analyses.counts()
    note = None
    if shown.suppressed and indicator.kind in COUNT_KINDS:
        hidden = int(result.fitted["observed"].isna().sum())
        note = (f"Counts rounded to the nearest {shown.rule.round_to}"
                + (f"; {hidden} month{'s' if hidden != 1 else ''} with 1 to {shown.threshold} not drawn" if hidden else ""))
    title = f"{indicator.label}: {site.name}"
    chart(
        lambda: charts.its_chart(result, title=title, y_title=indicator.unit.capitalize(), unit=indicator.unit,
                                 go_live=pd.Timestamp(go_live), annotation=note),
        key=f"its-{key}",
        summary=sentence,
        cached=("its", project, site.id, indicator.id, options, breakdown, group, tuple(comparisons), go_live, title,
                indicator.unit, note),
    )
    st.caption(plain("n = " + (shown_record.n_detail if shown_record is not None
                               else record.its_n_detail(result, site.name))
                     + (f" · {shown_record.period}" if shown_record is not None else "")))
    show_warnings(result.warnings)
    if details:
        box = details_on_demand("Estimates, diagnostics and methods", key=f"its-{key}")
        if box.open:
            with box:
                its_details(result, indicator)
    return result


def prepost_block(project: str, site: Site, indicator: Indicator, *, key: str, show_rows: bool = False) -> None:
    """One site's before/after result for a participant measure: sentence, chart, warnings, details."""
    result = analyses.prepost(project, site.id, indicator.id)
    if isinstance(result, str):
        st.info(plain(result))
        return
    shown = analyses.counts()
    people = shown.n(result.n_pairs)
    shown_record = analyses.result_of_record(project, site.id, indicator.id)
    if shown_record is not None:
        est, sentence = shown_record.estimate, shown_record.sentence
    else:
        est, sentence = record.describe_prepost(result, site, indicator, n_text=people)
    finding(sentence, est, indicator.better)
    title = f"{indicator.label}: {site.name}"
    if auth.current_access().can_see_participants:
        rows = analyses.project_participants(project)
        rows = rows[(rows["site"] == site.id) & (rows["measure"] == indicator.id)]
        def figure():
            return charts.prepost_chart(rows, result, title=title, y_title=indicator.unit, unit=indicator.unit)
    else:
        rows = None

        def figure():
            return charts.prepost_means_chart(*shown.prepost_means(result), title=title, y_title=indicator.unit,
                                              unit=indicator.unit, before=result.before, after=result.after,
                                              n_text=f"{people} people with both measurements")
    chart(figure, key=f"prepost-{key}", summary=sentence,
          cached=("prepost", project, site.id, indicator.id, title, indicator.unit))
    if rows is None:
        st.caption("Means only: individual people's values are shown to the evaluation team only.")
    show_warnings(result.warnings)
    box = details_on_demand("All statistics and methods", key=f"prepost-{key}")
    if not box.open:
        return
    with box:
        if not shown.suppressed:
            st.table(plain_table(statistics_frame(tidy(result)).set_index("Statistic")))
        st.markdown(plain(shown.text(result.methods)))
        if show_rows and rows is not None:
            st.dataframe(rows, hide_index=True)


def results_frame(records, *, include_site: bool = True) -> pd.DataFrame:
    """Results of record as a table people read: the sentence carries the number, unit and CI; n its unit."""
    rows = []
    for r in records:
        row = {"Site": r.site_name} if include_site else {}
        row.update({"Indicator": r.label, "Result": r.sentence, "Direction": DIRECTION_ICONS[r.direction],
                    "n": r.n_text, "Period": r.period, "Method": r.method_name})
        rows.append(row)
    return pd.DataFrame(rows)


def compare_frame(records, pooled=None) -> pd.DataFrame:
    """Each site's headline (its result of record, worded as on the overview) with its weight in the pooling."""
    weights = {} if pooled is None else dict(zip(pooled.sites["label"], pooled.sites["weight_percent"], strict=True))
    cat = context.catalogue()
    rows = []
    for r in records:
        est = r.estimate
        weight = weights.get(r.site_name)
        rows.append({"Site": r.site_name, "Result": r.sentence if est is None else change_phrase(est, cat.indicator(r.project, r.indicator).unit),
                     "Estimate": fmt_estimate(est), "n": r.n_text, "Period": r.period,
                     "Weight": "" if weight is None or pd.isna(weight) else f"{weight:.1f}%"})
    return pd.DataFrame(rows, columns=["Site", "Result", "Estimate", "n", "Period", "Weight"])


def freshness_table(freshness: pd.DataFrame) -> pd.DataFrame:
    """The store's freshness rows with site names, months and dates rather than ids and timestamps."""
    if freshness.empty:
        return freshness
    cat = context.catalogue()
    names = {s.id: s.name for s in cat.sites}
    projects = {p.id: p.short_name for p in cat.projects}
    # Published statistics belong to no one project or site: they cover every organisation in the file.
    frame = pd.DataFrame(
        {
            "Project": freshness["project"].map(projects).fillna(freshness["project"]).fillna("All projects"),
            "Site": freshness["site"].map(names).fillna(freshness["site"]).fillna("All organisations in the file"),
            "Data": freshness["kind"].map({"series": "Monthly indicators", "participants": "Participant records",
                                           "sustainability": "Sustainability assessments",
                                           "findings": "Implementation findings",
                                           "published": "Published statistics"})
            .fillna(freshness["kind"]),
            "Latest month": pd.to_datetime(freshness["latest_period"]).dt.strftime("%b %Y"),
            "Rows": freshness["n_rows"],
            "Last loaded": pd.to_datetime(freshness["last_ingest_time"]).dt.strftime("%d %b %Y %H:%M"),
            "File": freshness["last_file"],
        }
    )
    return frame


@st.cache_data(show_spinner=False, max_entries=8)
def _freshness_shown(version: int, sites: tuple[str, ...] | None) -> pd.DataFrame:
    return freshness_table(context.freshness(sites))


def freshness_shown(sites: tuple[str, ...] | None) -> pd.DataFrame:
    """The freshness table of a site scope (None = all) as people read it (:func:`freshness_table`), built once
    per data version: with hundreds of sites it has thousands of dates to format."""
    return _freshness_shown(context.data_version(), sites)


def no_data(what: str) -> None:
    st.info(plain(f"No {what} is stored yet."))


def site_label(site_id: str) -> str:
    cat = context.catalogue()
    try:
        return cat.site(site_id).name
    except KeyError:
        return site_id
