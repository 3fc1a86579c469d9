"""A catalogue with many sites for testing and benchmarking a national roll-out (bench/scale.py).

The shipped catalogue's intervention sites are copied, in turn, until there are ``n_sites`` intervention
sites: copy k of "hull" is "hull-k" ("Hull 2"), in the same project and region, with the same go-live and
comparison series, so ``python -m mhin_eval demo`` generates data for every copy (the demo is driven by the
catalogue) and each copy is analysed like its original. Point ``MHIN_CATALOGUE`` at the written file.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from mhin_eval.catalogue import DEFAULT_CATALOGUE


def _toml_value(value) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def scaled_catalogue_text(n_sites: int, base: Path = DEFAULT_CATALOGUE) -> str:
    """The base catalogue's text with copies of its intervention sites appended, ``n_sites`` intervention
    sites in all (never fewer than the base has)."""
    text = Path(base).read_text(encoding="utf-8")
    sites = [s for s in tomllib.loads(text)["sites"] if s.get("role", "intervention") != "comparison"]
    blocks = []
    for i in range(max(0, n_sites - len(sites))):
        original = sites[i % len(sites)]
        copy = i // len(sites) + 2
        site = {**original, "id": f"{original['id']}-{copy}", "name": f"{original['name']} {copy}"}
        blocks.append("[[sites]]\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in site.items()))
    return text.rstrip("\n") + "\n\n" + "\n".join(blocks) if blocks else text


def write_scaled_catalogue(n_sites: int, path: Path, base: Path = DEFAULT_CATALOGUE) -> Path:
    """Write :func:`scaled_catalogue_text` to ``path``; returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(scaled_catalogue_text(n_sites, base), encoding="utf-8")
    return path
