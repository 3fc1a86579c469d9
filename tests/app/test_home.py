"""AppTest of the home page: projects, sites, coverage and the synthetic-data notice."""

import json

from tests.app.conftest import all_text, each_view


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
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"]
              for view in each_view(at, key="coverage") for c in view.get("plotly_chart")]
    assert titles == [f"{p.short_name}: months with data" for p in catalogue.projects]
