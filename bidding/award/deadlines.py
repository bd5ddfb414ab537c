"""Deadlines after the notices: the contract within 30 days (Law 46) and the report to the
supervisor within 15 days (Law 47). The clock reminds the tenderer (and the winner, for
the contract) a few days before and flags what is overdue; supervisors see both."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organisation
from accounts.services import notify
from audit.services import audit_record
from core import statutory, timefmt
from core.clock import for_each
from core.refusals import refuse

from . import policies
from .models import AwardDecision, Contract


def _remind(decision: AwardDecision, what: str, now: datetime) -> None:
    tender = decision.tender
    orgs = {p for p in tender.owner_organisations() if p}
    if what == "contract":
        orgs.add(decision.winner.bidder_id)
        due, source = decision.contract_due, statutory.source("CONTRACT_DAYS")
        subject = _("%(ref)s: the contract is due by %(due)s (%(source)s)")
    else:
        due, source = decision.report_due, statutory.source("AWARD_REPORT_DAYS")
        subject = _("%(ref)s: the report to the supervisor is due by %(due)s (%(source)s)")
    overdue = now >= due
    if overdue:
        subject = _("Overdue: ") + subject
    for org in Organisation.objects.filter(pk__in=orgs):
        notify(organisation=org, subject=subject % {
            "ref": tender.reference, "source": source,
            "due": timefmt.day(due)}, link=f"/award/{tender.pk}/")
    audit_record(actor="clock", action=f"award.{what}_reminder", obj=decision,
                 payload={"due": due, "overdue": overdue},
                 summary=f"{tender.reference}: {what} reminder")


def deadlines_tick(*, now: datetime) -> list[int]:
    """Remind once, a few days before each deadline (or at once if already past)."""
    ahead = statutory.days("AWARD_REMINDER_DAYS")
    due = AwardDecision.objects.filter(notices_at__isnull=False).filter(
        Q(contract_reminded_at__isnull=True, tender__contract__signed_at__isnull=True,
          contract_due__lte=now + ahead)
        | Q(report_reminded_at__isnull=True, supervisor_report_at__isnull=True,
            report_due__lte=now + ahead)).values_list("pk", flat=True)

    def step(pk) -> bool:
        with transaction.atomic():
            d = AwardDecision.objects.select_for_update().select_related(
                "tender", "winner").get(pk=pk)
            signed = Contract.objects.filter(tender_id=d.tender_id,
                                             signed_at__isnull=False).exists()
            done = False
            if not d.contract_reminded_at and not signed and d.contract_due <= now + ahead:
                _remind(d, "contract", now)
                d.contract_reminded_at, done = now, True
            if (not d.report_reminded_at and not d.supervisor_report_at
                    and d.report_due <= now + ahead):
                _remind(d, "report", now)
                d.report_reminded_at, done = now, True
            d.save(update_fields=["contract_reminded_at", "report_reminded_at"])
            return done

    return for_each(due, step, what="award deadline reminder")


@transaction.atomic
def supervisor_report_submit(*, user, tender, now: datetime | None = None) -> AwardDecision:
    """The tenderer files its report on the tendering with the supervisor (Law 47)."""
    now = now or timezone.now()
    policies.require_owner(user, tender)
    decision = AwardDecision.objects.select_for_update().filter(
        tender=tender, notices_at__isnull=False).first()
    if decision is None:
        raise refuse("__all__", _("The report follows the award notice."), "not_awarded")
    if decision.supervisor_report_at:
        raise refuse("__all__", _("The report has already been filed."), "already_filed")
    decision.supervisor_report_at = now
    decision.save(update_fields=["supervisor_report_at"])
    audit_record(actor=user, action="award.supervisor_report", obj=decision,
                 payload={"tender": tender.reference, "late": now > decision.report_due},
                 summary=f"{tender.reference}: report to the supervisor filed")
    return decision
