"""`python -m mhin_eval export ...`: files written, the user's access applied, exit codes and messages."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from pptx import Presentation

from mhin_eval.cli import main
from mhin_eval.store import Store, seed

POLICY = """
[[users]]
email = "lee.lead@mhin.nhs.uk"
role = "lead"

[[users]]
email = "pat@hey.nhs.uk"
role = "site"
sites = ["hull"]
"""


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, catalogue):
    path = tmp_path_factory.mktemp("cli-export-store")
    seed(Store(path, catalogue=catalogue))
    return str(path)


@pytest.fixture
def policy(tmp_path, monkeypatch):
    path = tmp_path / "access-policy.toml"
    path.write_text(POLICY, encoding="utf-8")
    monkeypatch.setenv("MHIN_ACCESS_POLICY", str(path))
    return path


def test_export_site_deck_suppressed(data_dir, tmp_path, capsys, catalogue):
    out = tmp_path / "hull.pptx"
    code = main(["--data-dir", data_dir, "export", "deck", "--project", "aaot", "--site", "hull", "--out", str(out),
                 "--suppressed"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "suppressed view" in captured.out and "[100%] Deck ready" in captured.err
    slides = list(Presentation(io.BytesIO(out.read_bytes())).slides)
    # title + one glance slide + 7 indicators at one site (no pooling with one site) + a sustainability profile
    # per instrument (the demo assesses Hull with each) + against similar sites (Hull's donor pool) + facilitators
    # and barriers, then methods and caveats on as many slides as they take at 14 pt
    before = 1 + 1 + len(catalogue.indicators_of("aaot")) + len(catalogue.instruments) + 1 + 1
    assert "Against similar sites: Hull" in [s.shapes.title.text for s in slides[:before]]
    assert len(slides) > before
    assert [s.shapes.title.text for s in slides[before:]] == (
        ["Methods and caveats"] + ["Methods and caveats (continued)"] * (len(slides) - before - 1))
    assert slides[0].shapes.title.text == "Alcohol assertive outreach treatment: Hull"
    footers = [s for s in slides[1].shapes if s.name == "suppression marker"]
    assert footers and footers[0].text_frame.text == "Counts 1–7 suppressed"


def test_export_deck_for_a_general_audience(data_dir, tmp_path, capsys):
    out = tmp_path / "hull-public.pptx"
    code = main(["--data-dir", data_dir, "export", "deck", "--project", "aaot", "--site", "hull", "--out", str(out),
                 "--audience", "public"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "for a general audience" in captured.out
    titles = [s.shapes.title.text for s in Presentation(io.BytesIO(out.read_bytes())).slides]
    assert "Words used in these slides" in titles
    with pytest.raises(SystemExit) as usage:
        main(["--data-dir", data_dir, "export", "deck", "--project", "aaot", "--out", str(out), "--audience", "lay"])
    assert usage.value.code == 2
    assert "invalid choice: 'lay'" in capsys.readouterr().err


def test_export_tables_csv_and_excel(data_dir, tmp_path, catalogue):
    csv_path, xlsx_path = tmp_path / "results.csv", tmp_path / "results.xlsx"
    assert main(["--data-dir", data_dir, "export", "tables", "--project", "pcref", "--out", str(csv_path)]) == 0
    assert main(["--data-dir", data_dir, "export", "tables", "--project", "pcref", "--out", str(xlsx_path)]) == 0
    table = pd.read_csv(csv_path, encoding="utf-8-sig")
    assert len(table) == len(catalogue.sites_of("pcref")) * len(catalogue.indicators_of("pcref"))
    assert set(table["Site"]) == {"Sheffield", "Manchester"}
    assert pd.read_excel(xlsx_path, sheet_name="results").shape == table.shape
    pooled = tmp_path / "pooled.csv"
    assert main(["--data-dir", data_dir, "export", "tables", "--project", "pcref", "--table", "pooled",
                 "--out", str(pooled)]) == 0
    assert "Pooled" in " ".join(pd.read_csv(pooled, encoding="utf-8-sig")["Estimate of"])


def test_export_image_list_and_png(data_dir, tmp_path, capsys):
    assert main(["--data-dir", data_dir, "export", "image", "--project", "parent-cbt", "--list"]) == 0
    keys = [line.split("\t")[0] for line in capsys.readouterr().out.splitlines()]
    assert "its-east-of-england-referrals" in keys and "forest-referrals" in keys
    out = tmp_path / "referrals.png"
    assert main(["--data-dir", data_dir, "export", "image", "--project", "parent-cbt", "--chart",
                 "its-east-of-england-referrals", "--out", str(out), "--width", "800", "--height", "450",
                 "--scale", "1"]) == 0
    from PIL import Image

    with Image.open(out) as image:
        assert image.size == (800, 450)


def test_export_report_as_a_site_user(data_dir, tmp_path, policy, capsys):
    out = tmp_path / "report.html"
    assert main(["--data-dir", data_dir, "export", "report", "--project", "aaot", "--user", "pat@hey.nhs.uk",
                 "--out", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    assert "Hull" in html and "Greater Manchester" not in html
    assert "Small numbers suppressed" in html
    code = main(["--data-dir", data_dir, "export", "report", "--project", "pcref", "--user", "pat@hey.nhs.uk",
                 "--out", str(tmp_path / "other.html")])
    assert code == 1 and "outside the sites you may see" in capsys.readouterr().err
    assert not (tmp_path / "other.html").exists()


def test_export_refusals_and_usage_errors(data_dir, tmp_path, policy, capsys):
    args = ["--data-dir", data_dir, "export"]
    assert main([*args, "report", "--project", "aaot", "--user", "nobody@x.org", "--out", str(tmp_path / "r.html")]) == 1
    assert "not in the access policy" in capsys.readouterr().err
    assert main([*args, "deck", "--project", "aaot", "--out", str(tmp_path / "deck.pdf")]) == 2
    assert "must end in .pptx" in capsys.readouterr().err
    assert main([*args, "report", "--project", "nope", "--out", str(tmp_path / "r.html")]) == 2
    assert "Unknown project 'nope'" in capsys.readouterr().err
    assert main([*args, "report", "--project", "aaot", "--site", "sheffield", "--out", str(tmp_path / "r.html")]) == 2
    assert "belongs to project 'pcref'" in capsys.readouterr().err
    assert main([*args, "image", "--project", "aaot", "--chart", "nope", "--out", str(tmp_path / "x.png")]) == 2
    assert "no chart 'nope'" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.html")) and not list(tmp_path.glob("*.p*"))
