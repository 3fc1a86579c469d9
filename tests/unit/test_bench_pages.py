"""Smoke test of bench/pages.py: it serves the app, times one page and prints its row (no time is asserted)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from mhin_eval.catalogue import PROJECT_ROOT

NUMBER = r"(\d+\.\d\d)"


@pytest.mark.browser
def test_bench_prints_a_timing_row_for_the_home_page():
    """Home is the default page: its menu click starts from the methods page and follows the link to "/"."""
    done = subprocess.run(
        [sys.executable, "bench/pages.py", "--pages", "home", "--repeat", "1"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert any(line.startswith("page") and "AppTest cold s" in line and "browser warm s" in line
               and "via menu s" in line and "server CPU/view s" in line for line in lines)
    row = re.search(rf"^home\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+(\d+\.\d\d\d)\s+"
                    r"(pass|FAIL: .+)$", done.stdout, re.M)
    assert row, done.stdout
    assert all(float(row.group(i)) > 0 for i in range(1, 7))
    assert "error" not in done.stdout


def test_unknown_page_is_refused_with_the_registered_names():
    done = subprocess.run(
        [sys.executable, "bench/pages.py", "--pages", "no-such-page", "--repeat", "1"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode != 0
    assert "unknown page(s) no-such-page" in done.stderr and "overview" in done.stderr
