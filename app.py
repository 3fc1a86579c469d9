"""mhin-eval: navigation and page registry; the menu follows the signed-in user's role."""

from pathlib import Path

import streamlit as st

from mhin_eval.access import PolicyError, Role
from mhin_eval.ui import auth, chrome, faults

FAVICON = Path(__file__).parent / "mhin_eval" / "ui" / "static" / "favicon.png"
st.set_page_config(page_title=chrome.APP_NAME, page_icon=str(FAVICON), layout="wide")
chrome.apply_style()

EVERYONE = frozenset(Role)
EVALUATORS_AND_LEADS = frozenset({Role.EVALUATOR, Role.LEAD})
UPLOADERS = frozenset({Role.EVALUATOR, Role.SITE})
EVALUATORS = frozenset({Role.EVALUATOR})

#: (section, page file, title, icon, url path, roles that see it)
PAGES = [
    ("Dashboard", "pages/home.py", "Home", ":material/home:", "home", EVERYONE),
    ("Dashboard", "pages/overview.py", "Overview of results", ":material/table:", "overview", EVERYONE),
    ("Dashboard", "pages/project.py", "Projects", ":material/folder_open:", "project", EVERYONE),
    ("Dashboard", "pages/site.py", "Sites", ":material/location_on:", "site", EVERYONE),
    ("Dashboard", "pages/compare.py", "Compare sites", ":material/compare_arrows:", "compare", EVALUATORS_AND_LEADS),
    ("Dashboard", "pages/published.py", "Published statistics", ":material/public:", "published", EVERYONE),
    ("Dashboard", "pages/sustainability.py", "Sustainability", ":material/eco:", "sustainability", EVERYONE),
    ("Dashboard", "pages/present.py", "Present", ":material/slideshow:", "present", EVERYONE),
    ("Analysis", "pages/explorer.py", "Time-series explorer", ":material/insights:", "explorer", EVALUATORS),
    ("Analysis", "pages/methods.py", "Methods", ":material/menu_book:", "methods", EVERYONE),
    ("Data", "pages/upload.py", "Upload data", ":material/upload_file:", "upload", UPLOADERS),
]

with faults.shown_plainly():  # a storage fault or catalogue mistake is a message, not a traceback
    try:
        access = auth.signed_in_access()
    except PolicyError:  # every page shows the policy error
        access = None
    role = access.role if access is not None else None
    menu: dict[str, list] = {}
    for section, path, title, icon, url_path, roles in PAGES:
        # Without access (not signed in, not in the policy) every page only shows the login or the message,
        # so every link opens that instead of "page not found"; the menu itself is hidden.
        if role is None or role in roles:
            menu.setdefault(section, []).append(
                st.Page(path, title=title, icon=icon, url_path=url_path, default=url_path == "home")
            )

    page = st.navigation(menu, position="hidden")
    if role is not None:
        chrome.sidebar_menu(menu)
    st.set_page_config(page_title=chrome.page_title(page.title))
    page.run()
