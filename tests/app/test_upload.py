"""Upload page (AppTest): a refused file shows every problem and stores nothing; a good file shows what
will change, is stored on confirmation and can be rolled back exactly."""

from __future__ import annotations

import os

from mhin_eval.record import RECORD_FORMAT
from mhin_eval.store import Store
from tests.app.conftest import all_text

HEADER = "project,site,indicator,period,value,denominator,breakdown,group\n"
GOOD = (HEADER + "aaot,hull,ae-attendances,2018-01-01,40,,all,all\n"
        "aaot,hull,ae-attendances,2018-02-01,41,,all,all\n").encode()
BAD = (HEADER + "aaot,hull,ae-attendances,2018-01-01,forty,,all,all\n").encode()


def open_upload(at):
    at.run()
    at.switch_page("pages/upload.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def store() -> Store:
    return Store(os.environ["MHIN_DATA_DIR"])


def test_a_refused_file_lists_its_problems_and_stores_nothing(app):
    at = open_upload(app)
    before = store().checksum()
    at.file_uploader(key="upload-file").upload("bad.csv", BAD, "text/csv")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "bad.csv was refused: 1 problem(s)" in all_text(at)
    problems = at.dataframe[0].value
    assert problems.loc[0, "row"] == 2 and problems.loc[0, "column"] == "value" and problems.loc[0, "value"] == "forty"
    assert store().checksum() == before


def test_a_good_file_is_previewed_stored_and_rolled_back(app):
    at = open_upload(app)
    before = store().checksum()
    at.file_uploader(key="upload-file").upload("more.csv", GOOD, "text/csv")
    at.run()
    assert "passed every check" in all_text(at)
    preview = at.dataframe[0].value
    assert preview[["Site", "Indicator", "Added", "Replaced"]].values.tolist() == [["hull", "ae-attendances", 2, 0]]
    assert store().checksum() == before, "nothing is stored before confirmation"
    at.button(key="upload-confirm").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "2 rows added" in all_text(at)
    assert store().checksum() != before
    assert any("Results of record" in p.proto.text for p in at.get("progress")), "the page shows the progress"
    assert all(store().recorded_results(store().version(), view, project, RECORD_FORMAT) is not None
               for view in ("full", "suppressed") for project in ("aaot", "parent-cbt", "pcref")), \
        "the new version's results of record are computed on confirmation"
    history = store().history()
    last = int(history["ingest_id"].max())
    assert history.iloc[-1]["file_name"] == "more.csv"
    at.selectbox(key="rollback-id").set_value(last).run()
    at.button(key="rollback-confirm").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert f"Rolled back ingest #{last}" in all_text(at)
    assert store().checksum() == before
    assert store().audit_log()["event"].tolist()[:2] == ["rollback", "upload"]


def test_a_correction_previews_and_removes_stale_rows_and_rolls_back_exactly(app):
    at = open_upload(app)
    first = (HEADER + "pcref,sheffield,mha-detentions,2018-01-01,9,1000,ethnicity,White\n"
             "pcref,sheffield,mha-detentions,2018-01-01,4,1000,ethnicity,Mixed\n").encode()
    at.file_uploader(key="upload-file").upload("first.csv", first, "text/csv")
    at.run()
    at.button(key="upload-confirm").click().run()
    before = store().checksum()
    fix = (HEADER + "pcref,sheffield,mha-detentions,2018-01-01,9,1000,ethnicity,White\n"
           "pcref,sheffield,mha-detentions,2018-01-01,4,1000,ethnicity,Asian British\n").encode()
    at.file_uploader(key="upload-file").upload("fix.csv", fix, "text/csv")
    at.toggle(key="upload-replace-range").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    text = all_text(at)
    assert "1 stored rows removed" in text and "This correction removes 1 stored row(s)" in text
    removed = at.dataframe[1].value
    assert removed[["group", "value"]].values.tolist() == [["Mixed", 4.0]]
    assert store().checksum() == before
    at.button(key="upload-confirm").click().run()
    assert "1 removed (replaced range)" in all_text(at)
    current = store().series(sites="sheffield", indicator="mha-detentions")
    assert sorted(current.loc[current["period"] == "2018-01-01", "group"]) == ["Asian or Asian British", "White"]
    last = int(store().history()["ingest_id"].max())
    at.selectbox(key="rollback-id").set_value(last).run()
    at.button(key="rollback-confirm").click().run()
    assert store().checksum() == before


def test_a_damaged_workbook_is_refused_with_its_fix_not_a_traceback(app):
    at = open_upload(app)
    before = store().checksum()
    at.file_uploader(key="upload-file").upload("broken.xlsx", b"PK\x03\x04broken", "application/octet-stream")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "broken.xlsx was refused: 1 problem(s)" in all_text(at)
    assert "not a valid Excel workbook" in at.dataframe[0].value.loc[0, "problem"]
    assert store().checksum() == before
