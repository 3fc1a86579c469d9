"""Access policy (mhin_eval.access.policy): roles, scopes, precedence and clear errors for a bad file."""

from __future__ import annotations

import pytest

from mhin_eval.access import Access, PolicyError, Role, load_policy
from mhin_eval.catalogue import PROJECT_ROOT, load_catalogue

EXAMPLE = PROJECT_ROOT / "data" / "access-policy.example.toml"


def write(tmp_path, text):
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_example_parses_against_the_catalogue():
    policy = load_policy(EXAMPLE, catalogue=load_catalogue())
    hull = policy.access_for("Someone@Hull.Example.NHS.uk")
    assert (hull.role, hull.sites, hull.suppressed) == (Role.SITE, ("hull",), True)
    assert policy.access_for("evaluation.team@mhin.example.nhs.uk").role is Role.EVALUATOR
    assert policy.access_for("x@leads.mhin.example.nhs.uk").sites is None
    assert policy.access_for("stranger@example.org") is None
    assert policy.access_for(None) is None


def test_an_exact_email_wins_over_its_domain(tmp_path):
    policy = load_policy(write(tmp_path, """
[[users]]
domain = "hey.nhs.uk"
role = "site"
sites = ["hull"]
[[users]]
email = "boss@hey.nhs.uk"
role = "lead"
"""))
    assert policy.access_for("boss@hey.nhs.uk").role is Role.LEAD
    assert policy.access_for("other@hey.nhs.uk").role is Role.SITE


def test_a_missing_policy_file_grants_nobody(tmp_path):
    assert load_policy(tmp_path / "absent.toml").access_for("anyone@nhs.net") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[users]]\nemail = "a@b"\nrole = "admin"\n', "role 'admin' is not one of"),
        ('[[users]]\nemail = "a@b"\nrole = "site"\n', "needs `sites"),
        ('[[users]]\nemail = "a@b"\ndomain = "b"\nrole = "lead"\n', "exactly one of"),
        ('[[users]]\nemail = "a@b"\nrole = "lead"\nsites = ["hull"]\n', "only site users"),
        ('[[users]]\nemail = "a@b"\nrole = "site"\nsites = ["leeds"]\n', "unknown site 'leeds'"),
        ('[[users]\nemail = "a@b"\n', "not valid TOML"),
    ],
)
def test_a_bad_policy_names_the_file_entry_and_fix(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(PolicyError, match="policy.toml") as error:
        load_policy(path, catalogue=load_catalogue())
    assert message in str(error.value)


def test_roles_decide_suppression_participants_uploads_and_rollback():
    lead = Access(user="l", role=Role.LEAD)
    site = Access(user="s", role=Role.SITE, sites=("hull",))
    evaluator = Access(user="e", role=Role.EVALUATOR)
    assert lead.suppressed and site.suppressed and not evaluator.suppressed
    assert evaluator.with_suppression(True).suppressed and not evaluator.with_suppression(True).can_see_participants
    assert lead.with_suppression(False).suppressed, "a lead cannot switch suppression off"
    assert [a.can_upload for a in (evaluator, lead, site)] == [True, False, True]
    assert [a.can_rollback for a in (evaluator, lead, site)] == [True, False, False]
    assert lead.cache_key != evaluator.cache_key


def test_a_site_users_data_scope_includes_its_comparison_series_only():
    cat = load_catalogue()
    gm = Access(user="g", role=Role.SITE, sites=("greater-manchester",))
    assert gm.data_scope(cat) == ("greater-manchester", "aaot-comparison")
    assert gm.project_ids(cat) == ("aaot",)
    assert [s.id for s in gm.sites_of(cat, "aaot")] == ["greater-manchester"]
    assert Access(user="e", role=Role.EVALUATOR).data_scope(cat) is None
