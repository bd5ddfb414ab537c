"""Who a user is on the platform: the role predicates every stage's policies build on.

Each stage has its own ``policies`` module that says who may do what there; they ask
these questions instead of comparing ``user.role`` by hand.
"""

from __future__ import annotations

from .models import Role


def is_bidder(user) -> bool:
    """Signed in as a bidder of an organisation."""
    return bool(user.is_authenticated and user.role == Role.BIDDER and user.organisation_id)


def is_tenderer(user) -> bool:
    """Signed in as staff of a tenderer or a tendering agency."""
    return bool(user.is_authenticated and user.role == Role.TENDERER and user.organisation_id)


def is_operator(user) -> bool:
    """Signed in as staff of the trading centre."""
    return bool(user.is_authenticated and user.role == Role.OPERATOR)


def is_oversight(user) -> bool:
    """A supervisor or the trading centre: those who watch every tender."""
    return bool(user.is_authenticated and user.role in (Role.SUPERVISOR, Role.OPERATOR))


def is_custodian_role(user) -> bool:
    """A role that may hold a share of an opening key."""
    return bool(user.is_authenticated
                and user.role in (Role.OPERATOR, Role.SUPERVISOR, Role.NOTARY))
