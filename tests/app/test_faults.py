"""No traceback reaches a visitor (AppTest): junk uploads from a site user are one plain problem each,
storage faults and catalogue mistakes are an error box naming the folder or setting and the fix; and
respondent counts from 1 to the threshold are not shown to leads and site users."""

from __future__ import annotations

import gzip
import io
import os
import re
import zipfile

import pytest

from mhin_eval.catalogue import DEFAULT_CATALOGUE, PROJECT_ROOT
from mhin_eval.store import Store, StoreUnavailable
from tests.app.conftest import all_text, open_details, open_page, unescaped
from tests.app.test_roles import HULL_USER

LEAD = "lee.lead@mhin.nhs.uk"
EVALUATOR = "eve.evaluator@mhin.nhs.uk"


def workbook_without_content_types() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return buffer.getvalue()


JUNK = [
    ("extract.xlsx", b"PK\x03\x04 this is not really a workbook", "This is not a valid Excel workbook"),
    ("broken.xlsx", workbook_without_content_types(), "The Excel file cannot be opened"),
    ("chart.csv", (PROJECT_ROOT / "mhin_eval" / "ui" / "static" / "favicon.png").read_bytes(),
     "This is a PNG image, not a CSV"),
    ("extract.csv", gzip.compress(b"project,site\naaot,hull\n"), "This is a gzip-compressed file, not a CSV"),
]


@pytest.mark.parametrize(("name", "data", "message"), JUNK, ids=[j[0] for j in JUNK])
def test_a_site_user_uploading_junk_sees_one_plain_problem(signed_in, name, data, message):  # noqa: F811
    at = open_page(signed_in(HULL_USER), "upload")
    before = Store(os.environ["MHIN_DATA_DIR"]).checksum()
    at.file_uploader(key="upload-file").upload(name, data, "application/octet-stream")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [unescaped(e.value) for e in at.error] == [f"**{name} was refused: 1 problem(s).** Nothing was stored. "
                                                      "Fix each problem below and upload the file again."]
    problems = at.dataframe[0].value
    assert len(problems) == 1 and problems.loc[0, "problem"].startswith(message), problems.loc[0, "problem"]
    assert "Traceback" not in all_text(at)
    assert Store(os.environ["MHIN_DATA_DIR"]).checksum() == before


def test_a_full_disk_is_a_plain_message_on_the_page(app, monkeypatch):
    """On the home page, which AppTest runs inside app.py's navigation as the server runs every page (AppTest
    runs a page it switched to on its own, outside app.py)."""
    def full(self, *args, **kwargs):
        raise StoreUnavailable(f"The data store in {self.data_dir} could not be read: the disk is full (No space "
                               "left on device). Nothing was changed. Free space on that disk, or move the store "
                               "elsewhere with the --data-dir option or MHIN_DATA_DIR, then try again.")

    monkeypatch.setattr(Store, "coverage", full)
    at = app
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    (error,) = at.error
    shown = unescaped(error.value)
    assert "could not be read: the disk is full" in shown and "or MHIN_DATA_DIR, then try again" in shown


def test_a_catalogue_mistake_is_an_error_box_listing_it(app, tmp_path, monkeypatch):
    bad = tmp_path / "catalogue.toml"
    bad.write_text(DEFAULT_CATALOGUE.read_text(encoding="utf-8").replace(
        "disclosure_threshold = 7", 'disclosure_threshold = "seven"'), encoding="utf-8")
    monkeypatch.setenv("MHIN_CATALOGUE", str(bad))
    at = app
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    text = all_text(at)
    assert "The catalogue has mistakes" in text
    assert "settings.disclosure_threshold = 'seven' must be a whole number of at least 0" in text


@pytest.mark.parametrize("user", [LEAD, HULL_USER])
def test_leads_and_site_users_see_no_respondent_count_from_1_to_the_threshold(signed_in, user):  # noqa: F811
    site = "east-of-england" if user == LEAD else "hull"
    at = open_details(open_page(signed_in(user), "sustainability", instrument="psat", site=site))
    text = all_text(at)
    (per_round,) = re.findall(r"Respondents per round: (.*)", text)
    shown = re.findall(r"\w{3} \d{4}: (\S+?)[,.](?: |$)", per_round)
    assert shown and all(n == "*" or int(n) > 7 and int(n) % 5 == 0 for n in shown), per_round
    assert not re.search(r"(?<![\d.])[1-7] respondent", text)
    if user == LEAD:
        assert "Mar 2023: fewer than 8 respondents answered, so this round's scores are not shown." in text


def test_an_evaluator_sees_the_respondent_counts(signed_in):  # noqa: F811
    at = open_details(open_page(signed_in(EVALUATOR), "sustainability", instrument="psat", site="east-of-england"))
    assert "Mar 2023: 5 respondents answered, fewer than 8" in all_text(at)


def test_stored_row_counts_on_the_home_page_are_shown_as_they_are_to_a_lead(signed_in):  # noqa: F811
    at = open_page(signed_in(LEAD), "home")
    freshness = next(d.value for d in at.dataframe if "Rows" in d.value.columns)
    stored = Store(os.environ["MHIN_DATA_DIR"]).freshness(sites=None)
    assert sorted(freshness["Rows"]) == sorted(stored["n_rows"])
