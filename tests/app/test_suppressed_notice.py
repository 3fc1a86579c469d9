"""Suppressed views say so on every page (issue 15): counts hidden or rounded and why, at the top of the page;
and the local-mode note in the sidebar does not call the numbers unsuppressed while they are suppressed."""

from __future__ import annotations

import pytest

from mhin_eval.catalogue import PROJECT_ROOT
from tests.app.conftest import all_text, open_page, unescaped
from tests.app.test_roles import EVALUATOR, HULL_USER, LEAD, SITE_USER_PAGES

PAGES = sorted(p.stem for p in (PROJECT_ROOT / "pages").glob("*.py"))
NOTICE = "Small numbers suppressed"
#: Pages that draw the synthetic-data marker themselves (auth.page_access(notices=False)) say it in one line.
ONE_LINE = {"present"}
LEAD_PAGES = [p for p in PAGES if p not in ("explorer", "upload")]


def notices(at) -> list[str]:
    return [unescaped(str(e.value)) for e in list(at.info) + list(at.main.caption) if NOTICE in unescaped(str(e.value))]


def sidebar_text(at) -> str:
    return "\n".join(unescaped(str(e.value)) for e in at.sidebar.caption)


@pytest.mark.parametrize("page", PAGES)
def test_the_evaluators_suppressed_view_says_so_on_every_page_and_the_sidebar_agrees(app, page):
    at = open_page(app, page)
    assert notices(at) == [] and "unsuppressed numbers" in sidebar_text(at)
    at.sidebar.toggle(key="view:suppressed").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    [notice] = notices(at)
    assert "counts from 1 to 7 show as *" in notice.lower() and "rounded to the nearest 5" in notice
    assert page in ONE_LINE or "You switched on “Show what others see”" in notice
    assert "unsuppressed" not in sidebar_text(at) and "small numbers are suppressed" in sidebar_text(at)
    at.sidebar.toggle(key="view:suppressed").set_value(False).run()
    assert notices(at) == [] and "unsuppressed numbers" in sidebar_text(at)


@pytest.mark.parametrize(("email", "page"), [(LEAD, p) for p in LEAD_PAGES] + [(HULL_USER, p) for p in SITE_USER_PAGES],
                         ids=lambda v: v.split("@")[0] if "@" in v else v)
def test_roles_that_only_see_suppressed_numbers_are_told_on_every_page(signed_in, email, page):
    at = open_page(signed_in(email), page)
    [notice] = notices(at)
    assert page in ONE_LINE or "only the evaluation team sees them unrounded" in notice
    assert NOTICE in all_text(at)


def test_the_evaluator_signed_in_sees_no_notice_until_switching(signed_in):
    at = open_page(signed_in(EVALUATOR), "overview")
    assert notices(at) == []
    at.sidebar.toggle(key="view:suppressed").set_value(True).run()
    assert len(notices(at)) == 1
