"""Catalogue mistakes are found at start-up, all at once: load_catalogue on bad TOML files lists each mistake
with its entry, field and fix; the server refuses to start with the list; the CLI prints it and exits 1."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from mhin_eval import cli
from mhin_eval.catalogue import DEFAULT_CATALOGUE, PROJECT_ROOT, CatalogueError, load_catalogue

ORIGINAL = DEFAULT_CATALOGUE.read_text(encoding="utf-8")

#: (name, edit of the shipped catalogue's text, what the message must say)
MISTAKES = [
    ("threshold in words", ("disclosure_threshold = 7", 'disclosure_threshold = "seven"'),
     r"settings\.disclosure_threshold = 'seven' must be a whole number"),
    ("id breaks the rule", ('id = "hull"\n', 'id = "Hull Site"\n'),
     r"site 'Hull Site': the id breaks the id rule \(lower-case letters, digits and single hyphens"),
    ("duplicate site id", ('id = "greater-manchester"\n', 'id = "hull"\n'), r"duplicate site id 'hull'"),
    ("unknown comparison site", ('comparison_sites = ["aaot-comparison"]', 'comparison_sites = ["nowhere"]'),
     r"unknown comparison site 'nowhere'"),
    ("indicator of an unknown project", ('project = "aaot"\nlabel', 'project = "no-such-project"\nlabel'),
     r"indicator 'no-such-project/.*': unknown project 'no-such-project'"),
    ("a number where text goes", ('trust_code = "RV9"', "trust_code = 9"),
     r"sites\[0\] \(hull\): trust_code = 9 must be a text in quotes"),
    ("a date that is not one", ('go_live = "2021-04-01"', 'go_live = "2021-04-31"'), r"'2021-04-31' is not a date"),
    ("standard errors misspelt", ('standard_errors = "ar1"', 'standard_errors = "AR(1)"'),
     r"settings\.standard_errors = 'AR\(1\)' must be one of ar1"),
]


def edited(text: str, *edits) -> str:
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def write(tmp_path, text: str):
    path = tmp_path / "catalogue.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("edit", "message"), [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES])
def test_each_mistake_is_named_with_its_entry_and_fix(tmp_path, edit, message):
    path = write(tmp_path, edited(ORIGINAL, edit))
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(path)
    text = str(caught.value)
    assert text.startswith(f"{path}: 1 mistake(s)")
    assert re.search(message, text), text


def test_every_mistake_is_listed_at_once(tmp_path):
    # One mistake per entry: an entry that cannot be built (e.g. a bad date) is not checked further.
    apart = [m for m in MISTAKES if m[0] not in ("duplicate site id", "a date that is not one", "a number where text goes")]
    path = write(tmp_path, edited(ORIGINAL, *(m[1] for m in apart)))
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(path)
    lines = [line for line in str(caught.value).splitlines() if line.startswith("- ")]
    assert len(lines) == len(apart)
    for name, _, message in apart:
        assert any(re.search(message, line) for line in lines), (name, lines)


def test_a_missing_catalogue_file_names_the_path_and_the_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("MHIN_CATALOGUE", str(tmp_path / "nope.toml"))
    with pytest.raises(CatalogueError, match=r"nope\.toml: the catalogue file cannot be read .* MHIN_CATALOGUE"):
        load_catalogue()


def test_the_cli_prints_the_list_and_exits_1(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MHIN_CATALOGUE", str(write(tmp_path, edited(ORIGINAL, MISTAKES[0][1], MISTAKES[1][1]))))
    assert cli.main(["--data-dir", str(tmp_path / "store"), "history"]) == 1
    err = capsys.readouterr().err
    assert "2 mistake(s)" in err and "disclosure_threshold" in err and "Hull Site" in err
    assert "Traceback" not in err


def test_the_server_does_not_start_and_lists_the_mistakes(tmp_path):
    path = write(tmp_path, edited(ORIGINAL, MISTAKES[0][1], MISTAKES[2][1]))
    env = {**os.environ, "MHIN_CATALOGUE": str(path), "MHIN_DATA_DIR": str(tmp_path / "store"), "MHIN_WARM_UP": "0"}
    done = subprocess.run([sys.executable, "-m", "mhin_eval.ui.serve", "--server.port", "8599"], cwd=PROJECT_ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "the server was not started" in done.stderr and "2 mistake(s)" in done.stderr
    assert "duplicate site id 'hull'" in done.stderr and "settings.disclosure_threshold" in done.stderr
    assert "Traceback" not in done.stderr
