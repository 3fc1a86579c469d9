"""AppTest of the site page's "Against similar sites" tab (synthetic control against the donor pool)."""

import html
import io
import json
import re

import pandas as pd
import pytest
from pptx import Presentation

from mhin_eval import export, record, synth_record, synth_summary
from mhin_eval.access import Access, Role
from mhin_eval.access.shown import Counts
from mhin_eval.store import Store
from tests.app.conftest import all_text, open_details, open_page, unescaped
from tests.app.test_roles import EVALUATOR, HULL_USER, LEAD, _numbers, everything_shown


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


# --------------------------------------------------------------------------- every role (issue 17)




SECTION = "Against similar sites"
ROLES = {"evaluator": EVALUATOR, "lead": LEAD, "site": HULL_USER}
DONOR_ID = re.compile(r"hull-donor-\d+")


def _expected(seeded_dir, catalogue, access: Access, site: str = "hull"):
    """The site's stored synthetic-control record and robustness table as this user's view shows them."""
    store = Store(seeded_dir)
    counts = Counts.for_access(access, catalogue)
    rec = synth_record.find(synth_record.for_access(
        synth_record.synth_of_record(store, catalogue, catalogue.site(site).project, counts), access), site)
    its = record.find(record.results_of_record(store, catalogue, rec.project, counts), site, rec.indicator)
    return rec, synth_summary.robustness_table(synth_record.method_effects(its, rec))


@pytest.mark.parametrize("role", list(ROLES))
def test_the_tab_and_robustness_panel_in_every_role(signed_in, seeded_dir, catalogue, role):
    email = ROLES[role]
    at = open_page(signed_in(email), "site", site="hull", section=SECTION)
    assert at.title[0].value == "Hull" and SECTION in [t.label for t in at.tabs]
    access = Access(user=email, role=Role(role), sites=("hull",) if role == "site" else None)
    rec, expected = _expected(seeded_dir, catalogue, access)
    sc = rec.effect("sc")
    text = all_text(at)
    assert f"{sc.sentence}" in text and sc.weights_text in text and "Placebo test" in text
    assert "Robustness: the effect under every method" in text
    shown = unescaped(at.table[-1].value).reset_index()
    pd.testing.assert_frame_equal(shown, expected, check_dtype=False)
    assert shown["Method"].tolist() == ["Interrupted time series (result of record)", "Synthetic control",
                                        "Synthetic difference-in-differences"]
    charts = at.get("plotly_chart")
    if role == "evaluator":
        assert len(charts) == 2, "the site against its synthetic control, and the placebo gaps"
        spec = json.loads(charts[0].proto.spec)
        assert _numbers(spec["data"][1]["y"]) == pytest.approx(list(rec.path.observed)), "drawn from the record"
        assert "Per 1 " not in charts[0].proto.spec and "Attendances per patient in the outreach cohort" in \
            charts[0].proto.spec, "the unit, as the chart's subtitle"
        assert len(DONOR_ID.findall(charts[1].proto.spec)) >= 12, "an evaluator sees every donor named"
    else:
        assert charts == [] and "shown to the evaluation team only" in text
    everything = everything_shown(at)
    if role == "site":
        assert DONOR_ID.findall(everything) == [], "partner-extract donors are never named to a site user"
        assert re.search(r"Built (mostly|from a spread of donors:?) .*Donor A \(\d+%\)", everything)
        assert "Leaving out one weighted donor" in everything, "the details opened, and named no donor either"
    else:
        assert DONOR_ID.search(everything)


def test_an_evaluator_switching_to_the_suppressed_view_keeps_the_numbers_without_the_charts(signed_in):
    at = open_page(signed_in(EVALUATOR), "site", site="greater-manchester", section=SECTION)
    full = unescaped(at.table[-1].value)
    assert len(at.get("plotly_chart")) == 2
    at.sidebar.toggle(key="view:suppressed").set_value(True).run()
    assert not at.exception
    assert at.get("plotly_chart") == [] and "shown to the evaluation team only" in all_text(at)
    pd.testing.assert_frame_equal(unescaped(at.table[-1].value), full)


def test_a_site_users_exports_name_no_partner_donor(seeded_dir, catalogue):
    """The deck, report and tables of a Hull user carry the section with anonymised donor weights only."""
    hull_user = Access(user=HULL_USER, role=Role.SITE, sites=("hull",))
    view = export.collect(Store(seeded_dir), catalogue, "aaot", access=hull_user, site="hull")
    (section,) = view.synth
    assert section.figure is None and section.placebo is None
    report = export.report_html(view)
    tables = "\n".join(export.table_bytes(view, name, "csv").decode("utf-8-sig") for name in view.tables)
    deck = Presentation(io.BytesIO(export.deck_from_view(view)))
    slide_text = "\n".join(shape.text_frame.text if shape.has_text_frame else
                           "\n".join(c.text for row in shape.table.rows for c in row.cells) if shape.has_table else ""
                           for slide in deck.slides for shape in slide.shapes)
    slide_text += "\n".join(slide.notes_slide.notes_text_frame.text for slide in deck.slides)  # weights: notes
    for surface in (report, tables, slide_text):
        assert DONOR_ID.findall(surface) == []
        assert "Donor A (" in surface
    assert f"{SECTION}: Hull" in slide_text and "SYNTHETIC DEMO DATA" in slide_text
    assert html.escape("The donors are the demo's synthetic series") in report
    evaluator_view = export.collect(Store(seeded_dir), catalogue, "aaot", access=Access.local_evaluator(), site="hull")
    assert DONOR_ID.search(export.report_html(evaluator_view)), "the evaluation team sees the donors named"
