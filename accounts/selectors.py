"""Reads for organisations, keys and notifications."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import Notification, PublicKey


def bid_keys_of(organisation_id: int) -> QuerySet[PublicKey]:
    """The organisation's active keys for sealing bids."""
    return PublicKey.objects.filter(organisation_id=organisation_id,
                                    purpose=PublicKey.Purpose.BID, active=True)


def notifications_of(user) -> QuerySet[Notification]:
    """Messages to the user's organisation, newest first; none without one."""
    if not user.organisation_id:
        return Notification.objects.none()
    return Notification.objects.filter(organisation_id=user.organisation_id)
