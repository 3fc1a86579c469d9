"""The exported HTML report opens in headless Chromium with the network disabled and draws every chart."""

from __future__ import annotations

import pytest

from mhin_eval import export
from mhin_eval.access import Access, Role
from mhin_eval.store import Store, seed


@pytest.fixture(scope="module")
def report_store(tmp_path_factory, catalogue):
    store = Store(tmp_path_factory.mktemp("report-store"), catalogue=catalogue)
    seed(store)
    return store


@pytest.mark.parametrize("project, access", [
    ("parent-cbt", Access.local_evaluator()),
    ("aaot", Access(user="lee.lead@mhin.nhs.uk", role=Role.LEAD)),
])
def test_report_draws_every_chart_offline(browser, report_store, catalogue, artifacts_dir, project, access):
    view = export.collect(report_store, catalogue, project, access=access)
    path = artifacts_dir / f"report-{project}-{access.role}.html"
    path.write_text(export.report_html(view), encoding="utf-8")

    context = browser.new_context(offline=True, viewport={"width": 1300, "height": 900})
    requests = []
    context.route("**/*", lambda route: (requests.append(route.request.url), route.continue_()
                                         if route.request.url.startswith("file://") else route.abort()))
    charts_synth = sum((s.figure is not None) + (s.placebo is not None) for s in view.synth)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(path.as_uri(), wait_until="load")
        page.wait_for_function(
            f"document.querySelectorAll('div[id^=\"chart-\"] .main-svg').length >= {len(view.items) + charts_synth}",
            timeout=60_000,
        )
        drawn = page.evaluate(
            """() => [...document.querySelectorAll('div[id^="chart-"]')].map(d => ({
                   id: d.id, width: d.getBoundingClientRect().width,
                   traces: d.querySelectorAll('.scatterlayer .trace, .boxlayer .trace, .barlayer .trace').length}))"""
        )
        text = page.inner_text("body")
        page.screenshot(path=str(artifacts_dir / f"report-{project}-{access.role}.png"), full_page=False)
    finally:
        context.close()

    synth = [f"chart-{key}-{section.site.id}" for section in view.synth for key, figure
             in (("synth", section.figure), ("placebo", section.placebo)) if figure is not None]
    assert [d["id"] for d in drawn] == [f"chart-{item.key}" for item in view.items] + synth
    assert all(d["traces"] > 0 and d["width"] > 300 for d in drawn), [d for d in drawn if not d["traces"]]
    assert not errors, errors
    assert all(url.startswith("file://") for url in requests), [u for u in requests if not u.startswith("file://")]
    assert "Synthetic demo data" in text
    assert view.items[0].finding in text
    if access.suppressed:
        assert "Small numbers suppressed" in text
