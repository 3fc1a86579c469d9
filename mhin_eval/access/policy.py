"""Identity to access: an access policy file maps users (by email or email domain) to a role and,
for site users, their sites.

Roles (issue 5):
- ``evaluator``: every site, participant rows, uploads for any site, rollback; may switch to the
  suppressed view to see what others see.
- ``lead``: every site, suppressed outputs only, no participant rows, no uploads.
- ``site``: its own site or sites only, suppressed outputs, uploads for those sites.

Without an ``[auth]`` section the app runs in local single-user mode as an evaluator (``Access.local()``).
A logged-in user who matches no policy entry gets no access at all (``policy.access_for`` returns None).

Policy file (TOML, ``data/access-policy.toml`` unless ``MHIN_ACCESS_POLICY`` names another)::

    [[users]]
    email = "a.evaluator@nhs.net"
    role = "evaluator"

    [[users]]
    domain = "hey.nhs.uk"          # anyone with an address in this domain
    role = "site"
    sites = ["hull"]

An exact email entry wins over a domain entry.
"""

from __future__ import annotations

import enum
import os
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from mhin_eval.catalogue import PROJECT_ROOT, Catalogue

POLICY_ENV = "MHIN_ACCESS_POLICY"
DEFAULT_POLICY_PATH = PROJECT_ROOT / "data" / "access-policy.toml"


class PolicyError(ValueError):
    """The policy file is malformed; the message names the file, entry and fix."""


class Role(enum.StrEnum):
    EVALUATOR = "evaluator"
    LEAD = "lead"
    SITE = "site"


@dataclass(frozen=True)
class Access:
    """What one user may see and do. ``sites`` is None for every site; a tuple limits the user to those.

    ``suppressed`` is True whenever outputs must be small-number suppressed: always for leads and site
    users, and for an evaluator who switched to the suppressed view.
    """

    user: str
    role: Role
    sites: tuple[str, ...] | None = None
    suppressed: bool = False
    local: bool = False

    def __post_init__(self):
        if self.role is not Role.EVALUATOR and not self.suppressed:
            object.__setattr__(self, "suppressed", True)
        if self.role is Role.SITE and self.sites is None:
            raise PolicyError(f"site user {self.user} needs a list of sites")

    @classmethod
    def local_evaluator(cls) -> Access:
        """Local single-user mode (no [auth] configured): an evaluator seeing everything."""
        return cls(user="local", role=Role.EVALUATOR, local=True)

    @property
    def scope(self) -> tuple[str, ...] | None:
        """The site scope every store query and cache key takes (None = all sites)."""
        return self.sites

    @property
    def can_see_participants(self) -> bool:
        return self.role is Role.EVALUATOR and not self.suppressed

    @property
    def can_upload(self) -> bool:
        return self.role in (Role.EVALUATOR, Role.SITE)

    @property
    def can_rollback(self) -> bool:
        return self.role is Role.EVALUATOR

    def allows_site(self, site_id: str) -> bool:
        return self.sites is None or site_id in self.sites

    def visible(self, site_ids: Iterable[str]) -> list[str]:
        """The given sites this user may see, in the given order."""
        return [s for s in site_ids if self.allows_site(s)]

    def with_suppression(self, suppressed: bool) -> Access:
        """An evaluator's switch to (or from) the suppressed view; other roles stay suppressed."""
        return replace(self, suppressed=suppressed)

    def sites_of(self, catalogue: Catalogue, project: str) -> tuple:
        """The intervention sites of a project this user may see (catalogue order)."""
        return tuple(s for s in catalogue.sites_of(project) if self.allows_site(s.id))

    def project_ids(self, catalogue: Catalogue) -> tuple[str, ...]:
        """Projects with at least one site this user may see."""
        return tuple(p for p in catalogue.project_ids if self.sites_of(catalogue, p))

    def data_scope(self, catalogue: Catalogue) -> tuple[str, ...] | None:
        """Sites whose stored rows this user's queries read: their sites plus those sites' comparison
        series (controls used in their own analyses), or None for every site."""
        if self.sites is None:
            return None
        known = {s.id: s for s in catalogue.sites}
        extra = [c for s in self.sites if s in known for c in known[s].comparison_sites]
        return tuple(dict.fromkeys([*self.sites, *extra]))

    @property
    def cache_key(self) -> tuple:
        """What a cached result depends on: the scope and whether it is suppressed (not the user's name)."""
        return (self.sites, self.suppressed, self.can_see_participants)


@dataclass(frozen=True)
class PolicyEntry:
    role: Role
    sites: tuple[str, ...] | None
    email: str | None = None
    domain: str | None = None


@dataclass(frozen=True)
class AccessPolicy:
    """The parsed policy file: exact emails and domains, each to a role and sites."""

    entries: tuple[PolicyEntry, ...] = field(default_factory=tuple)
    path: Path | None = None

    def access_for(self, email: str | None) -> Access | None:
        """The access of a logged-in user, or None when the policy does not know them."""
        if not email:
            return None
        email = email.strip().lower()
        domain = email.rpartition("@")[2]
        match = next((e for e in self.entries if e.email == email), None)
        match = match or next((e for e in self.entries if e.domain and e.domain == domain), None)
        if match is None:
            return None
        return Access(user=email, role=match.role, sites=match.sites)


def _entry(raw: dict, index: int, path: Path, catalogue: Catalogue | None) -> PolicyEntry:
    where = f"{path}, [[users]] entry {index + 1}"
    email, domain = raw.get("email"), raw.get("domain")
    if bool(email) == bool(domain):
        raise PolicyError(f"{where}: give exactly one of `email` or `domain`.")
    try:
        role = Role(str(raw.get("role", "")).strip().lower())
    except ValueError:
        raise PolicyError(
            f"{where}: role {raw.get('role')!r} is not one of evaluator, lead, site."
        ) from None
    sites = raw.get("sites")
    if role is Role.SITE:
        if not sites or not isinstance(sites, list):
            raise PolicyError(f'{where}: a site user needs `sites = ["site-id", ...]`.')
    elif sites is not None:
        raise PolicyError(f"{where}: only site users have `sites`; {role} users see every site.")
    if sites is not None and catalogue is not None:
        known = {s.id for s in catalogue.sites}
        unknown = [s for s in sites if s not in known]
        if unknown:
            raise PolicyError(f"{where}: unknown site {unknown[0]!r}; known sites: {', '.join(sorted(known))}.")
    return PolicyEntry(
        role=role,
        sites=tuple(sites) if sites is not None else None,
        email=str(email).strip().lower() if email else None,
        domain=str(domain).strip().lower().lstrip("@") if domain else None,
    )


def policy_path() -> Path:
    """The policy file in use: ``MHIN_ACCESS_POLICY`` or data/access-policy.toml."""
    return Path(os.environ.get(POLICY_ENV) or DEFAULT_POLICY_PATH)


def load_policy(path: str | os.PathLike | None = None, catalogue: Catalogue | None = None) -> AccessPolicy:
    """Read the policy file (``policy_path()`` unless given); a missing file is an empty policy, so nobody
    who logs in gets access until they are added."""
    path = Path(path or policy_path())
    if not path.exists():
        return AccessPolicy(path=path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{path}: not valid TOML ({exc}).") from None
    entries = tuple(_entry(raw, i, path, catalogue) for i, raw in enumerate(data.get("users", [])))
    return AccessPolicy(entries=entries, path=path)
