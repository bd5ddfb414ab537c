"""Reads for the audit trail viewer."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Min, Q, QuerySet

from audit.models import AuditEvent
from audit.services import audit_object_type
from bidding.bids.selectors import tenders_still_sealed
from bidding.tenders.selectors import TenderStatus, tender_audit_type, tenders


def audit_events_visible(now: datetime | None = None) -> QuerySet[AuditEvent]:
    """Every event, except bidders' sealed actions on tenders whose bidding has not
    closed (deadline passed and the tender past bidding; a suspension does not count):
    before then nobody may learn who has bid or how many have (E-Rules 28)."""
    still_sealed = tenders_still_sealed(now).values("pk")
    return AuditEvent.objects.filter(
        Q(sealed_tender_id__isnull=True) | ~Q(sealed_tender_id__in=still_sealed)
    )


def chain_fields_shown_below(now: datetime | None = None) -> int | None:
    """The sequence number below which the viewer may show events' ``seq``, previous
    hash and hash; None: every event's.

    Hidden events would show as gaps in ``seq`` and ``prev_hash`` links, and ``seq`` is
    inside each hash (so a hash gives it away by trying small numbers). Hidden events
    all belong to published tenders whose bidding has not closed, and come after that
    tender was created; so every event before the earliest such creation is visible
    and its chain fields reveal nothing. The cut depends only on public facts (which
    tenders are open), never on whether anyone has bid."""
    open_ids = list(tenders_still_sealed(now).exclude(status=TenderStatus.DRAFT)
                    .values_list("pk", flat=True))
    if not open_ids:
        return None
    created = AuditEvent.objects.filter(
        action="tender.create", object_type=tender_audit_type(),
        object_id__in=[str(pk) for pk in open_ids],
    )
    if created.values("object_id").distinct().count() < len(open_ids):
        return 0  # a tender without its creation event (older data): show none
    return created.aggregate(first=Min("seq"))["first"]


def chain_fields_shown(event: AuditEvent, below: int | None) -> bool:
    return below is None or event.seq < below


def audit_events_filtered(qs: QuerySet[AuditEvent], *, tender: str = "", actor: str = "",
                          action: str = "", date_from=None, date_to=None,
                          seq: int | None = None) -> QuerySet[AuditEvent]:
    """The viewer's filters: a tender (by reference: events on the tender itself, its
    bidders' events, and events whose summary names it), an actor (user name), an action
    prefix (``bid.`` or ``supervision.case``), a date range (local dates, both
    inclusive) and one sequence number."""
    from datetime import datetime, time, timedelta

    from django.utils import timezone

    if tender := (tender or "").strip():
        found = tenders().filter(reference__iexact=tender).first()
        match = Q(summary__icontains=tender)
        if found is not None:
            match |= Q(object_type=audit_object_type(found), object_id=str(found.pk))
            match |= Q(sealed_tender_id=found.pk)
        qs = qs.filter(match)
    if actor := (actor or "").strip():
        qs = qs.filter(actor__iexact=actor)
    if action := (action or "").strip():
        qs = qs.filter(action__startswith=action)
    tz = timezone.get_current_timezone()
    if date_from:
        qs = qs.filter(time__gte=timezone.make_aware(datetime.combine(date_from, time.min), tz))
    if date_to:
        qs = qs.filter(time__lt=timezone.make_aware(
            datetime.combine(date_to + timedelta(days=1), time.min), tz))
    if seq is not None:
        qs = qs.filter(seq=seq)
    return qs
