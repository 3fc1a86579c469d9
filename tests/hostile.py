"""Hostile text for the tests of the one text rule (mhin_eval.text): markdown images and links, HTML
anchors and styles, script URLs and spreadsheet formulas, as a file or a catalogue could carry them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

EVIL = "evil.example"
#: (name, text): each must be shown as exactly these characters and never fetch, link, style or run.
HOSTILE = {
    "image": f"![px](http://{EVIL}/beacon.png) tracked",
    "link": f"[click here](http://{EVIL}/phish) now",
    "anchor": f'<a href="http://{EVIL}/a">anchor</a> text',
    "style": "<style>body{display:none}</style>styled",
    "script": '<img src=x onerror="alert(1)"> javascript:alert(1)',
    "formula": '=HYPERLINK("http://evil.example/f","open")',
    "at": "@SUM(1+1)*cmd|' /C calc'!A0",
    "bold": "<b>bold</b> and **strong** and :red[red]",
}


def findings_csv(folder: Path, project: str = "aaot", site: str = "hull") -> Path:
    """An implementation-findings extract whose summaries and quotes are the hostile strings."""
    rows = [{"project": project, "site": site, "date": "2023-06-01",
             "kind": "barrier" if n % 2 else "facilitator", "domain": "inner setting",
             "summary": f"{name}: {text}", "source": "interviews", "quote": f"{name} quote {text}"}
            for n, (name, text) in enumerate(HOSTILE.items())]
    path = Path(folder) / "hostile-findings.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path
