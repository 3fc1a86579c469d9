"""The six real MHSDS 4-week-wait files ingested into an empty store become the mapped site series.

Expected values are read from the published CSVs themselves with the csv module (not through the loaders), by
provider code (SOURCES.md: RV9 Humber for Hull, RXV Greater Manchester Mental Health for Manchester and Greater
Manchester, TAH Sheffield Health & Social Care for Sheffield).
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from mhin_eval import evaluate
from mhin_eval.access import Access, Role
from mhin_eval.access.shown import Counts
from mhin_eval.catalogue import PROJECT_ROOT
from mhin_eval.cli_series import site_series_frame
from mhin_eval.loaders import load_extract, published_to_series
from mhin_eval.store import Store
from mhin_eval.uploads import check_upload, confirm_upload
from tests.conftest import BACKENDS, prepared_store, private_copy

FILES = (
    "MHSDS_Data_4WW_AprPerf_2024_v2.csv", "MHSDS_Data_4WW_MayPerf_2024_v2.csv", "MHSDS_Data_4WW_JunPerf_2024_v2.csv",
    "MHSDS_Data_4WW_JulPerf_2024_v2.csv", "MHSDS_Data_4WW_AugPerf_2024.csv", "MHSDS_Data_4WW_SepPerf_2024.csv",
)
MONTHS = [f"2024-{m:02d}" for m in range(4, 10)]
#: (project, site, indicator, provider, measure, denominator measure, published period type)
MAPPED = [
    ("pcref", "sheffield", "cyp-waiting-over-52-weeks", "TAH", "MRS09e", "MRS09", "month"),
    ("pcref", "manchester", "cyp-waiting-over-52-weeks", "RXV", "MRS09e", "MRS09", "month"),
    ("pcref", "sheffield", "cmh-referrals-started", "TAH", "MRS04", "", "rolling"),
    ("pcref", "manchester", "cmh-referrals-started", "RXV", "MRS04", "", "rolling"),
    ("aaot", "hull", "cmh-waiting-over-52-weeks", "RV9", "MRS02e", "MRS02", "month"),
    ("aaot", "greater-manchester", "cmh-waiting-over-52-weeks", "RXV", "MRS02e", "MRS02", "month"),
]
EVALUATOR = Access(user="eve@mhin.nhs.uk", role=Role.EVALUATOR)
LEAD = Access(user="lee@mhin.nhs.uk", role=Role.LEAD)
TIMINGS: dict[str, float] = {}


def published_rows(folder: Path) -> list[dict]:
    rows = []
    for name in FILES:
        with open(folder / name, newline="", encoding="utf-8") as fh:
            rows.extend(csv.DictReader(fh))
    return rows


def expected(rows: list[dict], provider: str, measure: str, denominator: str, kind: str) -> dict[str, tuple]:
    """{month of the period end: (value, denominator)} for unsuppressed published values of one period type."""
    def month(row):
        start, end = (pd.Timestamp(row[c][6:] + "-" + row[c][3:5] + "-" + row[c][:2])
                      for c in ("REPORTING_PERIOD_START", "REPORTING_PERIOD_END"))
        return end.strftime("%Y-%m"), start.month == end.month

    picked: dict[str, dict[str, str]] = {}
    for row in rows:
        if row["BREAKDOWN"] != "Provider" or row["PRIMARY_LEVEL"] != provider:
            continue
        label, monthly = month(row)
        if monthly != (kind == "month"):
            continue
        picked.setdefault(label, {})[row["MEASURE_ID"]] = row["MEASURE_VALUE"]
    out = {}
    for label, values in picked.items():
        if values.get(measure, "*") == "*":
            continue
        den = values.get(denominator, "*") if denominator else "*"
        out[label] = (float(values[measure]), float(den) if den != "*" else float("nan"))
    return out


@pytest.fixture(scope="module")
def raw(real_data_dir) -> list[dict]:
    return published_rows(real_data_dir / "mhsds_4ww_2024")


@pytest.fixture(scope="module", params=BACKENDS)
def store_dir(request, tmp_path_factory, real_data_dir, catalogue) -> tuple[Path, str | None]:
    """An EMPTY store with the six files ingested once (timed), on each backend: its folder and, on PostgreSQL,
    its database URL."""
    store = prepared_store(request, tmp_path_factory.mktemp("real-4ww-store"), catalogue)
    assert store.is_empty()
    started = time.perf_counter()
    for name in FILES:
        store.ingest_file(real_data_dir / "mhsds_4ww_2024" / name, user="tester")
    TIMINGS[request.param] = time.perf_counter() - started
    return store.data_dir, getattr(store, "url", None)


@pytest.fixture
def store(store_dir, tmp_path, catalogue, request, monkeypatch) -> Store:
    """A private copy of the ingested store (tests may change it)."""
    return private_copy(store_dir, tmp_path, request, monkeypatch, catalogue)


def test_six_files_ingest_in_modest_time(store_dir, request):
    path, url = store_dir
    backend = "duckdb" if url is None else "postgres"
    assert Store(path, url=url).published()["source"].value_counts().to_dict() == {"mhsds-4ww-2024": 115_936}
    assert TIMINGS[backend] < 60, f"six 4WW files took {TIMINGS[backend]:.1f} s on {backend}"
    assert Store(path, url=url).has_real_published_series() and not Store(path, url=url).has_demo_data()


@pytest.mark.parametrize(("project", "site", "indicator", "provider", "measure", "den", "kind"), MAPPED,
                         ids=[f"{m[1]}-{m[2]}" for m in MAPPED])
def test_mapped_site_series_hold_the_published_months(store, raw, project, site, indicator, provider, measure, den,
                                                      kind):
    series = store.series(project=project, sites=[site], indicator=indicator)
    want = expected(raw, provider, measure, den, kind)
    got = {p.strftime("%Y-%m"): (v, d) for p, v, d in zip(series["period"], series["value"], series["denominator"],
                                                          strict=True)}
    assert got.keys() == want.keys()
    for month, (value, denominator) in want.items():
        assert got[month][0] == value
        assert got[month][1] == denominator or (pd.isna(got[month][1]) and pd.isna(denominator))
    assert set(series["breakdown"]) == set(series["group"]) == {"all"}
    if kind == "month":
        assert sorted(got) == MONTHS, "monthly measures: April to September 2024"


def test_suppressed_values_stay_missing_and_rolling_windows_stay_apart(store, raw):
    sheffield = store.series(project="pcref", sites=["sheffield"], indicator="cmh-referrals-started")
    # TAH MRS04 (rolling 3 months): Feb-Apr 300, Mar-May 145, then '*' in every later file.
    assert sheffield["period"].dt.strftime("%Y-%m").tolist() == ["2024-04", "2024-05"]
    assert sheffield["value"].tolist() == [300, 145]
    assert not (store.series()["value"] == 0).any() and store.series()["value"].notna().all()
    monthly = [r for r in raw if r["PRIMARY_LEVEL"] == "RXV" and r["MEASURE_ID"] == "MRS04"]
    assert all(r["REPORTING_PERIOD_START"][3:5] != r["REPORTING_PERIOD_END"][3:5] for r in monthly), \
        "MRS04 is published for rolling windows only, so its series are never mixed with monthly figures"


def test_store_series_equal_the_catalogue_mapping_of_every_published_row(store, real_data_dir, catalogue):
    frames = [load_extract(real_data_dir / "mhsds_4ww_2024" / n, catalogue=catalogue).frame for n in FILES]
    mapped = published_to_series(pd.concat(frames, ignore_index=True), catalogue)
    stored = store.series()
    assert len(stored) == len(mapped) == 6 + 6 + 2 + 6 + 6 + 6
    key = ["project", "site", "indicator", "period"]
    pd.testing.assert_frame_equal(stored.sort_values(key).reset_index(drop=True)[mapped.columns],
                                  mapped.sort_values(key).reset_index(drop=True), check_dtype=False)


def test_history_names_the_sites_a_published_file_gave_series(store):
    history = store.history()
    assert set(history["kind"]) == {"published"}
    assert set(history["sites"]) == {"greater-manchester, hull, manchester, sheffield"}
    hull_only = store.history(sites=["hull"])
    assert len(hull_only) == 6 and (hull_only["rows_in_scope"] == 1).all()


def test_reingest_adds_nothing_and_rollback_removes_the_mapped_series(store, real_data_dir):
    path = real_data_dir / "mhsds_4ww_2024" / "MHSDS_Data_4WW_JunPerf_2024_v2.csv"
    before, checksum = store.series(), store.checksum()
    again = store.ingest_file(path, user="tester")
    assert again.no_op and again.series_mapped == 0 and store.checksum() == checksum
    june_id = int(store.history().query("file_name == @path.name and not no_op")["ingest_id"].iloc[0])
    undone = store.rollback(june_id, user="tester")
    assert store.has_real_published_series()
    assert undone.series_mapped == 5 and "mapped from its published measures" in undone.summary()
    after = store.series()
    assert len(after) == len(before) - 5
    assert "2024-06" not in set(after["period"].dt.strftime("%Y-%m"))
    redone = store.ingest_file(path, user="tester")
    assert redone.series_mapped == 5 and not redone.no_op
    pd.testing.assert_frame_equal(store.series(), before)


def test_new_mapping_on_reingest_adds_series_to_a_no_op(make_store, real_data_dir, catalogue):
    """A file ingested before a mapping existed gains the series when it is ingested again."""
    from dataclasses import replace

    bare = make_store("bare")
    bare.catalogue = replace(catalogue, published_measures=())
    path = real_data_dir / "mhsds_4ww_2024" / "MHSDS_Data_4WW_SepPerf_2024.csv"
    first = bare.ingest_file(path)
    assert first.series_mapped == 0 and bare.series().empty
    mapped = make_store("bare").ingest_file(path)
    assert not mapped.no_op and mapped.series_mapped == 5 and mapped.rows_unchanged == mapped.rows
    assert make_store("bare").history()["no_op"].tolist() == [False, False]


def test_upload_of_a_published_file_stores_the_site_series(make_store, real_data_dir, catalogue):
    store = make_store("upload")
    name = "MHSDS_Data_4WW_AugPerf_2024.csv"
    data = (real_data_dir / "mhsds_4ww_2024" / name).read_bytes()
    check = check_upload(data, name, access=EVALUATOR, store=store, catalogue=catalogue)
    assert check.ok, check.problems
    result = confirm_upload(check, access=EVALUATOR, store=store)
    assert result.series_mapped == 5
    hull = store.series(sites=["hull"])
    assert hull["period"].dt.strftime("%Y-%m").tolist() == ["2024-08"] and hull["value"].tolist() == [1050]
    assert "site-series rows mapped" in store.audit_log()["detail"].iloc[0]


def test_cli_ingest_of_a_4ww_file_gives_site_series(make_store, real_data_dir):
    path = real_data_dir / "mhsds_4ww_2024" / "MHSDS_Data_4WW_AprPerf_2024_v2.csv"
    cli = make_store("cli")
    env = {k: v for k, v in os.environ.items() if k != "MHIN_DATABASE_URL"}
    env.update({"MHIN_DATABASE_URL": cli.url} if hasattr(cli, "url") else {})
    result = run_cli("--data-dir", cli.data_dir, "ingest", path, "--user", "tester", env=env)
    assert result.returncode == 0, result.stderr
    assert b"19,958 rows added" in result.stdout and b"6 site-series rows mapped" in result.stdout
    series = make_store("cli").series()
    assert set(series["site"]) == {"sheffield", "manchester", "hull", "greater-manchester"}
    assert set(series["period"].dt.strftime("%Y-%m")) == {"2024-04"}


# --------------------------------------------------------------------------- `series` command


def run_cli(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mhin_eval", *map(str, args)], cwd=PROJECT_ROOT, capture_output=True,
                          timeout=300, env=env)


def page_series(store: Store, catalogue, access: Access, project: str, site: str) -> pd.DataFrame:
    """What the site page's charts draw: evaluate.series_rows, and in a suppressed view the observed counts of
    Counts.observed over the project's suppressed series (as mhin_eval.ui.analyses does)."""
    series = store.series(project=project, sites=access.data_scope(catalogue))
    counts = Counts.for_access(access, catalogue)
    shown = counts.shown_series(series, catalogue.indicators_of(project))
    pieces = []
    for ind in catalogue.indicators_of(project, "series"):
        rows = evaluate.series_rows(series, site, ind.id)
        if counts.suppressed and ind.kind in ("count", "rate", "proportion") and len(rows):
            rows = rows.assign(value=rows["period"].map(counts.observed(shown, site, ind.id)).astype(float))
        pieces.append(rows.assign(indicator=ind.id))
    return pd.concat(pieces, ignore_index=True)


def test_series_command_prints_what_the_site_page_draws(store, catalogue):
    result = run_cli("--data-dir", store.data_dir, "series", "--project", "aaot", "--site", "hull", "--format", "csv")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(b"\xef\xbb\xbfproject,site,indicator,period,value,denominator\r\n")
    printed = pd.read_csv(io.BytesIO(result.stdout), encoding="utf-8-sig")
    drawn = page_series(store, catalogue, EVALUATOR, "aaot", "hull")
    assert printed["value"].tolist() == drawn["value"].tolist() == [995, 975, 1005, 1010, 1050, 1085]
    assert printed["denominator"].tolist() == drawn["denominator"].tolist() == [3015, 2980, 3090, 3195, 3275, 3410]
    assert printed["period"].tolist() == [f"{m}-01" for m in MONTHS]
    table = run_cli("--data-dir", store.data_dir, "series", "--project", "aaot", "--site", "hull",
                    "--indicator", "cmh-waiting-over-52-weeks")
    assert table.returncode == 0 and b"evaluator's view: 6 monthly rows" in table.stdout


def test_series_command_sums_groups_and_suppresses_as_the_pages_do(store, catalogue, tmp_path):
    """Ethnic groups of a small synthetic extract: the total is the groups' sum (evaluate.series_rows), and a
    lead sees the counts the pages draw for them (hidden from 1 to 7, others rounded to 5)."""
    groups = {"White": [12, 3, 40], "Black or Black British": [2, 9, 0], "Asian or Asian British": [1, 1, 6]}
    rows = [("pcref", "sheffield", "mha-detentions", f"2024-0{m + 1}-01", values[m], 500_000, "ethnicity", group)
            for group, values in groups.items() for m in range(3)]
    path = tmp_path / "detentions.csv"
    pd.DataFrame(rows, columns=["project", "site", "indicator", "period", "value", "denominator", "breakdown",
                                "group"]).to_csv(path, index=False)
    store.ingest_file(path, user="tester")
    for access in (EVALUATOR, LEAD):
        frame = site_series_frame(store, catalogue, access, "pcref", "sheffield", "mha-detentions")
        drawn = page_series(store, catalogue, access, "pcref", "sheffield")
        drawn = drawn[drawn["indicator"] == "mha-detentions"]
        assert frame["value"].tolist() == pytest.approx(drawn["value"].tolist(), nan_ok=True)
    assert site_series_frame(store, catalogue, EVALUATOR, "pcref", "sheffield", "mha-detentions")["value"].tolist() \
        == [15, 13, 46]
    lead = site_series_frame(store, catalogue, LEAD, "pcref", "sheffield", "mha-detentions")
    assert lead["value"].tolist() == [15, 15, 45] and lead["denominator"].tolist() == [1_500_000] * 3
    assert "shown" in lead.columns and "*" not in set(lead["shown"])


def test_series_command_for_a_site_user_keeps_to_their_site(store, tmp_path):
    policy = tmp_path / "policy.toml"
    policy.write_text('[[users]]\ndomain = "hey.nhs.uk"\nrole = "site"\nsites = ["hull"]\n', encoding="utf-8")
    import os

    env = {**os.environ, "MHIN_ACCESS_POLICY": str(policy)}
    mine = run_cli("--data-dir", store.data_dir, "series", "--project", "aaot", "--site", "hull", "--format", "csv",
                   "--user", "pat@hey.nhs.uk", env=env)
    assert mine.returncode == 0, mine.stderr
    printed = pd.read_csv(io.BytesIO(mine.stdout), encoding="utf-8-sig", dtype={"shown": str})
    assert printed["shown"].tolist() == ["995", "975", "1005", "1010", "1050", "1085"], "a site user's view is suppressed"
    other = run_cli("--data-dir", store.data_dir, "series", "--project", "pcref", "--site", "manchester",
                    "--user", "pat@hey.nhs.uk", env=env)
    assert other.returncode == 1 and b"may not see site 'manchester'" in other.stderr and not other.stdout
    unknown = run_cli("--data-dir", store.data_dir, "series", "--project", "pcref", "--site", "hull")
    assert unknown.returncode == 2 and b"not a site of project 'pcref'" in unknown.stderr
