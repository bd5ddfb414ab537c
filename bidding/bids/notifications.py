"""What the bid stage tells people (core.notifications): receipts (a bid received or
withdrawn, to the bidder's own staff) and deadline reminders (24 h and 1 h before the
deadline, to organisations that obtained the documents and have no bid in).

Loaded by ``BidsConfig.ready()``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bidding.tenders.models import DocumentRegistration, Tender
from bidding.tenders.notifications import bidder_user_ids, tender_params, title_of
from core.notifications.registry import Message, register_kind
from core.timefmt import human, iso

from .models import Bid

# Reminders before the bid deadline, nearest last: a tender first seen within 1 h of
# its deadline gets the 1 h reminder only.
REMINDERS = (("24h", timedelta(hours=24)), ("1h", timedelta(hours=1)))


def bid_url(tender: Tender) -> str:
    return reverse("bids:bid", kwargs={"tender_id": tender.pk})


def _receipt_message(event) -> Message | None:
    bid = Bid.objects.select_related("tender").filter(public_id=event.object_id).first()
    if bid is None:
        return None
    tender = bid.tender
    return Message(
        recipients=bidder_user_ids([bid.bidder_id]),
        params={**tender_params(tender), "version": bid.version, "sha256": bid.sha256,
                "at": iso(bid.withdrawn_at if event.action == "bid.withdraw"
                          else bid.submitted_at)},
        url=bid_url(tender), tender_reference=tender.reference,
    )


def render_received(p: dict) -> tuple[str, str]:
    title = _("%(reference)s: your bid was received") % p
    body = _("Your bid (version %(version)s) for “%(title)s” was received at %(at)s.\n"
             "SHA-256 of the sealed bid: %(sha256)s\n"
             "Your signed receipt is on the bid page. You may change or withdraw the bid "
             "until the deadline, %(deadline)s.") % {
        **p, "title": title_of(p), "at": human(p["at"], seconds=True),
        "deadline": human(p["deadline"])}
    return title, body


def render_withdrawn(p: dict) -> tuple[str, str]:
    title = _("%(reference)s: your bid was withdrawn") % p
    body = _("Your bid (version %(version)s) for “%(title)s” was withdrawn at %(at)s. "
             "You may submit a new bid until the deadline, %(deadline)s.") % {
        **p, "title": title_of(p), "at": human(p["at"], seconds=True),
        "deadline": human(p["deadline"])}
    return title, body


# --- deadline reminders -----------------------------------------------------------------


def deadline_reminders(now: datetime) -> list[Message]:
    """The reminders due now: for each open tender whose deadline is within 24 h, the
    nearest reminder whose time has come, to registered bidders without a bid in. The
    key names the tender, the reminder and the deadline: a moved deadline reminds
    again, the same one never twice."""
    horizon = max(offset for _name, offset in REMINDERS)
    messages = []
    for tender in Tender.objects.filter(status=Tender.Status.PUBLISHED, deadline__gt=now,
                                        deadline__lte=now + horizon).order_by("deadline"):
        left = tender.deadline - now
        name = next(n for n, offset in reversed(REMINDERS) if left <= offset)
        registered = set(DocumentRegistration.objects.filter(tender=tender)
                         .values_list("organisation_id", flat=True))
        with_bid = set(Bid.objects.filter(tender=tender, status=Bid.Status.SUBMITTED)
                       .values_list("bidder_id", flat=True))
        recipients = bidder_user_ids(registered - with_bid)
        if not recipients:
            continue
        messages.append(Message(
            recipients=recipients, params={**tender_params(tender), "reminder": name},
            url=bid_url(tender), tender_reference=tender.reference,
            key=f"deadline-{name}:{tender.pk}:{iso(tender.deadline)}",
        ))
    return messages


def render_reminder(p: dict) -> tuple[str, str]:
    if p["reminder"] == "1h":
        title = _("%(reference)s: bids close in one hour") % p
    else:
        title = _("%(reference)s: bids close within 24 hours") % p
    body = _("Bids for “%(title)s” close at %(deadline)s and your organisation has not "
             "submitted one. A bid cannot be accepted after the deadline.") % {
        **p, "title": title_of(p), "deadline": human(p["deadline"])}
    return title, body


register_kind(
    "bid.received", label=gettext_lazy("Receipts: your bid was received"),
    default_email=True, actions=("bid.submit",),
    recipients_for_event=_receipt_message, render=render_received, order=20,
)
register_kind(
    "bid.withdrawn", label=gettext_lazy("Receipts: your bid was withdrawn"),
    default_email=True, actions=("bid.withdraw",),
    recipients_for_event=_receipt_message, render=render_withdrawn, order=21,
)
register_kind(
    "bid.deadline_reminder",
    label=gettext_lazy("Reminders before the bid deadline (24 hours and 1 hour)"),
    default_email=True, schedule=deadline_reminders, render=render_reminder, order=22,
)
