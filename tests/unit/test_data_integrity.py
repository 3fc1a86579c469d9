"""Data integrity (issue 12, items 2-4): group vocabularies, site totals from complete months, corrections
that replace a range as a whole, denominators and proportions.

Files are written as a partner would send them and go through the real loader, validation and store
(in this test's own data directory); every refusal leaves the store's checksum unchanged.
"""

from __future__ import annotations

import tomllib

import pandas as pd
import pytest

from mhin_eval import cli, evaluate, uploads
from mhin_eval.access import Access, Role
from mhin_eval.catalogue import DEFAULT_CATALOGUE, CatalogueError, parse_catalogue
from mhin_eval.charts import its_chart
from mhin_eval.loaders import load_extract
from mhin_eval.schema import ValidationFailed
from mhin_eval.store import IngestRefused
from mhin_eval.vocabulary import normalise_label, spellings

HEADER = "project,site,indicator,period,value,denominator,breakdown,group\n"
EVALUATOR = Access(user="eve@mhin.nhs.uk", role=Role.EVALUATOR)
#: Ethnicity labels of NHS England's Mental Health Act annual figures 2023-24 (Demographic = Ethnicity).
MHA_ETHNICITY_LABELS = (
    "White", "Mixed", "Asian or Asian British", "Black or Black British", "Other Ethnic Groups", "Unknown",
    "British", "Irish", "Any Other White background", "White and Black Caribbean", "White and Black African",
    "White and Asian", "Any Other Mixed background", "Indian", "Pakistani", "Bangladeshi",
    "Any Other Asian background", "Caribbean", "African", "Any Other Black background", "Chinese",
    "Any Other Ethnic Group", "Not Stated", "Not Known", "Not stated/Not known/Invalid",
)


def write(tmp_path, name: str, rows) -> str:
    path = tmp_path / name
    path.write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def eth(month: str, group: str, value, den=10000, site="sheffield", indicator="mha-detentions") -> str:
    return f"pcref,{site},{indicator},{month},{value},{den},ethnicity,{group}"


def months(start: str, n: int) -> list[str]:
    return [f"{p:%Y-%m-%d}" for p in pd.date_range(start, periods=n, freq="MS")]


def refused(store, path, *fragments) -> ValidationFailed:
    """The file is refused with a problem holding every fragment, and the store is unchanged."""
    before = store.checksum()
    with pytest.raises(ValidationFailed) as info:
        store.ingest_file(path)
    assert store.checksum() == before
    text = [str(p) for p in info.value.problems]
    assert any(all(f in t for f in fragments) for t in text), text
    return info.value


# --------------------------------------------------------------------------- vocabularies


def test_a_known_spelling_is_stored_under_the_catalogue_label(tmp_path, store):
    path = write(tmp_path, "first.csv", [eth("2023-03-01", "White", 50), eth("2023-03-01", "  black british ", 20)])
    extract = load_extract(path, catalogue=store.catalogue)
    assert sorted(extract.frame["group"]) == ["Black or Black British", "White"]
    assert any("'black british'" in n and "'Black or Black British'" in n and "row 3" in n for n in extract.notes)


def test_a_corrected_spelling_replaces_the_first_so_the_total_stays_70(tmp_path, store):
    store.ingest_file(write(tmp_path, "a.csv", [eth("2023-03-01", "White", 50), eth("2023-03-01", "Black British", 20)]))
    result = store.ingest_file(write(tmp_path, "b.csv", [eth("2023-03-01", "White", 50),
                                                         eth("2023-03-01", "Black or Black British", 20)]))
    assert result.rows_added == 0 and result.no_op
    total = evaluate.series_rows(store.series(), "sheffield", "mha-detentions")
    assert total["value"].tolist() == [70]


@pytest.mark.parametrize(
    ("label", "canonical"),
    [("BLACK OR BLACK BRITISH", "Black or Black British"), ("Asian/Asian British", "Asian or Asian British"), ("White & Asian", "Mixed - White and Asian"),
     ("N", "Black or Black British - African"), ("A White British", "White - British"),
     ("Other ethnic groups", "Other Ethnic Groups"), ("Not Stated", "Not stated")],
)
def test_case_punctuation_and_codes_are_matched(label, canonical, catalogue):
    assert spellings(catalogue.breakdown("ethnicity"))[normalise_label(label)] == canonical


def test_every_ethnicity_label_of_the_published_mha_file_is_known(catalogue):
    known = spellings(catalogue.breakdown("ethnicity"))
    assert [label for label in MHA_ETHNICITY_LABELS if normalise_label(label) not in known] == []


def test_an_unknown_group_is_refused_with_row_column_value_and_accepted_groups(tmp_path, store):
    path = write(tmp_path, "typo.csv", [eth("2023-03-01", "White", 50), eth("2023-03-01", "Blak British", 20)])
    refused(store, path, "typo.csv", "row 3", "column 'group'", "'Blak British'", "'Black or Black British'",
            "'Other Ethnic Groups'")


def test_a_pooled_group_is_refused(tmp_path, store):
    path = write(tmp_path, "bme.csv", [eth("2023-03-01", "White", 50), eth("2023-03-01", "BME", 40)])
    refused(store, path, "row 3", "column 'group'", "'BME' pools several", "its own row")


def test_higher_level_groups_and_detailed_categories_are_not_mixed(tmp_path, store):
    path = write(tmp_path, "mixed.csv", [eth("2023-03-01", "White", 50), eth("2023-03-01", "N", 20)])
    refused(store, path, "row 3", "mixes higher-level groups and detailed categories")


def test_delivery_mode_and_participant_attributes_use_the_vocabulary(tmp_path, store):
    path = tmp_path / "modes.csv"
    path.write_text(HEADER + "parent-cbt,east-of-england,families-started,2023-03-01,4,,delivery_mode,Online\n"
                    "parent-cbt,east-of-england,families-started,2023-03-01,6,,delivery_mode,Face to face\n")
    assert sorted(load_extract(path, catalogue=store.catalogue).frame["group"]) == ["face-to-face", "online"]
    people = tmp_path / "people.csv"
    people.write_text("project,site,participant_id,measure,timepoint,value,ethnicity,delivery_mode\n"
                      "aaot,hull,H1,alcohol-units,baseline,42,black british,\n"
                      "aaot,hull,H2,alcohol-units,baseline,40,Martian,\n")
    refused(store, people, "row 3", "column 'ethnicity'", "'Martian'")
    people.write_text(people.read_text().replace("Martian", "F2F").replace("H2,alcohol-units,baseline,40,F2F,",
                                                                             "H2,alcohol-units,baseline,40,,F2F"))
    frame = load_extract(people, catalogue=store.catalogue).frame
    assert frame["ethnicity"].tolist()[0] == "Black or Black British"
    assert frame["delivery_mode"].tolist()[1] == "face-to-face"


def test_every_breakdown_the_catalogue_uses_lists_its_groups_and_the_demo_validates(catalogue):
    for indicator in catalogue.indicators:
        for name in indicator.breakdowns:
            vocabulary = catalogue.breakdown(name)
            assert vocabulary is not None, name
            if indicator.reference_group:
                assert indicator.reference_group in vocabulary.labels
    for path in ("series.csv", "participants.csv"):
        load_extract(DEFAULT_CATALOGUE.parent / "demo" / path, catalogue=catalogue)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b["groups"].append({"label": "Black Britons", "aliases": ["Black British"]}), "would name both"),
        (lambda b: b["groups"].append({"label": "Roma", "parent": "Traveller"}), "parent 'Traveller'"),
        (lambda b: b["groups"].append({"label": "White"}), "listed twice"),
        (lambda b: b.update(combined=["Black"]), "both as combined and as a group"),
    ],
)
def test_a_malformed_vocabulary_is_refused(mutate, message):
    data = tomllib.loads(DEFAULT_CATALOGUE.read_text(encoding="utf-8"))
    mutate(next(b for b in data["breakdowns"] if b["id"] == "ethnicity"))
    with pytest.raises(CatalogueError, match=message):
        parse_catalogue(data)


# --------------------------------------------------------------------------- site totals


def test_a_month_missing_a_group_is_left_out_of_the_total_with_a_warning(tmp_path, store):
    rows = [eth("2023-02-01", g, v) for g, v in (("White", 50), ("Black or Black British", 20), ("Mixed", 20))]
    rows += [eth("2023-03-01", "White", 50), eth("2023-03-01", "Black or Black British", 20)]
    store.ingest_file(write(tmp_path, "gap.csv", rows))
    total = evaluate.series_rows(store.series(), "sheffield", "mha-detentions")
    assert total["value"].tolist() == [90]
    assert evaluate.total_warnings(total) == [
        "Mar 2023 left out of the total: no ethnicity row (or no value) for group 'Mixed', so the month's "
        "groups do not add up to it."
    ]


def test_an_all_row_gives_the_total_of_a_month_with_a_missing_group(tmp_path, store):
    rows = [eth("2023-02-01", g, v) for g, v in (("White", 50), ("Mixed", 20))]
    rows += [eth("2023-03-01", "White", 50), "pcref,sheffield,mha-detentions,2023-03-01,75,10000,all,all"]
    store.ingest_file(write(tmp_path, "all.csv", rows))
    total = evaluate.series_rows(store.series(), "sheffield", "mha-detentions")
    assert total["value"].tolist() == [70, 75]
    assert evaluate.total_warnings(total) == []


def its_rows(missing_group_month=None, missing_den_month=None):
    rows = []
    for i, m in enumerate(months("2021-04-01", 24)):
        for g, base in (("White", 40), ("Black or Black British", 12), ("Mixed", 6)):
            if m == missing_group_month and g == "Mixed":
                continue
            den = "" if m == missing_den_month else 10000
            rows.append(eth(m, g, base + (i * 7 + len(g)) % 5 - (3 if i >= 12 else 0), den))
    return rows


def test_site_its_carries_the_months_left_out_of_the_total(tmp_path, store, catalogue):
    store.ingest_file(write(tmp_path, "its.csv", its_rows(missing_group_month="2022-01-01")))
    result = evaluate.site_its(store.series(), catalogue, catalogue.site("sheffield"),
                               catalogue.indicator("pcref", "mha-detentions"))
    assert result.n == 23
    assert any(w.startswith("Jan 2022 left out of the total") and "'Mixed'" in w for w in result.warnings)


# --------------------------------------------------------------------------- denominators


def hull_rows(missing_den_month=None, zero_den_month=None):
    rows = []
    for i, m in enumerate(months("2020-04-01", 24)):
        den = "" if m == missing_den_month else 0 if m == zero_den_month else 200 + 3 * i
        rows.append(f"aaot,hull,ae-attendances,{m},{150 + (i * 7) % 11 - (25 if i >= 12 else 0)},{den},all,all")
    return rows


def test_a_missing_denominator_keeps_the_rate_model_and_names_the_month(tmp_path, store, catalogue):
    store.ingest_file(write(tmp_path, "hull.csv", hull_rows(missing_den_month="2020-09-01")))
    site, indicator = catalogue.site("hull"), catalogue.indicator("aaot", "ae-attendances")
    result = evaluate.site_its(store.series(), catalogue, site, indicator)
    assert result.n == 23
    assert "log(denominator) as offset" in result.methods
    assert any("Sep 2020" in w and "no denominator" in w and "stays a rate" in w for w in result.warnings)
    complete = store.series()
    complete = complete[complete["period"] != pd.Timestamp("2020-09-01")]
    same = evaluate.site_its(complete, catalogue, site, indicator)
    assert result.level_change.estimate == pytest.approx(same.level_change.estimate)


def test_a_zero_denominator_is_refused_for_a_count_per_cohort(tmp_path, store):
    path = write(tmp_path, "zero.csv", hull_rows(zero_den_month="2020-09-01"))
    refused(store, path, "zero.csv", "row 7", "column 'denominator'", "denominator of 0")


def share_catalogue(scale: str | None):
    data = tomllib.loads(DEFAULT_CATALOGUE.read_text(encoding="utf-8"))
    data["indicators"].append({"id": "seen-in-time", "project": "aaot", "label": "Seen within 4 weeks", "unit": "%",
                               "source": "series", "kind": "proportion", "better": "higher",
                               "default_model": "gaussian", **({"scale": scale} if scale else {})})
    return parse_catalogue(data)


@pytest.mark.parametrize(("scale", "bad", "good"), [("0-1", "1.5", "0.5"), ("0-100", "150", "50")])
def test_a_share_outside_its_stated_scale_is_refused(tmp_path, scale, bad, good):
    from mhin_eval.store import Store

    store = Store(tmp_path / "store", catalogue=share_catalogue(scale))
    ok = write(tmp_path, "ok.csv", [f"aaot,hull,seen-in-time,2023-03-01,{good},,all,all"])
    store.ingest_file(ok)
    path = write(tmp_path, "share.csv", [f"aaot,hull,seen-in-time,2023-04-01,{good},,all,all",
                                         f"aaot,hull,seen-in-time,2023-05-01,{bad},,all,all"])
    refused(store, path, "row 3", "column 'value'", f"'{bad}'", f"scale of {scale.replace('-', ' to ')}")


def test_a_proportion_needs_a_denominator_or_a_scale(tmp_path, store):
    with pytest.raises(CatalogueError, match="needs a denominator or a stated scale"):
        share_catalogue(None)
    with pytest.raises(CatalogueError, match="scale must be one of"):
        share_catalogue("percent")
    path = write(tmp_path, "noden.csv", ["pcref,manchester,cyp-waiting-over-52-weeks,2024-04-01,150,,all,all"])
    refused(store, path, "row 2", "column 'value'", "no denominator")


def test_a_published_share_is_modelled_per_denominator_and_charted_in_percent(tmp_path, store, catalogue):
    indicator = catalogue.indicator("pcref", "cyp-waiting-over-52-weeks")
    assert indicator.kind == "proportion" and indicator.unit.startswith("%") and indicator.rate_per == 100
    rows = [f"pcref,manchester,cyp-waiting-over-52-weeks,{m},{300 + (i * 5) % 7 - (40 if i >= 12 else 0)},1000,all,all"
            for i, m in enumerate(months("2021-07-01", 24))]
    store.ingest_file(write(tmp_path, "cyp.csv", rows))
    result = evaluate.site_its(store.series(), catalogue, catalogue.site("manchester"), indicator)
    assert "offset" in result.methods
    assert result.fitted["observed"].max() <= 100
    assert result.fitted["observed"].iloc[0] == pytest.approx(30.0)
    figure = its_chart(result, y_title=indicator.unit, unit=indicator.unit)
    assert figure.layout.yaxis.ticksuffix == "%"


# --------------------------------------------------------------------------- corrections


def test_a_correction_removes_stale_rows_in_its_range_and_rollback_restores_them_exactly(tmp_path, store):
    first = [eth(m, g, v) for m in months("2023-01-01", 4) for g, v in (("White", 50), ("Mixed", 20))]
    store.ingest_file(write(tmp_path, "first.csv", first))
    other = store.ingest_file(write(tmp_path, "other.csv", [eth("2023-02-01", "White", 9, site="manchester")]))
    before = store.checksum()
    corrected = [eth(m, g, v) for m in ("2023-02-01", "2023-03-01") for g, v in (("White", 50),
                                                                                 ("Asian or Asian British", 20))]
    path = write(tmp_path, "corrected.csv", corrected)
    extract = load_extract(path, catalogue=store.catalogue)

    preview = store.preview(extract, replace_range=True)
    gone = preview[preview["change"] == "removed"]
    assert sorted(gone["period"].dt.strftime("%Y-%m")) == ["2023-02", "2023-03"]
    assert set(gone["group"]) == {"Mixed"} and gone["old_value"].tolist() == [20.0, 20.0]
    assert store.checksum() == before

    result = store.ingest(extract, replace_range=True)
    assert (result.rows_added, result.rows_removed) == (2, 2)
    assert "2 removed" in result.summary()
    current = store.series(sites="sheffield")
    mixed = current[current["group"] == "Mixed"]["period"].dt.strftime("%Y-%m").tolist()
    assert mixed == ["2023-01", "2023-04"], "months outside the file's range keep their rows"
    assert len(store.series(sites="manchester")) == 1, "other sites are untouched"
    history = store.history().set_index("ingest_id")
    assert history.loc[result.ingest_id, "rows_removed"] == 2 and history.loc[other.ingest_id, "rows_removed"] == 0

    store.rollback(result.ingest_id)
    assert store.checksum() == before


def test_rollback_of_a_later_ingest_respects_an_earlier_correction(tmp_path, store):
    store.ingest_file(write(tmp_path, "a.csv", [eth(m, g, 5) for m in months("2023-01-01", 3)
                                                for g in ("White", "Mixed")]))
    after_a = store.checksum()
    fix = store.ingest(load_extract(write(tmp_path, "b.csv", [eth("2023-02-01", "White", 5)]),
                                    catalogue=store.catalogue), replace_range=True)
    after_b = store.checksum()
    readd = store.ingest_file(write(tmp_path, "c.csv", [eth("2023-02-01", "Mixed", 7)]))
    store.rollback(readd.ingest_id)
    assert store.checksum() == after_b
    store.rollback(fix.ingest_id)
    assert store.checksum() == after_a


def test_a_correction_of_participant_records_is_refused(tmp_path, store):
    people = tmp_path / "people.csv"
    people.write_text("project,site,participant_id,measure,timepoint,value\naaot,hull,H1,alcohol-units,baseline,42\n")
    before = store.checksum()
    with pytest.raises(IngestRefused, match="Replacing a range applies to"):
        store.ingest(load_extract(people, catalogue=store.catalogue), replace_range=True)
    assert store.checksum() == before


def test_the_upload_preview_lists_what_a_correction_removes(tmp_path, store, catalogue):
    store.ingest_file(write(tmp_path, "first.csv", [eth("2023-03-01", "White", 50), eth("2023-03-01", "Mixed", 20)]))
    before = store.checksum()
    data = (HEADER + eth("2023-03-01", "White", 50) + "\n" + eth("2023-03-01", "Asian British", 20) + "\n").encode()
    check = uploads.check_upload(data, "fix.csv", access=EVALUATOR, store=store, catalogue=catalogue,
                                 replace_range=True)
    assert check.ok and check.replace_range
    assert check.changes[["added", "unchanged", "removed"]].iloc[0].tolist() == [1, 1, 1]
    assert check.removed[["group", "value"]].values.tolist() == [["Mixed", 20.0]]
    result = uploads.confirm_upload(check, access=EVALUATOR, store=store)
    assert result.rows_removed == 1
    assert sorted(store.series()["group"]) == ["Asian or Asian British", "White"]
    uploads.rollback_ingest(result.ingest_id, access=EVALUATOR, store=store)
    assert store.checksum() == before


def test_cli_replace_range_shows_the_removed_rows_and_dry_run_stores_nothing(tmp_path, capsys):
    data_dir = str(tmp_path / "store")
    first = write(tmp_path, "first.csv", [eth("2023-03-01", "White", 50), eth("2023-03-01", "Mixed", 20)])
    assert cli.main(["ingest", str(first), "--data-dir", data_dir]) == 0
    fix = write(tmp_path, "fix.csv", [eth("2023-03-01", "White", 50)])
    capsys.readouterr()
    assert cli.main(["ingest", str(fix), "--replace-range", "--dry-run", "--data-dir", data_dir]) == 0
    out = capsys.readouterr().out
    assert "1 removed" in out and "Mixed" in out and "nothing was stored" in out
    assert cli.main(["ingest", str(fix), "--replace-range", "--data-dir", data_dir]) == 0
    assert "1 removed (replaced range)" in capsys.readouterr().out
    assert cli.main(["history", "--data-dir", data_dir]) == 0
    assert "removed" in capsys.readouterr().out.splitlines()[0]


def test_rows_stored_under_an_old_spelling_are_flagged_and_a_correction_removes_them(tmp_path, store, catalogue):
    """A store filled before group vocabularies holds "Black British" beside the corrected file's
    "Black or Black British": the total is warned about, and the correction ingest leaves 70, not 90."""
    from mhin_eval.loaders import Extract

    old = pd.DataFrame({"project": "pcref", "site": "sheffield", "indicator": "mha-detentions",
                        "period": pd.date_range("2021-04-01", periods=24, freq="MS").repeat(2), "breakdown": "ethnicity",
                        "group": ["White", "Black British"] * 24, "value": [50.0, 20.0] * 24, "denominator": 10000.0})
    store.ingest(Extract("series", old, "old.csv", "", "csv"))
    new = [eth(m, g, v) for m in months("2021-04-01", 24) for g, v in (("White", 50), ("Black or Black British", 20))]
    path = write(tmp_path, "corrected.csv", new)
    plain = store.ingest_file(path)
    assert set(evaluate.series_rows(store.series(), "sheffield", "mha-detentions")["value"]) == {90}
    site, indicator = catalogue.site("sheffield"), catalogue.indicator("pcref", "mha-detentions")
    result = evaluate.site_its(store.series(), catalogue, site, indicator)
    assert any("'Black British' is not in the catalogue's list" in w for w in result.warnings)
    store.rollback(plain.ingest_id)
    store.ingest(load_extract(path, catalogue=catalogue), replace_range=True)
    assert set(evaluate.series_rows(store.series(), "sheffield", "mha-detentions")["value"]) == {70}
    result = evaluate.site_its(store.series(), catalogue, site, indicator)
    assert not any("not in the catalogue's list" in w for w in result.warnings)


def test_levels_mixed_across_files_are_warned_about(tmp_path, store, catalogue):
    store.ingest_file(write(tmp_path, "a.csv", [eth(m, "White", 50) for m in months("2021-04-01", 24)]))
    store.ingest_file(write(tmp_path, "b.csv", [eth(m, "White - British", 40) for m in months("2021-04-01", 24)]))
    result = evaluate.site_its(store.series(), catalogue, catalogue.site("sheffield"),
                               catalogue.indicator("pcref", "mha-detentions"))
    assert any("both higher-level groups and detailed categories" in w for w in result.warnings)
