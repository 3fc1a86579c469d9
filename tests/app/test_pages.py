"""AppTest of every page: runs without exception, shows the expected elements, reacts to its widgets."""

import pytest

from mhin_eval.catalogue import PROJECT_ROOT
from tests.app.conftest import all_text, each_view, open_details, open_page, unescaped

PAGES = sorted(p.stem for p in (PROJECT_ROOT / "pages").glob("*.py"))


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_and_says_the_data_is_synthetic(app, page):
    at = open_page(app, page)
    assert "Synthetic demo data" in all_text(at)
    headings = [t.value for t in at.title] + [h.proto.body for h in at.get("html") if h.proto.body.startswith("<h1")]
    assert headings, "page has a title (the presentation page's is the slide title in large type)"


@pytest.mark.parametrize("project", ["aaot", "parent-cbt", "pcref"])
def test_project_page_for_every_catalogue_project(app, catalogue, project):
    at = open_page(app, "project", project=project)
    text = all_text(at)
    assert catalogue.project(project).name in text
    for site in catalogue.sites_of(project):
        assert site.name in text
    assert "go-live" in text
    assert len(at.get("plotly_chart")) >= len(catalogue.sites_of(project)), "the first tab draws a chart per site"
    sections = [t.label for t in at.tabs]
    assert sections[0] == "Outcomes over time" and sections[-1] == "Facilitators and barriers"
    shown = {}
    for view in each_view(at):
        shown[view.query_params.get("section", sections[0])] = (all_text(view), len(view.get("plotly_chart")))
    assert set(shown) == set(sections), "every tab opened"
    if project == "pcref":
        assert "Equity by ethnicity" in sections and "rate ratio" in shown["Equity by ethnicity"][0]
        assert shown["Equity by ethnicity"][1] >= 2 * len(catalogue.sites_of(project))
    if project == "parent-cbt":
        assert "Uptake" in sections and "delivery mode" in shown["Uptake"][0]
        assert shown["Uptake"][1] == len(catalogue.sites_of(project))
    if catalogue.indicators_of(project, "participant"):
        text, charts = shown["Before and after"]
        assert "between baseline and follow-up" in text and charts >= len(catalogue.sites_of(project))
        assert "Paired" in text or "paired" in text, "the opened details show the statistics and methods"


def test_overview_has_a_headline_row_per_site_and_indicator(app, catalogue):
    at = open_page(app, "overview")
    tables = at.table
    assert len(tables) == len(catalogue.projects)
    for table, project in zip(tables, catalogue.project_ids, strict=True):
        assert len(table.value) == len(catalogue.sites_of(project)) * len(catalogue.indicators_of(project))
    assert "95% CI" in " ".join(unescaped(tables[0].value)["Result"])


def test_changing_the_indicator_changes_the_result(app):
    at = open_page(app, "project", project="aaot")
    before = [m.value for m in at.markdown if "at Hull" in m.value]
    at.radio(key="w:indicator").set_value("unplanned-admissions").run()
    assert not at.exception
    after = [m.value for m in at.markdown if "at Hull" in m.value]
    assert before and after and before != after
    assert any("Unplanned admissions" in m for m in after)
    assert at.query_params["indicator"] == ["unplanned-admissions"] or at.query_params["indicator"] == "unplanned-admissions"


def test_explorer_model_option_changes_the_estimate(app):
    at = open_page(app, "explorer", project="aaot", site="greater-manchester", indicator="ae-attendances")
    first = [m.value for m in at.markdown if "Greater Manchester" in m.value]
    at.slider(key="its-harmonics").set_value(0).run()
    at.selectbox(key="its-family").set_value("poisson").run()
    assert not at.exception
    second = [m.value for m in at.markdown if "Greater Manchester" in m.value]
    assert first != second
    assert any("Poisson generalised linear model" in m.value for m in at.markdown)


def test_explorer_go_live_is_a_month_of_the_series_and_moving_it_refits(app):
    import datetime as dt

    at = open_page(app, "explorer", project="aaot", site="hull", indicator="ae-attendances")
    go_live = at.selectbox(key="its-go-live")
    assert go_live.value == dt.date(2021, 4, 1) and go_live.format_func(go_live.value) == "April 2021 (catalogue)"
    assert "April 2021 (catalogue)" in go_live.options and len(go_live.options) == 72, "the series' 72 months"
    first = [m.value for m in at.markdown if "at Hull" in m.value]
    go_live.set_value(dt.date(2022, 4, 1)).run()
    assert not at.exception
    later = [m.value for m in at.markdown if "at Hull" in m.value]
    assert first and later and first != later
    assert "Go-live Apr 2022" in at.get("plotly_chart")[0].proto.spec


def test_choices_survive_a_page_change(app):
    at = open_page(app, "site", site="sheffield")
    assert "Sheffield" in at.title[0].value
    at.switch_page("pages/compare.py")
    at.run()
    assert not at.exception
    assert "PCREF" in at.title[0].value


def test_a_rerun_with_cached_results_fits_nothing(app, monkeypatch):
    from mhin_eval import evaluate

    calls = []
    real_fit = evaluate.fit_its

    def counting_fit(*args, **kwargs):
        calls.append(1)
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(evaluate, "fit_its", counting_fit)
    at = open_page(app, "project", project="aaot")
    fitted = len(calls)
    assert fitted > 0
    at.run()
    at.switch_page("pages/project.py")
    at.run()
    assert len(calls) == fitted


def test_closed_tabs_and_details_run_nothing_until_opened(app, monkeypatch):
    """Sections in tabs and details in expanders are computed and drawn only once opened (issue 4: speed)."""
    from mhin_eval import evaluate

    before_after = []
    real = evaluate.site_prepost

    def counting(*args, **kwargs):
        before_after.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(evaluate, "site_prepost", counting)
    at = open_page(app, "project", project="aaot")
    assert [t.label for t in at.tabs] == ["Outcomes over time", "Before and after", "Facilitators and barriers"]
    assert before_after == [] and "Diagnostics:" not in all_text(at)
    assert "Diagnostics:" in all_text(open_details(at)), "an opened expander shows the estimates and diagnostics"
    at.query_params["section"] = "Before and after"
    at.run()
    assert not at.exception and len(before_after) == 2, "one before/after analysis per site once the tab is open"
    assert "between baseline and follow-up" in all_text(at)


def test_before_and_after_statistics_read_as_a_table_with_no_none_cells(app):
    at = open_details(open_page(app, "site", site="east-of-england", section="Before and after"))
    table = next(t.value for t in at.table if "Method" in t.value.columns and "df" in t.value.columns)
    table.columns = [unescaped(c) for c in table.columns]
    assert list(table.columns) == ["Value", "95% CI", "df", "p-value", "n", "Method"]
    cells = table.astype(str).to_numpy().ravel()
    assert not {"None", "nan", "NaN"} & set(cells)
    assert any(c.startswith("p ") for c in table["p-value"]), "p-values as reported (p = 0.012, p < 0.001)"
