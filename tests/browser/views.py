"""Every page of the menu and the project and site pages once per project: what the accessibility and layout
tests open (read from app.py's registry and the catalogue, so a new page or project is covered)."""

from __future__ import annotations

import ast

from mhin_eval.catalogue import PROJECT_ROOT, load_catalogue


def menu() -> list[tuple[str, str]]:
    """(url path, title) of every page in app.py's registry, read from its source (importing it runs the app)."""
    tree = ast.parse((PROJECT_ROOT / "app.py").read_text(encoding="utf-8"))
    pages = next(n.value for n in tree.body if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "PAGES")
    return [(ast.literal_eval(e.elts[4]), ast.literal_eval(e.elts[2])) for e in pages.elts]


def views() -> list[tuple[str, str]]:
    """Every page, and the project and site pages once per project (their tabs follow the project's data)."""
    cat = load_catalogue()
    out = [("" if path == "home" else path, title) for path, title in menu()]
    out += [(f"project?project={p.id}", "Projects") for p in cat.projects[1:]]
    firsts = {}
    for site in cat.sites:
        if not site.is_comparison:
            firsts.setdefault(site.project, site.id)
    out += [(f"site?site={s}", "Sites") for s in list(firsts.values())[1:]]
    return out
