"""Who may do what with objections, complaints and the calendar."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from accounts.models import Role
from accounts.policies import is_bidder, is_operator, is_oversight, is_tenderer
from bidding.tenders.policies import is_owner


def may_file(user) -> bool:
    """A bidder (or would-be bidder) or another interested party with an organisation."""
    return bool(is_bidder(user) or is_tenderer(user))


def is_supervisor(user) -> bool:
    return bool(user.is_authenticated and user.role == Role.SUPERVISOR)


def require_supervisor(user) -> None:
    if not is_supervisor(user):
        raise PermissionDenied(_("Only a supervisor handles complaints."))


def require_oversight(user) -> None:
    if not is_oversight(user):
        raise PermissionDenied(_("Only supervisors and the trading centre see all complaints."))


def require_operator(user) -> None:
    if not is_operator(user):
        raise PermissionDenied(_("Only the trading centre edits the working-day calendar."))


def may_view(user, complaint) -> bool:
    if not user.is_authenticated:
        return False
    if is_oversight(user):
        return True
    if user.organisation_id and user.organisation_id == complaint.complainant_id:
        return True
    return is_owner(user, complaint.tender)


def require_view(user, complaint) -> None:
    if not may_view(user, complaint):
        raise PermissionDenied(_("This complaint is not yours to see."))


def is_complainant(user, complaint) -> bool:
    return bool(user.is_authenticated and user.organisation_id
                and user.organisation_id == complaint.complainant_id and may_file(user))


def require_tender_owner(user, tender) -> None:
    if not is_owner(user, tender):
        raise PermissionDenied(_("Only the tenderer or its agency answers objections."))
