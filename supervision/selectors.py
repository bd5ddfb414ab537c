"""Reads for the audit trail viewer."""

from django.db.models import Q, QuerySet

from audit.models import AuditEvent
from bidding.tenders.models import Tender


def audit_events_visible() -> QuerySet[AuditEvent]:
    """Every event, except bidders' sealed actions on tenders still open for bidding:
    before the deadline nobody may learn who has bid or how many have (E-Rules 28)."""
    still_sealed = Tender.objects.filter(
        status__in=[Tender.Status.DRAFT, Tender.Status.PUBLISHED]
    ).values("pk")
    return AuditEvent.objects.filter(
        Q(sealed_tender_id__isnull=True) | ~Q(sealed_tender_id__in=still_sealed)
    )
