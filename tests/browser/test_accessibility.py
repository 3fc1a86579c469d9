"""WCAG 2.2 AA in a real Chromium: axe-core (tests/browser/axe, npm) run on every page of the menu and on every
tab it opens, in the evaluation team's role (local mode sees every page); no serious or critical violation.
Also each page's own <title> and an accessible name on every chart."""

from __future__ import annotations

from pathlib import Path

import pytest

from mhin_eval.catalogue import PROJECT_ROOT
from tests.browser.conftest import assert_no_exception, wait_for_app
from tests.browser.npm import npm_ci
from tests.browser.serving import open_tab
from tests.browser.views import menu, views

pytestmark = pytest.mark.browser

AXE_DIR = Path(__file__).parent / "axe"
BLOCKING = ("serious", "critical")


@pytest.fixture(scope="module")
def axe_source() -> str:
    npm_ci(AXE_DIR, "the accessibility test injects axe-core (npm) into each page")
    return (AXE_DIR / "node_modules" / "axe-core" / "axe.min.js").read_text(encoding="utf-8")


@pytest.fixture
def small_screen(browser):
    """A 1366×768 laptop screen."""
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    yield context.new_page()
    context.close()


def blocking_violations(pg, axe_source: str, where: str) -> list[str]:
    """axe-core's serious and critical WCAG violations on the page as it is now, one line per node."""
    if not pg.evaluate("typeof axe !== 'undefined'"):
        pg.evaluate(axe_source)
    found = pg.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [f"[{where}] {v['impact']} {v['id']} ({v['help']}): {n['target']} {n.get('failureSummary', '')}"
            for v in found if v["impact"] in BLOCKING for n in v["nodes"]]


def _check(pg, axe_source: str, where: str) -> list[str]:
    """axe's blocking violations, and every chart without an accessible name (the Present page's projector chart
    is left to its own test), as lines to print."""
    unnamed = pg.locator('[data-testid="stPlotlyChart"]:not([aria-label^="Chart: "])').count()
    named = [] if unnamed == 0 or where == "present" else [f"[{where}] {unnamed} chart(s) without an accessible name"]
    return blocking_violations(pg, axe_source, where) + named


def test_every_page_is_covered():
    assert {p for p, _ in menu()} >= {p.stem for p in (PROJECT_ROOT / "pages").glob("*.py")}


@pytest.mark.parametrize(("path", "title"), views(), ids=lambda v: v or "home")
def test_no_serious_or_critical_axe_violation_on_any_page_or_tab(app_url, small_screen, axe_source, path, title):
    pg = small_screen
    pg.goto(f"{app_url}/{path}")
    wait_for_app(pg)
    assert_no_exception(pg)
    assert pg.title() == f"{title} · MHIN evaluation dashboard"
    problems = _check(pg, axe_source, path or "home")
    for label in pg.get_by_role("tab").all_inner_texts()[1:]:
        open_tab(pg, label)
        assert_no_exception(pg)
        problems += _check(pg, axe_source, f"{path or 'home'} / {label}")
    print("\n".join(problems))
    assert problems == []
