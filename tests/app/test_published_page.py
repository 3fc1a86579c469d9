"""AppTest of the published and site pages on a store holding only the six real MHSDS 4WW files (no demo data),
and on the demo store with those files added: the mapped measures are drawn for each site's trust beside England,
the site page draws the same series, and the notice says which parts are synthetic."""

from __future__ import annotations

import base64
import json
import shutil

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from mhin_eval.store import Store
from mhin_eval.ui.context import DEMO_NOTICE, MIXED_DEMO_NOTICE, PUBLISHED_DEMO_NOTICE
from tests.app.conftest import APP, all_text, open_page

FILES = ("MHSDS_Data_4WW_AprPerf_2024_v2.csv", "MHSDS_Data_4WW_MayPerf_2024_v2.csv", "MHSDS_Data_4WW_JunPerf_2024_v2.csv",
         "MHSDS_Data_4WW_JulPerf_2024_v2.csv", "MHSDS_Data_4WW_AugPerf_2024.csv", "MHSDS_Data_4WW_SepPerf_2024.csv")
#: site -> (project, mapped indicators, trust name as the catalogue gives it)
SITES = {
    "sheffield": ("pcref", ("cmh-referrals-started", "cyp-waiting-over-52-weeks"),
                  "Sheffield Health & Social Care NHS Foundation Trust"),
    "manchester": ("pcref", ("cmh-referrals-started", "cyp-waiting-over-52-weeks"),
                   "Greater Manchester Mental Health NHS Foundation Trust"),
    "hull": ("aaot", ("cmh-waiting-over-52-weeks",), "Humber Teaching NHS Foundation Trust"),
}
SHARES = {"cyp-waiting-over-52-weeks", "cmh-waiting-over-52-weeks"}


def _ingest_all(store: Store, folder) -> None:
    for name in FILES:
        store.ingest_file(folder / name, user="tester")


@pytest.fixture(scope="module")
def real_only_dir(tmp_path_factory, real_data_dir, catalogue):
    path = tmp_path_factory.mktemp("real-only-store")
    _ingest_all(Store(path, catalogue=catalogue), real_data_dir / "mhsds_4ww_2024")
    return path


@pytest.fixture(scope="module")
def demo_and_real_dir(tmp_path_factory, seeded_dir, real_data_dir, catalogue):
    path = tmp_path_factory.mktemp("demo-and-real-store") / "store"
    shutil.copytree(seeded_dir, path)
    _ingest_all(Store(path, catalogue=catalogue), real_data_dir / "mhsds_4ww_2024")
    return path


def _app(folder, tmp_path, monkeypatch) -> AppTest:
    data_dir = tmp_path / "store"
    shutil.copytree(folder, data_dir)
    monkeypatch.setenv("MHIN_DATA_DIR", str(data_dir))
    st.cache_data.clear()
    st.cache_resource.clear()
    return AppTest.from_file(APP, default_timeout=120)


@pytest.fixture
def real_app(real_only_dir, tmp_path, monkeypatch):
    yield _app(real_only_dir, tmp_path, monkeypatch)
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def mixed_app(demo_and_real_dir, tmp_path, monkeypatch):
    yield _app(demo_and_real_dir, tmp_path, monkeypatch)
    st.cache_data.clear()
    st.cache_resource.clear()


def _values(array) -> list[float]:
    if isinstance(array, dict) and "bdata" in array:
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=np.dtype(array["dtype"])).astype(float).tolist()
    return [float("nan") if v is None else float(v) for v in array if not isinstance(v, str)]


def _charts(at) -> dict[str, dict[str, list[float]]]:
    """Chart key -> trace name -> y values."""
    out = {}
    for chart in at.get("plotly_chart"):
        key = chart.proto.id.split("-", 2)[-1] if chart.proto.id.startswith("$$ID-") else chart.proto.id
        out[key] = {t.get("name", ""): _values(t.get("y", [])) for t in json.loads(chart.proto.spec)["data"]}
    return out


def _chart(charts: dict, key: str) -> dict[str, list[float]]:
    found = [v for k, v in charts.items() if k.endswith(key)]
    assert len(found) == 1, (key, list(charts))
    return found[0]


@pytest.mark.parametrize("site", list(SITES))
def test_published_page_draws_each_mapped_measure_for_the_trust_beside_england(real_app, real_only_dir, site):
    project, indicators, trust = SITES[site]
    at = open_page(real_app, "published", site=site)
    text = all_text(at)
    assert "Synthetic demo data" not in text, "a store of real files only carries no synthetic-data notice"
    charts = _charts(at)
    series = Store(real_only_dir).series(project=project, sites=[site])
    for indicator in indicators:
        traces = _chart(charts, f"published-measure-{site}-{indicator}")
        names = list(traces)
        assert names[0] == trust.replace("&", "&amp;") and names[1].startswith("England"), names
        rows = series[series["indicator"] == indicator].sort_values("period")
        expected = (rows["value"] / rows["denominator"] * 100) if indicator in SHARES else rows["value"]
        drawn = [v for v in traces[names[0]] if not np.isnan(v)]
        assert drawn == pytest.approx(expected.tolist()), "the trust's line is the site's stored series"
        assert len(traces[names[1]]) == 6 and not np.isnan(traces[names[1]]).any(), "England: Apr-Sep 2024"
    assert len(at.dataframe) == len(indicators)
    months = at.dataframe[0].value["Month"].tolist()
    assert months[-1] == "Sep 2024"
    if site == "hull":
        assert months == ["Apr 2024", "May 2024", "Jun 2024", "Jul 2024", "Aug 2024", "Sep 2024"]
        assert "Mental Health Act" not in text, "the MHA section is for PCREF sites (ethnicity breakdown)"


@pytest.mark.parametrize(("site", "indicator"), [("hull", "cmh-waiting-over-52-weeks"),
                                                 ("manchester", "cyp-waiting-over-52-weeks"),
                                                 ("sheffield", "cyp-waiting-over-52-weeks")])
def test_site_page_draws_the_mapped_series(real_app, real_only_dir, site, indicator):
    project = SITES[site][0]
    at = open_page(real_app, "site", site=site, indicator=indicator)
    observed = [v for chart in _charts(at).values() for name, ys in chart.items() if name == "Observed" for v in ys]
    stored = Store(real_only_dir).series(project=project, sites=[site], indicator=indicator)
    assert len(stored) == 6
    expected = stored["value"] / stored["denominator"] * 100 if indicator in SHARES else stored["value"]
    assert observed == pytest.approx(expected.tolist()), "the site page draws the six published months (as shares)"


def test_with_demo_data_the_notice_says_which_parts_are_synthetic(mixed_app):
    at = open_page(mixed_app, "published", site="manchester")
    warnings = [w.value for w in at.warning]
    assert PUBLISHED_DEMO_NOTICE in warnings and DEMO_NOTICE not in warnings
    assert "real published statistics" in PUBLISHED_DEMO_NOTICE and "synthetic demo" in PUBLISHED_DEMO_NOTICE
    assert any(k.endswith("published-measure-manchester-cyp-waiting-over-52-weeks") for k in _charts(at))
    assert any(k.endswith("published-rates-manchester") for k in _charts(at)), "the MHA section is still drawn"
    at = open_page(mixed_app, "site", site="manchester")
    assert MIXED_DEMO_NOTICE in [w.value for w in at.warning] and DEMO_NOTICE not in [w.value for w in at.warning]


def test_the_demo_store_alone_keeps_the_plain_synthetic_notice(app):
    at = open_page(app, "site", site="manchester")
    assert DEMO_NOTICE in [w.value for w in at.warning]


def test_a_site_user_sees_only_their_site(real_app, tmp_path, monkeypatch):
    from tests.app.conftest import AUTH

    policy = tmp_path / "policy.toml"
    policy.write_text('[[users]]\ndomain = "hey.nhs.uk"\nrole = "site"\nsites = ["hull"]\n', encoding="utf-8")
    monkeypatch.setenv("MHIN_ACCESS_POLICY", str(policy))
    real_app.secrets.update(AUTH)
    real_app.user = {"is_logged_in": True, "email": "pat@hey.nhs.uk"}
    at = open_page(real_app, "published", site="manchester")
    charts = _charts(at)
    assert charts and all("-hull-" in k for k in charts), list(charts)
    text = all_text(at)
    assert "Greater Manchester Mental Health" not in text and "Sheffield" not in text


def test_project_page_draws_the_mapped_series_of_each_site(real_app, real_only_dir):
    at = open_page(real_app, "project", project="pcref", indicator="cyp-waiting-over-52-weeks")
    charts = _charts(at)
    stored = Store(real_only_dir).series(project="pcref", indicator="cyp-waiting-over-52-weeks")
    for site in ("sheffield", "manchester"):
        traces = _chart(charts, f"its-pcref-{site}-cyp-waiting-over-52-weeks")
        own = stored[stored["site"] == site]
        assert traces["Observed"] == pytest.approx((own["value"] / own["denominator"] * 100).tolist()), "as shares"


def test_upload_page_stores_the_mapped_series_and_rollback_restores_the_earlier_values(app, real_data_dir):
    """On the demo store: the Sep 2024 file's Hull figure replaces the synthetic month, and goes on rollback."""
    import os

    name = "MHSDS_Data_4WW_SepPerf_2024.csv"
    store = Store(os.environ["MHIN_DATA_DIR"])
    synthetic = store.series(sites=["hull"], indicator="cmh-waiting-over-52-weeks")
    september = synthetic[synthetic["period"] == "2024-09-01"]
    at = open_page(app, "upload")
    at.file_uploader(key="upload-file").upload(name, (real_data_dir / "mhsds_4ww_2024" / name).read_bytes(), "text/csv")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Site series this file also stores" in all_text(at)
    mapped = at.dataframe[1].value
    assert mapped[mapped["Site"] == "Hull"][["Months", "First month"]].values.tolist() == [[1, "Sep 2024"]]
    at.button(key="upload-confirm").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "5 site-series rows mapped" in all_text(at)
    hull = store.series(sites=["hull"], indicator="cmh-waiting-over-52-weeks").set_index("period")
    assert hull.loc["2024-09-01", ["value", "denominator"]].tolist() == [1085, 3410]
    last = int(store.history()["ingest_id"].max())
    at.selectbox(key="rollback-id").set_value(last).run()
    at.button(key="rollback-confirm").click().run()
    assert not at.exception, [e.value for e in at.exception]
    after = store.series(sites=["hull"], indicator="cmh-waiting-over-52-weeks")
    assert after[after["period"] == "2024-09-01"]["value"].tolist() == september["value"].tolist()
    assert len(after) == len(synthetic)
