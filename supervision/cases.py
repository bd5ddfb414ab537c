"""Supervisors' cases: opened on a screened tender from its drill-down, closed with an
outcome and reasons. Each step is audited; outcomes are the learned score's labels."""

from __future__ import annotations

import logging
from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role
from audit.services import audit_record
from core.refusals import refuse

from .models import Case, Flag, RiskScore

log = logging.getLogger(__name__)

REASONS_MIN_CHARS = 10


def require_supervisor(user) -> None:
    """Cases are the supervisors' decisions (operators may read the queue only)."""
    if not (user.is_authenticated and user.role == Role.SUPERVISOR):
        raise PermissionDenied(_("Only supervisors may open and decide cases."))


def case_open(*, user, tender_id: int, note: str = "", now: datetime | None = None) -> Case:
    """Open a case on a screened (or flagged) tender; one case per tender."""
    require_supervisor(user)
    now = now or timezone.now()
    with transaction.atomic():
        risk = RiskScore.objects.filter(tender_id=tender_id).first()
        flag = Flag.objects.filter(tender_id=tender_id).first()
        if risk is None and flag is None:
            raise refuse("__all__", _("This tender has not been screened."), "not_screened")
        if Case.objects.filter(tender_id=tender_id).exists():
            raise refuse("__all__", _("This tender already has a case."), "case_exists")
        reference = risk.tender_reference if risk else flag.tender_reference
        try:
            with transaction.atomic():
                case = Case.objects.create(tender_id=tender_id, tender_reference=reference,
                                           opened_by=user, opened_at=now, note=note.strip())
        except IntegrityError:  # a concurrent open won the race
            raise refuse("__all__", _("This tender already has a case."), "case_exists")
        audit_record(actor=user, action="supervision.case_open", obj=case,
                     payload={"tender_id": tender_id, "note": case.note})
    return case


def case_decide(*, user, case_id: int, outcome: str, reasons: str,
                now: datetime | None = None) -> Case:
    """Record a case's outcome (confirmed or dismissed) with the reasons; final."""
    require_supervisor(user)
    now = now or timezone.now()
    reasons = (reasons or "").strip()
    if outcome not in Case.Outcome.values:
        raise refuse("outcome", _("Choose confirmed or dismissed."), "bad_outcome")
    if len(reasons) < REASONS_MIN_CHARS:
        raise refuse("reasons", _("Give the reasons for the outcome (at least %(n)s "
                                  "characters).") % {"n": REASONS_MIN_CHARS}, "reasons_missing")
    with transaction.atomic():
        case = Case.objects.select_for_update().filter(pk=case_id).first()
        if case is None:
            raise refuse("__all__", _("No such case."), "no_case")
        if case.outcome:
            raise refuse("__all__", _("This case is already decided."), "case_decided")
        case.outcome, case.reasons = outcome, reasons
        case.decided_by, case.decided_at = user, now
        case.save(update_fields=["outcome", "reasons", "decided_by", "decided_at"])
        audit_record(actor=user, action="supervision.case_decide", obj=case,
                     payload={"tender_id": case.tender_id, "outcome": outcome,
                              "reasons": reasons})
        # A new label: retrain the learned score once the outcome is committed.
        transaction.on_commit(_retrain_later)
    return case


def _retrain_later() -> None:
    from .tasks import retrain_risk_model

    try:
        retrain_risk_model.delay()
    except Exception:  # noqa: BLE001 - no broker: the outcome stands; retrain runs later
        log.exception("could not queue the risk model's retraining")


def tender_labels() -> dict[int, int]:
    """Decided cases as labels: 1 confirmed, 0 dismissed."""
    return {tid: int(outcome == Case.Outcome.CONFIRMED) for tid, outcome in
            Case.objects.exclude(outcome="").values_list("tender_id", "outcome")}
