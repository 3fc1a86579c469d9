"""Synthetic demo data with known true effects, generated from the catalogue.

Every number here is invented. The series and participant extracts are drawn from the very models
the analyses fit, so each built-in effect is a known target: count series are log-linear segmented
regressions (Lopez Bernal, Cummins & Gasparrini, Int J Epidemiol 2017) with Fourier seasonality and
gamma-Poisson overdispersion; participant measures are paired before/after draws. Everything is
driven by the catalogue: a site, indicator or project added there gets data from generic defaults.
Each series and each site's participants has its own random stream, seeded from ``seed`` and the
ids, so adding a site changes no other site's numbers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mhin_eval import demo_donors
from mhin_eval import demo_implementation as implementation
from mhin_eval.catalogue import PROJECT_ROOT, Catalogue, Indicator, Site, load_catalogue

DEFAULT_SEED = 20240401
DEFAULT_OUT_DIR = PROJECT_ROOT / "data" / "demo"
DOCS_PATH = PROJECT_ROOT / "docs" / "demo-data.md"
SERIES_FILE = "series.csv"
PARTICIPANTS_FILE = "participants.csv"
#: Kept in a sub-folder: the store seeds itself from every extract directly inside data/demo.
TRUE_EFFECTS_FILE = "truth/true_effects.csv"
README_FILE = "README.md"

FIRST_PERIOD = dt.date(2019, 1, 1)
LAST_PERIOD = dt.date(2024, 12, 1)
#: The range is widened (to whole years) so every go-live has at least this many months each side.
MONTHS_EACH_SIDE = 24
DEFAULT_HORIZON = 12

SERIES_COLUMNS = ("project", "site", "indicator", "period", "value", "denominator", "breakdown", "group")
PARTICIPANT_COLUMNS = (
    "project", "site", "participant_id", "measure", "timepoint", "value", "date",
    "delivery_mode", "ethnicity", "age_band", "sex",
)  # fmt: skip
TRUE_EFFECT_COLUMNS = ("project", "site", "indicator", "breakdown", "group", "quantity", "true_value", "note")
BASELINE, FOLLOW_UP = "baseline", "follow-up"

ETHNIC_GROUPS = ("Asian or Asian British", "Black or Black British", "Mixed", "White", "Other Ethnic Groups")
BREAKDOWN_GROUPS: dict[str, tuple[str, ...]] = {
    "ethnicity": ETHNIC_GROUPS,
    "delivery_mode": ("online", "face-to-face"),
    "sex": ("Female", "Male"),
}
#: Shares used when a site gives none (ethnicity roughly as England's population; invented otherwise).
DEFAULT_SHARES: dict[str, tuple[dict[str, float], dict[str, float]]] = {
    "ethnicity": (
        {"Asian or Asian British": 0.096, "Black or Black British": 0.042, "Mixed": 0.030, "White": 0.810,
         "Other Ethnic Groups": 0.022},
    ) * 2,
    "delivery_mode": ({"online": 0.2, "face-to-face": 0.8}, {"online": 0.7, "face-to-face": 0.3}),
    "sex": ({"Female": 0.5, "Male": 0.5},) * 2,
}  # fmt: skip

#: What each true-effect quantity means (docs/demo-data.md shows the same list).
QUANTITY_LABELS = {
    "level_change_ratio": "exp(level-change coefficient): the step at go-live on the log scale (rate per "
    "denominator, or monthly count when there is none)",
    "slope_change_ratio_per_month": "exp(slope-change coefficient): extra multiplicative change per month after "
    "the last pre-go-live month",
    "effect_ratio_at_horizon": "level × slope^h: actual vs counterfactual h = horizon_months after the last "
    "pre-go-live month",
    "controlled_level_change_ratio": "level change relative to the comparison series (controlled ITS)",
    "controlled_slope_change_ratio_per_month": "slope change relative to the comparison series (controlled ITS)",
    "level_change": "level-change coefficient of a continuous series (units of the indicator)",
    "slope_change_per_month": "slope-change coefficient of a continuous series (units per month)",
    "rate_ratio_vs_reference_before": "the group's rate / the reference group's rate before go-live",
    "rate_ratio_vs_reference_after": "the group's rate / the reference group's rate from go-live on",
    "rate_ratio_vs_reference_change": "after / before rate ratio vs reference",
    "rate_ratio": "expected follow-up count / expected baseline count per participant",
    "mean_difference": "expected follow-up minus baseline value, after bounding to the scale",
    "proportion_difference": "follow-up minus baseline proportion",
    demo_donors.QUANTITY: demo_donors.QUANTITY_LABEL,
}

README_TEXT = """\
# SYNTHETIC DEMO DATA — not real patients or services

Every value in this folder is invented by `mhin_eval/demo.py`. No row describes a real person,
service, site or period. The extracts only look like what partner sites upload, so the dashboard can
be explored and the analyses checked against known answers.

- `series.csv` — monthly site-level indicator series (`project, site, indicator, period, value,
  denominator, breakdown, group`).
- `participants.csv` — pseudonymised before/after records (`project, site, participant_id, measure,
  timepoint, value, date, delivery_mode, ethnicity, age_band, sex`).
- `sustainability.csv` — sustainability self-assessments (`project, site, instrument, assessment_date,
  respondent, item, score`): every catalogue instrument (PSAT, CSAT) in yearly rounds per site.
- `findings.csv` — implementation findings (`project, site, date, kind, domain, summary, source,
  quote`): invented facilitators and barriers, each summary and quote marked "(Synthetic)".
- `truth/true_effects.csv` — the effects built in on purpose (true level and slope changes, mean
  differences, rate ratios); `docs/demo-data.md` lists them in one table.

Regenerate (byte-identical for the same catalogue, seed and numpy version):

```bash
.venv/bin/python -m mhin_eval.demo          # rewrites data/demo/ and the table in docs/demo-data.md
```

`tests/unit/test_demo.py` fails when these files differ from a fresh generation.
"""


# --------------------------------------------------------------------------- generating parameters


@dataclass(frozen=True)
class SeriesProfile:
    """Shape of one series indicator at a typical site.

    ``rate`` is the expected monthly count per denominator unit (per site when there is no
    denominator) in the first month, for the reference group when ``group_rate`` is given;
    ``season`` are log-scale Fourier coefficients (sin1, cos1, sin2, cos2) on the calendar month;
    ``dispersion`` is the gamma shape k (variance = mu + mu**2 / k). ``denominator_kind`` names
    the denominator ("cohort", "population") so a site can give its own size for it.
    """

    rate: float
    trend: float = 0.0
    season: tuple[float, float, float, float] = (0.0, 0.05, 0.0, 0.0)
    dispersion: float = 30.0
    group_rate: Mapping[str, float] = field(default_factory=dict)
    denominator_kind: str = ""
    denominator_size: float = 1000.0
    denominator_growth: float = 0.0
    denominator_jitter: float = 0.0
    noise_sd: float = 0.0
    decimals: int = 0


@dataclass(frozen=True)
class SiteScale:
    """Size of a site: denominators by kind (cohort, population), volume multiplier for series without
    a denominator, group shares before and after go-live, number of participants."""

    denominators: Mapping[str, float] = field(default_factory=dict)
    volume: float = 1.0
    shares: Mapping[str, tuple[Mapping[str, float], Mapping[str, float]]] = field(default_factory=dict)
    participants: int = 100


@dataclass(frozen=True)
class SeriesEffect:
    """Built-in change at go-live: level and slope ratios for counts (optionally per group),
    differences for mean and score series."""

    level_ratio: float = 1.0
    slope_ratio: float = 1.0
    group_level_ratio: Mapping[str, float] = field(default_factory=dict)
    level_difference: float = 0.0
    slope_difference: float = 0.0


@dataclass(frozen=True)
class ParticipantProfile:
    """Baseline distribution of one participant measure: counts (mean, gamma frailty shape), or scores
    (mean, sd, before/after correlation; follow-up has the baseline's spread, so a zero shift is no change)."""

    mean: float
    sd: float = 0.0
    correlation: float = 0.6
    frailty_shape: float = 2.0
    decimals: int = 0


@dataclass(frozen=True)
class ParticipantEffect:
    """Built-in before/after change: a rate ratio for counts, a shift for scores, optionally per group."""

    ratio: float = 1.0
    shift: float = 0.0
    group_shift: Mapping[str, float] = field(default_factory=dict)
    group_ratio: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ProjectPeople:
    """Who a project's participants are and when they are followed up."""

    follow_up_days: int = 182
    missing_follow_up: float = 0.2
    age_bands: tuple[str, ...] = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
    age_weights: tuple[float, ...] = (0.10, 0.20, 0.22, 0.22, 0.16, 0.10)
    male_share: float = 0.5


def _annual_per_100k(rate: float) -> float:
    return rate / 12 / 100_000


# Mental Health Act detention rates by ethnic group relative to White: NHS England, Mental Health Act
# Statistics, Annual Figures 2023-24, crude rates per 100,000 (White 69.5, Black or Black British 239.0,
# Asian or Asian British 79.9, Mixed 115.9, Other Ethnic Groups 130.6). The restrictive-practice rates
# below are invented, with the same kind of gradient.
_DETENTION_RELATIVE = {
    "White": 1.0, "Black or Black British": 239.0 / 69.5, "Asian or Asian British": 79.9 / 69.5,
    "Mixed": 115.9 / 69.5, "Other Ethnic Groups": 130.6 / 69.5,
}  # fmt: skip
_POPULATION = dict(denominator_kind="population", denominator_size=400_000, denominator_growth=0.006)
_COHORT = dict(
    denominator_kind="cohort", denominator_size=150, denominator_growth=0.02, denominator_jitter=0.03
)
_WINTER = (0.02, 0.08, 0.0, 0.03)
_SCHOOL_YEAR = (0.06, 0.04, -0.03, -0.08)

SERIES_PROFILES: dict[tuple[str, str], SeriesProfile] = {
    ("aaot", "ae-attendances"): SeriesProfile(0.55, trend=0.0015, season=_WINTER, dispersion=60, **_COHORT),
    ("aaot", "unplanned-admissions"): SeriesProfile(
        0.17, trend=0.001, season=(0.01, 0.10, 0.0, 0.02), dispersion=40, **_COHORT
    ),
    ("aaot", "cmh-waiting-over-52-weeks"): SeriesProfile(
        0.3, trend=0.003, season=(0.0, 0.02, 0.0, 0.0), dispersion=math.inf, denominator_kind="open referrals",
        denominator_size=3000, denominator_growth=0.03, denominator_jitter=0.02,
    ),
    ("parent-cbt", "referrals"): SeriesProfile(6.0, trend=0.002, season=_SCHOOL_YEAR, dispersion=15),
    ("parent-cbt", "families-started"): SeriesProfile(2.5, trend=0.001, season=_SCHOOL_YEAR, dispersion=20),
    ("parent-cbt", "families-completed"): SeriesProfile(
        1.75, trend=0.001, season=_SCHOOL_YEAR, dispersion=20, group_rate={"online": 1.05, "face-to-face": 0.95}
    ),
    ("pcref", "cmh-referrals-started"): SeriesProfile(600.0, trend=0.003, season=(0.0, 0.04, 0.0, 0.0), dispersion=80),
    ("pcref", "cyp-waiting-over-52-weeks"): SeriesProfile(
        0.15, trend=0.004, season=(0.0, 0.02, 0.0, 0.0), dispersion=math.inf, denominator_kind="open referrals",
        denominator_size=1500, denominator_growth=0.04, denominator_jitter=0.02,
    ),
    ("pcref", "mha-detentions"): SeriesProfile(
        _annual_per_100k(69.5), trend=0.001, season=(0.0, 0.03, 0.0, 0.0), dispersion=40,
        group_rate=_DETENTION_RELATIVE, **_POPULATION,
    ),
    ("pcref", "restraint"): SeriesProfile(
        _annual_per_100k(95.0), trend=0.002, season=(0.0, 0.03, 0.0, 0.0), dispersion=25,
        group_rate={"White": 1.0, "Black or Black British": 3.6, "Asian or Asian British": 1.1, "Mixed": 2.0,
                    "Other Ethnic Groups": 1.7},
        **_POPULATION,
    ),
    ("pcref", "seclusion"): SeriesProfile(
        _annual_per_100k(22.0), trend=0.0, season=(0.0, 0.02, 0.0, 0.0), dispersion=25,
        group_rate={"White": 1.0, "Black or Black British": 4.2, "Asian or Asian British": 1.2, "Mixed": 2.2,
                    "Other Ethnic Groups": 1.8},
        **_POPULATION,
    ),
    ("pcref", "rapid-tranquillisation"): SeriesProfile(
        _annual_per_100k(38.0), trend=0.001, season=(0.0, 0.02, 0.0, 0.0), dispersion=25,
        group_rate={"White": 1.0, "Black or Black British": 3.8, "Asian or Asian British": 1.1, "Mixed": 1.9,
                    "Other Ethnic Groups": 1.6},
        **_POPULATION,
    ),
}  # fmt: skip

SITE_SCALES: dict[str, SiteScale] = {
    "hull": SiteScale(denominators={"cohort": 110}, participants=120),
    "greater-manchester": SiteScale(denominators={"cohort": 170}, participants=160),
    "aaot-comparison": SiteScale(denominators={"cohort": 260}),
    "east-of-england": SiteScale(
        volume=1.0, participants=200,
        shares={"delivery_mode": ({"online": 0.10, "face-to-face": 0.90}, {"online": 0.80, "face-to-face": 0.20})},
    ),
    "northwest-coast": SiteScale(
        volume=0.8, participants=100,
        shares={"delivery_mode": ({"online": 0.05, "face-to-face": 0.95}, {"online": 0.60, "face-to-face": 0.40})},
    ),
    "sheffield": SiteScale(
        denominators={"population": 557_000},
        shares={"ethnicity": ({"White": 0.795, "Asian or Asian British": 0.096, "Black or Black British": 0.046,
                               "Mixed": 0.036, "Other Ethnic Groups": 0.027},) * 2},
    ),
    "manchester": SiteScale(
        denominators={"population": 562_000},
        shares={"ethnicity": ({"White": 0.568, "Asian or Asian British": 0.208, "Black or Black British": 0.119,
                               "Mixed": 0.052, "Other Ethnic Groups": 0.053},) * 2},
    ),
}  # fmt: skip

#: Effects keyed by (site, indicator); an explicit entry with no change is a deliberate null effect.
SERIES_EFFECTS: dict[tuple[str, str], SeriesEffect] = {
    ("hull", "ae-attendances"): SeriesEffect(0.90),
    ("hull", "unplanned-admissions"): SeriesEffect(1.0),
    ("greater-manchester", "ae-attendances"): SeriesEffect(0.70, 0.995),
    ("greater-manchester", "unplanned-admissions"): SeriesEffect(0.72),
    ("east-of-england", "referrals"): SeriesEffect(1.8, 1.01),
    ("east-of-england", "families-started"): SeriesEffect(2.0, 1.005),
    ("east-of-england", "families-completed"): SeriesEffect(2.0, 1.005),
    ("northwest-coast", "referrals"): SeriesEffect(1.3),
    ("northwest-coast", "families-started"): SeriesEffect(1.4),
    ("northwest-coast", "families-completed"): SeriesEffect(1.4),
    ("sheffield", "mha-detentions"): SeriesEffect(group_level_ratio={"Black or Black British": 0.80}),
    ("sheffield", "restraint"): SeriesEffect(group_level_ratio={"Black or Black British": 0.85}),
    ("sheffield", "seclusion"): SeriesEffect(),
    ("sheffield", "rapid-tranquillisation"): SeriesEffect(),
    ("manchester", "mha-detentions"): SeriesEffect(),
    ("manchester", "restraint"): SeriesEffect(),
    ("manchester", "seclusion"): SeriesEffect(),
    ("manchester", "rapid-tranquillisation"): SeriesEffect(),
}

PARTICIPANT_PROFILES: dict[tuple[str, str], ParticipantProfile] = {
    ("aaot", "ae-attendances-6m"): ParticipantProfile(5.5, frailty_shape=2.0),
    ("aaot", "admissions-6m"): ParticipantProfile(2.0, frailty_shape=1.5),
    ("aaot", "alcohol-units"): ParticipantProfile(140.0, sd=55.0, correlation=0.6, decimals=1),
    ("aaot", "psychological-health"): ParticipantProfile(36.0, sd=11.0, correlation=0.6, decimals=1),
    ("aaot", "physical-health"): ParticipantProfile(41.0, sd=11.0, correlation=0.65, decimals=1),
    ("parent-cbt", "child-anxiety"): ParticipantProfile(38.0, sd=14.0, correlation=0.65),
    ("parent-cbt", "functional-impairment"): ParticipantProfile(21.0, sd=10.0, correlation=0.6),
}

PARTICIPANT_EFFECTS: dict[tuple[str, str], ParticipantEffect] = {
    ("hull", "ae-attendances-6m"): ParticipantEffect(ratio=0.90),
    ("hull", "admissions-6m"): ParticipantEffect(ratio=1.0),
    ("hull", "alcohol-units"): ParticipantEffect(shift=-32.0),
    ("hull", "psychological-health"): ParticipantEffect(shift=9.0),
    ("hull", "physical-health"): ParticipantEffect(shift=0.0),
    ("greater-manchester", "ae-attendances-6m"): ParticipantEffect(ratio=0.70),
    ("greater-manchester", "admissions-6m"): ParticipantEffect(ratio=0.72),
    ("greater-manchester", "alcohol-units"): ParticipantEffect(shift=-12.0),
    ("greater-manchester", "psychological-health"): ParticipantEffect(shift=3.0),
    ("greater-manchester", "physical-health"): ParticipantEffect(shift=1.5),
    ("east-of-england", "child-anxiety"): ParticipantEffect(
        group_shift={"online": -11.0, "face-to-face": -12.0}
    ),
    ("east-of-england", "functional-impairment"): ParticipantEffect(
        group_shift={"online": -6.0, "face-to-face": -7.0}
    ),
    ("northwest-coast", "child-anxiety"): ParticipantEffect(
        group_shift={"online": -8.0, "face-to-face": -10.0}
    ),
    ("northwest-coast", "functional-impairment"): ParticipantEffect(
        group_shift={"online": -4.0, "face-to-face": -5.0}
    ),
}

PROJECT_PEOPLE: dict[str, ProjectPeople] = {
    "aaot": ProjectPeople(follow_up_days=182, missing_follow_up=0.22, male_share=0.68),
    "parent-cbt": ProjectPeople(
        follow_up_days=84, missing_follow_up=0.18, age_bands=("5-7", "8-10", "11-12"),
        age_weights=(0.30, 0.45, 0.25), male_share=0.45,
    ),
}  # fmt: skip
PROBABILITY_EMPTY_DATE = 0.02
PROBABILITY_MISSING_ITEM = 0.03


# --------------------------------------------------------------------------- defaults for new entries


def series_profile(indicator: Indicator) -> SeriesProfile:
    """The indicator's profile, or a generic one by kind when the catalogue entry is new."""
    known = SERIES_PROFILES.get((indicator.project, indicator.id))
    if known is not None:
        return known
    if indicator.kind in ("mean", "score"):
        level = indicator.max_value / 2 if indicator.max_value else 50.0
        return SeriesProfile(level, noise_sd=0.05 * level, season=(0.0, 0.02 * level, 0.0, 0.0), decimals=2)
    if indicator.kind == "proportion":
        return SeriesProfile(0.3, season=(0.0, 0.03, 0.0, 0.0), denominator_size=200, dispersion=math.inf)
    if indicator.denominator:
        return SeriesProfile(0.05, denominator_size=1000)
    return SeriesProfile(20.0)


def series_effect(site: Site, indicator: Indicator) -> SeriesEffect:
    """The built-in effect; a modest improvement for new entries, none at comparison sites."""
    if site.is_comparison:
        return SeriesEffect()
    known = SERIES_EFFECTS.get((site.id, indicator.id))
    if known is not None:
        return known
    if indicator.kind in ("mean", "score"):
        step = 0.1 * series_profile(indicator).rate
        return SeriesEffect(level_difference=-step if indicator.lower_is_better else step)
    return SeriesEffect(0.9 if indicator.lower_is_better else 1.1)


def site_scale(site: Site) -> SiteScale:
    return SITE_SCALES.get(site.id, SiteScale())


def group_shares(site: Site, breakdown: str) -> tuple[dict[str, float], dict[str, float]]:
    """Shares of each group before and after go-live (normalised), from the site or the defaults."""
    groups = BREAKDOWN_GROUPS.get(breakdown, (f"{breakdown} 1", f"{breakdown} 2"))
    before, after = site_scale(site).shares.get(breakdown) or DEFAULT_SHARES.get(breakdown) or ({}, {})

    def normalised(shares: Mapping[str, float]) -> dict[str, float]:
        raw = {g: float(shares.get(g, 1.0 if not shares else 0.0)) for g in groups}
        total = sum(raw.values())
        return {g: v / total for g, v in raw.items()}

    return normalised(before), normalised(after)


def participant_profile(indicator: Indicator) -> ParticipantProfile:
    known = PARTICIPANT_PROFILES.get((indicator.project, indicator.id))
    if known is not None:
        return known
    if indicator.kind == "count":
        return ParticipantProfile(3.0)
    if indicator.kind == "proportion":
        return ParticipantProfile(0.4)
    level = 0.4 * indicator.max_value if indicator.max_value else 50.0
    return ParticipantProfile(level, sd=0.15 * (indicator.max_value or 100.0), correlation=0.6)


def participant_effect(site: Site, indicator: Indicator) -> ParticipantEffect:
    known = PARTICIPANT_EFFECTS.get((site.id, indicator.id))
    if known is not None:
        return known
    sign = -1.0 if indicator.lower_is_better else 1.0
    if indicator.kind == "count":
        return ParticipantEffect(ratio=0.85 if sign < 0 else 1.15)
    if indicator.kind == "proportion":
        return ParticipantEffect(shift=0.1 * sign)
    profile = participant_profile(indicator)
    return ParticipantEffect(shift=round(0.3 * sign * profile.sd, 1))


# --------------------------------------------------------------------------- calendar


def _month_start(day: dt.date) -> dt.date:
    return dt.date(day.year, day.month, 1)


def _months_between(start: dt.date, end: dt.date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def demo_periods(catalogue: Catalogue) -> list[dt.date]:
    """Month starts of the demo range: Jan 2019 - Dec 2024, widened by whole years so that every
    go-live has at least ``MONTHS_EACH_SIDE`` months on each side."""
    first, last = FIRST_PERIOD, LAST_PERIOD
    for site in catalogue.sites:
        if site.go_live is not None:
            go_live = _month_start(site.go_live)
            earliest = _add_months(go_live, -MONTHS_EACH_SIDE)
            latest = _add_months(go_live, MONTHS_EACH_SIDE - 1)
            first = min(first, dt.date(earliest.year, 1, 1))
            last = max(last, dt.date(latest.year, 12, 1))
    return [_add_months(first, k) for k in range(_months_between(first, last) + 1)]


def reference_go_live(site: Site, catalogue: Catalogue) -> tuple[dt.date | None, str]:
    """A site's go-live; for a comparison site, that of the first intervention site it controls for."""
    if site.go_live is not None:
        return _month_start(site.go_live), site.id
    for other in catalogue.sites:
        if site.id in other.comparison_sites and other.go_live is not None:
            return _month_start(other.go_live), other.id
    return None, ""


def _rng(seed: int, *ids: str) -> np.random.Generator:
    digest = hashlib.sha256("/".join(ids).encode()).digest()
    return np.random.default_rng([seed, int.from_bytes(digest[:8], "little")])


def _fourier(coefficients: tuple[float, float, float, float], months: np.ndarray) -> np.ndarray:
    angle = 2 * np.pi * months / 12
    s1, c1, s2, c2 = coefficients
    return s1 * np.sin(angle) + c1 * np.cos(angle) + s2 * np.sin(2 * angle) + c2 * np.cos(2 * angle)


# --------------------------------------------------------------------------- series


@dataclass(frozen=True)
class _SeriesPlan:
    """The groups of one (site, indicator) series with their first-month means and level ratios."""

    groups: tuple[str, ...]
    breakdown: str
    base: dict[str, float]
    shares_before: dict[str, float]
    shares_after: dict[str, float]
    level: dict[str, float]


def _plan(site: Site, indicator: Indicator, profile: SeriesProfile, effect: SeriesEffect) -> _SeriesPlan:
    breakdown = indicator.breakdowns[0] if indicator.breakdowns else "all"
    if breakdown == "all":
        groups, before, after = ("all",), {"all": 1.0}, {"all": 1.0}
    else:
        before, after = group_shares(site, breakdown)
        groups = tuple(before)
    base = {g: profile.group_rate.get(g, 1.0) if profile.group_rate else 1.0 for g in groups}
    level = {g: effect.group_level_ratio.get(g, 1.0) for g in groups}
    return _SeriesPlan(groups, breakdown, base, before, after, level)


def _denominator(profile: SeriesProfile, site: Site, periods, rng) -> np.ndarray:
    size = site_scale(site).denominators.get(profile.denominator_kind) or profile.denominator_size
    years = np.array([p.year - periods[0].year for p in periods], dtype=float)
    growth = (1 + profile.denominator_growth) ** years
    jitter = np.exp(profile.denominator_jitter * rng.standard_normal(len(periods)))
    return size * growth * jitter


def _count_series(site, indicator, periods, go_live, rng) -> pd.DataFrame:
    profile, effect = series_profile(indicator), series_effect(site, indicator)
    plan = _plan(site, indicator, profile, effect)
    t = np.arange(len(periods), dtype=float)
    months = np.array([p.month - 1 for p in periods], dtype=float)
    post = (
        np.zeros(len(periods)) if go_live is None else np.array([p >= go_live for p in periods], dtype=float)
    )
    t0 = _months_between(periods[0], go_live) if go_live is not None else 0
    since = (t - t0 + 1) * post
    has_denominator = bool(indicator.denominator) or indicator.kind == "proportion"
    total_denominator = _denominator(profile, site, periods, rng) if has_denominator else None
    log_common = (
        math.log(profile.rate) + profile.trend * t + _fourier(profile.season, months)
        + since * math.log(effect.slope_ratio) + post * math.log(effect.level_ratio)
    )  # fmt: skip
    volume = site_scale(site).volume
    frames = []
    for group in plan.groups:
        share = np.where(post > 0, plan.shares_after[group], plan.shares_before[group])
        if has_denominator:
            denominator = np.round(total_denominator * share)
            exposure = denominator
        else:
            denominator = np.full(len(periods), np.nan)
            exposure = volume * share
        mean = exposure * np.exp(log_common + math.log(plan.base[group]) + post * math.log(plan.level[group]))
        if indicator.kind == "proportion":
            values = rng.binomial(
                denominator.astype(np.int64), np.clip(mean / np.maximum(denominator, 1), 0, 1)
            )
        elif math.isinf(profile.dispersion):
            values = rng.poisson(mean)
        else:
            values = rng.poisson(mean * rng.gamma(profile.dispersion, 1 / profile.dispersion, len(periods)))
        frames.append(
            _series_frame(site, indicator, periods, values.astype(float), denominator, plan.breakdown, group)
        )
    if plan.breakdown != "all":
        total = frames[0].copy()
        total["value"] = sum(f["value"].to_numpy() for f in frames)
        total["denominator"] = sum(f["denominator"].to_numpy() for f in frames) if has_denominator else np.nan
        total["breakdown"], total["group"] = "all", "all"
        frames.insert(0, total)
    return pd.concat(frames, ignore_index=True)


def _continuous_series(site, indicator, periods, go_live, rng) -> pd.DataFrame:
    """A mean or score series: the same segmented line on the original scale, plus normal noise."""
    profile, effect = series_profile(indicator), series_effect(site, indicator)
    t = np.arange(len(periods), dtype=float)
    months = np.array([p.month - 1 for p in periods], dtype=float)
    post = (
        np.zeros(len(periods)) if go_live is None else np.array([p >= go_live for p in periods], dtype=float)
    )
    t0 = _months_between(periods[0], go_live) if go_live is not None else 0
    since = (t - t0 + 1) * post
    mean = (
        profile.rate + profile.trend * t + _fourier(profile.season, months)
        + post * effect.level_difference + since * effect.slope_difference
    )  # fmt: skip
    breakdown = indicator.breakdowns[0] if indicator.breakdowns else "all"
    groups = ("all",) + (tuple(group_shares(site, breakdown)[0]) if breakdown != "all" else ())
    frames = []
    for group in groups:
        values = mean + profile.noise_sd * rng.standard_normal(len(periods))
        values = np.round(np.clip(values, 0, indicator.max_value or np.inf), profile.decimals)
        nothing = np.full(len(periods), np.nan)
        frames.append(_series_frame(site, indicator, periods, values, nothing, breakdown, group))
    return pd.concat(frames, ignore_index=True)


def _series_frame(site, indicator, periods, values, denominator, breakdown, group) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "project": indicator.project,
            "site": site.id,
            "indicator": indicator.id,
            "period": pd.to_datetime(periods),
            "value": values,
            "denominator": denominator,
            "breakdown": breakdown if group != "all" else "all",
            "group": group,
        }
    )


def _drop_missing_months(frame: pd.DataFrame, periods, go_live, rng) -> pd.DataFrame:
    """About half the series lose 2-3 months (all groups of the month), away from go-live."""
    if rng.random() >= 0.5:
        return frame
    candidates = [p for p in periods[3:-3] if go_live is None or abs(_months_between(go_live, p)) > 3]
    chosen = rng.choice(len(candidates), size=int(rng.integers(2, 4)), replace=False)
    dropped = pd.to_datetime([candidates[i] for i in sorted(chosen)])
    return frame.loc[~frame["period"].isin(dropped)]


def _build_series(catalogue: Catalogue, seed: int) -> pd.DataFrame:
    periods = demo_periods(catalogue)
    frames = []
    for site in catalogue.sites:
        go_live = _month_start(site.go_live) if site.go_live is not None else None
        for indicator in catalogue.indicators_of(site.project, source="series"):
            rng = _rng(seed, "series", site.project, site.id, indicator.id)
            if indicator.kind in ("mean", "score"):
                frame = _continuous_series(site, indicator, periods, go_live, rng)
            else:
                frame = _count_series(site, indicator, periods, go_live, rng)
            frames.append(_drop_missing_months(frame, periods, go_live, rng))
    if not frames:
        return _empty(SERIES_COLUMNS)
    return _sorted(
        pd.concat(frames, ignore_index=True), ["project", "site", "indicator", "breakdown", "group", "period"]
    )


# --------------------------------------------------------------------------- participants


def participant_prefixes(catalogue: Catalogue) -> dict[str, str]:
    """Pseudonym prefix per site: initials of a hyphenated id ("GM"), else its first letters ("HUL")."""
    prefixes: dict[str, str] = {}
    for site in catalogue.sites:
        parts = [p for p in site.id.split("-") if p]
        candidates = ["".join(p[0] for p in parts)] if len(parts) > 1 else []
        candidates += [site.id.replace("-", "")[:n] for n in range(3, len(site.id) + 1)]
        candidates = [c.upper() for c in candidates if c]
        prefix = next((c for c in candidates if c not in prefixes.values()), None)
        n = 2
        while prefix is None or prefix in prefixes.values():
            prefix, n = f"{candidates[0]}{n}", n + 1
        prefixes[site.id] = prefix
    return prefixes


def _bounded(values: np.ndarray, indicator: Indicator, decimals: int) -> np.ndarray:
    upper = indicator.max_value if indicator.max_value is not None else np.inf
    return np.round(np.clip(values, 0, upper), decimals)


def _participant_values(indicator, profile, effect, modes, rng) -> tuple[np.ndarray, np.ndarray]:
    n = len(modes)
    if indicator.kind == "count":
        frailty = rng.gamma(profile.frailty_shape, profile.mean / profile.frailty_shape, n)
        ratio = np.array([effect.group_ratio.get(m, effect.ratio) for m in modes])
        return rng.poisson(frailty).astype(float), rng.poisson(frailty * ratio).astype(float)
    shift = np.array([effect.group_shift.get(m, effect.shift) for m in modes])
    if indicator.kind == "proportion":
        before = rng.random(n) < profile.mean
        after = rng.random(n) < np.clip(profile.mean + shift, 0, 1)
        return before.astype(float), after.astype(float)
    before = profile.mean + profile.sd * rng.standard_normal(n)
    rho = profile.correlation
    after = (
        profile.mean + shift + rho * (before - profile.mean)
        + math.sqrt(1 - rho**2) * profile.sd * rng.standard_normal(n)
    )  # fmt: skip
    return _bounded(before, indicator, profile.decimals), _bounded(after, indicator, profile.decimals)


def _site_people(site: Site, catalogue: Catalogue, prefix: str, last_day: dt.date, seed: int) -> pd.DataFrame:
    """One row per participant: id, attributes, baseline and follow-up dates, whether followed up."""
    people = PROJECT_PEOPLE.get(site.project, ProjectPeople())
    rng = _rng(seed, "people", site.project, site.id)
    n = site_scale(site).participants
    measures = catalogue.indicators_of(site.project, source="participant")
    with_mode = any("delivery_mode" in m.breakdowns for m in measures)
    ethnic = group_shares(site, "ethnicity")[0]
    online = group_shares(site, "delivery_mode")[1]["online"]
    go_live = site.go_live or FIRST_PERIOD
    span = max((last_day - go_live).days - people.follow_up_days - 21, 1)
    baseline = [go_live + dt.timedelta(days=int(d)) for d in np.sort(rng.integers(0, span, n))]
    follow_up = [
        b + dt.timedelta(days=people.follow_up_days + int(j))
        for b, j in zip(baseline, rng.integers(-14, 15, n), strict=True)
    ]
    weights = np.array(people.age_weights[: len(people.age_bands)], dtype=float)
    frame = pd.DataFrame(
        {
            "participant_id": [f"{prefix}-{k:04d}" for k in range(1, n + 1)],
            "baseline_date": baseline,
            "follow_up_date": follow_up,
            "followed_up": rng.random(n) >= people.missing_follow_up,
            "delivery_mode": rng.choice(["online", "face-to-face"], n, p=[online, 1 - online])
            if with_mode
            else None,
            "ethnicity": rng.choice(list(ethnic), n, p=list(ethnic.values())),
            "age_band": rng.choice(list(people.age_bands), n, p=weights / weights.sum()),
            "sex": np.where(rng.random(n) < people.male_share, "Male", "Female"),
        }
    )
    return frame


def _build_participants(catalogue: Catalogue, seed: int) -> pd.DataFrame:
    last_day = _add_months(demo_periods(catalogue)[-1], 1) - dt.timedelta(days=1)
    prefixes = participant_prefixes(catalogue)
    frames = []
    for site in catalogue.sites:
        measures = catalogue.indicators_of(site.project, source="participant")
        if site.is_comparison or not measures:
            continue
        people = _site_people(site, catalogue, prefixes[site.id], last_day, seed)
        modes = people["delivery_mode"].fillna("").tolist()
        for indicator in measures:
            rng = _rng(seed, "participants", site.project, site.id, indicator.id)
            before, after = _participant_values(
                indicator, participant_profile(indicator), participant_effect(site, indicator), modes, rng
            )
            observed_after = people["followed_up"].to_numpy() & (
                rng.random(len(people)) >= PROBABILITY_MISSING_ITEM
            )
            for timepoint, values, dates, keep in (
                (BASELINE, before, people["baseline_date"], np.ones(len(people), bool)),
                (FOLLOW_UP, after, people["follow_up_date"], observed_after),
            ):
                date_known = rng.random(len(people)) >= PROBABILITY_EMPTY_DATE
                frame = pd.DataFrame(
                    {
                        "project": site.project,
                        "site": site.id,
                        "participant_id": people["participant_id"],
                        "measure": indicator.id,
                        "timepoint": timepoint,
                        "value": values,
                        "date": pd.to_datetime(dates).where(date_known),
                        "delivery_mode": people["delivery_mode"],
                        "ethnicity": people["ethnicity"],
                        "age_band": people["age_band"],
                        "sex": people["sex"],
                    }
                )
                frames.append(frame.loc[keep])
    if not frames:
        return _empty(PARTICIPANT_COLUMNS)
    result = pd.concat(frames, ignore_index=True)
    for column in ("delivery_mode", "ethnicity", "age_band", "sex"):
        result[column] = result[column].astype("str").where(result[column].notna())
    return _sorted(result, ["project", "site", "participant_id", "measure", "timepoint"])


# --------------------------------------------------------------------------- true effects


def _normal_clipped_mean(mean: float, sd: float, upper: float | None) -> float:
    """E[min(max(X, 0), upper)] for X ~ N(mean, sd): the expected value of a bounded score."""
    if sd <= 0:
        return min(max(mean, 0.0), upper if upper is not None else math.inf)

    def cdf(z: float) -> float:
        return 0.5 * (1 + math.erf(z / math.sqrt(2)))

    def pdf(z: float) -> float:
        return math.exp(-z * z / 2) / math.sqrt(2 * math.pi)

    a = (0 - mean) / sd
    if upper is None:
        return mean * (1 - cdf(a)) + sd * pdf(a)
    b = (upper - mean) / sd
    return upper * (1 - cdf(b)) + mean * (cdf(b) - cdf(a)) + sd * (pdf(a) - pdf(b))


def _participant_truth(site: Site, indicator: Indicator) -> list[tuple[str, str, str, float, str]]:
    """(breakdown, group, quantity, value, note) of one participant measure at one site."""
    profile, effect = participant_profile(indicator), participant_effect(site, indicator)
    modes = group_shares(site, "delivery_mode")[1]
    with_mode = "delivery_mode" in indicator.breakdowns
    weights = modes if with_mode else {"": 1.0}
    if indicator.kind == "count":
        quantity = "rate_ratio"
        by_group = {g: effect.group_ratio.get(g, effect.ratio) for g in weights}
        note = "expected follow-up / baseline count per person (6 months each)"
    elif indicator.kind == "proportion":
        quantity = "proportion_difference"
        by_group = {
            g: min(max(profile.mean + effect.group_shift.get(g, effect.shift), 0), 1) - profile.mean
            for g in weights
        }
        note = "follow-up minus baseline proportion"
    else:
        quantity = "mean_difference"
        before = _normal_clipped_mean(profile.mean, profile.sd, indicator.max_value)
        by_group = {
            g: _normal_clipped_mean(
                profile.mean + effect.group_shift.get(g, effect.shift), profile.sd, indicator.max_value
            )
            - before
            for g in weights
        }
        shifts = sorted({effect.group_shift.get(g, effect.shift) for g in weights})
        bounds = f"0-{indicator.max_value:g}" if indicator.max_value is not None else "0 and above"
        note = f"follow-up minus baseline; shift {', '.join(f'{s:+g}' for s in shifts)} before bounding to {bounds}"
    total = sum(weights[g] * by_group[g] for g in weights)
    rows = [("all", "all", quantity, total, note + ("; mixed over delivery modes" if with_mode else ""))]
    for breakdown in indicator.breakdowns:
        for group in BREAKDOWN_GROUPS.get(breakdown, ()):
            value = by_group[group] if breakdown == "delivery_mode" and with_mode else total
            rows.append((breakdown, group, quantity, value, note))
    return rows


def _series_truth(
    site: Site, indicator: Indicator, catalogue: Catalogue
) -> list[tuple[str, str, str, float, str]]:
    go_live, anchor = reference_go_live(site, catalogue)
    if go_live is None:
        return []
    profile, effect = series_profile(indicator), series_effect(site, indicator)
    horizon = int(catalogue.setting("horizon_months", DEFAULT_HORIZON))
    where = f"go-live {go_live.isoformat()}" + (
        f" of {anchor} (no intervention here)" if anchor != site.id else ""
    )
    if indicator.kind in ("mean", "score"):
        rows = [
            ("all", "all", "level_change", effect.level_difference, where),
            ("all", "all", "slope_change_per_month", effect.slope_difference, where),
        ]
        for breakdown in indicator.breakdowns[:1]:
            for group in group_shares(site, breakdown)[0]:
                rows += [(breakdown, group, q, v, where) for _, _, q, v, _ in rows[:2]]
        return rows
    plan = _plan(site, indicator, profile, effect)
    has_denominator = bool(indicator.denominator) or indicator.kind == "proportion"
    scale = "rate per denominator" if has_denominator else "monthly count"
    levels: dict[str, float] = {}
    if plan.breakdown == "all":
        levels["all"] = effect.level_ratio
    else:
        before = sum(plan.shares_before[g] * plan.base[g] for g in plan.groups)
        after = sum(plan.shares_after[g] * plan.base[g] * plan.level[g] for g in plan.groups)
        levels["all"] = effect.level_ratio * after / before
        for g in plan.groups:
            shift = 1.0 if has_denominator else plan.shares_after[g] / plan.shares_before[g]
            levels[g] = effect.level_ratio * plan.level[g] * shift
    rows = []
    for group, level in levels.items():
        breakdown = "all" if group == "all" else plan.breakdown
        note = f"{scale}, {where}"
        rows += [
            (breakdown, group, "level_change_ratio", level, note),
            (breakdown, group, "slope_change_ratio_per_month", effect.slope_ratio, note),
            (
                breakdown,
                group,
                "effect_ratio_at_horizon",
                level * effect.slope_ratio**horizon,
                f"{note}; {horizon} months after the last month before go-live",
            ),
        ]
        if group == "all" and not site.is_comparison:
            for comparison in site.comparison_sites:
                rows += [
                    ("all", "all", "controlled_level_change_ratio", level, f"{scale}, against {comparison}"),
                    (
                        "all",
                        "all",
                        "controlled_slope_change_ratio_per_month",
                        effect.slope_ratio,
                        f"{scale}, against {comparison}",
                    ),
                ]
    if indicator.reference_group and indicator.reference_group in plan.groups:
        ref = indicator.reference_group
        for g in plan.groups:
            if g == ref:
                continue
            before_ratio = plan.base[g] / plan.base[ref]
            change = plan.level[g] / plan.level[ref]
            note = f"rate per denominator vs {ref}, {where}"
            rows += [
                (plan.breakdown, g, "rate_ratio_vs_reference_before", before_ratio, note),
                (plan.breakdown, g, "rate_ratio_vs_reference_after", before_ratio * change, note),
                (plan.breakdown, g, "rate_ratio_vs_reference_change", change, note),
            ]
    return rows


def true_effects(catalogue: Catalogue | None = None) -> pd.DataFrame:
    """The effects built into the demo data, one row per (site, indicator, group, quantity).

    Ratios follow the segmented-regression parametrisation of ``mhin_eval.analysis.its``: the level
    change is the step at go-live and the slope-change term counts months since the last month before
    go-live (1 in the go-live month).
    """
    catalogue = catalogue or load_catalogue()
    rows = []
    for site in catalogue.sites:
        for indicator in catalogue.indicators_of(site.project, source="series"):
            rows += [
                (site.project, site.id, indicator.id, *row)
                for row in _series_truth(site, indicator, catalogue)
            ]
        if site.is_comparison:
            continue
        for indicator in catalogue.indicators_of(site.project, source="participant"):
            rows += [
                (site.project, site.id, indicator.id, *row) for row in _participant_truth(site, indicator)
            ]
    rows += demo_donors.truth_rows(catalogue)
    frame = pd.DataFrame(rows, columns=list(TRUE_EFFECT_COLUMNS))
    frame["true_value"] = frame["true_value"].astype(float)
    return _sorted(frame, ["project", "site", "indicator", "breakdown", "group", "quantity"])


# --------------------------------------------------------------------------- assembly and files


def _empty(columns) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})


def _sorted(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return frame.sort_values(keys, kind="mergesort").reset_index(drop=True)


@dataclass(frozen=True)
class DemoData:
    """The three synthetic frames; ``files()`` gives their exact CSV bytes."""

    series: pd.DataFrame
    participants: pd.DataFrame
    true_effects: pd.DataFrame
    value_decimals: Mapping[tuple[str, str], int] = field(default_factory=dict)
    sustainability: pd.DataFrame | None = None
    findings: pd.DataFrame | None = None
    donors: pd.DataFrame | None = None

    def files(self) -> dict[str, bytes]:
        """Relative path -> bytes of every file ``write_demo`` writes (UTF-8, LF, fixed decimals, sorted)."""
        return {
            SERIES_FILE: _csv_bytes(self._series_text()),
            PARTICIPANTS_FILE: _csv_bytes(self._participants_text()),
            TRUE_EFFECTS_FILE: _csv_bytes(self._true_effects_text()),
            README_FILE: README_TEXT.encode("utf-8"),
            **self._implementation_files(),
            **({demo_donors.DONORS_FILE: demo_donors.donors_csv(self.donors)} if self.donors is not None else {}),
        }

    def _implementation_files(self) -> dict[str, bytes]:
        files = {}
        if self.sustainability is not None:
            files[implementation.SUSTAINABILITY_FILE] = implementation.csv_bytes(self.sustainability)
        if self.findings is not None:
            files[implementation.FINDINGS_FILE] = implementation.csv_bytes(self.findings)
        return files

    def _decimals(self, frame: pd.DataFrame, measure_column: str) -> list[int]:
        return [
            self.value_decimals.get((p, m), 2)
            for p, m in zip(frame["project"], frame[measure_column], strict=True)
        ]

    def _series_text(self) -> pd.DataFrame:
        out = self.series.loc[:, list(SERIES_COLUMNS)].copy()
        out["period"] = out["period"].dt.strftime("%Y-%m-%d")
        out["value"] = _format(out["value"], self._decimals(out, "indicator"))
        out["denominator"] = _format(out["denominator"], [0] * len(out))
        return out

    def _participants_text(self) -> pd.DataFrame:
        out = self.participants.loc[:, list(PARTICIPANT_COLUMNS)].copy()
        out["value"] = _format(out["value"], self._decimals(out, "measure"))
        out["date"] = out["date"].dt.strftime("%Y-%m-%d").fillna("")
        return out

    def _true_effects_text(self) -> pd.DataFrame:
        out = self.true_effects.loc[:, list(TRUE_EFFECT_COLUMNS)].copy()
        out["true_value"] = _format(out["true_value"], [6] * len(out))
        return out


def _format(values: pd.Series, decimals: list[int]) -> list[str]:
    return ["" if pd.isna(v) else f"{float(v):.{d}f}" for v, d in zip(values, decimals, strict=True)]


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    text = frame.astype(object).where(frame.notna(), "").to_csv(index=False, lineterminator="\n")
    return text.encode("utf-8")


def _value_decimals(catalogue: Catalogue) -> dict[tuple[str, str], int]:
    decimals = {}
    for indicator in catalogue.indicators:
        if indicator.source == "series":
            decimals[(indicator.project, indicator.id)] = series_profile(indicator).decimals
        else:
            decimals[(indicator.project, indicator.id)] = (
                0 if indicator.kind in ("count", "proportion") else participant_profile(indicator).decimals
            )
    return decimals


def build_demo(catalogue: Catalogue | None = None, *, seed: int = DEFAULT_SEED) -> DemoData:
    """Synthetic series, participant records and their true effects for every catalogue site."""
    catalogue = catalogue or load_catalogue()
    return DemoData(
        series=_build_series(catalogue, seed),
        participants=_build_participants(catalogue, seed),
        true_effects=true_effects(catalogue),
        value_decimals=_value_decimals(catalogue),
        sustainability=implementation.build_sustainability(catalogue, seed, participant_prefixes(catalogue)),
        findings=implementation.build_findings(catalogue, seed),
        donors=demo_donors.build_donors(catalogue, seed),
    )


def write_demo(
    out_dir: Path | str = DEFAULT_OUT_DIR, catalogue: Catalogue | None = None, *, seed: int = DEFAULT_SEED
) -> list[Path]:
    """Write the demo extracts (and their README and true effects) into ``out_dir``; returns the paths."""
    out_dir = Path(out_dir)
    written = []
    for relative, content in build_demo(catalogue, seed=seed).files().items():
        path = out_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        written.append(path)
    return written


# --------------------------------------------------------------------------- documentation

DOCS_START = "<!-- true-effects-table:start (generated by mhin_eval.demo.update_docs; do not edit) -->"
DOCS_END = "<!-- true-effects-table:end -->"


#: Columns of the docs table: header and the quantities it shows.
DOCS_COLUMNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("level change", ("level_change_ratio", "level_change")),
    ("slope change per month", ("slope_change_ratio_per_month", "slope_change_per_month")),
    ("effect at horizon", ("effect_ratio_at_horizon",)),
    (
        "vs comparison: level, slope",
        ("controlled_level_change_ratio", "controlled_slope_change_ratio_per_month"),
    ),
    (
        "rate ratio vs reference: before → after (change)",
        ("rate_ratio_vs_reference_before", "rate_ratio_vs_reference_after", "rate_ratio_vs_reference_change"),
    ),
    ("follow-up vs baseline", ("rate_ratio", "mean_difference", "proportion_difference")),
)


def _format_truth(quantity: str, value: float) -> str:
    if quantity.endswith("difference") or quantity in ("level_change", "slope_change_per_month"):
        return f"{value:+.2f}"
    if quantity == "rate_ratio":
        return f"×{value:.3f}"
    return f"{value:.3f}"


def render_true_effects_markdown(frame: pd.DataFrame) -> str:
    """One Markdown table of every built-in effect: a row per (project, site, indicator, group).

    Ratios read as multipliers (1 = no change); differences carry a sign. Quantities outside
    ``DOCS_COLUMNS`` get a column of their own, so nothing in ``frame`` is left out.
    """
    shown = {q for _, qs in DOCS_COLUMNS for q in qs}
    columns = [(h, qs) for h, qs in DOCS_COLUMNS if set(qs) & set(frame["quantity"])]
    columns += [(q, (q,)) for q in sorted(set(frame["quantity"]) - shown)]
    header = ["project", "site", "indicator", "group"] + [h for h, _ in columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for key, rows in frame.groupby(["project", "site", "indicator", "breakdown", "group"], sort=False):
        project, site, indicator, breakdown, group = key
        values = dict(zip(rows["quantity"], rows["true_value"], strict=True))
        cells = [project, site, indicator, "all" if breakdown == "all" else f"{breakdown}: {group}"]
        for _, quantities in columns:
            parts = [_format_truth(q, values[q]) for q in quantities if q in values]
            if len(parts) == 3:
                cells.append(f"{parts[0]} → {parts[1]} (×{parts[2]})")
            else:
                cells.append(", ".join(parts))
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Quantities (the `quantity` column of `truth/true_effects.csv`):", ""]
    for quantity in [q for q in QUANTITY_LABELS if q in set(frame["quantity"])] + sorted(
        set(frame["quantity"]) - set(QUANTITY_LABELS)
    ):
        lines.append(f"- `{quantity}`: {QUANTITY_LABELS.get(quantity, quantity)}")
    return "\n".join(lines) + "\n"


def update_docs(path: Path | str = DOCS_PATH, catalogue: Catalogue | None = None) -> bool:
    """Rewrite the generated table in ``docs/demo-data.md``; returns True when the file changed."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    start, end = text.index(DOCS_START) + len(DOCS_START), text.index(DOCS_END)
    new = text[:start] + "\n\n" + render_true_effects_markdown(true_effects(catalogue)) + "\n" + text[end:]
    if new != text:
        path.write_text(new, encoding="utf-8", newline="\n")
    return new != text


def main(argv: list[str] | None = None) -> int:
    """Regenerate ``data/demo/`` (or the folder given) and the table in ``docs/demo-data.md``."""
    argv = sys.argv[1:] if argv is None else argv
    out_dir = Path(argv[0]) if argv else DEFAULT_OUT_DIR
    for path in write_demo(out_dir):
        print(path)
    if DOCS_PATH.exists() and out_dir.resolve() == DEFAULT_OUT_DIR.resolve():
        update_docs()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
