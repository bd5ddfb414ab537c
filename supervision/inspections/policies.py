"""Who may do what in inspections and filings. A supervisor's department is the
supervision organisation the user belongs to."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from accounts.models import Organisation, Role


def is_supervisor(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active
                and user.role == Role.SUPERVISOR)


def is_oversight(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active
                and user.role in (Role.SUPERVISOR, Role.OPERATOR))


def require_supervisor(user) -> None:
    if not is_supervisor(user):
        raise PermissionDenied(_("Only a supervisor can do this."))


def require_oversight(user) -> None:
    if not is_oversight(user):
        raise PermissionDenied(_("Only a supervisor or the trading centre can do this."))


def department_of(user) -> Organisation | None:
    """The supervisor's department: their organisation, if it is a supervision one."""
    org = getattr(user, "organisation", None)
    if org is not None and org.kind == Organisation.Kind.SUPERVISOR:
        return org
    return None


def is_tender_owner(user, tender) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.role == Role.TENDERER
                and user.organisation_id in tender.owner_organisations())


def require_tender_owner(user, tender) -> None:
    if not is_tender_owner(user, tender):
        raise PermissionDenied(_("Only the tenderer or its agency can do this."))
