"""NHS England published statistics read as published: the six real MHSDS 4WW files and the MHA annual file.

Expected numbers come from the files themselves (../shared/real-data/SOURCES.md lists their row counts and
sample values) and from NHS England, *Mental Health Act Statistics, Annual Figures 2023-24*.
"""

from __future__ import annotations

import csv
import tomllib

import numpy as np
import pandas as pd
import pytest

from mhin_eval.catalogue import DEFAULT_CATALOGUE, CatalogueError, parse_catalogue
from mhin_eval.loaders import (
    PUBLISHED_DIR,
    load_bundled_published,
    load_extract,
    period_type_of,
    published_context,
    published_mappings,
    published_to_series,
    read_mha_annual,
    read_nhs_long,
)
from mhin_eval.schema import (
    PUBLISHED_COLUMNS,
    PUBLISHED_KEY,
    SERIES_COLUMNS,
    ValidationFailed,
    validate_series,
)

# Data rows per file, SOURCES.md section 1 (counted there from the published CSVs).
MHSDS_FILES = {
    "MHSDS_Data_4WW_AprPerf_2024_v2.csv": (19_958, "2024-04-01", "2024-02-01"),
    "MHSDS_Data_4WW_MayPerf_2024_v2.csv": (19_934, "2024-05-01", "2024-03-01"),
    "MHSDS_Data_4WW_JunPerf_2024_v2.csv": (19_442, "2024-06-01", "2024-04-01"),
    "MHSDS_Data_4WW_JulPerf_2024_v2.csv": (18_912, "2024-07-01", "2024-05-01"),
    "MHSDS_Data_4WW_AugPerf_2024.csv": (18_748, "2024-08-01", "2024-06-01"),
    "MHSDS_Data_4WW_SepPerf_2024.csv": (18_942, "2024-09-01", "2024-07-01"),
}
MHA_CSV = "mha_annual_2023_24/mha_annual_suppressed_2023_24_sheet1.csv"
MHA_XLSX = "mha_annual_2023_24/mha_annual_suppressed_2023_24 (version 1).xlsx"


@pytest.fixture(scope="module")
def mhsds(real_data_dir, catalogue) -> dict[str, pd.DataFrame]:
    return {
        name: load_extract(real_data_dir / "mhsds_4ww_2024" / name, catalogue=catalogue)
        for name in MHSDS_FILES
    }


@pytest.fixture(scope="module")
def mha(real_data_dir, catalogue):
    return load_extract(real_data_dir / MHA_CSV, catalogue=catalogue)


def pick(frame: pd.DataFrame, **where) -> pd.DataFrame:
    mask = np.ones(len(frame), dtype=bool)
    for column, value in where.items():
        mask &= (frame[column] == value).to_numpy()
    return frame[mask]


def one_value(frame: pd.DataFrame, **where) -> float:
    rows = pick(frame, **where)
    assert len(rows) == 1, f"{where}: {len(rows)} rows"
    return float(rows["value"].iloc[0])


# --------------------------------------------------------------------------- MHSDS long CSV


@pytest.mark.parametrize("name", list(MHSDS_FILES))
def test_every_mhsds_row_is_kept_as_published(real_data_dir, mhsds, name):
    extract = mhsds[name]
    frame = extract.frame
    path = real_data_dir / "mhsds_4ww_2024" / name
    with open(path, newline="", encoding="utf-8") as fh:
        published = list(csv.DictReader(fh))
    rows, month, rolling_start = MHSDS_FILES[name]
    assert len(published) == rows and len(frame) == rows
    assert extract.kind == "published" and extract.source_format == "csv"
    assert tuple(frame.columns) == PUBLISHED_COLUMNS
    assert frame["source"].unique().tolist() == ["mhsds-4ww-2024"]
    assert frame["published_value"].tolist() == [r["MEASURE_VALUE"] for r in published]
    assert not frame.duplicated(list(PUBLISHED_KEY)).any()

    suppressed = frame["published_value"] == "*"
    assert frame.loc[suppressed, "value"].isna().all(), "'*' is missing, never zero"
    assert frame.loc[~suppressed, "value"].notna().all()
    assert 0.55 < suppressed.mean() < 0.66, "SOURCES.md: about 60% of values are '*'"
    assert pd.to_numeric(frame.loc[~suppressed, "published_value"]).equals(frame.loc[~suppressed, "value"])

    periods = frame.groupby(["period_type", "period_start", "period_end"]).size()
    month_end = pd.Timestamp(month) + pd.offsets.MonthEnd(0)
    assert set(periods.index) == {
        ("month", pd.Timestamp(month), month_end),
        ("rolling-3-month", pd.Timestamp(rolling_start), month_end),
    }
    assert set(frame["breakdown"]) == {"England", "ICB of GP Practice or Residence", "Provider"}
    providers = set(pick(frame, breakdown="Provider")["org_code"])
    assert {"TAH", "RXV", "RV9"} <= providers
    assert frame["measure_id"].nunique() == 44


def test_monthly_and_rolling_periods_are_kept_apart(mhsds):
    sep = mhsds["MHSDS_Data_4WW_SepPerf_2024.csv"].frame
    # MHSDS_Data_4WW_SepPerf_2024.csv: England MRS01 (rolling Jul-Sep 2024) = 13706; MRS02 monthly.
    assert one_value(sep, breakdown="England", measure_id="MRS01", period_type="rolling-3-month") == 13706
    assert pick(sep, breakdown="England", measure_id="MRS01", period_type="month").empty
    every = pd.concat([m.frame for m in mhsds.values()], ignore_index=True)
    assert len(every) == sum(r for r, _m, _s in MHSDS_FILES.values())
    assert not every.duplicated(list(PUBLISHED_KEY)).any(), "six files, no overlapping keys, nothing summed"
    rxv_open = pick(every, org_code="RXV", measure_id="MRS02", period_type="month").sort_values("period_start")
    # Published RXV MRS02 (open CMH referral-spells) Apr-Sep 2024, one value per month file.
    assert rxv_open["value"].tolist() == [10925, 10910, 10730, 10685, 10695, 10880]


def test_target_providers_have_their_published_values(mhsds):
    sep = mhsds["MHSDS_Data_4WW_SepPerf_2024.csv"].frame
    # SOURCES.md: in Sep, TAH has 19 of 44 values unsuppressed, RXV 44 of 44, RV9 36 of 44.
    for code, unsuppressed in (("TAH", 19), ("RXV", 44), ("RV9", 36)):
        rows = pick(sep, breakdown="Provider", org_code=code, period_type="rolling-3-month")
        rows = pd.concat([rows, pick(sep, breakdown="Provider", org_code=code, period_type="month")])
        assert len(rows) == 44 and rows["value"].notna().sum() == unsuppressed, code
    assert one_value(sep, org_code="TAH", measure_id="MRS11", period_type="rolling-3-month") == 80
    assert pick(sep, org_code="TAH", measure_id="MRS04")["published_value"].tolist() == ["*"]


def test_read_nhs_long_directly_and_with_a_source_name(real_data_dir):
    extract = read_nhs_long(real_data_dir / "mhsds_4ww_2024" / "MHSDS_Data_4WW_AprPerf_2024_v2.csv",
                            source="custom")
    assert set(extract.frame["source"]) == {"custom"} and len(extract.frame) == 19_958
    assert any("63%" in n for n in extract.notes)


def test_period_type_from_dates():
    start = pd.Series(pd.to_datetime(["2024-09-01", "2024-07-01", "2023-04-01", "2024-01-15"]))
    end = pd.Series(pd.to_datetime(["2024-09-30", "2024-09-30", "2024-03-31", "2024-02-14"]))
    assert period_type_of(start, end).tolist() == ["month", "rolling-3-month", "year", "irregular"]
    assert period_type_of(start, end, three_months="quarter")[1] == "quarter"


def test_edited_mhsds_file_with_bad_date_and_duplicate_is_refused(tmp_path, real_data_dir):
    lines = (real_data_dir / "mhsds_4ww_2024" / "MHSDS_Data_4WW_SepPerf_2024.csv").read_text().splitlines()
    broken = lines[1].replace("01/07/2024", "2024/13/01", 1)
    path = tmp_path / "MHSDS_Data_4WW_SepPerf_2024.csv"
    path.write_text("\n".join([lines[0], broken, lines[2], lines[2], *lines[3:20]]) + "\n")
    with pytest.raises(ValidationFailed) as info:
        read_nhs_long(path)
    located = {(p.row, p.column) for p in info.value.problems}
    assert (2, "REPORTING_PERIOD_START") in located
    assert any(p.row == 4 and "Rows 3, 4" in p.message for p in info.value.problems)


# --------------------------------------------------------------------------- published -> series


def test_catalogue_mappings_become_site_series(mhsds, catalogue):
    published = pd.concat([m.frame for m in mhsds.values()], ignore_index=True)
    series = published_to_series(published, catalogue)
    assert tuple(series.columns) == SERIES_COLUMNS
    assert validate_series(series, catalogue, "mapped") == []

    waiting = pick(series, site="manchester", indicator="cyp-waiting-over-52-weeks").sort_values("period")
    # RXV MRS09e / MRS09 (CYP still waiting over 52 weeks / all still waiting), monthly, Apr-Sep 2024.
    assert waiting["period"].dt.strftime("%Y-%m").tolist() == [f"2024-0{m}" for m in range(4, 10)]
    assert waiting["value"].tolist() == [1065, 1060, 1070, 1105, 1090, 1090]
    assert waiting["denominator"].tolist() == [3455, 3450, 3505, 3410, 3275, 3325]
    sheffield = pick(series, site="sheffield", indicator="cyp-waiting-over-52-weeks")
    assert sheffield["value"].min() == 775 and (sheffield["value"] <= sheffield["denominator"]).all()

    started = pick(series, site="sheffield", indicator="cmh-referrals-started").sort_values("period")
    # TAH MRS04 rolling 3 months: Feb-Apr 300, Mar-May 145, then '*' (left out, never zero).
    assert started["period"].dt.strftime("%Y-%m").tolist() == ["2024-04", "2024-05"]
    assert started["value"].tolist() == [300, 145]
    manchester = pick(series, site="manchester", indicator="cmh-referrals-started").sort_values("period")
    assert manchester["value"].tolist() == [5880, 5775, 5625, 5525, 5360, 5545]
    assert (series["breakdown"] == "all").all() and not series["value"].isna().any()


def test_mapping_entries_are_checked(catalogue):
    assert {m.indicator for m in published_mappings(catalogue)} == {
        "cmh-referrals-started", "cyp-waiting-over-52-weeks", "cmh-waiting-over-52-weeks"}
    data = tomllib.loads(DEFAULT_CATALOGUE.read_text())
    data["published_measures"][0]["indicator"] = "no-such-indicator"
    with pytest.raises(CatalogueError, match="published_measures\\[0\\].*no-such-indicator"):
        published_mappings(parse_catalogue(data))
    data = tomllib.loads(DEFAULT_CATALOGUE.read_text())
    data["published_measures"][0]["sites"] = ["hull"]
    with pytest.raises(CatalogueError, match="not a site of project 'pcref'"):
        published_mappings(parse_catalogue(data))
    data = tomllib.loads(DEFAULT_CATALOGUE.read_text())
    data["published_measures"][0]["org"] = "TAH"
    with pytest.raises(CatalogueError, match="unknown field"):
        published_mappings(parse_catalogue(data))


# --------------------------------------------------------------------------- MHA annual statistics


def test_mha_annual_file_loads_every_row_and_statistic(mha):
    frame = mha.frame
    assert len(frame) == 6_947 * 6 and tuple(frame.columns) == PUBLISHED_COLUMNS
    assert set(frame["statistic"]) == {"count", "mhsds_count", "acute_count", "crude_rate", "std_rate", "std_rate_ci"}
    assert set(frame["source"]) == {"mha-annual-2023-24"}
    assert set(frame["period_type"]) == {"year"}
    assert frame["period_start"].iloc[0] == pd.Timestamp("2023-04-01")
    assert frame["period_end"].iloc[0] == pd.Timestamp("2024-03-31")
    counts = frame[frame["statistic"] == "count"]
    # SOURCES.md section 3: 2,253 blank Total_Count cells, kept missing (not zero).
    assert (counts["published_value"] == "").sum() == 2_253 and counts["value"].isna().sum() == 2_253
    assert not frame.duplicated(list(PUBLISHED_KEY)).any()


def test_mha_national_rates_by_ethnicity(mha):
    frame = mha.frame
    england = pick(frame, breakdown="All submissions", measure_id="All detentions", demographic="Ethnicity")
    # NHS England, MHA Statistics Annual Figures 2023-24: detentions per 100,000, crude and standardised.
    assert one_value(england, group="Black or Black British", statistic="crude_rate") == 239.0
    assert one_value(england, group="White", statistic="crude_rate") == 69.5
    assert one_value(england, group="Black or Black British", statistic="std_rate") == 242.3
    assert one_value(england, group="White", statistic="std_rate") == 68.4
    assert one_value(england, group="Asian or Asian British", statistic="crude_rate") == 79.9
    assert one_value(england, group="Mixed", statistic="std_rate") == 177.1
    assert one_value(england, group="All", statistic="crude_rate") == 80.7
    assert np.isnan(one_value(england, group="All", statistic="std_rate"))


def test_mha_icb_ethnicity_rates_and_trust_counts(mha):
    frame = mha.frame
    icb = pick(frame, breakdown="ICB", measure_id="All detentions", demographic="Ethnicity", statistic="crude_rate")
    # MHA annual 2023-24 data file: South Yorkshire ICB (QF7) and Greater Manchester ICB (QOP), crude rates.
    assert one_value(icb, org_code="QF7", group="Black or Black British") == 220.8
    assert one_value(icb, org_code="QF7", group="White") == 67.6
    assert one_value(icb, org_code="QOP", group="Black or Black British") == 212.5
    assert one_value(icb, org_code="QOP", group="White") == 103.8
    trusts = pick(frame, breakdown="NHS Trust", measure_id="All detentions", statistic="count")
    # SOURCES.md section 3: trust "All detentions" TAH 410, RXV 1935, RV9 485.
    assert one_value(trusts, org_code="TAH") == 410
    assert one_value(trusts, org_code="RXV") == 1935
    assert one_value(trusts, org_code="RV9") == 485
    assert pick(frame, breakdown="NHS Trust", org_code="TAH", demographic="Ethnicity").empty, \
        "ethnicity is not published for trusts"


def test_mha_quirks_are_kept_as_published_and_noted(mha):
    frame = mha.frame
    quirky = pick(frame, breakdown="h", statistic="count")
    assert len(quirky) == 1 and quirky["org_code"].iloc[0] == "All prov" and quirky["value"].iloc[0] == 274
    assert any("'h'" in n and "row(s) 2 " in n for n in mha.notes)
    repeated = frame[frame["secondary_name"].str.startswith("file row ")]
    assert len(repeated) == 30 * 6 and any("30 rows share all their labels" in n for n in mha.notes)
    assert set(pick(frame, group="#N/A")["measure_id"]) == {"People subject to repeat detentions: 2"}


def test_mha_xlsx_gives_the_same_rows_as_the_sheet_csv(real_data_dir, mha, catalogue):
    xlsx = read_mha_annual(real_data_dir / MHA_XLSX)
    assert xlsx.source_format == "xlsx" and xlsx.frame.equals(mha.frame)
    with pytest.raises(ValidationFailed, match="7 sheets"):
        load_extract(real_data_dir / MHA_XLSX, catalogue=catalogue)
    chosen = load_extract(real_data_dir / MHA_XLSX, catalogue=catalogue, sheet="mha_annual_suppressed_2023_24")
    assert chosen.frame.equals(mha.frame)


def test_published_frame_round_trips_through_parquet(tmp_path, mha, catalogue):
    path = tmp_path / "published_export.parquet"
    mha.frame.to_parquet(path)
    again = load_extract(path, catalogue=catalogue)
    assert again.kind == "published" and again.frame.equals(mha.frame)


def test_bundled_copy_is_the_published_file(real_data_dir, mha, catalogue):
    shipped = PUBLISHED_DIR / "mha_annual_2023_24.csv"
    assert shipped.read_bytes() == (real_data_dir / MHA_CSV).read_bytes()
    assert (PUBLISHED_DIR / "README.md").read_text().count("Open Government Licence v3.0") >= 1
    assert load_bundled_published(catalogue).equals(mha.frame)


@pytest.mark.parametrize(
    "site, icb, trust, black_icb, white_icb, trust_detentions",
    [("sheffield", "QF7", "TAH", 220.8, 67.6, 410), ("manchester", "QOP", "RXV", 212.5, 103.8, 1935)],
)
def test_published_context_for_a_pcref_site(mha, catalogue, site, icb, trust, black_icb, white_icb,
                                            trust_detentions):
    context = published_context(mha.frame, catalogue, site)
    assert set(context["level"]) == {"England", "ICB", "NHS Trust"}
    assert set(context["source_title"]) == {"Mental Health Act Statistics, Annual Figures 2023-24"}
    assert set(context["year"]) == {"2023-24"}
    england = pick(context, level="England", statistic="crude_rate")
    assert one_value(england, group="Black or Black British") == 239.0
    assert one_value(england, group="White") == 69.5
    icb_rates = pick(context, level="ICB", statistic="crude_rate")
    assert set(icb_rates["org_code"]) == {icb}
    assert one_value(icb_rates, group="Black or Black British") == black_icb
    assert one_value(icb_rates, group="White") == white_icb
    trust_rows = pick(context, level="NHS Trust")
    assert set(trust_rows["org_code"]) == {trust} and set(trust_rows["statistic"]) == {"count"}
    assert one_value(trust_rows, measure_id="All detentions") == trust_detentions
    assert context["level"].map({"England": 0, "ICB": 1, "NHS Trust": 2}).is_monotonic_increasing


def test_published_context_without_mha_rows_is_empty(mhsds, catalogue):
    context = published_context(mhsds["MHSDS_Data_4WW_SepPerf_2024.csv"].frame, catalogue, "sheffield")
    assert context.empty and "source_title" in context.columns
