"""The site page's "Trust context" tab: the context series read from real NHS files (catalogue indicators with
``context = true``, e.g. type 1 A&E attendances at the site's acute trust), drawn as stored, with where they
came from. They describe the whole trust, so they are shown beside the project's results, never analysed as one.
"""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from mhin_eval import charts
from mhin_eval.catalogue import Indicator, Site
from mhin_eval.recipes import load_organisations
from mhin_eval.text import plain
from mhin_eval.ui import analyses, components, context


def context_indicators(project: str, site: Site) -> list[tuple[Indicator, pd.DataFrame]]:
    """Each context indicator of the project with stored rows for the site (site total), oldest month first."""
    cat = context.catalogue()
    wanted = [i for i in cat.indicators_of(project, "series", include_context=True) if i.context]
    if not wanted:
        return []
    series = analyses.project_series(project)
    rows = series[(series["site"] == site.id) & series["indicator"].isin([i.id for i in wanted])
                  & (series["breakdown"] == "all") & (series["group"] == "all")]
    shown = analyses.counts().shown_series(rows, tuple(wanted))
    if shown is not None:
        rows = pd.concat([shown.drop(columns="_raw"), rows[~rows["indicator"].isin(shown["indicator"])]])
    return [(i, part.sort_values("period")) for i in wanted if len(part := rows[rows["indicator"] == i.id])]


NHS = re.compile(r"\bNhs\b")  # names are published in capitals; title case would write "Nhs"


def _organisations(site: Site) -> str:
    """The site's acute trust(s) by name (data/organisations.csv), else its trust name."""
    names = dict(zip(*(load_organisations()[c] for c in ("code", "name")), strict=False))
    trusts = [f"{NHS.sub('NHS', names.get(code, code).title())} ({code})" for code in site.acute_trusts]
    return ", ".join(trusts) or site.trust_name or site.name


def _sources(site: Site, indicator: Indicator) -> str:
    files = context.get_store().series_sources(site.id, indicator.id)
    listed = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
    return f"From {len(files)} uploaded file(s): {listed}." if files else ""


def trust_context(project: str, site: Site) -> None:
    """One chart per context series, with the go-live month marked and the files it came from."""
    found = context_indicators(project, site)
    if not found:
        st.info("No context series is stored for this site yet. Upload a published NHS file (for example the "
                "monthly A&E attendances) on the Upload page; its recipe turns the trust's rows into context series.")
        return
    who = _organisations(site)
    st.markdown(plain(f"Figures for the whole of {who}, as published: they set {site.name}'s results in context "
                      "and are not a result of the project."))
    for indicator, rows in found:
        frame = rows.assign(level="trust", org_name=who, share=float("nan"), period=pd.to_datetime(rows["period"]),
                            published_value=rows["value"].map(lambda v: "suppressed" if v != v else f"{v:,.0f}"))
        months = frame["period"]
        figure = charts.published_measure_chart(
            frame, title=indicator.label, unit=indicator.unit, go_live=site.go_live,
            subtitle=f"{months.min():%b %Y} to {months.max():%b %Y}, {len(frame)} month(s)")
        components.chart(figure, key=f"context-{site.id}-{indicator.id}")
        st.caption(plain(_sources(site, indicator)))
