"""Who may see what: access policy and roles (policy.py) and small-number suppression (suppression.py)."""

from mhin_eval.access.policy import Access, AccessPolicy, PolicyError, Role, load_policy

__all__ = ["Access", "AccessPolicy", "PolicyError", "Role", "load_policy"]
