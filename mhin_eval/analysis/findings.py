"""The implementation-findings register in reading order: facilitators and barriers per site, by
domain (CFIR by default, from the catalogue's [findings] section), for pages and slides.

Pure: stored rows in, tidy frames out. Nothing is scored; the register is qualitative.
"""

from __future__ import annotations

import pandas as pd

from mhin_eval.catalogue import FindingsSpec

FINDINGS_TABLE_COLUMNS = ("Site", "Date", "Kind", "Domain", "Summary", "Source", "Quote")


def _sorted(rows: pd.DataFrame, spec: FindingsSpec) -> pd.DataFrame:
    kinds = {k: n for n, k in enumerate(spec.kinds)}
    domains = {d: n for n, d in enumerate(spec.domains)}
    return (
        rows.assign(
            _kind=rows["kind"].map(kinds).fillna(len(kinds)),
            _domain=rows["domain"].map(domains).fillna(len(domains)),
            _date=-pd.to_datetime(rows["date"]).astype("int64"),
        )
        .sort_values(["site", "_kind", "_domain", "_date", "summary"], kind="stable")
        .drop(columns=["_kind", "_domain", "_date"])
        .reset_index(drop=True)
    )


def findings_frame(rows: pd.DataFrame, spec: FindingsSpec, *, site_names: dict[str, str] | None = None) -> pd.DataFrame:
    """Findings as people read them (columns FINDINGS_TABLE_COLUMNS): per site, kinds in catalogue
    order (facilitators, then barriers), domains in framework order, newest first within a domain."""
    if rows.empty:
        return pd.DataFrame(columns=list(FINDINGS_TABLE_COLUMNS))
    ordered = _sorted(rows, spec)
    names = site_names or {}
    return pd.DataFrame(
        {
            "Site": ordered["site"].map(lambda s: names.get(s, s)),
            "Date": pd.to_datetime(ordered["date"]).dt.strftime("%b %Y"),
            "Kind": ordered["kind"].str.capitalize(),
            "Domain": ordered["domain"].map(spec.domain_label),
            "Summary": ordered["summary"],
            "Source": ordered["source"].str.capitalize(),
            "Quote": ordered["quote"].where(ordered["quote"].notna(), ""),
        }
    )[list(FINDINGS_TABLE_COLUMNS)]


def findings_counts(rows: pd.DataFrame, spec: FindingsSpec) -> pd.DataFrame:
    """Number of findings per site, domain and kind (every catalogue domain and kind present, zeros kept)."""
    sites = sorted(rows["site"].unique()) if not rows.empty else []
    index = pd.MultiIndex.from_product([sites, list(spec.domains), list(spec.kinds)], names=["site", "domain", "kind"])
    counts = rows.groupby(["site", "domain", "kind"]).size() if not rows.empty else pd.Series(dtype="int64")
    out = counts.reindex(index, fill_value=0).rename("n").reset_index()
    out["label"] = out["domain"].map(spec.domain_label)
    return out
