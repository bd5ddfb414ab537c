"""What the opening tells people (core.notifications): the opening has started and the
decryption window is open, the window closes soon (to bidders who have not decrypted)
and has closed, and the opening record is ready.

Loaded by ``OpeningConfig.ready()``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bidding.tenders.notifications import (
    bidder_user_ids,
    tender_params,
    tenderer_user_ids,
    title_of,
)
from core.notifications.registry import Message, register_kind
from core.timefmt import human, iso

from .models import BidOpening, OpeningSession

# How long before the decryption window ends the bidders who have not decrypted are told.
WINDOW_WARNING = timedelta(minutes=10)


def hall_url(session: OpeningSession) -> str:
    return reverse("opening:hall", kwargs={"tender_id": session.tender_id})


def _session(event) -> OpeningSession | None:
    return OpeningSession.objects.select_related("tender").filter(pk=event.object_id).first()


def _bidders(session: OpeningSession, **filters) -> list[int]:
    orgs = BidOpening.objects.filter(session=session, **filters).values_list(
        "bid__bidder_id", flat=True)
    return bidder_user_ids(orgs)


def _message(session: OpeningSession, recipients, **params) -> Message:
    tender = session.tender
    return Message(recipients=recipients,
                   params={**tender_params(tender), **params},
                   url=hall_url(session), tender_reference=tender.reference)


# --- started: the decryption window opens ----------------------------------------------


def started_message(event) -> Message | None:
    session = _session(event)
    if session is None:
        return None
    return _message(session, _bidders(session), window_ends_at=iso(session.window_ends_at))


def render_started(p: dict) -> tuple[str, str]:
    title = _("%(reference)s: the opening has started") % p
    body = _("The opening of “%(title)s” has started and the decryption window is open. "
             "Decrypt your bid in the opening hall before %(end)s, in the browser that "
             "holds the key you sealed it with.") % {
        **p, "title": title_of(p), "end": human(p["window_ends_at"])}
    return title, body


# --- the window closes soon, and has closed ----------------------------------------------


def window_warnings(now: datetime) -> list[Message]:
    messages = []
    for session in OpeningSession.objects.select_related("tender").filter(
            phase=OpeningSession.Phase.DECRYPTING, window_ends_at__gt=now,
            window_ends_at__lte=now + WINDOW_WARNING):
        recipients = _bidders(session, status=BidOpening.Status.PENDING)
        if recipients:
            message = _message(session, recipients, window_ends_at=iso(session.window_ends_at))
            message.key = f"window-closing:{session.pk}"
            messages.append(message)
    return messages


def render_window_closing(p: dict) -> tuple[str, str]:
    title = _("%(reference)s: the decryption window closes soon") % p
    body = _("Your bid for “%(title)s” is not decrypted yet. The decryption window "
             "closes at %(end)s; after that the tender's rule for bids not decrypted "
             "applies.") % {**p, "title": title_of(p), "end": human(p["window_ends_at"])}
    return title, body


def window_closed_message(event) -> Message | None:
    session = _session(event)
    if session is None:
        return None
    return _message(session, _bidders(session),
                    custodians=session.phase == OpeningSession.Phase.CUSTODIANS)


def render_window_closed(p: dict) -> tuple[str, str]:
    title = _("%(reference)s: the decryption window has closed") % p
    if p.get("custodians"):
        body = _("The decryption window of “%(title)s” has closed. The custodians are "
                 "now opening the bids that were not decrypted.")
    else:
        body = _("The decryption window of “%(title)s” has closed. The opening goes on "
                 "in the opening hall.")
    return title, body % {**p, "title": title_of(p)}


# --- the record --------------------------------------------------------------------------


def record_message(event) -> Message | None:
    session = _session(event)
    if session is None:
        return None
    recipients = set(_bidders(session)) | set(tenderer_user_ids(session.tender))
    return _message(session, recipients, record_sha256=session.record_sha256)


def render_record(p: dict) -> tuple[str, str]:
    title = _("%(reference)s: the opening record is ready") % p
    body = _("The signed opening record of “%(title)s” is ready in the opening hall.\n"
             "SHA-256 of the record: %(record_sha256)s") % {**p, "title": title_of(p)}
    return title, body


register_kind(
    "opening.started",
    label=gettext_lazy("The opening starts and the decryption window opens"),
    default_email=True, actions=("opening.start",),
    recipients_for_event=started_message, render=render_started, order=30,
)
register_kind(
    "opening.window_closing",
    label=gettext_lazy("The decryption window closes soon and your bid is not decrypted"),
    default_email=True, schedule=window_warnings, render=render_window_closing, order=31,
)
register_kind(
    "opening.window_closed", label=gettext_lazy("The decryption window has closed"),
    default_email=False, actions=("opening.window_closed",),
    recipients_for_event=window_closed_message, render=render_window_closed, order=32,
)
register_kind(
    "opening.record_ready", label=gettext_lazy("The opening record is ready"),
    default_email=True, actions=("opening.record",),
    recipients_for_event=record_message, render=render_record, order=33,
)
