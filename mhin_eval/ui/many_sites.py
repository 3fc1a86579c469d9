"""Page pieces for a roll-out with many sites: progress of the results of record after an upload, the
overview's filters and pages of rows, a ranked chart of every site, and the few sites whose own charts are
drawn (a page with hundreds of sites draws a handful of charts, not hundreds)."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from mhin_eval import charts_ranked
from mhin_eval.catalogue import Catalogue, Indicator, Site
from mhin_eval.ui import analyses, components, context
from mhin_eval.wording import DIRECTION_ICONS

#: Up to this many sites a page lists and charts every one; with more, they are ranked in one chart.
FEW_SITES = 6
#: Site charts drawn at first on a page of more than FEW_SITES sites; the user chooses others.
DEFAULT_CHARTED_SITES = 2
PAGE_SIZE = 20
#: A table of up to this many rows is shown whole (it scrolls); a longer one a page at a time.
WHOLE_TABLE_ROWS = 50
FOREST_MAX_SITES = charts_ranked.FOREST_MAX_SITES


def results_progress():
    """A progress bar for :func:`mhin_eval.recompute.refresh`: its ``progress(project, done, total)``."""
    bar = st.progress(0.0, text="Computing the results of record of the new data…")
    cat = context.catalogue()

    def update(project: str, done: int, total: int) -> None:
        name = cat.project(project).short_name
        bar.progress(done / total if total else 0.0,
                     text=f"Results of record, {name}: {done:,} of {total:,} site results computed")

    return update


def chosen_sites(sites: tuple[Site, ...] | list[Site], *, key: str, label: str = "Sites charted",
                 container=st) -> list[Site]:
    """The sites whose charts and sections are drawn: all of them when there are few (:data:`FEW_SITES`), else
    those chosen in a multiselect (the first :data:`DEFAULT_CHARTED_SITES` by default), so a page with hundreds
    of sites draws a handful."""
    sites = list(sites)
    if len(sites) <= FEW_SITES:
        return sites
    by_id = {s.id: s for s in sites}
    chosen = container.multiselect(label, list(by_id), default=list(by_id)[:DEFAULT_CHARTED_SITES], key=key,
                                   format_func=lambda s: by_id[s].name,
                                   help=f"{len(sites)} sites: every site is in the ranked chart of each outcome; "
                                        "choose the sites whose own charts and sections are shown.")
    return [by_id[s] for s in chosen]


def paginated(frame: pd.DataFrame, *, key: str, page_size: int = PAGE_SIZE) -> pd.DataFrame:
    """The rows of the page the user chose (a page selector appears only when there is more than one page)."""
    pages = max(1, math.ceil(len(frame) / page_size))
    if pages == 1:
        return frame
    page = st.number_input(f"Page (of {pages}, {page_size} rows each)", 1, pages, 1, key=key)
    return frame.iloc[(page - 1) * page_size: page * page_size]


def freshness_section(sites: tuple[str, ...] | None, *, key: str) -> None:
    """The data freshness table of a site scope; with more sources than a page holds, the page of sources whose
    latest month is oldest, and every source on demand (hundreds of sites have thousands of sources)."""
    frame = components.freshness_shown(sites)
    if frame.empty:
        st.info("Nothing has been loaded yet.")
        return
    if len(frame) <= WHOLE_TABLE_ROWS:
        st.dataframe(frame, hide_index=True)
        return
    latest = pd.to_datetime(frame["Latest month"], format="%b %Y", errors="coerce")
    stalest = frame.loc[latest.sort_values(kind="stable").index[:PAGE_SIZE]]
    st.caption(f"{len(frame):,} sources, their latest months from {latest.min():%b %Y} to {latest.max():%b %Y}. "
               f"The {PAGE_SIZE} with the oldest latest month:")
    st.dataframe(stalest, hide_index=True)
    every = components.details_on_demand(f"All {len(frame):,} sources", key=f"freshness-{key}")
    if every.open:
        every.dataframe(frame, hide_index=True)


def overview_filters(cat: Catalogue, project_ids) -> tuple[list[str], dict]:
    """The overview's filters (project; region when the sites have more than one; indicator; direction of
    effect), in a row above the tables: (projects chosen, keyword filters for ``record.filter_records``)."""
    projects = list(project_ids)
    sites = [s for s in cat.sites if s.project in projects and not s.is_comparison]
    regions = sorted({s.region for s in sites if s.region})
    columns = st.columns(4 if len(regions) > 1 else 3)
    chosen = columns[0].multiselect("Project", projects, key="overview-projects", placeholder="All projects",
                                    format_func=lambda p: cat.project(p).short_name)
    labels = list(dict.fromkeys(i.label for p in (chosen or projects) for i in cat.indicators_of(p)))
    wanted = {"indicators": columns[1].multiselect("Indicator", labels, key="overview-indicators",
                                                   placeholder="All indicators"),
              "directions": columns[2].multiselect("Direction of effect", list(DIRECTION_ICONS),
                                                   key="overview-directions", placeholder="Any direction",
                                                   format_func=DIRECTION_ICONS.get)}
    if len(regions) > 1:
        wanted["regions"] = columns[3].multiselect("Region", regions, key="overview-regions",
                                                   placeholder="All regions")
    return chosen or projects, wanted


def ranked_chart(project: str, indicator: Indicator, records, *, key: str, method: str = "DL") -> None:
    """Every site's headline for an indicator ranked with its CI, with the pooled estimate and prediction
    interval (the same records and pooling as the compare page)."""
    records = [r for r in records if r.indicator == indicator.id]
    pooled = analyses.pooled(project, indicator.id, method)
    ratio = any(r.estimate is not None and r.estimate.scale == "ratio" for r in records)
    title = f"{indicator.label}: every site's result"
    components.chart(
        lambda: charts_ranked.caterpillar_plot(
            charts_ranked.site_frame(records), None if isinstance(pooled, str) else pooled, title=title,
            log_scale=ratio, y_title="Ratio of observed to expected" if ratio else f"Difference ({indicator.unit})"),
        key=key, cached=("ranked", project, indicator.id, method, title, indicator.unit,
                         tuple(r.site for r in records)))
    if isinstance(pooled, str):
        st.caption(pooled)


def chart_grid(sites: list[Site], per_row: int):
    """(column, site) pairs laying the sites out ``per_row`` to a row."""
    for start in range(0, len(sites), per_row):
        row = sites[start:start + per_row]
        yield from zip(st.columns(per_row)[:len(row)], row, strict=True)
