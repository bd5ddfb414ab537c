"""Who may do what in the expert pool, and the sealed list (Law 37, Interim 8).

Until evaluation starts only the drawn experts themselves know they were drawn: the
trading centre sees progress counts, not names; tenderers, bidders and other experts
learn nothing. When evaluation starts the committee becomes visible to the tenderer
(and to oversight); names are public once the result is published.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from accounts import policies as roles
from accounts.models import Role
from bidding.tenders.models import Tender

S = Tender.Status
EVALUATION_ON = frozenset({S.EVALUATION, S.CANDIDATES, S.AWARD, S.AWARDED, S.CONTRACTED})
RESULT_PUBLISHED = frozenset({S.CANDIDATES, S.AWARD, S.AWARDED, S.CONTRACTED})


def expert_of(user):
    """The user's own expert record, or None."""
    if not getattr(user, "is_authenticated", False):
        return None
    return getattr(user, "expert_profile", None)


def can_edit_profile(user, expert) -> bool:
    """Experts keep their own profile."""
    return bool(expert is not None and expert.user_id and expert.user_id == user.pk)


def can_manage_pool(user) -> bool:
    """The trading centre admits, suspends and imports experts."""
    return roles.is_operator(user)


def can_request_draw(user) -> bool:
    return roles.is_operator(user)


def can_verify(user) -> bool:
    """Supervisors verify draws (the trading centre may run the same check)."""
    return roles.is_oversight(user)


def can_see_progress(user) -> bool:
    """Counts only: how many called, confirmed, declined; never who."""
    return roles.is_oversight(user)


def can_see_members(user, draw) -> bool:
    """Whether ``user`` may see who sits on the committee of ``draw`` (names)."""
    status = draw.tender.status
    if status in RESULT_PUBLISHED:
        return True
    if status in EVALUATION_ON:
        return bool(roles.is_oversight(user) or (
            roles.is_tenderer(user) and user.organisation_id in draw.tender.owner_organisations()
        ))
    return False


def can_see_gateway(user) -> bool:
    """The simulated SMS/voice gateway shows whom it called: platform administrators only
    (an operator would learn the sealed list from it)."""
    return bool(getattr(user, "is_authenticated", False) and user.is_superuser)


def beacon_party_of(user, draw) -> str:
    """The party ``user`` contributes for in the draw's commit-reveal beacon."""
    parties = draw.params.get("beacon_parties", [])
    if not getattr(user, "is_authenticated", False) or user.role not in parties:
        raise PermissionDenied(_("You are not one of this draw's beacon parties."))
    return user.role


NOTARY = Role.NOTARY
