"""Cached reads and analyses for the sustainability page and the findings sections: keyed on the
store's data version, the site scope and the instrument, never recomputed on a rerun."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mhin_eval.access.suppression import SuppressionRule
from mhin_eval.analysis import sustainability as scoring
from mhin_eval.analysis.results import AnalysisError
from mhin_eval.ui import context


def threshold() -> int:
    """Respondent groups smaller than this get no score: groups of 1 to the catalogue's disclosure
    threshold are hidden, as counts of 1 to the threshold are."""
    return SuppressionRule.from_catalogue(context.catalogue()).smallest_shown_group


@st.cache_data(show_spinner=False, max_entries=64)
def _assessments(version: int, instrument: str | None, sites: tuple[str, ...] | None) -> pd.DataFrame:
    return context.get_store().sustainability(sites=sites, instrument=instrument)


def assessments(instrument: str | None, sites: tuple[str, ...] | None) -> pd.DataFrame:
    """Current sustainability-assessment rows of one instrument within a site scope (None = all)."""
    return _assessments(context.data_version(), instrument, sites)


@st.cache_data(show_spinner=False, max_entries=64)
def _findings(version: int, project: str | None, sites: tuple[str, ...] | None) -> pd.DataFrame:
    return context.get_store().findings(project=project, sites=sites)


def findings(project: str | None, sites: tuple[str, ...] | None) -> pd.DataFrame:
    """Current implementation findings within a site scope (None = all)."""
    return _findings(context.data_version(), project, sites)


@st.cache_resource(show_spinner="Scoring the assessments…", max_entries=16)
def _summary(version: int, instrument: str, sites: tuple[str, ...] | None, limit: int):
    """Kept as one shared object (pages only read it), not unpickled on every read as ``st.cache_data`` would:
    at 500 sites its thousand frames cost half a second of CPU per view."""
    cat = context.catalogue()
    rows = _assessments(version, instrument, sites)
    names = {s.id: s.name for s in cat.sites}
    return scoring.sustainability_summary(rows, cat.instrument(instrument), threshold=limit, site_names=names)


def summary(instrument: str, sites: tuple[str, ...] | None) -> scoring.SustainabilitySummary:
    """Scores per site and round, and each site's latest round in words (suppressed below the threshold)."""
    return _summary(context.data_version(), instrument, sites, threshold())


@st.cache_data(show_spinner=False, max_entries=64)
def _change(version: int, instrument: str, site: str, first, second, limit: int):
    cat = context.catalogue()
    rows = _assessments(version, instrument, (site,))
    try:
        return scoring.round_change(rows, cat.instrument(instrument), site, first, second, threshold=limit)
    except AnalysisError as exc:
        return str(exc)


def latest_totals(summary: scoring.SustainabilitySummary, names: dict[str, str]) -> pd.DataFrame:
    """Each shown site's total score at its latest round (label, estimate, ci_low, ci_high; none where the
    round is suppressed), for the ranked chart of a roll-out with many sites: one filter of the scores table."""
    latest = pd.Series({s.site: s.latest for s in summary.sites if s.site in names}, dtype="datetime64[ns]")
    t = summary.scores.table
    rows = t[(t["domain"] == scoring.TOTAL) & ~t["suppressed"] & (t["site"].map(latest) == t["assessment_date"])]
    rows = rows.sort_values("site", key=lambda site: site.map({s: n for n, s in enumerate(latest.index)}), kind="stable")
    labels = [f"{names[site]} ({date:%b %Y})" for site, date in zip(rows["site"], rows["assessment_date"], strict=True)]
    return pd.DataFrame({"label": labels, "estimate": rows["mean"].to_numpy(), "ci_low": rows["ci_low"].to_numpy(),
                         "ci_high": rows["ci_high"].to_numpy()})


def change(instrument: str, site: str, first, second) -> scoring.RoundChange | str:
    """Change of every domain between two rounds at a site, or the plain reason there is none."""
    return _change(context.data_version(), instrument, site, pd.Timestamp(first), pd.Timestamp(second), threshold())
