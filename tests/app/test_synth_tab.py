"""AppTest of the site page's "Against similar sites" tab (synthetic control against the donor pool)."""

from tests.app.conftest import all_text, open_details, open_page, unescaped


def _open_tab(app, site):
    at = open_page(app, "site", site=site, section="Against similar sites")
    assert "Against similar sites" in [t.label for t in at.tabs]
    return at


def test_the_tab_shows_the_synthetic_control_placebos_weights_and_robustness(app, catalogue):
    at = _open_tab(app, "greater-manchester")
    text = all_text(at)
    assert "synthetic control" in text
    assert "Built mostly from" in text or "Built from a spread of donors" in text
    assert "greater-manchester-donor-" in text and "%" in text
    assert len(at.get("plotly_chart")) == 2, "the site against its synthetic control, and the placebo gaps"
    placebo = at.get("plotly_chart")[1].proto.spec
    assert placebo.count("greater-manchester-donor-") >= 12, "every donor's placebo gap is drawn"
    assert "Placebo test" in text and "p = " in text
    table = at.table[-1].value
    methods = [unescaped(m) for m in table.index]
    assert methods[0] == "Controlled interrupted time series (result of record)", "GM has comparison series"
    assert "Synthetic control" in methods and "Synthetic difference-in-differences" in methods
    assert "methods agree" in text or "methods disagree" in text or "not all find a clear change" in text
    opened = open_details(at)
    assert "Placebo in time" in all_text(opened) and "Leaving out one weighted donor" in all_text(opened)


def test_the_methods_page_explains_the_comparison_with_similar_sites(app):
    at = open_page(app, "methods")
    text = all_text(at)
    assert "Against similar sites" in text and "Algorithm 4" in text and "94-96%" in text
