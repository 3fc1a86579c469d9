"""The synthetic demo data: deterministic, complete for the catalogue, realistic, and true to its effects."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
import tomllib

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from mhin_eval import demo
from mhin_eval.catalogue import DEFAULT_CATALOGUE, parse_catalogue


@pytest.fixture(scope="module")
def data(catalogue):
    return demo.build_demo(catalogue)


@pytest.fixture(scope="module")
def extended_catalogue():
    """A parsed copy of the catalogue with a new PCREF site, a new AAOT site and a new project."""
    raw = tomllib.loads(DEFAULT_CATALOGUE.read_text(encoding="utf-8"))
    raw["sites"] += [
        {"id": "leeds", "project": "pcref", "name": "Leeds", "go_live": "2023-02-15"},
        {"id": "hull-east", "project": "aaot", "name": "Hull East", "go_live": "2022-06-01"},
        {"id": "york", "project": "wellbeing", "name": "York", "go_live": "2025-06-01"},
    ]
    raw["projects"].append({"id": "wellbeing", "name": "Wellbeing", "short_name": "WB"})
    raw["indicators"] += [
        {"id": "contacts", "project": "wellbeing", "label": "Contacts", "unit": "contacts", "source": "series",
         "kind": "count", "better": "higher", "default_model": "poisson", "breakdowns": ["sex"]},
        {"id": "mood", "project": "wellbeing", "label": "Mood", "unit": "points", "source": "series",
         "kind": "score", "better": "higher", "default_model": "gaussian", "max_value": 40},
        {"id": "wellbeing-score", "project": "wellbeing", "label": "Wellbeing", "unit": "points (0-70)",
         "source": "participant", "kind": "score", "better": "higher", "default_model": "paired-mean",
         "max_value": 70},
    ]  # fmt: skip
    return parse_catalogue(raw)


def _series_keys(frame):
    return frame.groupby(["project", "site", "indicator", "breakdown", "group"])


# --------------------------------------------------------------------------- determinism and files


def test_building_twice_gives_identical_bytes(catalogue, data):
    again = demo.build_demo(catalogue)
    assert again.files() == data.files()
    other_seed = demo.build_demo(catalogue, seed=demo.DEFAULT_SEED + 1)
    assert other_seed.files()[demo.SERIES_FILE] != data.files()[demo.SERIES_FILE]
    assert other_seed.files()[demo.TRUE_EFFECTS_FILE] == data.files()[demo.TRUE_EFFECTS_FILE]


def test_writing_to_two_folders_gives_identical_files(tmp_path, catalogue):
    first = demo.write_demo(tmp_path / "a", catalogue)
    second = demo.write_demo(tmp_path / "b", catalogue)
    assert [p.relative_to(tmp_path / "a") for p in first] == [p.relative_to(tmp_path / "b") for p in second]
    assert {demo.SERIES_FILE, demo.PARTICIPANTS_FILE, demo.TRUE_EFFECTS_FILE, demo.README_FILE,
            demo.implementation.SUSTAINABILITY_FILE, demo.implementation.FINDINGS_FILE,
            demo.demo_donors.DONORS_FILE} == {
        p.relative_to(tmp_path / "a").as_posix() for p in first
    }
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_committed_demo_files_equal_a_fresh_generation(data):
    for relative, content in data.files().items():
        committed = demo.DEFAULT_OUT_DIR / relative
        assert committed.exists(), f"{committed} is missing: run `.venv/bin/python -m mhin_eval.demo`"
        assert committed.read_bytes() == content, (
            f"{committed} differs from a fresh generation: run `.venv/bin/python -m mhin_eval.demo` and commit"
        )


def test_docs_table_is_up_to_date(data):
    text = demo.DOCS_PATH.read_text(encoding="utf-8")
    table = text[text.index(demo.DOCS_START) + len(demo.DOCS_START) : text.index(demo.DOCS_END)]
    assert table.strip() == demo.render_true_effects_markdown(data.true_effects).strip(), (
        "docs/demo-data.md is out of date: run `.venv/bin/python -m mhin_eval.demo`"
    )
    assert "synthetic" in text.lower()


def test_files_are_plain_utf8_csv_with_exact_headers(data):
    files = data.files()
    expected = {
        demo.SERIES_FILE: demo.SERIES_COLUMNS,
        demo.PARTICIPANTS_FILE: demo.PARTICIPANT_COLUMNS,
        demo.TRUE_EFFECTS_FILE: demo.TRUE_EFFECT_COLUMNS,
        demo.implementation.SUSTAINABILITY_FILE: demo.implementation.SUSTAINABILITY_COLUMNS,
        demo.implementation.FINDINGS_FILE: demo.implementation.FINDINGS_COLUMNS,
    }
    for name, columns in expected.items():
        text = files[name].decode("utf-8")
        assert "\r" not in text and not text.startswith("\ufeff") and text.endswith("\n")
        assert text.split("\n", 1)[0] == ",".join(columns), name
    series_rows = files[demo.SERIES_FILE].decode().splitlines()[1:]
    assert all(re.fullmatch(r"\d{4}-\d{2}-01", row.split(",")[3]) for row in series_rows)
    assert "SYNTHETIC DEMO DATA — not real patients or services" in files[demo.README_FILE].decode()


def test_frames_have_exact_columns_and_sorted_unique_keys(data):
    assert tuple(data.series.columns) == demo.SERIES_COLUMNS
    assert tuple(data.participants.columns) == demo.PARTICIPANT_COLUMNS
    assert tuple(data.true_effects.columns) == demo.TRUE_EFFECT_COLUMNS
    for frame, key in (
        (data.series, ["project", "site", "indicator", "breakdown", "group", "period"]),
        (data.participants, ["project", "site", "participant_id", "measure", "timepoint"]),
        (data.true_effects, ["project", "site", "indicator", "breakdown", "group", "quantity"]),
    ):
        assert not frame.duplicated(key).any()
        assert frame.equals(frame.sort_values(key, kind="mergesort").reset_index(drop=True))


# --------------------------------------------------------------------------- completeness


def test_every_catalogue_site_and_indicator_has_data(catalogue, data):
    series_pairs = set(zip(data.series["site"], data.series["indicator"], strict=True))
    participant_pairs = set(zip(data.participants["site"], data.participants["measure"], strict=True))
    for site in catalogue.sites:
        for indicator in catalogue.indicators_of(site.project, source="series"):
            assert (site.id, indicator.id) in series_pairs, (site.id, indicator.id)
        for indicator in catalogue.indicators_of(site.project, source="participant"):
            assert ((site.id, indicator.id) in participant_pairs) != site.is_comparison, (
                site.id,
                indicator.id,
            )
    assert set(data.series["project"]) | set(data.participants["project"]) == set(catalogue.project_ids)
    assert {"aaot-comparison"} <= set(data.series["site"])


def test_every_stratified_indicator_has_all_its_groups_and_a_total(catalogue, data):
    for indicator in catalogue.indicators:
        if indicator.source != "series" or not indicator.breakdowns:
            continue
        rows = data.series[data.series["indicator"] == indicator.id]
        groups = set(rows.loc[rows["breakdown"] == indicator.breakdowns[0], "group"])
        assert groups == set(demo.BREAKDOWN_GROUPS[indicator.breakdowns[0]]), indicator.id
        assert (rows["breakdown"] == "all").any()


def test_true_effects_cover_every_intervention_site_and_indicator(catalogue, data):
    truth = data.true_effects
    assert not truth["true_value"].isna().any() and (truth["note"].str.len() > 0).all()
    for site in catalogue.sites:
        if site.is_comparison:
            continue
        for indicator in catalogue.indicators_of(site.project):
            assert ((truth["site"] == site.id) & (truth["indicator"] == indicator.id)).any(), (
                site.id,
                indicator.id,
            )


# --------------------------------------------------------------------------- time range, gaps, go-live


def test_series_cover_at_least_sixty_months_with_go_live_inside(catalogue, data):
    periods = demo.demo_periods(catalogue)
    assert len(periods) >= 60 and periods[0] <= dt.date(2019, 1, 1) and periods[-1] >= dt.date(2024, 12, 1)
    for (_, site_id, *_), rows in _series_keys(data.series):
        assert rows["period"].nunique() >= 57
        assert (rows["period"].dt.day == 1).all()
        site = catalogue.site(site_id)
        go_live, _ = demo.reference_go_live(site, catalogue)
        if go_live is None:
            continue
        go_live = pd.Timestamp(go_live)
        assert (rows["period"] < go_live).sum() >= 12 and (rows["period"] >= go_live).sum() >= 12, site_id


def test_some_months_are_missing_consistently_across_groups(data):
    periods = pd.to_datetime(demo.demo_periods(demo.load_catalogue()))
    gaps = {}
    for key, rows in _series_keys(data.series):
        gaps[key] = set(periods) - set(rows["period"])
        assert len(gaps[key]) <= 3, key
    assert sum(1 for g in gaps.values() if g) >= 5
    for key, missing in gaps.items():
        total = (*key[:3], "all", "all")
        assert missing == gaps[total], key


# --------------------------------------------------------------------------- values


def test_counts_are_whole_non_negative_and_within_denominators(catalogue, data):
    series = data.series
    assert (series["value"] >= 0).all()
    counted = series["indicator"].isin(
        [i.id for i in catalogue.indicators if i.kind in ("count", "rate", "proportion")]
    )
    assert (series.loc[counted, "value"] % 1 == 0).all()
    with_denominator = series["denominator"].notna()
    assert (series.loc[with_denominator, "denominator"] % 1 == 0).all()
    assert (series.loc[with_denominator, "denominator"] > 0).all()
    assert (series.loc[with_denominator, "value"] <= series.loc[with_denominator, "denominator"]).all()
    for indicator in catalogue.indicators:
        if indicator.source == "series" and not indicator.context:
            rows = series[series["indicator"] == indicator.id]
            assert rows["denominator"].notna().all() == bool(indicator.denominator), indicator.id


def test_totals_equal_the_sum_of_their_groups(data):
    stratified = data.series[data.series["breakdown"] != "all"]
    sums = stratified.groupby(["site", "indicator", "period"])[["value", "denominator"]].sum(min_count=1)
    totals = data.series[data.series["breakdown"] == "all"].set_index(["site", "indicator", "period"])
    joined = sums.join(totals[["value", "denominator"]].add_suffix("_total"))
    assert len(joined) > 0
    assert np.array_equal(joined["value"], joined["value_total"])
    assert np.allclose(joined["denominator"].fillna(-1), joined["denominator_total"].fillna(-1))


def test_participant_values_respect_bounds_and_counts(catalogue, data):
    people = data.participants
    for indicator in catalogue.indicators:
        if indicator.source != "participant":
            continue
        values = people.loc[people["measure"] == indicator.id, "value"]
        assert len(values) > 0 and (values >= 0).all(), indicator.id
        if indicator.max_value is not None:
            assert (values <= indicator.max_value).all(), indicator.id
        if indicator.kind == "count":
            assert (values % 1 == 0).all(), indicator.id
    assert set(people["timepoint"]) == {demo.BASELINE, demo.FOLLOW_UP}


def test_follow_ups_are_missing_for_some_participants(data):
    people = data.participants
    for site, rows in people.groupby("site"):
        baseline = set(rows.loc[rows["timepoint"] == demo.BASELINE, "participant_id"])
        followed = set(rows.loc[rows["timepoint"] == demo.FOLLOW_UP, "participant_id"])
        assert followed <= baseline
        lost = 1 - len(followed) / len(baseline)
        assert 0.08 <= lost <= 0.35, (site, lost)
    pairs = people.pivot_table(
        index=["site", "participant_id", "measure"], columns="timepoint", values="value"
    )
    assert pairs[demo.FOLLOW_UP].isna().mean() > 0.1


def test_participant_records_are_pseudonymised_dated_and_described(data):
    people = data.participants
    assert people["participant_id"].str.fullmatch(r"[A-Z0-9]+-\d{4}").all()
    prefixes = people.groupby("site")["participant_id"].agg(lambda ids: {i.split("-")[0] for i in ids})
    assert all(len(p) == 1 for p in prefixes) and len({next(iter(p)) for p in prefixes}) == len(prefixes)
    assert people["date"].isna().any() and people["date"].notna().mean() > 0.95
    dated = (
        people.dropna(subset=["date"])
        .pivot_table(
            index=["site", "participant_id", "measure"], columns="timepoint", values="date", aggfunc="first"
        )
        .dropna()
    )
    assert (dated[demo.FOLLOW_UP] > dated[demo.BASELINE]).all()
    assert people[["ethnicity", "age_band", "sex"]].notna().all().all()
    assert set(people["ethnicity"]) <= set(demo.ETHNIC_GROUPS)


# --------------------------------------------------------------------------- shape of the built-in effects


def test_east_of_england_has_about_two_hundred_families_mostly_online(data):
    people = data.participants
    families = people[(people["site"] == "east-of-england") & (people["timepoint"] == demo.BASELINE)]
    families = families.drop_duplicates("participant_id")
    assert 180 <= len(families) <= 220
    assert (families["delivery_mode"] == "online").mean() > 0.6
    started = data.series[
        (data.series["site"] == "east-of-england") & (data.series["indicator"] == "families-started")
    ]
    after = started[started["period"] >= pd.Timestamp("2021-09-01")]
    online = after.loc[after["group"] == "online", "value"].sum()
    assert online / after.loc[after["group"] == "all", "value"].sum() > 0.6


def test_aaot_participant_effects_point_the_reported_way(data):
    truth = data.true_effects.set_index(["site", "indicator", "group", "quantity"])["true_value"]
    assert truth[("greater-manchester", "ae-attendances", "all", "level_change_ratio")] < 0.8
    assert truth[("greater-manchester", "unplanned-admissions", "all", "level_change_ratio")] < 0.8
    assert truth[("hull", "alcohol-units", "all", "mean_difference")] < -20
    assert truth[("hull", "psychological-health", "all", "mean_difference")] > 5
    assert truth[("hull", "physical-health", "all", "mean_difference")] == pytest.approx(0, abs=1e-9)
    people = data.participants
    hull = (
        people[people["site"] == "hull"]
        .pivot_table(index=["participant_id", "measure"], columns="timepoint", values="value")
        .dropna()
    )
    change = (hull[demo.FOLLOW_UP] - hull[demo.BASELINE]).groupby(level="measure").mean()
    assert change["alcohol-units"] < -15 and change["psychological-health"] > 4
    assert abs(change["physical-health"]) < 3


def test_detention_rates_look_like_england_and_fall_for_black_people_at_one_site(data):
    """Baseline Black vs White detention rate ratio near NHS England 2023-24 (239.0 / 69.5 = 3.4)."""
    detentions = data.series[
        (data.series["indicator"] == "mha-detentions") & (data.series["breakdown"] == "ethnicity")
    ]
    ratio_change = {}
    for site, go_live in (("sheffield", "2022-04-01"), ("manchester", "2022-07-01")):
        rows = detentions[detentions["site"] == site]
        sums = (
            rows.assign(after=rows["period"] >= pd.Timestamp(go_live))
            .groupby(["after", "group"])[["value", "denominator"]]
            .sum()
        )
        rate = sums["value"] / sums["denominator"] * 100_000 * 12
        assert 55 < rate[(False, "White")] < 85, site
        before = rate[(False, "Black or Black British")] / rate[(False, "White")]
        assert 2.5 < before < 4.5, site
        ratio_change[site] = rate[(True, "Black or Black British")] / rate[(True, "White")] / before
    truth = data.true_effects.set_index(["site", "indicator", "group", "quantity"])["true_value"]
    key = ("mha-detentions", "Black or Black British", "rate_ratio_vs_reference_change")
    assert truth[("sheffield", *key)] < 0.9 and truth[("manchester", *key)] == 1.0
    assert ratio_change["sheffield"] < 0.95


def _segmented_poisson(rows: pd.DataFrame, go_live: str):
    """Quasi-Poisson segmented regression with 2 Fourier pairs, the parametrisation demo.py documents."""
    t = (rows["period"].dt.year - 2019) * 12 + rows["period"].dt.month
    t0 = (pd.Timestamp(go_live).year - 2019) * 12 + pd.Timestamp(go_live).month
    post = (t >= t0).astype(float)
    X = pd.DataFrame({"const": 1.0, "t": t, "post": post, "since": (t - t0 + 1) * post})
    for k in (1, 2):
        X[f"sin{k}"], X[f"cos{k}"] = np.sin(2 * np.pi * k * t / 12), np.cos(2 * np.pi * k * t / 12)
    offset = np.log(rows["denominator"]) if rows["denominator"].notna().all() else None
    fit = sm.GLM(rows["value"], X, family=sm.families.Poisson(), offset=offset).fit(scale="X2")
    return fit


@pytest.mark.parametrize(
    "site, indicator, group, go_live",
    [
        ("greater-manchester", "ae-attendances", "all", "2021-10-01"),
        ("east-of-england", "families-started", "online", "2021-09-01"),
        ("sheffield", "mha-detentions", "all", "2022-04-01"),
    ],
)
def test_generated_series_agree_with_their_true_level_and_slope_change(data, site, indicator, group, go_live):
    """The data are drawn from the model whose coefficients true_effects reports (a self-check of the
    generator; recovery by mhin_eval.analysis is tested elsewhere)."""
    rows = data.series[
        (data.series["site"] == site)
        & (data.series["indicator"] == indicator)
        & (data.series["group"] == group)
    ]
    fit = _segmented_poisson(rows, go_live)
    truth = data.true_effects.set_index(["site", "indicator", "group", "quantity"])["true_value"]
    ci = fit.conf_int(alpha=0.01)
    for term, quantity in (("post", "level_change_ratio"), ("since", "slope_change_ratio_per_month")):
        true = math.log(truth[(site, indicator, group, quantity)])
        assert ci.loc[term, 0] < true < ci.loc[term, 1], (term, np.exp(fit.params[term]), math.exp(true))


def test_bounded_score_expectation_matches_a_large_simulation():
    rng = np.random.default_rng(1)
    draws = np.clip(rng.normal(10.0, 14.0, 2_000_000), 0, 30)
    assert demo._normal_clipped_mean(10.0, 14.0, 30) == pytest.approx(draws.mean(), abs=0.02)
    assert demo._normal_clipped_mean(10.0, 14.0, None) == pytest.approx(
        np.maximum(rng.normal(10, 14, 2_000_000), 0).mean(), abs=0.02
    )


def test_markdown_table_shows_every_row_of_true_effects(data):
    table = demo.render_true_effects_markdown(data.true_effects)
    rows = [line for line in table.splitlines() if line.startswith("| ")][1:]
    assert len(rows) == len(data.true_effects.groupby(["project", "site", "indicator", "breakdown", "group"]))
    assert "| pcref | sheffield | mha-detentions | ethnicity: Black or Black British | 0.800 |" in table
    extra = pd.concat([data.true_effects.head(1).assign(quantity="odds_ratio", true_value=2.0)])
    assert "odds_ratio" in demo.render_true_effects_markdown(extra)
    for quantity in set(data.true_effects["quantity"]):
        assert f"- `{quantity}`: " in table


# --------------------------------------------------------------------------- driven by the catalogue


def test_a_site_added_to_the_catalogue_gets_data_without_code_changes(extended_catalogue, data):
    extended = demo.build_demo(extended_catalogue)
    for site_id in ("leeds", "hull-east", "york"):
        site = extended_catalogue.site(site_id)
        series = extended.series[extended.series["site"] == site_id]
        assert set(series["indicator"]) == {
            i.id for i in extended_catalogue.indicators_of(site.project, "series")
        }
        participant_measures = {i.id for i in extended_catalogue.indicators_of(site.project, "participant")}
        assert (
            set(extended.participants.loc[extended.participants["site"] == site_id, "measure"])
            == participant_measures
        )
        assert (extended.true_effects["site"] == site_id).any()
    leeds = extended.series[
        (extended.series["site"] == "leeds") & (extended.series["breakdown"] == "ethnicity")
    ]
    assert set(leeds["group"]) == set(demo.ETHNIC_GROUPS)
    hull_east = extended.participants[extended.participants["site"] == "hull-east"]
    assert hull_east["participant_id"].str.startswith("HE-").all()
    mood = extended.series[extended.series["indicator"] == "mood"]
    assert mood["value"].between(0, 40).all() and mood["denominator"].isna().all()
    contacts = extended.series[extended.series["indicator"] == "contacts"]
    assert set(contacts["group"]) == {"all", "Female", "Male"}
    scores = extended.participants.loc[extended.participants["measure"] == "wellbeing-score", "value"]
    assert scores.between(0, 70).all()


def test_a_late_go_live_widens_the_range_to_keep_two_years_after(extended_catalogue):
    periods = demo.demo_periods(extended_catalogue)
    assert periods[0] == dt.date(2019, 1, 1) and periods[-1] == dt.date(2027, 12, 1)


def test_adding_a_site_changes_no_other_site_within_the_same_range(catalogue, data):
    raw = tomllib.loads(DEFAULT_CATALOGUE.read_text(encoding="utf-8"))
    raw["sites"].append({"id": "leeds", "project": "pcref", "name": "Leeds", "go_live": "2022-10-01"})
    extended = demo.build_demo(parse_catalogue(raw))
    assert extended.series["period"].max() == data.series["period"].max()
    kept = extended.series[extended.series["site"] != "leeds"].reset_index(drop=True)
    assert kept.equals(data.series)
    assert extended.participants.equals(data.participants)


def test_comparison_site_has_no_effect_and_no_participants(catalogue, data):
    comparison = [s for s in catalogue.sites if s.is_comparison]
    assert comparison
    for site in comparison:
        assert not (data.participants["site"] == site.id).any()
        values = data.true_effects.loc[data.true_effects["site"] == site.id, "true_value"]
        assert len(values) > 0 and (values == 1.0).all()


def test_generic_defaults_improve_in_the_better_direction(catalogue):
    site = dataclasses.replace(catalogue.site("hull"), id="somewhere-new")
    lower = catalogue.indicator("aaot", "ae-attendances")
    higher = dataclasses.replace(lower, better="higher")
    assert demo.series_effect(site, lower).level_ratio < 1 < demo.series_effect(site, higher).level_ratio
    score = catalogue.indicator("aaot", "psychological-health")
    assert demo.participant_effect(site, score).shift > 0
