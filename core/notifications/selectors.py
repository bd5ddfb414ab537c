"""Reading a user's notifications."""

from __future__ import annotations

from django.db.models import Case, IntegerField, QuerySet, Value, When

from .models import Notification


def inbox(user) -> QuerySet[Notification]:
    """The user's notifications in the centre: unread first, newest first within each."""
    if not getattr(user, "is_authenticated", False):
        return Notification.objects.none()
    return (
        Notification.objects.filter(recipient_id=user.pk, in_app=True)
        .annotate(read_rank=Case(When(read_at__isnull=True, then=Value(0)), default=Value(1),
                                 output_field=IntegerField()))
        .order_by("read_rank", "-created_at", "-pk")
    )


def unread_count(user) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(recipient_id=user.pk, in_app=True,
                                       read_at__isnull=True).count()
