"""The catalogue file parses, holds the DESIGN.md projects and sites, and rejects malformed entries."""

import tomllib

import pytest

from mhin_eval.catalogue import DEFAULT_CATALOGUE, CatalogueError, parse_catalogue


def test_projects_and_sites_of_design(catalogue):
    assert catalogue.project_ids == ("aaot", "parent-cbt", "pcref")
    expected = {
        "aaot": {"hull", "greater-manchester"},
        "parent-cbt": {"east-of-england", "northwest-coast"},
        "pcref": {"sheffield", "manchester"},
    }
    for project, sites in expected.items():
        assert {s.id for s in catalogue.sites_of(project)} == sites
        for site in catalogue.sites_of(project):
            assert site.go_live is not None


def test_every_project_has_indicators_with_required_metadata(catalogue):
    for project in catalogue.project_ids:
        indicators = catalogue.indicators_of(project)
        assert indicators, project
        for ind in indicators:
            assert ind.label and ind.unit and ind.better in ("lower", "higher")


def test_a_new_project_is_data_only():
    data = tomllib.loads(DEFAULT_CATALOGUE.read_text())
    data["projects"].append({"id": "new-proj", "name": "New project", "short_name": "New"})
    data["sites"].append({"id": "leeds", "project": "new-proj", "name": "Leeds", "go_live": "2023-01-01"})
    data["indicators"].append(
        {"id": "contacts", "project": "new-proj", "label": "Contacts", "unit": "contacts",
         "source": "series", "kind": "count", "better": "higher", "default_model": "poisson"}
    )
    cat = parse_catalogue(data)
    assert cat.sites_of("new-proj")[0].id == "leeds"
    assert cat.indicator("new-proj", "contacts").is_count


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d["sites"][0].update(go_live="2021-13-01"), "not a date"),
        (lambda d: d["sites"][0].update(project="nope"), "unknown project"),
        (lambda d: d["indicators"][0].update(kind="weird"), "kind must be"),
        (lambda d: d["indicators"][0].update(colour="red"), "unknown field"),
        (lambda d: d["sites"][0].pop("name"), "missing field"),
    ],
)
def test_malformed_catalogue_is_refused_with_the_entry_named(mutate, message):
    data = tomllib.loads(DEFAULT_CATALOGUE.read_text())
    mutate(data)
    with pytest.raises(CatalogueError, match=message):
        parse_catalogue(data)
