"""A roll-out with many sites (a 30-site catalogue generated from the shipped one, mhin_eval.demo_scale): every
page opens without an exception, the project page ranks every site and charts a few, the overview filters and
pages its rows, and once the results of record are computed the overview and compare pages fit nothing."""

from __future__ import annotations

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from mhin_eval.catalogue import PROJECT_ROOT
from mhin_eval.ui import many_sites
from tests.app.conftest import APP, all_text, each_view, open_page

N_SITES = 30


def chart_titles(at) -> list[str]:
    import json

    return [json.loads(c.proto.spec)["layout"]["title"]["text"].replace("<br>", " ") for c in at.get("plotly_chart")]


@pytest.fixture(scope="module")
def scaled(tmp_path_factory):
    """(catalogue path, store path): the 30-site catalogue's demo data, ingested, results of record computed."""
    from mhin_eval import recompute
    from mhin_eval.catalogue import load_catalogue
    from mhin_eval.demo import write_demo
    from mhin_eval.demo_scale import write_scaled_catalogue
    from mhin_eval.store import Store, seed

    folder = tmp_path_factory.mktemp("scaled")
    path = write_scaled_catalogue(N_SITES, folder / "catalogue.toml")
    catalogue = load_catalogue(path)
    write_demo(folder / "demo", catalogue)
    store = Store(folder / "store", catalogue=catalogue)
    seed(store, demo_dir=folder / "demo")
    recompute.refresh(store, catalogue)
    return path, folder / "store"


@pytest.fixture
def app(scaled, monkeypatch):
    path, store = scaled
    monkeypatch.setenv("MHIN_CATALOGUE", str(path))
    monkeypatch.setenv("MHIN_DATA_DIR", str(store))
    st.cache_data.clear()
    st.cache_resource.clear()
    yield AppTest.from_file(APP, default_timeout=180)
    st.cache_data.clear()
    st.cache_resource.clear()


def test_the_generated_catalogue_has_the_sites_asked_for(scaled):
    from mhin_eval.catalogue import load_catalogue

    catalogue = load_catalogue(scaled[0])
    assert len([s for s in catalogue.sites if not s.is_comparison]) == N_SITES
    assert catalogue.site("hull-2").go_live == catalogue.site("hull").go_live


@pytest.mark.parametrize("page", sorted(p.stem for p in (PROJECT_ROOT / "pages").glob("*.py")))
def test_every_page_opens(app, page):
    open_page(app, page)


def test_the_project_page_ranks_every_site_and_charts_a_few(app):
    from mhin_eval.catalogue import load_catalogue

    at = open_page(app, "project", project="pcref")
    assert any("every site's result" in t for t in chart_titles(at))
    n_sites = len(load_catalogue().sites_of("pcref"))
    chosen = at.multiselect(key="charted-pcref")
    assert len(chosen.options) == n_sites and len(chosen.value) == many_sites.DEFAULT_CHARTED_SITES < n_sites
    assert len(at.get("plotly_chart")) == 1 + many_sites.DEFAULT_CHARTED_SITES
    chosen.set_value(chosen.value[:2]).run()
    assert not at.exception and len(at.get("plotly_chart")) == 1 + 2


def test_the_overview_filters_and_pages_its_rows(app):
    at = open_page(app, "overview")
    aaot = at.table[0].value
    assert len(aaot) == many_sites.PAGE_SIZE and at.number_input(key="overview-page-aaot")
    at.multiselect(key="overview-projects").set_value(["pcref"]).run()
    at.multiselect(key="overview-directions").set_value(["improvement"]).run()
    assert not at.exception
    assert len(at.table) == 1
    assert [h.value for h in at.header] == ["Patient and Carer Race Equality Framework", "Data freshness"]
    assert "✗ deterioration" not in set(at.table[0].value["Direction"])
    assert set(at.table[0].value["Direction"]) <= {"✓ improvement"}
    at.multiselect(key="overview-regions").set_value(["North West"]).run()
    assert not at.exception and "Sheffield" not in " ".join(at.table[0].value.index)


def test_once_the_records_are_computed_overview_and_compare_fit_nothing(app, monkeypatch):
    from mhin_eval import evaluate

    fits = []
    real = evaluate.site_result
    monkeypatch.setattr(evaluate, "site_result", lambda *a, **k: fits.append(a[3].id) or real(*a, **k))
    open_page(app, "overview")
    at = open_page(app, "compare", project="pcref")
    assert any("sites and pooled estimate" in t for t in chart_titles(at))
    assert fits == []
    assert "Pooled across" in all_text(at)


def test_home_summarises_coverage_per_indicator_not_a_row_per_site(app):
    """With many sites a project's card gives the number of sites and its coverage chart has a row per
    indicator (the share of sites with data each month), not one per site and indicator."""
    import json

    from mhin_eval.catalogue import load_catalogue

    catalogue = load_catalogue()
    at = open_page(app, "home")
    assert len(at.get("plotly_chart")) == 1, "the open tab's chart only"
    specs = [json.loads(c.proto.spec) for view in each_view(at, key="coverage") for c in view.get("plotly_chart")]
    assert len(specs) == len(catalogue.projects)
    text = all_text(at)
    site_names = {s.name for s in catalogue.sites}
    for project, spec in zip(catalogue.projects, specs, strict=True):
        n_sites = len(catalogue.sites_of(project.id))
        assert f"{n_sites} sites" in text
        (heatmap,) = spec["data"]
        assert 0 < len(heatmap["y"]) <= len(catalogue.indicators_of(project.id, include_context=True))
        assert not site_names & {label.split("<br>")[0] for label in heatmap["y"]}
        assert all(" sites with data" in cell for row in heatmap["text"] for cell in row)
    assert catalogue.site("hull-2").name not in text


def test_a_rerun_draws_no_figure_again_and_another_view_draws_its_own(app, monkeypatch):
    """Figures are kept per data version and view (mhin_eval.ui.figures): a rerun of the project page builds
    none and sends the same charts; the evaluator's suppressed view builds its own."""
    from mhin_eval import charts, charts_ranked

    built = []
    for module, name in ((charts, "its_chart"), (charts_ranked, "caterpillar_plot")):
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, _real=real, _name=name, **k: built.append(_name) or _real(*a, **k))
    at = open_page(app, "project", project="pcref")
    first = [c.proto.spec for c in at.get("plotly_chart")]
    assert sorted(built) == ["caterpillar_plot"] + ["its_chart"] * many_sites.DEFAULT_CHARTED_SITES
    built.clear()
    at.run()
    assert not at.exception and built == []
    assert [c.proto.spec for c in at.get("plotly_chart")] == first
    at.sidebar.toggle(key="view:suppressed").set_value(True).run()
    assert not at.exception
    assert sorted(built) == ["caterpillar_plot"] + ["its_chart"] * many_sites.DEFAULT_CHARTED_SITES


@pytest.fixture
def ten_sites_are_many(monkeypatch):
    """Treat more than 5 sites as many, so the 30-site catalogue's projects (about 10 sites each) are."""
    from mhin_eval import charts_ranked
    monkeypatch.setattr(charts_ranked, "FOREST_MAX_SITES", 5)
    monkeypatch.setattr(many_sites, "FOREST_MAX_SITES", 5)


def test_a_project_export_of_many_sites_shows_each_outcome_across_them_and_fits_nothing(scaled, ten_sites_are_many,
                                                                                         monkeypatch):
    """All sites of a many-site project: a ranked slide per pooled indicator (the records' own estimates) and
    no slide per site; one site chosen still gets its own slides."""
    from mhin_eval import evaluate, export, record
    from mhin_eval.access import Access
    from mhin_eval.catalogue import load_catalogue
    from mhin_eval.store import Store

    catalogue = load_catalogue(scaled[0])
    store = Store(scaled[1], catalogue=catalogue)
    fits = []
    real = evaluate.site_result
    monkeypatch.setattr(evaluate, "site_result", lambda *a, **k: fits.append(a[3].id) or real(*a, **k))
    view = export.collect(store, catalogue, "pcref", access=Access.local_evaluator())
    assert view.many_sites and fits == []
    assert view.items and {i.kind for i in view.items} == {"forest"}
    assert all("every site's headline, ranked" in i.title for i in view.items)
    assert not view.synth and f"{len(view.sites)} sites, go-live" in view.scope_text
    assert any(c.startswith(f"With {len(view.sites)} sites, each outcome") for c in view.caveats)
    first = view.items[0]
    markers = next(t for t in first.figure.data if t.name.startswith("Site estimate"))
    own = sorted(r.estimate.estimate for r in view.records if r.indicator == first.indicator and r.estimate)
    assert list(markers.y) == pytest.approx(own)
    assert len(view.tables["results"]) == len(record.tidy(view.records)) >= len(view.sites)
    one = export.collect(store, catalogue, "pcref", access=Access.local_evaluator(), site=view.sites[0].id)
    assert not one.many_sites and any(i.kind != "forest" for i in one.items)


def test_presenting_many_sites_shows_ranked_slides(app, ten_sites_are_many):
    at = open_page(app, "present", project="pcref")
    assert "every site's headline, ranked" in all_text(at)
    assert any("rank" in str(t.get("text")) for c in at.get("plotly_chart")
               for t in __import__("json").loads(c.proto.spec)["data"])


def test_sustainability_ranks_every_sites_latest_total_when_there_are_many(app, ten_sites_are_many):
    at = open_page(app, "sustainability", instrument="psat", section="Latest round at each site")
    assert chart_titles(at) == ["PSAT total score at each site's latest round"]
    assert not any(m.value.startswith("- ") for m in at.markdown), "no sentence per site"
    assert len(at.dataframe[0].value) == many_sites.PAGE_SIZE < N_SITES
    at.number_input(key="latest-page-psat").set_value(2).run()
    assert not at.exception and len(at.dataframe[0].value) == N_SITES - many_sites.PAGE_SIZE


@pytest.mark.parametrize("page", ["overview", "home"])
def test_freshness_shows_the_stalest_page_and_every_source_on_demand(app, page):
    from tests.app.conftest import open_details

    at = open_page(app, page)
    caption = next(c.value for c in at.caption if "sources, their latest months" in c.value)
    total = int(caption.split(" sources")[0].replace(",", ""))
    assert total > many_sites.WHOLE_TABLE_ROWS
    stalest = next(d.value for d in at.dataframe if "Latest month" in d.value.columns)
    assert len(stalest) == many_sites.PAGE_SIZE
    months = pd.to_datetime(stalest["Latest month"], format="%b %Y")
    assert months.is_monotonic_increasing
    every = [d.value for d in open_details(at).dataframe if "Latest month" in d.value.columns]
    assert [len(d) for d in every] == [many_sites.PAGE_SIZE, total]
    assert pd.to_datetime(every[1]["Latest month"], format="%b %Y").min() == months.min()
