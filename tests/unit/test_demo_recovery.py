"""The dashboard's own analyses recover the demo data's built-in true effects (docs/demo-data.md).

Every row of data/demo/truth/true_effects.csv that the dashboard estimates is compared with the 95%
interval the dashboard shows for it, computed by the same functions (mhin_eval.evaluate's
headline_results, site_its and site_prepost with the catalogue's default options; the equity and
by-group sections' calls) on a store seeded as on first start. The demo data are a single random
draw, so a nominal 95% interval misses about 1 in 20 true values and misses are correlated within a
series: the test requires 90% to 99% of all intervals to cover the truth (not every one: intervals that
never miss are too wide), and lists each miss. Truth rows the dashboard does not estimate are skipped in code with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pytest

from mhin_eval import demo, demo_donors, donor_pools, evaluate
from mhin_eval.analysis import equity, prepost, synth
from mhin_eval.analysis.results import AnalysisError, Estimate
from mhin_eval.store import DEFAULT_DEMO_DIR

MIN_COVERAGE = 0.90
MAX_COVERAGE = 0.99  # intervals that cover (nearly) every truth are too wide to be 95% intervals
ALL = evaluate.ALL

ITS_QUANTITIES = {
    "level_change_ratio": "level_change",
    "slope_change_ratio_per_month": "slope_change",
    "controlled_level_change_ratio": "difference_in_level_change",
    "controlled_slope_change_ratio_per_month": "difference_in_slope_change",
}
EQUITY_WINDOWS = {"rate_ratio_vs_reference_before": "pre-12", "rate_ratio_vs_reference_after": "post-12"}
# The project page's equity section shows the change in rate ratio for this group only (ui/sections.py).
EQUITY_CHANGE_GROUP = "Black or Black British"


@pytest.fixture(scope="module")
def seeded_store(tmp_path_factory):
    """A store seeded with the demo extracts and published context, as on the app's first start."""
    from mhin_eval.store import Store, seed

    store = Store(tmp_path_factory.mktemp("recovery-store"))
    seed(store)
    return store


@pytest.fixture(scope="module")
def truth() -> pd.DataFrame:
    return pd.read_csv(DEFAULT_DEMO_DIR / demo.TRUE_EFFECTS_FILE, keep_default_na=False)


@dataclass(frozen=True)
class Check:
    row: str
    true_value: float
    shown: Estimate

    @property
    def covered(self) -> bool:
        return self.shown.ci_low <= self.true_value <= self.shown.ci_high


class Dashboard:
    """The estimate the dashboard shows for a truth row, or the reason it shows none (memoised fits)."""

    def __init__(self, store, catalogue):
        self.catalogue = catalogue
        self.series = store.series()
        self.participants = store.participants()
        self._its: dict = {}

    def its(self, site, indicator, breakdown, group):
        """ITS as the site page and explorer fit it: default options, the site's comparison sites."""
        key = (site.id, indicator.id, breakdown, group)
        if key not in self._its:
            self._its[key] = evaluate.site_its(self.series, self.catalogue, site, indicator, breakdown=breakdown,
                                               group=group, comparison_sites=site.comparison_sites)
        return self._its[key]

    def shown(self, row) -> Estimate | str:
        """The shown Estimate for ``row``; a string gives the reason the dashboard estimates nothing for it."""
        site = self.catalogue.site(row.site)
        indicator = self.catalogue.indicator(row.project, row.indicator)
        q = row.quantity
        if site.is_comparison:
            return ("comparison series without a go-live: the dashboard fits it only as the control of "
                    f"{', '.join(s.id for s in self.catalogue.sites if site.id in s.comparison_sites)}")
        if q in ITS_QUANTITIES:
            return getattr(self.its(site, indicator, row.breakdown, row.group), ITS_QUANTITIES[q])
        if q == "effect_ratio_at_horizon":
            rel = self.its(site, indicator, row.breakdown, row.group).relative_effect
            return Estimate(1 + rel.estimate, 1 + rel.ci_low, 1 + rel.ci_high, rel.p_value, "ratio", rel.conf_level)
        if q in EQUITY_WINDOWS:
            rows, _ = evaluate.group_window(self.series, site, indicator.id, EQUITY_WINDOWS[q])
            return equity.rate_ratios(rows, indicator.reference_group, per=indicator.rate_per).estimate(row.group)
        if q == "rate_ratio_vs_reference_change":
            if row.group != EQUITY_CHANGE_GROUP:
                return f"the project page shows the change in rate ratio for {EQUITY_CHANGE_GROUP} only"
            rows = self.series[(self.series["site"] == site.id) & (self.series["indicator"] == indicator.id)
                               & self.series["group"].isin([indicator.reference_group, row.group])]
            return equity.rate_ratio_change(
                rows, indicator.reference_group, pd.Timestamp(site.go_live), group_of_interest=row.group,
                options=evaluate.default_its_options(self.catalogue, indicator),
            ).level_change
        if q == demo_donors.QUANTITY:
            _, panel = donor_pools.donor_panel(self.catalogue, site, self.series)
            return synth.synth(panel, unit="unit", time="period", value="value", treated=donor_pools.SITE_UNIT,
                               intervention=str(site.go_live), method="sc").effect
        if q in ("rate_ratio", "mean_difference"):
            if row.group == ALL:
                return getattr(evaluate.site_prepost(self.participants, indicator, site), q)
            rows = self.participants[(self.participants["site"] == site.id)
                                     & (self.participants["measure"] == indicator.id)]
            by_group = prepost.stratified(prepost.paired_prepost, rows, by=row.breakdown,
                                          reliable_change=indicator.reliable_change, better=indicator.better)
            return by_group[row.group].mean_difference
        return f"quantity {q!r} is not one the dashboard shows"


@pytest.fixture(scope="module")
def checks(seeded_store, catalogue, truth):
    """(checks, skipped rows with reasons, rows with no estimate although the dashboard estimates them)."""
    dashboard = Dashboard(seeded_store, catalogue)
    checks, skipped, missing = [], {}, []
    for row in truth.itertuples(index=False):
        name = f"{row.site} {row.indicator} {row.breakdown}={row.group} {row.quantity}"
        try:
            shown = dashboard.shown(row)
        except AnalysisError as exc:
            missing.append(f"{name}: {exc}")
            continue
        if isinstance(shown, str):
            skipped[name] = shown
        elif shown is None:
            missing.append(f"{name}: no estimate")
        else:
            assert shown.conf_level == 0.95, name
            checks.append(Check(name, float(row.true_value), shown))
    return checks, skipped, missing


def test_the_dashboard_estimates_every_truth_row_except_the_stated_ones(checks, truth, catalogue):
    done, skipped, missing = checks
    assert missing == []
    assert len(done) + len(skipped) == len(truth)
    # Skipped: the comparison site's series indicators x 3 ITS quantities, and the change in rate ratio of
    # the 3 non-focus groups (Asian, Mixed, Other) x 4 PCREF restrictive practices x 2 sites.
    comparison_series = sum(len(catalogue.indicators_of(s.project, "series")) for s in catalogue.sites if s.is_comparison)
    comparison = [n for n, why in skipped.items() if why.startswith("comparison series")]
    change = [n for n, why in skipped.items() if "rate_ratio_vs_reference_change" in n]
    assert comparison_series >= 2 and len(comparison) == comparison_series * 3 and len(change) == 3 * 4 * 2
    assert len(skipped) == len(comparison) + len(change)


def test_true_effects_lie_inside_the_shown_95_percent_intervals(checks):
    done, _, _ = checks
    misses = [f"{c.row}: true {c.true_value:.4g} outside [{c.shown.ci_low:.4g}, {c.shown.ci_high:.4g}] "
              f"(estimate {c.shown.estimate:.4g})" for c in done if not c.covered]
    coverage = 1 - len(misses) / len(done)
    assert MIN_COVERAGE <= coverage <= MAX_COVERAGE, (f"coverage {coverage:.1%} of {len(done)} intervals; misses:\n"
                                                      + "\n".join(misses))


@pytest.mark.parametrize("quantity", ["level_change_ratio", "rate_ratio_vs_reference_before", "mean_difference",
                                      "rate_ratio"])
def test_each_kind_of_estimate_is_checked(checks, quantity):
    """Guards against a mapping that silently drops a whole kind of result from the coverage count."""
    done, _, _ = checks
    assert any(c.row.endswith(" " + quantity) for c in done)
