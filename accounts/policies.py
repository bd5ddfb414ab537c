"""Who a user is on the platform: the role predicates every stage's policies build on.

Each stage has its own ``policies`` module that says who may do what there; they ask
these questions instead of comparing ``user.role`` by hand.
"""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone
from rest_framework.permissions import BasePermission

from .models import Mandate, Organisation, Role


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


def mandate_in_force(*, agency_id: int, tenderer_id: int, project_code: str | None = None,
                     at=None) -> bool:
    """An accepted, unrevoked mandate from the tenderer to the agency holds at ``at``
    (now by default) and covers the project (a mandate without a project code covers
    every project; ``project_code=None`` asks about unlimited mandates only)."""
    at = at or timezone.now()
    qs = Mandate.objects.filter(
        agency_id=agency_id, tenderer_id=tenderer_id, status=Mandate.Status.ACCEPTED,
    ).filter(Q(valid_from__isnull=True) | Q(valid_from__lte=at),
             Q(valid_until__isnull=True) | Q(valid_until__gt=at))
    projects = Q(project_code="") | Q(project_code=project_code) if project_code else Q(
        project_code="")
    return qs.filter(projects).exists()


def may_act_for(user, tenderer_org, *, project_code: str | None = None, at=None) -> bool:
    """The user may file and manage tenders for ``tenderer_org``: staff of that tenderer,
    or staff of an agency holding its mandate in force (accepted, unrevoked, within its
    period, covering ``project_code``)."""
    if not is_tenderer(user) or tenderer_org is None:
        return False
    tenderer_id = getattr(tenderer_org, "pk", tenderer_org)
    if user.organisation_id == tenderer_id:
        return True
    if user.organisation.kind != Organisation.Kind.AGENCY:
        return False
    return mandate_in_force(agency_id=user.organisation_id, tenderer_id=tenderer_id,
                            project_code=project_code, at=at)


def is_mandate_tenderer(user, mandate: Mandate) -> bool:
    """Staff of the tenderer that granted the mandate (they may revoke it)."""
    return is_tenderer(user) and user.organisation_id == mandate.tenderer_id


def is_mandate_agency(user, mandate: Mandate) -> bool:
    """Staff of the agency the mandate names (they may accept it)."""
    return is_tenderer(user) and user.organisation_id == mandate.agency_id


# --- two-factor sign-in (``accounts.two_factor``) ------------------------------------------


def two_factor_verified(request) -> bool:
    """The request comes from a user who signed in with a password and a TOTP code: a
    session verified recently enough (``TWO_FACTOR_SESSION_HOURS``), or an API token
    that was verified with a code."""
    from accounts import two_factor

    return two_factor.verified(request)


def requires_two_factor(view):
    """View decorator: signed in and verified with a code, else sent to sign in, to set
    up the authenticator, or to enter a code, and back to this page afterwards."""
    import functools

    from django.contrib.auth.views import redirect_to_login
    from django.shortcuts import resolve_url

    from accounts import two_factor

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if two_factor_verified(request):
            return view(request, *args, **kwargs)
        target = ("accounts:two_factor_verify" if two_factor.is_enrolled(request.user)
                  else "accounts:two_factor_setup")
        return redirect_to_login(request.get_full_path(), resolve_url(target))

    return wrapped


class RequiresTwoFactor(BasePermission):
    """DRF permission: the caller is signed in and verified with a TOTP code (a verified
    session, or a token verified through ``POST /api/auth/2fa/verify/``)."""

    message = "Two-factor sign-in is required: verify a code first."
    code = "two_factor_required"

    def has_permission(self, request, view) -> bool:
        from django.utils.translation import gettext as _

        self.message = _("Two-factor sign-in is required: verify a code first.")
        return bool(request.user and request.user.is_authenticated
                    and two_factor_verified(request))

    def has_object_permission(self, request, view, obj) -> bool:
        return self.has_permission(request, view)
