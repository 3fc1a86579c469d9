"""The upload workflow (mhin_eval.uploads): refused files change nothing, site users upload for their own
sites only, the preview says what will change, concurrent uploads both land, rollback is exact, and
every step is in the audit log."""

from __future__ import annotations

import threading

import pandas as pd
import pytest

from mhin_eval import uploads
from mhin_eval.access import Access, Role
from mhin_eval.catalogue import load_catalogue

HEADER = "project,site,indicator,period,value,denominator,breakdown,group\n"
EVALUATOR = Access(user="eve@mhin.nhs.uk", role=Role.EVALUATOR)
HULL = Access(user="pat@hey.nhs.uk", role=Role.SITE, sites=("hull",))
LEAD = Access(user="lee@mhin.nhs.uk", role=Role.LEAD)


def csv_rows(site="hull", months=("2024-01-01", "2024-02-01", "2024-03-01"), value=10, indicator="ae-attendances"):
    body = "".join(f"aaot,{site},{indicator},{m},{value + i},,all,all\n" for i, m in enumerate(months))
    return (HEADER + body).encode()


@pytest.fixture
def store(store):
    """The conftest store (each backend) after one upload."""
    check = uploads.check_upload(csv_rows(), "first.csv", access=EVALUATOR, store=store, catalogue=load_catalogue())
    uploads.confirm_upload(check, access=EVALUATOR, store=store)
    return store


def check(store, data, name="upload.csv", access=EVALUATOR):
    return uploads.check_upload(data, name, access=access, store=store, catalogue=load_catalogue())


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (b"", "empty"),
        (b"site,value\nhull,3\n", "column"),
        (HEADER.encode() + b"aaot,hull,ae-attendances,2024-04-01,ten,,all,all\n", "row 2"),
        (csv_rows(months=("2024-04-01", "2024-04-01")), "row 3"),
        (csv_rows(site="leeds"), "leeds"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x08\x06\x00\x00\x00\x1f\xf3\xffa", "png image"),
    ],
    ids=["empty", "wrong-columns", "text-in-number", "duplicate-month", "unknown-site", "binary"],
)
def test_a_bad_file_is_refused_with_its_problems_and_changes_nothing(store, data, where):
    before = (store.checksum(), store.version())
    result = check(store, data)
    assert not result.ok and result.extract is None
    report = result.problems_frame()
    assert list(report.columns) == uploads.PROBLEM_COLUMNS and len(report) >= 1
    assert where.lower() in " ".join(str(p) for p in result.problems).lower()
    assert (store.checksum(), store.version()) == before
    assert store.audit_log()["event"].iloc[0] == "upload refused"


def test_a_site_user_cannot_upload_another_sites_rows(store):
    data = csv_rows(site="hull") + csv_rows(site="greater-manchester", months=("2024-05-01",)).split(b"\n", 1)[1]
    result = check(store, data, access=HULL)
    assert not result.ok
    (problem,) = result.problems
    assert problem.column == "site" and problem.value == "greater-manchester" and problem.row == 5
    assert "hull only" in problem.message


def test_a_lead_cannot_upload(store):
    result = check(store, csv_rows(months=("2024-06-01",)), access=LEAD)
    assert not result.ok and "cannot upload" in result.problems[0].message


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(store, monkeypatch):
    monkeypatch.setattr(uploads, "max_upload_bytes", lambda catalogue: 100)
    result = check(store, csv_rows())
    assert not result.ok and "upload limit" in result.problems[0].message


def test_preview_counts_rows_added_and_replaced_per_site_and_indicator(store):
    data = csv_rows(months=("2024-02-01", "2024-03-01", "2024-04-01"), value=11)
    result = check(store, data, access=HULL)
    assert result.ok
    row = result.changes.set_index(["site", "indicator"]).loc[("hull", "ae-attendances")]
    # stored Jan, Feb, Mar = 10, 11, 12; uploaded Feb, Mar, Apr = 11, 12, 13: two unchanged, Apr added
    assert (row["added"], row["replaced"], row["unchanged"]) == (1, 0, 2)
    assert (row["first month"], row["last month"]) == ("Feb 2024", "Apr 2024")
    changed = check(store, csv_rows(months=("2024-01-01",), value=99))
    assert changed.changes["replaced"].sum() == 1
    assert changed.replaced[["old_value", "new_value"]].iloc[0].tolist() == [10.0, 99.0]


def test_two_uploads_at_the_same_time_both_land(store):
    first = check(store, csv_rows(months=("2024-05-01",), value=50))
    second = check(store, csv_rows(months=("2024-06-01",), value=60))
    results, errors = [], []

    def confirm(c):
        try:
            results.append(uploads.confirm_upload(c, access=EVALUATOR, store=store))
        except Exception as exc:  # noqa: BLE001 - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=confirm, args=(c,)) for c in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(r.ingest_id for r in results) == [2, 3]
    stored = store.series(sites=["hull"]).set_index("period")["value"]
    assert stored[pd.Timestamp("2024-05-01")] == 50 and stored[pd.Timestamp("2024-06-01")] == 60


def test_rollback_restores_the_earlier_values_exactly(store):
    before = store.series()
    checksum = store.checksum()
    replacing = check(store, csv_rows(months=("2024-01-01", "2024-07-01"), value=77))
    result = uploads.confirm_upload(replacing, access=EVALUATOR, store=store)
    assert store.checksum() != checksum
    uploads.rollback_ingest(result.ingest_id, access=EVALUATOR, store=store)
    assert store.checksum() == checksum
    pd.testing.assert_frame_equal(store.series(), before)
    events = store.audit_log()["event"].tolist()
    assert events[:2] == ["rollback", "upload"]


def test_only_the_evaluation_team_can_roll_back(store):
    with pytest.raises(PermissionError):
        uploads.rollback_ingest(1, access=HULL, store=store)
    assert store.history()["rolled_back_at"].isna().all()
