"""Reads for organisations, keys and notifications."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from .models import Mandate, Notification, PublicKey


def bid_keys_of(organisation_id: int) -> QuerySet[PublicKey]:
    """The organisation's active keys for sealing bids."""
    return PublicKey.objects.filter(organisation_id=organisation_id,
                                    purpose=PublicKey.Purpose.BID, active=True)


def signing_keys(user) -> QuerySet[PublicKey]:
    """The user's active ``signing`` key (at most one): the only kind of key a contract,
    an amendment or an evaluation report signature is checked against."""
    if not getattr(user, "is_authenticated", False):
        return PublicKey.objects.none()
    return PublicKey.objects.filter(user=user, purpose=PublicKey.Purpose.SIGNING,
                                    active=True)


def keys_of(user) -> QuerySet[PublicKey]:
    """Every key the user registered, newest first (active and retired)."""
    return PublicKey.objects.filter(user=user).order_by("-created_at", "-pk")


def notifications_of(user) -> QuerySet[Notification]:
    """Messages to the user's organisation, newest first; none without one."""
    if not user.organisation_id:
        return Notification.objects.none()
    return Notification.objects.filter(organisation_id=user.organisation_id)


def mandates_of(user) -> QuerySet[Mandate]:
    """Mandates the user's organisation granted (tenderer) or received (agency)."""
    if not user.is_authenticated or not user.organisation_id:
        return Mandate.objects.none()
    org = user.organisation_id
    return (Mandate.objects.filter(Q(tenderer_id=org) | Q(agency_id=org))
            .select_related("tenderer", "agency"))


def access_mandate(user, public_id) -> Mandate:
    """A mandate the user's organisation is party to; any other id is not found, so
    ids leak nothing."""
    import uuid

    try:
        return mandates_of(user).get(public_id=uuid.UUID(str(public_id)))
    except (Mandate.DoesNotExist, ValueError):
        raise Http404(_("No such mandate.")) from None


def mandators_of(agency_id: int) -> QuerySet:
    """Tenderers whose accepted, unrevoked mandate the agency holds (period not checked:
    forms list them, services check the period and project)."""
    from .models import Organisation

    return Organisation.objects.filter(
        mandates_granted__agency_id=agency_id,
        mandates_granted__status=Mandate.Status.ACCEPTED,
    ).distinct()
