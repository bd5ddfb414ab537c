"""Making, sending and reading notifications.

Three clock jobs (registered in ``apps.py``), each idempotent and isolating its objects
(``core.clock.for_each``):

* ``dispatch_events``: reads the audit log after the stored cursor, and for each event
  whose action a kind is registered for, creates the notifications. An event that fails
  is recorded (``FailedEvent``) and retried on later ticks; the cursor goes on, so one
  bad event never holds up the others.
* ``run_schedules``: time-based kinds (reminders); each occasion has a key.
* ``email_pending``: sends the emails users asked for, best-effort; a failure is logged
  and retried later with a growing pause; the in-app notification is there already.

A notification exists at most once per (source, recipient, kind), enforced by the
database, so running a job twice, or from two processes, creates no duplicates.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.clock import for_each

from . import registry
from .models import (
    DispatchCursor,
    FailedEvent,
    Notification,
    NotificationPreference,
    NotificationProfile,
)

log = logging.getLogger(__name__)

CURSOR = "audit"
BATCH = 500
# A missing sequence number younger than this may be a transaction still committing:
# stop before it and read it next tick. Older, it is a number that was never used.
GAP_GRACE = timedelta(minutes=2)
# The first run starts this far back, not at the beginning of a long log.
FIRST_RUN_LOOKBACK = timedelta(days=1)
MAX_EVENT_ATTEMPTS = 20
MAX_EMAIL_ATTEMPTS = 10


def event_model():
    """The audit event model, by label: the core imports no other app."""
    return apps.get_model(getattr(settings, "NOTIFICATIONS_EVENT_MODEL", "audit.AuditEvent"))


# --- choices -------------------------------------------------------------------------


def user_language(user_id: int) -> str:
    row = NotificationProfile.objects.filter(user_id=user_id).first()
    return row.language if row else settings.LANGUAGE_CODE


def choice(kind: registry.Kind, pref: NotificationPreference | None) -> tuple[bool, bool]:
    """(in_app, email) for a user: their row, or the kind's defaults."""
    if pref is None:
        return kind.default_in_app, kind.default_email
    return pref.in_app, pref.email


def preferences_of(user) -> list[dict]:
    """Every registered kind with the user's choice, in the preferences table's order."""
    rows = {p.kind: p for p in NotificationPreference.objects.filter(user=user)}
    out = []
    for kind in registry.kinds():
        in_app, email = choice(kind, rows.get(kind.code))
        out.append({"kind": kind.code, "label": str(kind.label), "in_app": in_app,
                    "email": email})
    return out


def preferences_set(*, user, choices: dict[str, dict], language: str | None = None) -> None:
    """Save a user's choices: ``{kind: {"in_app": bool, "email": bool}}`` (kinds left
    out keep theirs). Unknown kinds, non-boolean values and unknown languages are
    refused, all at once, before anything is saved."""
    errors: dict[str, list[str]] = {}
    for code, value in choices.items():
        if registry.get_kind(code) is None:
            errors.setdefault(str(code), []).append(
                _("Unknown kind of notification: %(kind)s") % {"kind": code})
            continue
        if not isinstance(value, dict) or not all(
                isinstance(value.get(ch), bool) for ch in ("in_app", "email")):
            errors.setdefault(code, []).append(
                _("Give in_app and email as true or false."))
    languages = {code for code, _name in settings.LANGUAGES}
    if language is not None and language not in languages:
        errors["language"] = [_("Unknown language: %(language)s") % {"language": language}]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        for code, value in choices.items():
            NotificationPreference.objects.update_or_create(
                user=user, kind=code,
                defaults={"in_app": value["in_app"], "email": value["email"]})
        if language is not None:
            NotificationProfile.objects.update_or_create(
                user=user, defaults={"language": language})


def language_remember(*, user, language: str) -> None:
    """Record the language a user reads the site in, if they have not chosen one."""
    if language in {code for code, _name in settings.LANGUAGES}:
        NotificationProfile.objects.get_or_create(user=user, defaults={"language": language})


# --- making notifications --------------------------------------------------------------


def deliver(kind: registry.Kind, message: registry.Message, *, source: str,
            event_seq: int | None = None, now: datetime | None = None) -> int:
    """Create the notifications of one occasion for its recipients who want them, each
    rendered in the recipient's language. Returns how many were created; recipients
    already told of it are skipped."""
    now = now or timezone.now()
    ids = {int(i) for i in message.recipients}
    if not ids:
        return 0
    told = set(Notification.objects.filter(source=source, kind=kind.code, recipient_id__in=ids)
               .values_list("recipient_id", flat=True))
    prefs = {p.user_id: p for p in
             NotificationPreference.objects.filter(user_id__in=ids, kind=kind.code)}
    langs = dict(NotificationProfile.objects.filter(user_id__in=ids)
                 .values_list("user_id", "language"))
    users = get_user_model().objects.filter(pk__in=ids - told, is_active=True).order_by("pk")
    created = 0
    for user in users:
        in_app, email = choice(kind, prefs.get(user.pk))
        if not (in_app or email):
            continue
        language = langs.get(user.pk) or settings.LANGUAGE_CODE
        with translation.override(language):
            title, body = kind.render(dict(message.params))
        try:
            with transaction.atomic():
                Notification.objects.create(
                    recipient=user, kind=kind.code, source=source, event_seq=event_seq,
                    tender_reference=message.tender_reference[:40], url=message.url[:300],
                    params=message.params, language=language, title=str(title)[:300],
                    body=str(body), created_at=now, in_app=in_app,
                    email_wanted=email and bool(user.email),
                )
            created += 1
        except IntegrityError:  # another process told them first
            continue
    return created


def _notify_event(event, now: datetime) -> int:
    created = 0
    for kind in registry.kinds_for_action(event.action):
        result = kind.recipients_for_event(event)
        if result is None:
            continue
        messages = [result] if isinstance(result, registry.Message) else list(result)
        for message in messages:
            created += deliver(kind, message, source=message.key or f"event:{event.seq}",
                               event_seq=event.seq, now=now)
    return created


def _event_step(event, now: datetime, errors: dict):
    def step(_seq):
        try:
            with transaction.atomic():
                _notify_event(event, now)
        except Exception as exc:
            errors[event.seq] = f"{type(exc).__name__}: {exc}"[:300]
            raise
        return True
    return step


def _cursor() -> DispatchCursor:
    cursor = DispatchCursor.objects.select_for_update().filter(name=CURSOR).first()
    if cursor is None:
        Event = event_model()
        start = (Event.objects.filter(time__lt=timezone.now() - FIRST_RUN_LOOKBACK)
                 .order_by("-seq").values_list("seq", flat=True).first()) or 0
        DispatchCursor.objects.get_or_create(name=CURSOR, defaults={"seq": start})
        cursor = DispatchCursor.objects.select_for_update().get(name=CURSOR)
    return cursor


def dispatch_events(*, now: datetime | None = None) -> dict:
    """Clock job: notify about the audit events since the cursor, then retry the events
    that failed before. Returns counts (events read, failed, retried)."""
    now = now or timezone.now()
    Event = event_model()
    wanted = registry.actions()
    errors: dict[int, str] = {}
    with transaction.atomic():
        cursor = _cursor()
        events = list(Event.objects.filter(seq__gt=cursor.seq).order_by("seq")[:BATCH])
        last = cursor.seq
        relevant = []
        for event in events:
            if event.seq != last + 1 and timezone.now() - event.time < GAP_GRACE:
                break  # a lower number may still be committing
            last = event.seq
            if event.action in wanted:
                relevant.append(event)
        for event in relevant:
            for_each([event.seq], _event_step(event, now, errors), what="notification event")
        for seq, error in errors.items():
            FailedEvent.objects.update_or_create(
                seq=seq, defaults={"attempts": 1, "error": error, "failed_at": now})
        cursor.seq = last
        cursor.updated_at = now
        cursor.save(update_fields=["seq", "updated_at"])
    retried = retry_failed_events(now=now, exclude=set(errors))
    return {"read": last - (events[0].seq - 1) if events else 0, "failed": len(errors),
            "retried": retried}


def retry_failed_events(*, now: datetime | None = None, exclude=()) -> int:
    """Try the failed events again (each on its own); returns how many succeeded."""
    now = now or timezone.now()
    Event = event_model()
    rows = list(FailedEvent.objects.filter(attempts__lt=MAX_EVENT_ATTEMPTS)
                .exclude(seq__in=list(exclude)).order_by("seq")[:BATCH])
    succeeded = 0
    for row in rows:
        errors: dict[int, str] = {}
        event = Event.objects.filter(seq=row.seq).first()
        if event is None:
            row.delete()
            continue
        if for_each([row.seq], _event_step(event, now, errors), what="notification event"):
            row.delete()
            succeeded += 1
        else:
            row.attempts += 1
            row.error = errors.get(row.seq, "")
            row.failed_at = now
            row.save(update_fields=["attempts", "error", "failed_at"])
            if row.attempts >= MAX_EVENT_ATTEMPTS:
                log.error("notifications: event #%s failed %s times, given up: %s",
                          row.seq, row.attempts, row.error)
    return succeeded


def run_schedules(*, now: datetime | None = None) -> int:
    """Clock job: every time-based kind's due occasions. Each occasion fires once (its
    key is the notification's source); one failing occasion does not stop the rest."""
    now = now or timezone.now()
    created = [0]
    for kind in registry.scheduled_kinds():
        try:
            messages = list(kind.schedule(now))
        except Exception:
            log.exception("notifications: schedule of %s failed", kind.code)
            continue

        def step(index, kind=kind, messages=messages):
            message = messages[index]
            with transaction.atomic():
                created[0] += deliver(kind, message, source=message.key, now=now)
            return True

        for_each(range(len(messages)), step, what=f"reminder {kind.code}")
    return created[0]


# --- email -----------------------------------------------------------------------------


def _email_text(n: Notification) -> str:
    base = getattr(settings, "NOTIFICATIONS_SITE_URL", "").rstrip("/")
    with translation.override(n.language):
        lines = [n.body]
        if n.url:
            lines += ["", f"{base}{n.url}"]
        lines += ["", _("You receive this email because you chose to in your notification "
                        "settings: %(url)s") % {"url": f"{base}/notifications/preferences/"}]
    return "\n".join(lines)


def _retry_pause(attempts: int) -> timedelta:
    return timedelta(minutes=min(2 ** attempts, 24 * 60))


def email_one(notification_id: int, *, now: datetime | None = None) -> bool:
    """Send one notification's email; on failure record it for a later try."""
    now = now or timezone.now()
    n = Notification.objects.select_related("recipient").get(pk=notification_id)
    if n.emailed_at or not n.email_wanted:
        return False
    address = n.recipient.email
    if not address:
        Notification.objects.filter(pk=n.pk).update(email_wanted=False,
                                                     email_error="no email address")
        return False
    try:
        mail.send_mail(n.title, _email_text(n), None, [address], fail_silently=False)
    except Exception as exc:
        Notification.objects.filter(pk=n.pk).update(
            email_attempts=n.email_attempts + 1,
            email_next_at=now + _retry_pause(n.email_attempts + 1),
            email_error=f"{type(exc).__name__}: {exc}"[:300])
        log.warning("notifications: email %s to user %s failed (%s); retried later",
                    n.pk, n.recipient_id, exc)
        return False
    Notification.objects.filter(pk=n.pk).update(emailed_at=now, email_error="")
    return True


def email_pending(*, now: datetime | None = None) -> int:
    """Clock job: send the emails due. Returns how many went out."""
    now = now or timezone.now()
    due = list(
        Notification.objects.filter(email_wanted=True, emailed_at=None,
                                    email_attempts__lt=MAX_EMAIL_ATTEMPTS)
        .filter(Q(email_next_at__isnull=True) | Q(email_next_at__lte=now))
        .order_by("pk").values_list("pk", flat=True)[:BATCH])
    return len(for_each(due, lambda pk: email_one(pk, now=now), what="notification email"))


# --- the reader's actions --------------------------------------------------------------


def notification_access(user, notification_id) -> Notification:
    """A notification of this user's; the same 404 for "none" and "not yours"."""
    try:
        return Notification.objects.get(pk=int(notification_id), recipient_id=user.pk,
                                        in_app=True)
    except (Notification.DoesNotExist, TypeError, ValueError):
        raise Http404(_("No such notification.")) from None


def notification_mark_read(*, user, notification_id, now: datetime | None = None) -> Notification:
    n = notification_access(user, notification_id)
    if n.read_at is None:
        n.read_at = now or timezone.now()
        n.save(update_fields=["read_at"])
    return n


def notifications_mark_all_read(*, user, now: datetime | None = None) -> int:
    return Notification.objects.filter(recipient_id=user.pk, in_app=True,
                                       read_at=None).update(read_at=now or timezone.now())
