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
    assert len(at.get("plotly_chart")) == len(catalogue.projects)
