"""Donor pools: the catalogue field, the demo's synthetic donors and their known synthetic-control effect."""

from __future__ import annotations

import pandas as pd
import pytest

from mhin_eval import demo_donors, donor_pools
from mhin_eval.analysis.synth import synth
from mhin_eval.catalogue import CatalogueError, DonorPool, load_catalogue, parse_catalogue

BASE = {
    "projects": [{"id": "p", "name": "P", "short_name": "P"}],
    "indicators": [{"id": "i", "project": "p", "label": "I", "unit": "u", "source": "series", "kind": "count",
                    "better": "lower", "default_model": "poisson"}],
}


def _site(**extra):
    return {"id": "s", "project": "p", "name": "S", "go_live": "2021-01-01", **extra}


def test_a_site_names_its_donor_pool():
    cat = parse_catalogue({**BASE, "sites": [_site(donor_pool={"source": "published:MHS01", "indicator": "i",
                                                                "exclude": ["RXV"]})]})
    pool = cat.site("s").donor_pool
    assert pool == DonorPool(source="published:MHS01", indicator="i", exclude=("RXV",))
    assert pool.published_measure == "MHS01"
    assert parse_catalogue({**BASE, "sites": [_site()]}).site("s").donor_pool is None


@pytest.mark.parametrize(("pool", "message"), [
    ({"source": "somewhere", "indicator": "i"}, "source must be"),
    ({"indicator": "i"}, "missing field"),
    ({"source": "demo", "indicator": "i", "donors": 3}, "unknown field"),
    ("demo", "table"),
])
def test_a_malformed_donor_pool_is_refused_naming_the_site(pool, message):
    with pytest.raises(CatalogueError, match=message) as info:
        parse_catalogue({**BASE, "sites": [_site(donor_pool=pool)]})
    assert "donor_pool" in str(info.value)


@pytest.fixture(scope="module")
def demo_frames():
    catalogue = load_catalogue()
    donors = donor_pools.read_demo_donors()
    series = pd.read_csv(donor_pools.PROJECT_ROOT / "data" / "demo" / "series.csv")
    truth = pd.read_csv(donor_pools.PROJECT_ROOT / "data" / "demo" / "truth" / "true_effects.csv")
    return catalogue, donors, series, truth


def test_every_demo_pool_has_twelve_complete_donors_and_a_truth(demo_frames):
    catalogue, donors, _, truth = demo_frames
    pools = demo_donors.pool_sites(catalogue)
    assert len(pools) == 6
    for site, indicator in pools:
        rows = donors[(donors["site"] == site.id) & (donors["indicator"] == indicator.id)]
        assert rows["donor"].nunique() == demo_donors.DONORS
        assert rows.groupby("donor")["period"].count().nunique() == 1
        assert not rows["value"].isna().any()
        assert ((truth["site"] == site.id) & (truth["quantity"] == demo_donors.QUANTITY)).sum() == 1


@pytest.mark.parametrize("method", ["sc", "sdid", "did"])
def test_the_demo_pools_recover_their_built_in_effect_inside_the_shown_interval(demo_frames, method):
    """Issue 17's acceptance: every demo donor pool's true effect (truth/true_effects.csv, synth_average_effect)
    lies inside the interval the site page shows, for each method (the page shows SC and SDID)."""
    catalogue, donors, series, truth = demo_frames
    known = truth[truth["quantity"] == demo_donors.QUANTITY].set_index("site")["true_value"]
    for site, _ in demo_donors.pool_sites(catalogue):
        result = donor_pools.site_synth(catalogue, site, method, series, donors=donors)
        assert result.effect.ci_low <= known[site.id] <= result.effect.ci_high, (site.id, result.effect)
        assert not result.warnings, site.id
        assert set(result.donor_provenance.values()) == {"public"}


def test_donor_panel_is_the_pool_panel(demo_frames):
    catalogue, donors, series, _ = demo_frames
    site = catalogue.site("hull")
    indicator, panel = donor_pools.donor_panel(catalogue, site, series, donors)
    pool = donor_pools.pool_panel(catalogue, site, series, donors=donors)
    assert indicator == pool.indicator
    pd.testing.assert_frame_equal(panel, pool.panel)
    direct = synth(panel, unit="unit", time="period", value="value", treated=donor_pools.SITE_UNIT,
                   intervention=str(site.go_live), method="sc")
    assert direct.estimate == donor_pools.site_synth(catalogue, site, "sc", series, donors=donors).estimate


def test_include_and_exclude_narrow_the_pool(demo_frames):
    catalogue, donors, series, _ = demo_frames
    site = catalogue.site("hull")
    narrowed = site.__class__(**{**site.__dict__, "donor_pool": DonorPool(
        "demo", "ae-attendances", exclude=("hull-donor-01", "hull-donor-02"))})
    _, panel = donor_pools.donor_panel(catalogue, narrowed, series, donors)
    assert panel["unit"].nunique() == 1 + 10
    published = site.__class__(**{**site.__dict__, "donor_pool": DonorPool("published:X", "ae-attendances")})
    with pytest.raises(Exception, match="load the published statistics"):
        donor_pools.donor_panel(catalogue, published, series, donors)


def test_a_pool_of_the_project_other_sites_gives_partner_donors(demo_frames):
    """``source = "sites"``: the project's other sites from their own extracts are partner donors (anonymised to
    a site user); an intervention site among them is named as a donor with its own go-live."""
    catalogue, _, series, _ = demo_frames
    site = catalogue.site("hull")
    partners = site.__class__(**{**site.__dict__, "donor_pool": DonorPool("sites", "ae-attendances")})
    pool = donor_pools.pool_panel(catalogue, partners, series)
    others = {s.id for s in catalogue.sites_of("aaot", include_comparison=True)} - {"hull"}
    assert set(pool.donors) == others
    assert set(pool.provenance.values()) == {"partner"}
    assert pool.donor_go_lives == {"greater-manchester": "Greater Manchester, 2021-10-01"}
    own = pool.panel[pool.panel["unit"] == donor_pools.SITE_UNIT]["value"].to_numpy()
    assert own == pytest.approx(donor_pools.site_values(series, site, pool.indicator)["value"].to_numpy())
    result = donor_pools.site_synth(catalogue, partners, "did", series)
    assert result.public_donors() == ()
    assert result.donor_provenance == {"aaot-comparison": "partner"}
    assert any("missing periods: greater-manchester" in w for w in result.warnings)
    assert any("Only 1 donor(s)" in w for w in result.warnings)
    excluded = partners.__class__(**{**partners.__dict__, "donor_pool": DonorPool(
        "sites", "ae-attendances", exclude=("greater-manchester",))})
    assert "greater-manchester" not in donor_pools.pool_panel(catalogue, excluded, series).donors
