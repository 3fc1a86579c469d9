"""The site page's "Against similar sites" tab in a real headless Chromium, as the evaluation team (local mode),
a signed-in programme lead and a partner site's signed-in user: charts drawn, the robustness table shown with the numbers a fresh fit
of the demo data gives, and a partner site's donors only as anonymised weights."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from mhin_eval import donor_pools
from mhin_eval.analysis.synth import synth
from mhin_eval.catalogue import PROJECT_ROOT
from tests.browser.conftest import assert_no_exception, screenshot, wait_for_app
from tests.browser.oidc_fixture import log_in
from tests.browser.serving import open_tab
from tests.browser.test_login import LEAD, SITE_USER, auth_app_url  # noqa: F401 (the signed-in app, a fixture)

pytestmark = pytest.mark.browser

SECTION = "Against similar sites"
PLACEBO_TITLE = "Is the gap unusual among similar sites?"
#: A server that seeded its own store (on its first page) computes the synthetic-control records in the
#: background: a tab opened before they are stored builds them itself (tens of seconds on a loaded machine).
TAB_TIMEOUT = 240_000
ROBUSTNESS = """(label) => {
  const panel = [...document.querySelectorAll('[role="tabpanel"]')].find((p) => p.offsetParent !== null);
  if (!panel) return false;
  return [...panel.querySelectorAll('[data-testid="stTable"]')].some((t) => t.innerText.includes(label));
}"""


def expected_effects(catalogue, site_id: str) -> dict[str, str]:
    """{method name: effect to 3 significant figures} from a fresh fit of the demo extracts (the stored
    records are fits of the same rows, so the served tab must show these)."""
    site = catalogue.site(site_id)
    series = pd.read_csv(PROJECT_ROOT / "data" / "demo" / "series.csv")
    _, panel = donor_pools.donor_panel(catalogue, site, series)
    out = {}
    for method, name in (("sc", "Synthetic control"), ("sdid", "Synthetic difference-in-differences")):
        result = synth(panel, unit="unit", time="period", value="value", treated=donor_pools.SITE_UNIT,
                       intervention=str(site.go_live), method=method)
        out[name] = f"{result.effect.estimate:.3g}"
    return out


def robustness_rows(page) -> dict[str, list[str]]:
    """The visible tab's robustness table: {method: [effect, CI, what the number is]}, once it is shown."""
    page.wait_for_function(ROBUSTNESS, arg="Synthetic difference-in-differences", polling="raf", timeout=TAB_TIMEOUT)
    table = page.get_by_role("tabpanel").filter(visible=True).locator('[data-testid="stTable"]').last
    rows = table.locator("tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.querySelectorAll('th, td')].map(c => c.innerText.trim()))")
    return {row[0]: row[1:] for row in rows}


def panel_text(page) -> str:
    return page.get_by_role("tabpanel").filter(visible=True).inner_text().replace("\u2060", "")


def test_evaluator_sees_the_charts_and_the_robustness_table(app_url, page, artifacts_dir, catalogue):
    page.goto(f"{app_url}/site?site=greater-manchester")
    wait_for_app(page, min_charts=1, timeout=TAB_TIMEOUT)
    open_tab(page, SECTION, min_charts=2, timeout=TAB_TIMEOUT, titles=(PLACEBO_TITLE,))
    rows = robustness_rows(page)
    assert_no_exception(page)
    titles = page.get_by_role("tabpanel").filter(visible=True).locator('[data-testid="stPlotlyChart"] .gtitle')
    assert [t.replace(" ", "") for t in titles.all_text_contents()] == [  # a long title wraps: its lines join unspaced
        "A&Eattendances:GreaterManchesteranditssyntheticcomparison", PLACEBO_TITLE.replace(" ", "")]
    assert list(rows) == ["Controlled interrupted time series (result of record)", "Synthetic control",
                          "Synthetic difference-in-differences"]
    for method, effect in expected_effects(catalogue, "greater-manchester").items():
        assert rows[method][0] == effect, method
        assert re.fullmatch(r"-?[\d.]+ to -?[\d.]+", rows[method][1])
    text = panel_text(page)
    assert re.search(r"Built (mostly|from a spread of donors:?) .*greater-manchester-donor-\d+ \(\d+%\)", text)
    assert "Placebo test" in text and ("methods agree" in text or "methods disagree" in text
                                       or "not all find a clear change" in text)
    panel = page.get_by_role("tabpanel").filter(visible=True)
    axes = panel.locator(".ytitle").all_text_contents()
    assert axes == ["Attendances", "Gap, attendances"]
    texts = "".join(panel.locator('[data-testid="stPlotlyChart"]').first.locator("text").all_text_contents())
    assert "Attendancesperpatientintheoutreachcohort" in texts.replace(" ", "") and "Per 1" not in texts
    screenshot(page, artifacts_dir / "site-against-similar-sites-evaluator.png")
    assert page.errors == [], "\n".join(page.errors)


def test_partner_site_user_sees_the_table_and_anonymised_donors(auth_app_url, page, artifacts_dir, catalogue):  # noqa: F811
    log_in(page, auth_app_url, SITE_USER, timeout=TAB_TIMEOUT)  # the first page seeds this server's store
    page.goto(f"{auth_app_url}/site?site=hull")
    wait_for_app(page, min_charts=1, timeout=TAB_TIMEOUT)
    open_tab(page, SECTION, timeout=TAB_TIMEOUT)
    rows = robustness_rows(page)
    assert_no_exception(page)
    assert list(rows) == ["Interrupted time series (result of record)", "Synthetic control",
                          "Synthetic difference-in-differences"]
    for method, effect in expected_effects(catalogue, "hull").items():
        assert rows[method][0] == effect, method
    text = panel_text(page)
    assert re.search(r"Built (mostly|from a spread of donors:?) .*Donor A \(\d+%\)", text)
    assert "shown to the evaluation team only" in text
    main = page.locator('[data-testid="stMain"]').inner_text()
    assert "hull-donor" not in main, "a partner site's donors are never named to a site user"
    assert page.get_by_role("tabpanel").filter(visible=True).locator('[data-testid="stPlotlyChart"]').count() == 0
    screenshot(page, artifacts_dir / "site-against-similar-sites-partner.png")
    assert page.errors == [], "\n".join(page.errors)


def test_programme_lead_sees_the_table_and_named_donors_without_the_charts(auth_app_url, page, artifacts_dir,  # noqa: F811
                                                                           catalogue):
    log_in(page, auth_app_url, LEAD, timeout=TAB_TIMEOUT)
    page.goto(f"{auth_app_url}/site?site=hull")
    wait_for_app(page, min_charts=1, timeout=TAB_TIMEOUT)
    open_tab(page, SECTION, timeout=TAB_TIMEOUT)
    rows = robustness_rows(page)
    assert_no_exception(page)
    for method, effect in expected_effects(catalogue, "hull").items():
        assert rows[method][0] == effect, method
    text = panel_text(page)
    assert re.search(r"Built (mostly|from a spread of donors:?) .*hull-donor-\d+ \(\d+%\)", text), \
        "a programme lead sees every site, so donors are named"
    assert "shown to the evaluation team only" in text
    assert page.get_by_role("tabpanel").filter(visible=True).locator('[data-testid="stPlotlyChart"]').count() == 0
    screenshot(page, artifacts_dir / "site-against-similar-sites-lead.png")
    assert page.errors == [], "\n".join(page.errors)
