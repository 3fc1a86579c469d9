"""House layering rules: the analysis layer is pure, and only the UI layer imports Streamlit.

Static checks parse every Python file with ``ast`` (``import x``, ``from x import y`` and string
arguments of ``importlib.import_module`` / ``__import__``); a subprocess check also catches
imports that arrive indirectly through another module.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from mhin_eval.catalogue import PROJECT_ROOT

ANALYSIS_DIR = PROJECT_ROOT / "mhin_eval" / "analysis"
CHARTS = PROJECT_ROOT / "mhin_eval" / "charts.py"
UI_PATHS = ("app.py", "pages/", "mhin_eval/ui/")
#: Streamlit's own test harness (streamlit.testing.v1.AppTest) drives app.py and pages/ from here
#: (the app tests, and the page and scale benchmarks' server-side timings).
#: Test and bench harnesses (bench/load.py replays Streamlit's own protobuf messages).
STREAMLIT_TEST_HARNESS = ("tests/app/", "bench/pages.py", "bench/scale.py", "bench/load.py")
SKIPPED_DIRS = {"__pycache__", "node_modules", "test-artifacts", "build", "dist"}


def imported_top_level_packages(source: str) -> set[str]:
    """Top-level package names a module imports (absolute imports only; relative ones stay inside the repo)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and _is_dynamic_import(node.func) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                names.add(first.value.split(".")[0])
    return names


def _is_dynamic_import(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return func.id in ("__import__", "import_module")
    return isinstance(func, ast.Attribute) and func.attr == "import_module"


def repo_python_files() -> list[Path]:
    """Every .py file of the project, without virtualenvs, hidden folders, caches and artefacts."""
    files = []
    for path in PROJECT_ROOT.rglob("*.py"):
        parts = path.relative_to(PROJECT_ROOT).parts
        if any(p.startswith(".") or p in SKIPPED_DIRS or p.endswith("venv") for p in parts[:-1]):
            continue
        files.append(path)
    return sorted(files)


def _relative(path: Path) -> str:
    return path.relative_to(PROJECT_ROOT).as_posix()


def _imports(path: Path) -> set[str]:
    return imported_top_level_packages(path.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- the parser itself


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import streamlit as st", {"streamlit"}),
        ("import plotly.graph_objects as go", {"plotly"}),
        ("from streamlit.testing.v1 import AppTest", {"streamlit"}),
        ("from plotly import express", {"plotly"}),
        ("import os, streamlit", {"os", "streamlit"}),
        ("def f():\n    import streamlit\n", {"streamlit"}),
        ("try:\n    import plotly\nexcept ImportError:\n    plotly = None\n", {"plotly"}),
        ("import importlib\nst = importlib.import_module('streamlit')", {"importlib", "streamlit"}),
        ("st = __import__('streamlit.components.v1')", {"streamlit"}),
        ("from . import streamlit_helpers", set()),
        ("from .results import Estimate", set()),
        ("x = 'import streamlit'  # import plotly", set()),
    ],
)
def test_import_parser_sees_every_form_of_import(source, expected):
    assert imported_top_level_packages(source) == expected


def test_the_file_walk_finds_the_project_and_skips_the_virtualenv():
    found = {_relative(p) for p in repo_python_files()}
    assert {"app.py", "mhin_eval/analysis/its.py", "mhin_eval/charts.py", "tests/unit/test_layering.py"} <= found
    assert any(p.startswith("pages/") for p in found)
    assert not any(p.startswith(".venv/") or "/site-packages/" in p for p in found)


# --------------------------------------------------------------------------- the rules


def test_analysis_modules_import_neither_streamlit_nor_plotly():
    modules = sorted(ANALYSIS_DIR.rglob("*.py"))
    assert len(modules) >= 6, "the analysis package was not found"
    offending = {
        _relative(path): sorted(_imports(path) & {"streamlit", "plotly"})
        for path in modules
        if _imports(path) & {"streamlit", "plotly"}
    }
    assert offending == {}


def test_charts_module_does_not_import_streamlit():
    assert "streamlit" not in _imports(CHARTS)


def test_only_app_pages_and_ui_import_streamlit():
    allowed = UI_PATHS + STREAMLIT_TEST_HARNESS
    importers = [_relative(p) for p in repo_python_files() if "streamlit" in _imports(p)]
    assert "app.py" in importers, "the walk should at least see app.py importing streamlit"
    assert [p for p in importers if not p.startswith(allowed)] == []


def test_importing_the_analysis_layer_and_charts_loads_no_streamlit():
    """Also catches indirect imports (an analysis module importing one that imports Streamlit)."""
    analysis_modules = sorted(f"mhin_eval.analysis.{p.stem}" for p in ANALYSIS_DIR.glob("*.py") if p.stem != "__init__")
    probe = (
        "import importlib, json, sys\n"
        "loaded = {}\n"
        "for name in sys.argv[1:]:\n"
        "    before = set(sys.modules)\n"
        "    importlib.import_module(name)\n"
        "    loaded[name] = sorted({m.split('.')[0] for m in set(sys.modules) - before} & {'streamlit', 'plotly'})\n"
        "print(json.dumps(loaded))\n"
    )
    analysis = subprocess.run(
        [sys.executable, "-c", probe, "mhin_eval.analysis", *analysis_modules],
        capture_output=True, text=True, cwd=PROJECT_ROOT, check=True,
    )  # fmt: skip
    assert json.loads(analysis.stdout) == {name: [] for name in ["mhin_eval.analysis", *analysis_modules]}
    charts = subprocess.run(
        [sys.executable, "-c", probe, "mhin_eval.charts"], capture_output=True, text=True, cwd=PROJECT_ROOT,
        check=True,
    )  # fmt: skip
    assert json.loads(charts.stdout) == {"mhin_eval.charts": ["plotly"]}
