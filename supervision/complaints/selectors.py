"""What the complaint pages and the API show."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from accounts.policies import is_oversight
from bidding.tenders.selectors import tenders
from core import timefmt

from . import services
from .models import Complaint, Objection


def visible_complaints(user):
    qs = Complaint.objects.select_related("tender", "complainant", "handled_by")
    if is_oversight(user):
        return qs
    if not user.is_authenticated or not user.organisation_id:
        return qs.none()
    owned = tenders().filter(Q(tenderer_id=user.organisation_id) |
                                  Q(agency_id=user.organisation_id)).values("pk")
    if user.role == "tenderer":
        return qs.filter(Q(complainant_id=user.organisation_id) | Q(tender_id__in=owned))
    return qs.filter(complainant_id=user.organisation_id)


def my_complaints(user):
    return visible_complaints(user).filter(complainant_id=user.organisation_id)


def clock_state(c: Complaint, today=None) -> dict:
    """Which deadline runs, when it falls and how many working days are left."""
    today = today or timezone.localdate()
    paused = c.pauses.filter(ended_at__isnull=True).exists()
    if c.status == Complaint.Status.RECEIVED:
        stage, due, overdue_mark = "accept", c.accept_due, c.accept_overdue_since
    elif c.status == Complaint.Status.ACCEPTED:
        stage, due, overdue_mark = "decide", c.decide_due, c.decide_overdue_since
    else:
        return {"stage": None, "due": None, "left": None, "overdue": False, "paused": False,
                "calendar_gap": c.calendar_gap}
    left = None if paused else services.working_days_left(due, today=today)
    overdue = bool(overdue_mark) or (due is not None and not paused and today > due)
    late_by = -left if (left is not None and left < 0) else None
    return {"stage": stage, "due": due, "left": left, "overdue": overdue, "paused": paused,
            "late_by": late_by, "calendar_gap": c.calendar_gap}


def objection_json(o) -> dict:
    return {"id": o.pk, "tender": o.tender.reference, "tender_id": o.tender_id,
            "party": o.party.name, "text": o.text, "raised_at": timefmt.iso(o.raised_at),
            "answer_due": timefmt.iso(o.answer_due), "answer": o.answer,
            "answered_at": timefmt.iso(o.answered_at) if o.answered_at else None,
            "overdue": bool(o.overdue_since)}


def complaint_json(c: Complaint, *, detail: bool = False) -> dict:
    clock = clock_state(c)
    out = {
        "id": c.pk, "public_id": str(c.public_id), "tender": c.tender.reference,
        "tender_id": c.tender_id, "tender_title": c.tender.title,
        "tender_status": c.tender.status, "complainant": c.complainant.name,
        "matter": c.matter, "status": c.status, "filed_at": timefmt.iso(c.filed_at),
        "knew_on": c.knew_on.isoformat(),
        "accept_due": timefmt.iso(c.accept_due) if c.accept_due else None,
        "decide_due": timefmt.iso(c.decide_due) if c.decide_due else None,
        "calendar_gap": c.calendar_gap,
        "working_days_left": clock["left"], "overdue": clock["overdue"],
        "paused": clock["paused"], "outcome": c.outcome or None,
    }
    if detail:
        o = c.objection
        out |= {
            "text": c.text, "requests": c.requests,
            "objection": None if o is None else {
                "kind": ("documents" if c.document_objection_id else
                         "opening" if c.opening_objection_id else "evaluation"),
                "id": o.pk, "text": o.text, "raised_at": timefmt.iso(o.raised_at),
                "answer": o.answer or "",
                "answered_at": timefmt.iso(o.answered_at) if o.answered_at else None},
            "evidence": [{"id": e.pk, "name": e.name, "content_type": e.content_type,
                          "size": e.size, "sha256": e.sha256} for e in c.evidence.all()],
            "pauses": [{"id": p.pk, "reason": p.reason, "note": p.note,
                        "started_at": timefmt.iso(p.started_at),
                        "ended_at": timefmt.iso(p.ended_at) if p.ended_at else None,
                        "working_days": p.working_days} for p in c.pauses.all()],
            "suspensions": [{"suspended_at": timefmt.iso(s.suspended_at), "reason": s.reason,
                             "from_status": s.from_status,
                             "resumed_at": timefmt.iso(s.resumed_at) if s.resumed_at else None}
                            for s in c.suspensions.all()],
            "rejection_reason": c.rejection_reason, "decision": c.decision,
            "decided_at": timefmt.iso(c.decided_at) if c.decided_at else None,
            "letter_sha256": c.letter_sha256 or None,
        }
    return out


def objections_for(user):
    qs = Objection.objects.select_related("tender", "party")
    if is_oversight(user):
        return qs
    if not user.is_authenticated or not user.organisation_id:
        return qs.none()
    return qs.filter(Q(party_id=user.organisation_id) |
                     Q(tender__tenderer_id=user.organisation_id) |
                     Q(tender__agency_id=user.organisation_id))
