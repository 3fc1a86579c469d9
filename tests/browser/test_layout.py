"""Layout at a 1366×768 laptop screen in a real Chromium: on every page and tab, no chart's title, subtitle, axis
titles, tick labels, legend or notes sit on one another or on the plot, and none is cut off at the chart's edge;
no select box cuts its chosen option short."""

from __future__ import annotations

import pytest

from tests.browser.conftest import assert_no_exception, wait_for_app
from tests.browser.serving import open_tab
from tests.browser.views import views

pytestmark = pytest.mark.browser

#: Overlaps of every visible plotly chart's text parts, as "chart: part 'text' on part 'text'" lines, once two
#: animation frames in a row give the same boxes (plotly redraws after working out its automatic margins).
#: Parts: title, subtitle, axis titles, tick labels, legend, annotations outside the plot (notes, column heads,
#: badges) and the plot area. Tick labels of one axis may not overlap each other; every part must lie inside
#: the chart's own svg (else it is cut off). Titles and subtitles keep 4 px clear below them, legends 2 px.
_COLLISIONS = """() => {
  const PAIRS = {
    'title': ['subtitle', 'plot', 'x tick', 'y tick', 'x title', 'y title', 'legend', 'note'],
    'subtitle': ['plot', 'x tick', 'y tick', 'x title', 'y title', 'legend', 'note'],
    'x title': ['x tick', 'y tick', 'legend', 'plot', 'note'],
    'y title': ['x tick', 'y tick', 'legend', 'plot', 'note'],
    'legend': ['x tick', 'y tick', 'plot', 'note'],
    'x tick': ['x tick', 'y tick'],
    'y tick': ['y tick'],
  };
  const SLACK = 1;  // pixels of anti-aliasing allowed between neighbours
  const CLEAR = {'title': 4, 'subtitle': 4, 'legend': 2};  // room kept below these parts, in pixels
  const found = [];
  const signature = [];
  for (const chart of document.querySelectorAll('[data-testid="stPlotlyChart"]')) {
    if (chart.offsetParent === null) continue;  // in a closed tab
    const svg = chart.querySelector('svg.main-svg');
    if (!svg) continue;
    const frame = svg.getBoundingClientRect();
    const name = ((chart.querySelector('text.gtitle') || {}).textContent || '(untitled chart)').slice(0, 60);
    const parts = [];
    const add = (kind, el) => {
      const r = el.getBoundingClientRect();
      if (r.width < 1 || r.height < 1) return;
      parts.push({kind, r, text: (el.textContent || '').trim().slice(0, 40)});
    };
    chart.querySelectorAll('text.gtitle').forEach((e) => add('title', e));
    chart.querySelectorAll('text.gtitle-subtitle, text.subtitle').forEach((e) => add('subtitle', e));
    chart.querySelectorAll('g.g-xtitle text, g.g-x2title text').forEach((e) => add('x title', e));
    chart.querySelectorAll('g.g-ytitle text, g.g-y2title text').forEach((e) => add('y title', e));
    chart.querySelectorAll('g.xtick text').forEach((e) => add('x tick', e));
    chart.querySelectorAll('g.ytick text').forEach((e) => add('y tick', e));
    chart.querySelectorAll('g.infolayer g.legend').forEach((e) => add('legend', e));
    const plots = [...chart.querySelectorAll('g.draglayer rect.nsewdrag')].map((e) => e.getBoundingClientRect());
    plots.forEach((r) => parts.push({kind: 'plot', r, text: ''}));
    // Annotations drawn outside every plot area: notes, forest-plot column heads, SPC badges.
    chart.querySelectorAll('g.annotation').forEach((e) => {
      const r = e.getBoundingClientRect();
      const inside = plots.some((p) => r.left >= p.left - SLACK && r.right <= p.right + SLACK
                                   && r.top >= p.top - SLACK && r.bottom <= p.bottom + SLACK);
      if (!inside) add('note', e);
    });
    for (const p of parts) {
      signature.push(Math.round(p.r.left), Math.round(p.r.top), Math.round(p.r.width), Math.round(p.r.height));
      if (p.r.left < frame.left - SLACK || p.r.right > frame.right + SLACK || p.r.top < frame.top - SLACK
          || p.r.bottom > frame.bottom + SLACK) {
        found.push(`${name}: ${p.kind} '${p.text}' cut off at the chart's edge`);
      }
    }
    for (let i = 0; i < parts.length; i++) {
      for (let j = 0; j < parts.length; j++) {
        const a = parts[i], b = parts[j];
        if (i === j || !(PAIRS[a.kind] || []).includes(b.kind)) continue;
        if (a.kind === b.kind && j < i) continue;
        const w = Math.min(a.r.right, b.r.right) - Math.max(a.r.left, b.r.left);
        const h = Math.min(a.r.bottom + (CLEAR[a.kind] || 0), b.r.bottom) - Math.max(a.r.top, b.r.top);
        if (w > SLACK && h > SLACK) found.push(`${name}: ${a.kind} '${a.text}' on ${b.kind} '${b.text}'`);
      }
    }
  }
  const key = signature.join(',');
  const stable = window.__layoutKey === key;
  window.__layoutKey = key;
  return stable ? found : null;
}"""

#: Select boxes whose chosen option is wider than the box shows (Streamlit's combobox input scrolls its text).
_CUT_SELECTS = """() => [...document.querySelectorAll('[data-testid="stSelectbox"] input[role="combobox"]')]
  .filter((input) => input.offsetParent !== null && input.value && input.scrollWidth > input.clientWidth + 1)
  .map((input) => `select box '${input.getAttribute('aria-label')}': '${input.value}' cut short`)"""


def collisions(pg, where: str) -> list[str]:
    """Every overlap and cut-off in the charts and select boxes shown now, once the charts have stopped moving."""
    pg.evaluate("() => { window.__layoutKey = undefined; }")
    found = pg.wait_for_function(_COLLISIONS, polling="raf", timeout=30_000).json_value()
    found += pg.evaluate(_CUT_SELECTS)
    return [f"[{where}] {line}" for line in found]


@pytest.fixture
def laptop(browser):
    """A 1366×768 laptop screen."""
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    yield context.new_page()
    context.close()


@pytest.mark.parametrize(("path", "title"), [v for v in views() if v[0] != "present"],
                         ids=lambda v: v or "home")
def test_no_chart_part_sits_on_another_or_is_cut_off_at_1366(app_url, laptop, path, title):
    """The Present page's projector slides are left to their own test (issue 15 item 1)."""
    pg = laptop
    pg.goto(f"{app_url}/{path}")
    wait_for_app(pg)
    assert_no_exception(pg)
    where = path or "home"
    problems = collisions(pg, where)
    for label in pg.get_by_role("tab").all_inner_texts()[1:]:
        open_tab(pg, label)
        assert_no_exception(pg)
        problems += collisions(pg, f"{where} / {label}")
    print("\n".join(problems))
    assert problems == []
