"""AppTest of the presentation page: one slide at a time, next and previous move through the export's charts and
the URL holds the slide (the browser test, tests/browser/test_present.py, checks that it fits the screen)."""

from __future__ import annotations

import html
import json
import re

from mhin_eval import deck, export
from mhin_eval.access import Access
from mhin_eval.store import Store
from tests.app.conftest import all_text


def open_present(at, **query):
    at.query_params.update(query)
    at.run()
    at.switch_page("pages/present.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def text(at) -> str:
    """The page's text as a reader sees it (the slide's title, finding and source line are escaped HTML)."""
    return html.unescape(all_text(at))


def chart(at) -> dict:
    charts = at.get("plotly_chart")
    assert len(charts) == 1, "one chart at a time"
    return json.loads(charts[0].proto.spec)


def test_next_and_previous_change_the_chart(app, seeded_dir, catalogue):
    # The slides are the export's charts, in the deck's order (computed here from the same seeded store).
    expected = export.collect(Store(seeded_dir, catalogue=catalogue), catalogue, "aaot",
                              access=Access.local_evaluator()).items
    at = open_present(app, project="aaot")
    first = chart(at)
    assert expected[0].title in text(at)
    assert expected[0].finding in text(at)
    assert f"1\xa0/\xa0{len(expected)}" in text(at)
    assert at.button(key="present-previous").disabled
    assert at.query_params["slide"] == "1"

    at.button(key="present-next").click().run()
    assert not at.exception
    second = chart(at)
    assert second["data"] != first["data"], "Next shows another chart"
    assert expected[1].title in text(at) and expected[1].finding in text(at)
    assert at.query_params["slide"] == "2", "the URL holds the slide"

    at.button(key="present-previous").click().run()
    assert chart(at)["data"] == first["data"], "Previous goes back to the first chart"
    assert expected[0].title in text(at)
    assert at.query_params["slide"] == "1"


def test_a_link_opens_its_slide(app, seeded_dir, catalogue):
    expected = export.collect(Store(seeded_dir, catalogue=catalogue), catalogue, "pcref",
                              access=Access.local_evaluator()).items
    at = open_present(app, project="pcref", sites="all", slide="4")
    assert expected[3].title in text(at) and expected[3].finding in text(at)
    at = open_present(app, project="pcref", sites="all", slide="999")
    assert expected[-1].title in text(at), "a slide past the end shows the last"
    assert at.button(key="present-next").disabled


def test_large_type_for_the_projector(app):
    at = open_present(app, project="parent-cbt")
    spec = chart(at)
    # base_layout sets 14 px text; the slide's figure multiplies every font by 1.3 (14 * 1.3 = 18.2) and takes
    # the height the slide leaves it (no fixed height).
    assert spec["layout"]["font"]["size"] == 18.2
    assert "height" not in spec["layout"] and spec["layout"]["autosize"] is True
    assert "Synthetic demo data" in text(at)


def test_site_page_builds_a_deck_with_progress(app, seeded_dir, catalogue):
    at = app
    at.query_params.update({"site": "hull"})
    at.run()
    at.switch_page("pages/site.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.get("download_button")) == 3, "report, CSV and Excel are offered before any deck is built"
    at.button(key="export-aaot-hull-build").click().run()
    assert not at.exception, [e.value for e in at.exception]
    # title + results at a glance + one slide per indicator at one site + a sustainability profile per
    # instrument (the demo assesses Hull with each) + against similar sites (Hull has a donor pool) + facilitators
    # and barriers + methods and caveats (on as many slides as they take at 14 pt)
    view = export.collect(Store(seeded_dir, catalogue=catalogue), catalogue, "aaot", site="hull",
                          access=Access.local_evaluator())
    assert len(view.synth) == 1
    slides = (1 + 1 + len(catalogue.indicators_of("aaot")) + len(catalogue.instruments) + 1 + 1
              + len(deck.methods_pages(view)))
    statuses = [e for e in at.get("status") if "Slide deck ready" in str(e.proto.label)]
    assert statuses and f"{slides} slides" in statuses[0].proto.label
    assert any("Deck ready" in str(p.proto.text) for p in at.get("progress"))
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Download slide deck" in labels
    at.radio(key="export-aaot-hull-audience").set_value("public").run()
    assert "Download slide deck" not in [b.proto.label for b in at.get("download_button")], "built anew per audience"
    at.button(key="export-aaot-hull-build").click().run()
    assert not at.exception, [e.value for e in at.exception]
    public = [e for e in at.get("status") if "Slide deck ready" in str(e.proto.label)]
    assert public and f"{deck.slide_count(view, 'public')} slides" in public[0].proto.label
    assert "Download slide deck" in [b.proto.label for b in at.get("download_button")]


def test_slide_text_from_files_is_only_text(catalogue):
    """A title, finding or n from the catalogue or a file enters the slide's HTML as characters, never as markup."""
    import plotly.graph_objects as go

    from mhin_eval.ui import present

    hostile = '<a href="http://evil.example">x</a><img src=http://evil.example/p.png> ![px](http://evil.example/b.png)'
    item = export.ChartItem(key="k", kind="its", section="s", title=hostile, figure=go.Figure(), finding=hostile,
                            direction="improvement", n_text=hostile, method="m")
    html_out = present.heading(item)
    assert "<a " not in html_out and "<img" not in html_out
    assert html.unescape(re.sub(r"<[^>]+>", "", html_out)).count(hostile) == 3
    assert "<h1>" in html_out
