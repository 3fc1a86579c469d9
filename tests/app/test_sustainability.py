"""AppTest of the sustainability page and the facilitators-and-barriers sections (issue 7).

The demo store holds synthetic PSAT and CSAT rounds for every intervention site (east-of-england's
second round has 5 respondents, below the disclosure threshold of 7) and synthetic findings.
"""

from __future__ import annotations

import pandas as pd
import pytest

from mhin_eval.catalogue import DEFAULT_CATALOGUE
from tests.app.conftest import all_text, each_view, open_details, open_page
from tests.app.test_roles import HULL_USER, OTHER_SITE_NAMES


def chart_titles(at) -> list[str]:
    import json

    return [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]


def test_sustainability_page_shows_profile_change_items_and_findings(app, catalogue):
    at = open_page(app, "sustainability", instrument="psat", site="hull")
    assert [t.label for t in at.tabs] == ["Domain profile", "Change between rounds", "Latest round at each site",
                                          "Facilitators and barriers"]
    texts, titles = [], []
    for view in each_view(at):
        texts.append(all_text(view))
        titles += chart_titles(view)
    text = "\n".join(texts)
    assert "Synthetic demo data" in text
    assert at.title[0].value == "Sustainability of interventions"
    assert titles == ["PSAT domain profile: Hull", "Change by domain: Hull"], "one chart per tab, drawn when open"
    # every site's latest round in words, with its respondents and total
    for site in catalogue.sites:
        if not site.is_comparison:
            assert f"{site.name}, PSAT round of" in text
    assert "Where to act first" in text
    assert "Barriers (" in text and "Facilitators (" in text
    assert "(Synthetic)" in text
    items = at.dataframe[0].value
    assert len(items) == 40 and set(items["Domain"]) == {d.label for d in catalogue.instrument("psat").domains}
    assert items["Label"].iloc[0] == "Environmental Support item 1"


def test_switching_instrument_and_rounds_changes_the_view(app):
    at = open_page(app, "sustainability", instrument="psat", site="hull")
    at.selectbox(key="w:instrument").set_value("csat").run()
    assert not at.exception
    assert "CSAT domain profile: Hull" in chart_titles(at)
    assert at.query_params["instrument"] in (["csat"], "csat")
    at.query_params["section"] = "Change between rounds"
    at.run()
    before = [m.value for m in at.markdown if m.value.startswith("**From ")]
    at.selectbox(key="change-first-csat-hull").set_value("2021-10-01").run()
    assert not at.exception
    after = [m.value for m in at.markdown if m.value.startswith("**From ")]
    assert before and after and before != after and "From Oct 2021" in after[0]


def test_small_round_is_suppressed_with_a_plain_message(app):
    at = open_details(open_page(app, "sustainability", instrument="psat", site="east-of-england"))
    text = all_text(at)
    assert "Mar 2023: 5 respondents answered, fewer than 8, so this round's scores are not shown." in text
    table = next(d.value for d in at.dataframe if "Not shown (fewer than 8)" in d.value.columns)
    hidden = table[table["Round"] == "Mar 2023"]
    assert len(hidden) == 9 and hidden["Not shown (fewer than 8)"].all() and (hidden["Mean"] == "").all()
    assert (table.loc[table["Round"] != "Mar 2023", "Mean"] != "").all()
    at.query_params["section"] = "Change between rounds"
    at.run()
    changes = [m.value for m in at.markdown if m.value.startswith("**From ")]
    assert changes and changes[0].startswith("**From Mar 2022 to Mar 2024"), "by default the latest rounds shown"


@pytest.mark.parametrize(("page", "query", "names"), [
    ("site", {"site": "sheffield"}, ["Sheffield"]),
    ("project", {"project": "aaot"}, ["Hull", "Greater Manchester"]),
])
def test_findings_sit_beside_outcomes_on_project_and_site_pages(app, page, query, names):
    at = open_page(app, page, **query)
    tabs = [t.label for t in at.tabs]
    assert "Facilitators and barriers" in tabs
    assert tabs.index("Facilitators and barriers") > 0, "after the outcome sections"
    at.query_params["section"] = "Facilitators and barriers"
    open_details(at.run())
    text = all_text(at)
    assert "(Synthetic)" in text and "Barriers (" in text and "Facilitators (" in text
    table = next(d.value for d in at.dataframe if "Summary" in d.value.columns)
    assert set(table["Site"]) == set(names)
    assert set(table["Kind"]) == {"Facilitator", "Barrier"}


def test_site_user_sees_only_their_own_sites_assessments(app, tmp_path, monkeypatch):
    from tests.app.conftest import AUTH, POLICY

    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY, encoding="utf-8")
    monkeypatch.setenv("MHIN_ACCESS_POLICY", str(policy))
    app.secrets.update(AUTH)
    app.user = {"is_logged_in": True, "email": HULL_USER}
    at = open_page(app, "sustainability", instrument="psat")
    text = all_text(at)
    assert "Hull, PSAT round of" in text
    for name in OTHER_SITE_NAMES:
        assert f"{name}, PSAT round of" not in text
    assert chart_titles(at)[0] == "PSAT domain profile: Hull"


NEW_INSTRUMENT = """
[[instruments]]
id = "fidelity-check"
name = "Fidelity Self-Check (test instrument)"
short_name = "FSC"
scale_min = 0
scale_max = 4
citation = "Test fixture only"

[[instruments.domains]]
id = "reach"
label = "Reach of the service"
items = ["r1", "r2"]

[[instruments.domains]]
id = "dose"
label = "Dose delivered"
items = ["d1", "d2", "d3"]
item_labels = ["A", "B", "C"]
"""


def test_a_new_catalogue_instrument_appears_on_the_page_with_no_code_change(app, tmp_path, monkeypatch):
    """The catalogue copy differs only by an appended [[instruments]] entry; its data is then ingested."""
    import os

    from mhin_eval.catalogue import load_catalogue
    from mhin_eval.loaders import load_extract
    from mhin_eval.store import Store

    path = tmp_path / "catalogue.toml"
    path.write_text(DEFAULT_CATALOGUE.read_text(encoding="utf-8") + NEW_INSTRUMENT, encoding="utf-8")
    monkeypatch.setenv("MHIN_CATALOGUE", str(path))
    catalogue = load_catalogue(path)
    rows = [{"project": "aaot", "site": "hull", "instrument": "fidelity-check", "assessment_date": day,
             "respondent": f"R{r}", "item": item, "score": (r + k + shift) % 5}
            for shift, day in enumerate(["2023-01-01", "2024-01-01"]) for r in range(8)
            for k, item in enumerate(["r1", "r2", "d1", "d2", "d3"])]
    extract_path = tmp_path / "fsc.csv"
    pd.DataFrame(rows).to_csv(extract_path, index=False)
    Store(os.environ["MHIN_DATA_DIR"], catalogue=catalogue).ingest(load_extract(extract_path, catalogue=catalogue),
                                                                  user="test")

    at = open_details(open_page(app, "sustainability", instrument="fidelity-check", site="hull"))
    chooser = at.selectbox(key="w:instrument")
    assert chooser.value == "fidelity-check"
    assert "FSC" in chooser.options  # the short name fits the sidebar; the page names it in full
    text = all_text(at)
    assert "Fidelity Self-Check (test instrument) (FSC)." in text
    assert "FSC domain profile: Hull" in chart_titles(at)
    assert "Hull, FSC round of Jan 2024 (8 respondents)" in text
    items = at.dataframe[0].value
    assert list(items["Label"]) == ["Reach of the service item 1", "Reach of the service item 2", "A", "B", "C"]
    scores = next(d.value for d in at.dataframe if "Respondents" in d.value.columns and "Domain" in d.value.columns)
    assert {"Reach of the service", "Dose delivered", "Total score"} <= set(scores["Domain"])


@pytest.mark.parametrize("instrument", ["psat", "csat"])
def test_every_shipped_instrument_renders(app, instrument, catalogue):
    at = open_page(app, "sustainability", instrument=instrument, site="manchester")
    short = catalogue.instrument(instrument).short_name
    assert f"{short} domain profile: Manchester" in chart_titles(at)
