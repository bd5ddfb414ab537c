"""Supervisors' cases (立案): opened from a flag, a complaint, an inspection or a spot check;
investigated with evidence from the platform's own records and dated steps; closed by the
findings (confirmed or dismissed) and, when confirmed, a penalty decision whose signed PDF
is the decision letter. The penalties reach the expert pool (``expert_pool.Penalty``: a
penalised expert is never drawn) and the parties' records (``Sanction``: a debarred bidder
cannot start a bid). Every step is audited. Flag cases' outcomes are also the labels the
learned risk score trains on (``tender_labels``).

Other supervision apps open cases through ``case_open_from`` with their object's kind,
id, display string and link: nothing here imports them."""

from __future__ import annotations

import calendar
import hashlib
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organisation, Role
from audit.models import AuditEvent
from audit.services import audit_object_type, audit_record
from core import statutory
from core.clock import for_each
from core.prepared import Prepared
from core.refusals import refuse

from .models import Case, CaseEvidence, CaseStep, Flag, PenaltyDecision, RiskScore, Sanction

log = logging.getLogger(__name__)

REASONS_MIN_CHARS = 10
SUBJECT_KINDS = ("bidder", "tenderer", "agency", "expert")
ORGANISATION_KINDS = ("bidder", "tenderer", "agency")


def require_supervisor(user) -> None:
    """Cases are the supervisors' decisions (operators may read the queue only)."""
    if not (user.is_authenticated and user.role == Role.SUPERVISOR):
        raise PermissionDenied(_("Only supervisors may open and decide cases."))


# -- opening -----------------------------------------------------------------------------


def _clean_subjects(subjects) -> list[dict]:
    """``[{"kind", "code"}]`` checked against the platform: organisations by unified
    social credit code, experts by pool code; the name is added. Duplicates merged."""
    from expert_pool.selectors import expert_by_code

    cleaned, seen = [], set()
    for item in subjects or []:
        kind = str((item or {}).get("kind", "")).strip()
        code = str((item or {}).get("code", "")).strip().upper()
        if kind not in SUBJECT_KINDS or not code:
            raise refuse("subjects", _("A subject is a bidder, tenderer, agency or expert "
                                       "with its code."), "bad_subject")
        if (kind, code) in seen:
            continue
        if kind == "expert":
            expert = expert_by_code(code)
            name = expert.name if expert else None
            code = expert.code if expert else code
        else:
            org = Organisation.objects.filter(credit_code=code).first()
            name = org.name if org else None
        if name is None:
            raise refuse("subjects", _("No %(kind)s with the code %(code)s on the platform.")
                         % {"kind": kind, "code": code}, "bad_subject")
        seen.add((kind, code))
        cleaned.append({"kind": kind, "code": code, "name": name})
    return cleaned


def _flag_subjects(tender_id: int) -> list[dict]:
    """The organisations and experts the tender's flags name (``expert:<code>`` or a
    credit code), as case subjects; codes the platform does not know are left out."""
    from expert_pool.selectors import experts

    codes = set()
    for subjects in Flag.objects.filter(tender_id=tender_id).values_list("subjects", flat=True):
        codes.update(str(s) for s in subjects or [])
    out = []
    for code in sorted(codes):
        if code.startswith("expert:"):
            expert = experts().filter(code=code[7:]).first()
            if expert:
                out.append({"kind": "expert", "code": expert.code, "name": expert.name})
        elif org := Organisation.objects.filter(credit_code=code).first():
            kind = {Organisation.Kind.TENDERER: "tenderer",
                    Organisation.Kind.AGENCY: "agency"}.get(org.kind, "bidder")
            out.append({"kind": kind, "code": org.credit_code, "name": org.name})
    return out


def case_open_from(*, user, source_kind: str, source_id, source_display: str = "",
                   source_link: str = "", tender_id: int | None = None, subjects=None,
                   summary: str = "", now: datetime | None = None) -> Case:
    """Open a case (立案) from a flag, a complaint, an inspection or a spot check.

    The source is generic: its kind, id, a display string and a link. One case per
    source object (for flags: one per tender, the learned score's one label). The
    decision is due ``CASE_DECISION_DAYS`` later (APL 60). Refusals: ``bad_source``,
    ``bad_subject``, ``bad_tender``, ``not_screened``, ``case_exists``."""
    require_supervisor(user)
    now = now or timezone.now()
    source_id = str(source_id if source_id is not None else "").strip()
    if source_kind not in Case.Source.values or not source_id:
        raise refuse("source_kind", _("A case is opened from a flag, a complaint, an "
                                      "inspection or a spot check."), "bad_source")
    reference = ""
    with transaction.atomic():
        if source_kind == Case.Source.FLAG:
            try:
                tender_id = int(source_id)
            except ValueError:
                raise refuse("source_id", _("This tender has not been screened."),
                             "not_screened") from None
            risk = RiskScore.objects.filter(tender_id=tender_id).first()
            flag = Flag.objects.filter(tender_id=tender_id).first()
            if risk is None and flag is None:
                raise refuse("__all__", _("This tender has not been screened."),
                             "not_screened")
            reference = risk.tender_reference if risk else flag.tender_reference
            source_display = source_display or reference
            source_link = source_link or reverse("supervision:flag_detail", args=[tender_id])
            clean = _clean_subjects(subjects) if subjects else _flag_subjects(tender_id)
            exists = Case.objects.filter(source_kind=source_kind, tender_id=tender_id)
        else:
            if tender_id is not None:
                from bidding.tenders.selectors import tenders

                tender = tenders().filter(pk=tender_id).first()
                if tender is None:
                    raise refuse("tender_id", _("No such tender."), "bad_tender")
                reference = tender.reference
            clean = _clean_subjects(subjects)
            exists = Case.objects.filter(source_kind=source_kind, source_id=source_id)
        if exists.exists():
            raise refuse("__all__", _("A case is already open on this."), "case_exists")
        deadline = now + statutory.days("CASE_DECISION_DAYS")
        try:
            with transaction.atomic():
                case = Case.objects.create(
                    source_kind=source_kind, source_id=source_id,
                    source_display=(source_display or "")[:300],
                    source_link=(source_link or "")[:300], tender_id=tender_id,
                    tender_reference=reference, subjects=clean, opened_by=user,
                    opened_at=now, note=(summary or "").strip(), deadline=deadline)
        except IntegrityError:  # a concurrent open won the race
            raise refuse("__all__", _("A case is already open on this."),
                         "case_exists") from None
        case.number = f"JC-{timezone.localtime(now):%Y}-{case.pk:05d}"
        case.save(update_fields=["number"])
        audit_record(actor=user, action="supervision.case_open", obj=case,
                     summary=f"case {case.number} opened from {source_kind} {source_id}",
                     payload={"number": case.number, "source_kind": source_kind,
                              "source_id": source_id, "tender_id": tender_id,
                              "subjects": clean, "note": case.note,
                              "deadline": deadline.isoformat()})
    return case


def case_open(*, user, tender_id: int, note: str = "", now: datetime | None = None) -> Case:
    """Open a case on a screened (or flagged) tender from the risk queue; one per tender."""
    return case_open_from(user=user, source_kind=Case.Source.FLAG, source_id=tender_id,
                          summary=note, now=now)


def cases_for_source(source_kind: str, source_id) -> QuerySet[Case]:
    """The case opened from a complaint, inspection or spot check (or a flagged tender)."""
    if source_kind == Case.Source.FLAG:
        return Case.objects.filter(source_kind=source_kind, tender_id=int(source_id))
    return Case.objects.filter(source_kind=source_kind, source_id=str(source_id))


def _open_case_locked(case_id: int) -> Case:
    case = Case.objects.select_for_update().filter(pk=case_id).first()
    if case is None:
        raise refuse("__all__", _("No such case."), "no_case")
    if case.closed_at is not None:
        raise refuse("__all__", _("This case is closed."), "case_closed")
    return case


def case_subject_add(*, user, case_id: int, kind: str, code: str) -> Case:
    """Name one more party concerned (found during the investigation)."""
    require_supervisor(user)
    with transaction.atomic():
        case = _open_case_locked(case_id)
        added = _clean_subjects([{"kind": kind, "code": code}])[0]
        if any((s["kind"], s["code"]) == (added["kind"], added["code"]) for s in case.subjects):
            raise refuse("subjects", _("This party is already a subject of the case."),
                         "subject_exists")
        case.subjects = [*case.subjects, added]
        case.save(update_fields=["subjects"])
        audit_record(actor=user, action="supervision.case_subject", obj=case,
                     summary=f"case {case.number}: subject {added['kind']} {added['code']}",
                     payload=added)
    return case


# -- evidence ----------------------------------------------------------------------------


def _record_event(obj, object_id: str | None = None, action: str | None = None):
    """The audit event that recorded ``obj`` (the latest of ``action`` on it)."""
    events = AuditEvent.objects.filter(object_type=audit_object_type(obj),
                                       object_id=str(object_id or obj.pk))
    if action:
        events = events.filter(action=action)
    return events.order_by("-seq").first()


@dataclass
class _Found:
    description: str
    sha256: str
    details: dict
    event: AuditEvent | None


def _find_record(case: Case, kind: str, record_id: str, now: datetime) -> _Found:
    """The platform record as evidence: metadata and digests only, never sealed
    content (a bid's envelope and price sheet are never read; bids of a tender whose
    bidding has not closed cannot be attached at all, E-Rules 28)."""
    missing = refuse("record_id", _("No such record."), "no_record")
    if kind == CaseEvidence.Kind.FLAG:
        flag = Flag.objects.filter(pk=_int(record_id, missing)).first()
        if flag is None:
            raise missing
        return _Found(f"{flag.get_kind_display()} {flag.screen} · {flag.tender_reference}",
                      "", {"kind": flag.kind, "screen": flag.screen,
                           "severity": flag.severity, "tender": flag.tender_reference,
                           "subjects": flag.subjects, "evidence": flag.evidence,
                           "raised_at": flag.raised_at.isoformat()},
                      _record_event(flag))
    if kind == CaseEvidence.Kind.BID:
        from bidding.bids.selectors import bid_with_tender, tenders_still_sealed

        bid = bid_with_tender(_int(record_id, missing))
        if bid is None:
            raise missing
        if tenders_still_sealed(now).filter(pk=bid.tender_id).exists():
            raise refuse("record_id", _("Bids stay sealed until the bidding closes: who bid "
                                        "is secret before then (E-Rules 28)."), "sealed")
        return _Found(f"{bid.bidder.name} · {bid.tender.reference} · v{bid.version}",
                      bid.sha256,
                      {"tender": bid.tender.reference, "bidder": bid.bidder.credit_code,
                       "bidder_name": bid.bidder.name, "version": bid.version,
                       "status": bid.status, "size": bid.size, "sha256": bid.sha256,
                       "price_sheet_sha256": bid.price_sheet_sha256,
                       "key_fingerprint": bid.bidder_key_fingerprint,
                       "submitted_at": bid.submitted_at.isoformat(),
                       "upload_ip": bid.upload_ip, "user_agent": bid.user_agent,
                       "claims": bid.claims},
                      _record_event(bid, str(bid.public_id), "bid.submit"))
    if kind == CaseEvidence.Kind.DOCUMENT:
        from bidding.tenders.selectors import tender_document

        doc = tender_document(_int(record_id, missing))
        if doc is None:
            raise missing
        return _Found(f"{doc.name} · {doc.tender.reference}", doc.sha256,
                      {"tender": doc.tender.reference, "name": doc.name, "size": doc.size,
                       "sha256": doc.sha256, "uploaded_at": doc.uploaded_at.isoformat()},
                      _record_event(doc, action="document.add"))
    if kind == CaseEvidence.Kind.AUDIT_EVENT:
        from .selectors import audit_events_visible, chain_fields_shown, chain_fields_shown_below

        event = audit_events_visible(now).filter(seq=_int(record_id, missing)).first()
        if event is None or not chain_fields_shown(event, chain_fields_shown_below(now)):
            raise refuse("record_id", _("No such event, or it is sealed until the bidding "
                                        "closes."), "no_record")
        return _Found(f"#{event.seq} {event.action} · {event.summary}"[:300], "",
                      {"seq": event.seq, "time": event.time.isoformat(),
                       "actor": event.actor, "action": event.action,
                       "object_type": event.object_type, "object_id": event.object_id,
                       "summary": event.summary, "payload_digest": event.payload_digest},
                      event)
    raise refuse("kind", _("Evidence is a bid, a flag, a tender document or an audit event."),
                 "bad_evidence")


def _int(value, error) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise error from None


def case_evidence_attach(*, user, case_id: int, kind: str, record_id, note: str = "",
                         now: datetime | None = None) -> CaseEvidence:
    """Attach a platform record to a case, with its audit reference (the record's own
    event's seq and hash where it has one, and the attaching event's). Refusals:
    ``bad_evidence``, ``no_record``, ``sealed``, ``evidence_exists``, ``case_closed``."""
    require_supervisor(user)
    now = now or timezone.now()
    with transaction.atomic():
        case = _open_case_locked(case_id)
        found = _find_record(case, kind, str(record_id), now)
        record_id = str(record_id).strip()
        if case.evidence.filter(kind=kind, record_id=record_id).exists():
            raise refuse("record_id", _("This record is already attached."), "evidence_exists")
        item = CaseEvidence.objects.create(
            case=case, kind=kind, record_id=record_id, description=found.description[:300],
            sha256=found.sha256, details=found.details,
            record_event_seq=found.event.seq if found.event else None,
            record_event_hash=found.event.hash if found.event else "",
            note=(note or "").strip()[:500], attached_by=user, attached_at=now)
        event = audit_record(
            actor=user, action="supervision.case_evidence", obj=item,
            summary=f"case {case.number}: {kind} {record_id} attached",
            payload={"case": case.number, "kind": kind, "record_id": record_id,
                     "sha256": found.sha256, "details": found.details,
                     "record_event": [item.record_event_seq, item.record_event_hash]})
        item.event_seq, item.event_hash = event.seq, event.hash
        item.save(update_fields=["event_seq", "event_hash"])
    return item


# -- steps -------------------------------------------------------------------------------


def case_step_add(*, user, case_id: int, kind: str, on: date, text: str,
                  due: date | None = None, now: datetime | None = None) -> CaseStep:
    """Record a dated investigation step. A hearing notice names the hearing's date, at
    least ``HEARING_NOTICE_MIN_DAYS`` after the notice (APL 64); a request for documents
    may name the date they are due. Refusals: ``bad_step``, ``text_missing``,
    ``future_step``, ``hearing_date_missing``, ``hearing_too_soon``, ``due_before``."""
    require_supervisor(user)
    now = now or timezone.now()
    text = (text or "").strip()
    if kind not in CaseStep.Kind.values:
        raise refuse("kind", _("Choose the kind of step."), "bad_step")
    if not text:
        raise refuse("text", _("Describe the step."), "text_missing")
    if on > timezone.localdate(now):
        raise refuse("on", _("A step is recorded once it happened: the date is in the "
                             "future."), "future_step")
    if kind == CaseStep.Kind.HEARING_NOTICE:
        if due is None:
            raise refuse("due", _("A hearing notice names the hearing's date."),
                         "hearing_date_missing")
        least = statutory.value("HEARING_NOTICE_MIN_DAYS")
        if (due - on).days < least:
            raise refuse("due", _("The hearing must be notified at least %(n)s days before "
                                  "it is held (%(src)s).")
                         % {"n": least, "src": statutory.source("HEARING_NOTICE_MIN_DAYS")},
                         "hearing_too_soon")
    elif due is not None and due < on:
        raise refuse("due", _("The due date is before the step."), "due_before")
    with transaction.atomic():
        case = _open_case_locked(case_id)
        step = CaseStep.objects.create(case=case, kind=kind, on=on, due=due, text=text,
                                       recorded_by=user, recorded_at=now)
        audit_record(actor=user, action="supervision.case_step", obj=step,
                     summary=f"case {case.number}: {kind} on {on}",
                     payload={"case": case.number, "kind": kind, "on": on, "due": due,
                              "text": text})
    return step


# -- findings ----------------------------------------------------------------------------


def case_decide(*, user, case_id: int, outcome: str, reasons: str,
                now: datetime | None = None) -> Case:
    """Record a case's findings (confirmed or dismissed) with the reasons; final. A
    dismissed case is closed; a confirmed one awaits its penalty decision. On flag
    cases the outcome is also the learned score's label (retrained after commit)."""
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
        if outcome == Case.Outcome.DISMISSED:
            case.closed_at = now
        case.save(update_fields=["outcome", "reasons", "decided_by", "decided_at",
                                 "closed_at"])
        audit_record(actor=user, action="supervision.case_decide", obj=case,
                     payload={"tender_id": case.tender_id, "outcome": outcome,
                              "reasons": reasons})
        if case.source_kind == Case.Source.FLAG:
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
    """Decided flag cases as labels: 1 confirmed, 0 dismissed."""
    return {tid: int(outcome == Case.Outcome.CONFIRMED) for tid, outcome in
            Case.objects.filter(source_kind=Case.Source.FLAG, tender_id__isnull=False)
            .exclude(outcome="").values_list("tender_id", "outcome")}


# -- the penalty decision ----------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """``day`` plus whole months (the last day of a shorter month where needed)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _clean_sanction(case: Case, raw: dict, today: date) -> dict:
    code = str(raw.get("subject_code", "")).strip().upper()
    subject = next((s for s in case.subjects if s["code"].upper() == code), None)
    if subject is None:
        raise refuse("sanctions", _("A penalty is imposed on a subject of the case."),
                     "not_a_subject")
    kind = str(raw.get("kind", ""))
    if kind not in Sanction.Kind.values:
        raise refuse("sanctions", _("Choose the kind of penalty."), "bad_penalty")
    is_expert = subject["kind"] == "expert"
    if kind in (Sanction.Kind.EXPERT_SUSPENSION, Sanction.Kind.EXPERT_REMOVAL) and not is_expert:
        raise refuse("sanctions", _("Only an expert can be barred from evaluating or removed "
                                    "from the pool."), "penalty_not_for_subject")
    if kind == Sanction.Kind.DEBARMENT and subject["kind"] != "bidder":
        raise refuse("sanctions", _("Only a bidder can be disqualified from bidding."),
                     "penalty_not_for_subject")
    amount = months = until = None
    if kind == Sanction.Kind.FINE:
        try:
            amount = Decimal(str(raw.get("amount", ""))).quantize(Decimal("0.01"))
        except (InvalidOperation, ValueError):
            amount = None
        if amount is None or not amount.is_finite() or amount <= 0:
            raise refuse("sanctions", _("A fine names its amount in yuan."), "fine_amount")
    if kind in (Sanction.Kind.DEBARMENT, Sanction.Kind.EXPERT_SUSPENSION):
        try:
            months = int(raw.get("months"))
        except (TypeError, ValueError):
            months = 0
        lo, hi, name = ((statutory.value("DEBARMENT_MIN_MONTHS"),
                         statutory.value("DEBARMENT_MAX_MONTHS"), "DEBARMENT_MAX_MONTHS")
                        if kind == Sanction.Kind.DEBARMENT else
                        (1, statutory.value("EXPERT_SUSPENSION_MAX_MONTHS"),
                         "EXPERT_SUSPENSION_MAX_MONTHS"))
        if not lo <= months <= hi:
            raise refuse("sanctions", _("The period is %(lo)s to %(hi)s months (%(src)s).")
                         % {"lo": lo, "hi": hi, "src": statutory.source(name)},
                         "penalty_period")
        until = add_months(today, months) - timedelta(days=1)
    return {"subject": subject, "kind": kind, "amount": amount, "months": months,
            "until": until}


def case_decision_issue(*, user, case_id: int, legal_basis: str, reasons: str,
                        sanctions: list[dict], now: datetime | None = None) -> PenaltyDecision:
    """Issue the penalty decision of a confirmed case and close it.

    ``sanctions``: ``[{"subject_code", "kind", "amount"?, "months"?}]`` on the case's
    subjects. Each becomes a ``Sanction`` (the party's record; a debarment refuses its
    bids while in force); an expert's suspension or removal also becomes an
    ``expert_pool.Penalty`` (never drawn while in force). The decision letter is rendered
    as a PDF and signed by the platform. Refusals: ``not_confirmed``, ``case_closed``,
    ``basis_missing``, ``reasons_missing``, ``no_penalty``, ``not_a_subject``,
    ``bad_penalty``, ``penalty_not_for_subject``, ``fine_amount``, ``penalty_period``."""
    from expert_pool.services import expert_penalise

    from .pdf.decision import decision_pdf

    require_supervisor(user)
    now = now or timezone.now()
    today = timezone.localdate(now)
    legal_basis, reasons = (legal_basis or "").strip(), (reasons or "").strip()
    if not legal_basis:
        raise refuse("legal_basis", _("Name the legal basis of the decision."),
                     "basis_missing")
    if len(reasons) < REASONS_MIN_CHARS:
        raise refuse("reasons", _("Give the reasons for the decision (at least %(n)s "
                                  "characters).") % {"n": REASONS_MIN_CHARS}, "reasons_missing")
    if not sanctions:
        raise refuse("sanctions", _("A penalty decision imposes at least one penalty."),
                     "no_penalty")
    with transaction.atomic():
        case = _open_case_locked(case_id)
        if case.outcome != Case.Outcome.CONFIRMED:
            raise refuse("__all__", _("Record the findings as confirmed before the penalty "
                                      "decision."), "not_confirmed")
        specs = [_clean_sanction(case, raw, today) for raw in sanctions]
        decision = PenaltyDecision.objects.create(
            case=case, number=f"{case.number}-CF", legal_basis=legal_basis, reasons=reasons,
            decided_by=user, decided_at=now, pdf=b"", pdf_sha256="")
        rows = []
        for spec in specs:
            subject = spec["subject"]
            row = Sanction(decision=decision, subject_kind=subject["kind"],
                           subject_code=subject["code"], subject_name=subject["name"],
                           kind=spec["kind"], amount=spec["amount"], starts=today,
                           until=spec["until"])
            if spec["kind"] in (Sanction.Kind.EXPERT_SUSPENSION, Sanction.Kind.EXPERT_REMOVAL):
                # In force at once: expert_pool.avoidance compares with the local day.
                penalty = expert_penalise(
                    user=user, code=subject["code"], imposed_on=today,
                    until=spec["until"],
                    reason=f"{decision.number}: {row.get_kind_display()}",
                    summary=f"expert {subject['code']} penalised by {decision.number}",
                    payload={"decision": decision.number, "kind": spec["kind"],
                             "until": spec["until"]})
                row.expert_penalty_id = penalty.pk
            row.save()
            rows.append(row)
        decision.pdf = decision_pdf(decision)
        decision.pdf_sha256 = hashlib.sha256(decision.pdf).hexdigest()
        decision.save(update_fields=["pdf", "pdf_sha256"])
        case.closed_at = now
        case.save(update_fields=["closed_at"])
        audit_record(
            actor=user, action="supervision.case_penalty_decision", obj=decision,
            summary=f"case {case.number}: decision {decision.number}",
            payload={"case": case.number, "number": decision.number,
                     "legal_basis": legal_basis, "reasons": reasons,
                     "pdf_sha256": decision.pdf_sha256,
                     "sanctions": [{"subject": r.subject_code, "kind": r.kind,
                                    "amount": r.amount, "until": r.until} for r in rows]})
    return decision


# -- records, guard, clock ---------------------------------------------------------------


def sanctions_of(code: str) -> QuerySet[Sanction]:
    """A party's record: every penalty imposed on it (credit code or expert code)."""
    return Sanction.objects.filter(subject_code=code.upper()).select_related(
        "decision", "decision__case")


_DEBARMENT_IN_FORCE = Prepared(
    lambda code, day: Sanction.objects.filter(
        subject_code=code, kind=Sanction.Kind.DEBARMENT, starts__lte=day)
    .filter(Q(until__isnull=True) | Q(until__gte=day)).order_by("-until").values_list("pk")[:1],
    code=str, day=date)


def debarment_in_force(credit_code: str, day: date) -> Sanction | None:
    """The debarment in force on ``day`` against ``credit_code`` (the longest), if any.
    Every bid asks (``debarred_bidder_guard``), so the query is compiled once
    (``core.prepared``); the sanction itself is read only when there is one."""
    found = _DEBARMENT_IN_FORCE.first(code=credit_code.upper(), day=day)
    return Sanction.objects.select_related("decision").get(pk=found[0]) if found else None


def debarred_bidder_guard(organisation, tender, now: datetime):
    """A bid guard (``bidding.bids.services.register_bidder_guard``): a bidder
    disqualified from bidding by a penalty decision cannot start a bid until the
    period ends (Reg 67-68)."""
    sanction = debarment_in_force(organisation.credit_code, timezone.localdate(now))
    if sanction is None:
        return None
    return refuse("__all__", _("Your organisation is disqualified from bidding until "
                               "%(until)s by penalty decision %(number)s.")
                  % {"until": sanction.until, "number": sanction.decision.number}, "debarred")


def cases_flag_overdue(now: datetime) -> list:
    """Clock job: mark the open cases whose decision deadline has passed (each once,
    audited); one failing case does not stop the others."""

    def flag(case_id):
        with transaction.atomic():
            case = Case.objects.select_for_update().get(pk=case_id)
            if case.closed_at or case.overdue_at or not case.deadline or case.deadline > now:
                return False
            case.overdue_at = now
            case.save(update_fields=["overdue_at"])
            audit_record(actor="clock", action="supervision.case_overdue", obj=case,
                         summary=f"case {case.number} overdue",
                         payload={"deadline": case.deadline.isoformat()})
            return True

    due = Case.objects.filter(closed_at__isnull=True, overdue_at__isnull=True,
                              deadline__lte=now).values_list("pk", flat=True)
    return for_each(due, flag, what="case")


def is_overdue(case: Case, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return case.closed_at is None and case.deadline is not None and case.deadline <= now
