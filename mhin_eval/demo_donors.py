"""Synthetic donor pools for the demo: comparison organisations for each site's synthetic control.

A site whose catalogue entry has ``[sites.donor_pool] source = "demo"`` gets ``DONORS`` donor series
of the pool's indicator, on the scale the dashboard reads it (count per denominator x ``rate_per``, or
the monthly count when there is no denominator). Each donor is the site's own *untreated* expected
path (demo.py's log-linear model without the effect) times a donor-specific level, drift and seasonal
wobble, with counts drawn as the site's are, so a weighted mix of donors can reproduce the site before
go-live and the true effect is known: ``synth_average_effect``, the mean over the post-go-live months
of the site's expected rate minus its expected untreated rate.

The file lives in ``donors/`` so the store, which seeds itself from the extracts directly in
data/demo/, never mistakes the donors for site data.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from mhin_eval.catalogue import Catalogue, Indicator, Site

DONORS_FILE = "donors/donor_series.csv"
DONOR_COLUMNS = ("project", "site", "indicator", "donor", "period", "value")
DONORS = 12
DECIMALS = 4
QUANTITY = "synth_average_effect"
QUANTITY_LABEL = ("mean over the post-go-live months of the expected value minus the expected untreated "
                  "value, on the scale the donors are given (per denominator x rate_per, or monthly count): "
                  "the target of the synthetic control against the demo donor pool")


def pool_sites(catalogue: Catalogue) -> list[tuple[Site, Indicator]]:
    """(site, indicator) of every intervention site with a demo donor pool."""
    out = []
    for site in catalogue.sites:
        pool = site.donor_pool
        if pool is None or pool.source != "demo" or site.go_live is None:
            continue
        out.append((site, catalogue.indicator(site.project, pool.indicator)))
    return out


def _paths(site: Site, indicator: Indicator, periods) -> tuple[np.ndarray, np.ndarray, int]:
    """(expected untreated values, expected values, index of the go-live month) on the donors' scale."""
    from mhin_eval import demo

    profile, effect = demo.series_profile(indicator), demo.series_effect(site, indicator)
    plan = demo._plan(site, indicator, profile, effect)
    scale = float(indicator.rate_per) if _has_denominator(indicator) else demo.site_scale(site).volume
    t = np.arange(len(periods), dtype=float)
    months = np.array([p.month - 1 for p in periods], dtype=float)
    t0 = demo._months_between(periods[0], demo._month_start(site.go_live))
    before = sum(plan.shares_before[g] * plan.base[g] for g in plan.groups)
    after = sum(plan.shares_after[g] * plan.base[g] * plan.level[g] for g in plan.groups)
    level = effect.level_ratio * after / before
    untreated = scale * before * np.exp(math.log(profile.rate) + profile.trend * t
                                        + demo._fourier(profile.season, months))
    post = t >= t0
    multiplier = np.where(post, level * effect.slope_ratio ** np.where(post, t - t0 + 1, 0), 1.0)
    return untreated, untreated * multiplier, t0


def _has_denominator(indicator: Indicator) -> bool:
    return bool(indicator.denominator) or indicator.kind == "proportion"


def build_donors(catalogue: Catalogue, seed: int) -> pd.DataFrame:
    """``DONORS`` donor series per demo donor pool (columns ``DONOR_COLUMNS``).

    Each donor's counts are drawn like the site's (gamma-Poisson around its mean, over a denominator of
    the site's size), so donors and site are equally noisy, as the placebo methods assume.
    """
    from mhin_eval import demo

    periods = demo.demo_periods(catalogue)
    stamps = pd.to_datetime(periods)
    months = np.array([p.month - 1 for p in periods], dtype=float)
    frames = []
    for site, indicator in pool_sites(catalogue):
        profile = demo.series_profile(indicator)
        untreated, _, t0 = _paths(site, indicator, periods)
        rng = demo._rng(seed, "donors", site.project, site.id, indicator.id)
        years = (np.arange(len(periods)) - t0) / 12
        for j in range(DONORS):
            shift = np.exp(rng.normal(0, 0.12) + rng.normal(0, 0.03) * years
                           + rng.normal(0, 0.04) * np.sin(2 * np.pi * months / 12))
            if _has_denominator(indicator):
                exposure = demo._denominator(profile, site, periods, rng)
                per = float(indicator.rate_per)
            else:
                exposure, per = np.ones(len(periods)), 1.0
            mean = exposure * untreated * shift / per
            if not math.isinf(profile.dispersion):
                mean = mean * rng.gamma(profile.dispersion, 1 / profile.dispersion, len(periods))
            frames.append(pd.DataFrame({
                "project": site.project, "site": site.id, "indicator": indicator.id,
                "donor": f"{site.id}-donor-{j + 1:02d}", "period": stamps,
                "value": rng.poisson(mean) / exposure * per,
            }))
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in DONOR_COLUMNS})
    return pd.concat(frames, ignore_index=True)


def truth_rows(catalogue: Catalogue) -> list[tuple]:
    """(project, site, indicator, breakdown, group, quantity, true_value, note) per demo donor pool."""
    from mhin_eval import demo

    periods = demo.demo_periods(catalogue)
    rows = []
    for site, indicator in pool_sites(catalogue):
        untreated, treated, t0 = _paths(site, indicator, periods)
        effect = float(np.mean(treated[t0:] - untreated[t0:]))
        rows.append((site.project, site.id, indicator.id, "all", "all", QUANTITY, effect,
                     f"against the {DONORS} demo donors, {len(periods) - t0} months from go-live "
                     f"{demo._month_start(site.go_live).isoformat()}"))
    return rows


def donors_csv(frame: pd.DataFrame) -> bytes:
    out = frame.loc[:, list(DONOR_COLUMNS)].copy()
    out["period"] = pd.to_datetime(out["period"]).dt.strftime("%Y-%m-%d")
    out["value"] = [f"{float(v):.{DECIMALS}f}" for v in out["value"]]
    return out.to_csv(index=False, lineterminator="\n").encode("utf-8")
