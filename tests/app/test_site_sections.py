"""The Sites page shows every section of its project that has data for the site, and follows the project chosen
on the Projects page."""

from __future__ import annotations

import pytest

from tests.app.conftest import open_page


def tab_labels(at) -> list[str]:
    return [t.label for t in at.tabs]


@pytest.mark.parametrize(("site", "sections"), [
    ("east-of-england", {"Uptake"}),
    ("sheffield", {"Equity by ethnicity"}),
])
def test_site_page_has_its_projects_sections(app, site, sections):
    at = open_page(app, "site", site=site)
    assert sections <= set(tab_labels(at)), tab_labels(at)


def test_site_page_uptake_and_equity_draw_for_the_site(app):
    at = open_page(app, "site", site="east-of-england", section="Uptake")
    assert not at.exception
    assert any("Uptake since go-live: East of England" in str(c.proto.spec) or "East of England" in str(c.proto.spec)
               for c in at.get("plotly_chart"))
    at = open_page(app, "site", site="sheffield", section="Equity by ethnicity")
    assert not at.exception
    assert len(at.get("plotly_chart")) >= 2


def test_project_chosen_on_projects_page_carries_over_to_sites(app):
    at = open_page(app, "site", site="hull")
    assert "Hull" in at.title[0].value
    at.switch_page("pages/project.py")
    at.query_params.clear()
    at.run()
    at.selectbox(key="w:project").select("pcref").run()
    assert not at.exception
    at.switch_page("pages/site.py")
    at.run()
    assert not at.exception
    assert at.title[0].value in ("Sheffield", "Manchester")
