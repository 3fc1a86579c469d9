"""Synthetic sustainability assessments and implementation findings for every intervention site.

Every value is invented (see data/demo/README.md). Assessments: each catalogue instrument is
answered in yearly rounds from six months after go-live, by 8 to 12 staff and partners per round
with some turnover between rounds; item scores are whole numbers on the instrument's scale drawn
around a site level, a domain offset (funding lowest and adaptation highest for the PSAT, as in the
tool's published averages, Bacon et al. 2022), a yearly rise and respondent and item noise. One
round (``SMALL_ROUNDS``) is answered by fewer people than the disclosure threshold so the page shows
its suppression. Findings: a few facilitators and barriers per site, drawn from a bank of invented
summaries that echo the themes the network's reports name (staff time, turnover and training needs,
literacy demands, short-term funding cycles), each marked "(Synthetic)".

Each site and instrument has its own random stream, so adding one changes no other's rows.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import numpy as np
import pandas as pd

from mhin_eval.catalogue import Catalogue, Instrument, Site

SUSTAINABILITY_FILE = "sustainability.csv"
FINDINGS_FILE = "findings.csv"
SUSTAINABILITY_COLUMNS = ("project", "site", "instrument", "assessment_date", "respondent", "item", "score")
FINDINGS_COLUMNS = ("project", "site", "date", "kind", "domain", "summary", "source", "quote")
SYNTHETIC = "(Synthetic)"

LAST_DAY = dt.date(2024, 12, 31)
FIRST_ROUND_MONTHS = 6
RESPONDENTS = (8, 12)
NEW_PER_ROUND = (1, 3)
#: site -> index of a round answered by only SMALL_ROUND_SIZE people (shows suppression on the page).
SMALL_ROUNDS = {"east-of-england": 1}
SMALL_ROUND_SIZE = 5
PROBABILITY_NOT_ANSWERED = 0.02

#: Domain offsets in scale points (invented; PSAT ordering after Bacon et al. 2022); others get 0.
DOMAIN_OFFSETS = {
    "psat": {"funding-stability": -0.9, "program-adaptation": 0.5, "communications": -0.3,
             "strategic-planning": -0.4, "program-evaluation": 0.2},
    "csat": {"monitoring-and-evaluation": -0.5, "workflow-integration": -0.3,
             "engaged-staff-and-leadership": 0.4, "outcomes-and-effectiveness": 0.2},
}  # fmt: skip
YEARLY_RISE = 0.15
SITE_SD, RESPONDENT_SD, ITEM_SD = 0.4, 0.5, 0.8

#: (kind, domain, summary, quote) — invented examples, none from a real interview.
FINDINGS_BANK = (
    ("barrier", "inner setting", "Staff time for the intervention competes with caseload pressures",
     "We fit it in when the phones stop ringing, which is rarely."),
    ("barrier", "inner setting", "Staff turnover means trained practitioners leave and cover is thin", ""),
    ("barrier", "individuals", "New staff need training before they can deliver, and training places are scarce",
     "I waited four months for a training place."),
    ("barrier", "intervention", "Written materials make literacy demands that some service users find hard",
     "Some people can't get through the booklet, so we read it together."),
    ("barrier", "outer setting", "Short-term funding cycles make it hard to plan beyond the current year",
     "Every March we don't know if the posts continue."),
    ("barrier", "process", "Recording data for the evaluation adds to administrative workload", ""),
    ("barrier", "outer setting", "Referral routes from partner services are inconsistent", ""),
    ("facilitator", "individuals", "A named local champion keeps the work visible",
     "Having one person who chases it makes all the difference."),
    ("facilitator", "inner setting", "Senior leaders back the intervention in team meetings and plans", ""),
    ("facilitator", "intervention", "Flexible delivery (online or in person) helps people take part",
     "People could join from home after work."),
    ("facilitator", "process", "Regular review meetings use the dashboard data to adjust delivery", ""),
    ("facilitator", "outer setting", "Fit with local and national priorities helps secure commissioner support", ""),
    ("facilitator", "individuals", "Practitioners value the structured approach and see benefits for service users",
     "It gives us a shared language with families."),
)


def _rng(seed: int, *ids: str) -> np.random.Generator:
    digest = hashlib.sha256("/".join(ids).encode()).digest()
    return np.random.default_rng([seed, int.from_bytes(digest[:8], "little")])


def _add_months(day: dt.date, months: int) -> dt.date:
    total = day.year * 12 + day.month - 1 + months
    return dt.date(total // 12, total % 12 + 1, 1)


def round_dates(site: Site, last_day: dt.date = LAST_DAY) -> list[dt.date]:
    """Yearly assessment rounds from six months after go-live up to ``last_day``."""
    if site.go_live is None:
        return []
    dates, k = [], 0
    while (day := _add_months(site.go_live, FIRST_ROUND_MONTHS + 12 * k)) <= last_day:
        dates.append(day)
        k += 1
    return dates


def _respondent_rounds(site: Site, n_rounds: int, prefix: str, rng: np.random.Generator) -> list[list[str]]:
    """Who answers each round: a staff pool with a few leavers and joiners between rounds."""
    pool_size = int(rng.integers(RESPONDENTS[0], RESPONDENTS[1] + 1))
    pool = [f"{prefix}-R{k:02d}" for k in range(1, pool_size + 1)]
    next_id = pool_size + 1
    rounds = []
    for r in range(n_rounds):
        if r:
            leavers = int(rng.integers(NEW_PER_ROUND[0], NEW_PER_ROUND[1] + 1))
            for _ in range(leavers):
                pool.pop(int(rng.integers(0, len(pool))))
            for _ in range(int(rng.integers(NEW_PER_ROUND[0], NEW_PER_ROUND[1] + 1))):
                pool.append(f"{prefix}-R{next_id:02d}")
                next_id += 1
        answering = sorted(pool)
        if SMALL_ROUNDS.get(site.id) == r:
            answering = sorted(rng.choice(pool, SMALL_ROUND_SIZE, replace=False).tolist())
        rounds.append(answering)
    return rounds


def _site_instrument_rows(site: Site, instrument: Instrument, prefix: str, seed: int) -> list[dict]:
    rng = _rng(seed, "sustainability", site.id, instrument.id)
    dates = round_dates(site)
    centre = (instrument.scale_min + instrument.scale_max) / 2 + 0.6 + SITE_SD * rng.standard_normal()
    offsets = DOMAIN_OFFSETS.get(instrument.id, {})
    people: dict[str, float] = {}
    rows = []
    for r, (day, answering) in enumerate(zip(dates, _respondent_rounds(site, len(dates), prefix, rng), strict=True)):
        for person in answering:
            effect = people.setdefault(person, RESPONDENT_SD * rng.standard_normal())
            for domain in instrument.domains:
                mean = centre + offsets.get(domain.id, 0.0) + YEARLY_RISE * r + effect
                for item in domain.items:
                    score = np.clip(np.rint(mean + ITEM_SD * rng.standard_normal()), instrument.scale_min,
                                    instrument.scale_max)
                    answered = rng.random() >= PROBABILITY_NOT_ANSWERED
                    rows.append({"project": site.project, "site": site.id, "instrument": instrument.id,
                                 "assessment_date": day.isoformat(), "respondent": person, "item": item,
                                 "score": f"{score:.0f}" if answered else ""})
    return rows


def build_sustainability(catalogue: Catalogue, seed: int, prefixes: dict[str, str]) -> pd.DataFrame:
    """Every instrument's rounds at every intervention site, sorted by the extract's key."""
    rows = []
    for site in catalogue.sites:
        if site.is_comparison:
            continue
        for instrument in catalogue.instruments:
            rows += _site_instrument_rows(site, instrument, prefixes[site.id], seed)
    frame = pd.DataFrame(rows, columns=list(SUSTAINABILITY_COLUMNS))
    return frame.sort_values(list(SUSTAINABILITY_COLUMNS[:6]), kind="mergesort").reset_index(drop=True)


def build_findings(catalogue: Catalogue, seed: int) -> pd.DataFrame:
    """A few synthetic facilitators and barriers per intervention site, from interviews and workshops."""
    spec = catalogue.findings
    bank = [f for f in FINDINGS_BANK if (not spec.domains or f[1] in spec.domains) and f[0] in spec.kinds]
    sources = list(spec.sources) or ["interviews"]
    rows = []
    for site in catalogue.sites:
        if site.is_comparison or site.go_live is None:
            continue
        rng = _rng(seed, "findings", site.id)
        dates = [_add_months(site.go_live, 9), _add_months(site.go_live, 21)]
        for kind in spec.kinds:
            options = [f for f in bank if f[0] == kind]
            if not options:
                continue
            chosen = rng.choice(len(options), min(len(options), int(rng.integers(3, 6))), replace=False)
            for k in sorted(chosen):
                _, domain, summary, quote = options[k]
                day = dates[int(rng.integers(0, len(dates)))]
                rows.append({
                    "project": site.project, "site": site.id, "date": day.isoformat(), "kind": kind,
                    "domain": domain, "summary": f"{SYNTHETIC} {summary}",
                    "source": sources[int(rng.integers(0, len(sources)))],
                    "quote": f"{SYNTHETIC} {quote}" if quote and rng.random() < 0.7 else "",
                })
    frame = pd.DataFrame(rows, columns=list(FINDINGS_COLUMNS))
    return frame.sort_values(["project", "site", "date", "kind", "domain", "summary"], kind="mergesort").reset_index(
        drop=True
    )


def csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")
