"""A user's notifications, their choices, and where the dispatcher stands in the event log."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Notification(models.Model):
    """One message to one person about one thing that happened.

    ``title`` and ``body`` are rendered when the notification is created, in the
    recipient's language; ``kind`` and ``params`` keep it language-neutral so it can be
    rendered again. ``source`` says what caused it (``event:<seq>`` for an audit event,
    the schedule's key for a reminder): the same source never notifies the same person
    of the same kind twice, however often the job runs.
    """

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+",
        verbose_name=_("recipient"),
    )
    kind = models.CharField(_("kind of notification"), max_length=80)
    source = models.CharField(max_length=160)
    event_seq = models.BigIntegerField(null=True, blank=True)
    tender_reference = models.CharField(_("tender number"), max_length=40, blank=True)
    url = models.CharField(max_length=300, blank=True)
    params = models.JSONField(default=dict, blank=True)
    language = models.CharField(max_length=10)
    title = models.CharField(_("title"), max_length=300)
    body = models.TextField(_("message"), blank=True)
    created_at = models.DateTimeField(_("created at"))
    # Shown in the notification centre (the recipient's choice when it was created).
    in_app = models.BooleanField(default=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    # Email: wanted (the recipient's choice), sent, or failed so far (retried later).
    email_wanted = models.BooleanField(default=False)
    emailed_at = models.DateTimeField(_("emailed at"), null=True, blank=True)
    email_attempts = models.PositiveSmallIntegerField(default=0)
    email_next_at = models.DateTimeField(null=True, blank=True)
    email_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            models.UniqueConstraint(fields=["source", "recipient", "kind"],
                                    name="notification_once_per_source"),
            models.UniqueConstraint(fields=["event_seq", "recipient", "kind"],
                                    condition=Q(event_seq__isnull=False),
                                    name="notification_once_per_event"),
        ]
        indexes = [
            models.Index(fields=["recipient", "in_app", "read_at"], name="notification_inbox"),
            models.Index(fields=["email_wanted", "emailed_at"], name="notification_email_due"),
        ]

    def __str__(self) -> str:
        return self.title


class NotificationPreference(models.Model):
    """A user's choice for one kind; without a row the kind's registered defaults apply."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    kind = models.CharField(max_length=80)
    in_app = models.BooleanField(default=True)
    email = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="notification_pref_once"),
        ]


class NotificationProfile(models.Model):
    """The language a user's notifications and emails are written in (a background job
    has no request to take it from)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                primary_key=True, related_name="+")
    language = models.CharField(max_length=10)


class DispatchCursor(models.Model):
    """How far the dispatcher has read the event log (one row per source)."""

    name = models.CharField(max_length=40, primary_key=True)
    seq = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(null=True, blank=True)


class FailedEvent(models.Model):
    """An event whose notifications could not be made; retried every tick until
    ``MAX_ATTEMPTS``, then left here, logged, for the operator."""

    seq = models.BigIntegerField(unique=True)
    attempts = models.PositiveSmallIntegerField(default=1)
    error = models.CharField(max_length=300, blank=True)
    failed_at = models.DateTimeField()

    class Meta:
        ordering = ["seq"]
