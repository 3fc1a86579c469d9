"""AppTest of the home page: projects, sites, coverage and the synthetic-data notice."""

from tests.app.conftest import all_text


def test_home_lists_every_project_and_site_and_says_demo(app, catalogue):
    at = app.run()
    assert not at.exception, at.exception
    text = all_text(at)
    assert "Synthetic demo data" in text
    for project in catalogue.projects:
        assert project.short_name in text
    for site in catalogue.sites:
        if not site.is_comparison:
            assert site.name in text
    assert len(at.get("plotly_chart")) == 1, "the coverage of the open project's tab only"
    titles = []
    for tab in [t.label for t in at.tabs]:
        at.query_params["coverage"] = tab
        at.run()
        assert not at.exception
        (chart,) = at.get("plotly_chart")
        titles.append(__import__("json").loads(chart.proto.spec)["layout"]["title"]["text"])
    assert titles == [f"{p.short_name}: months with data" for p in catalogue.projects]
