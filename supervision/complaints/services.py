"""Objections to the tender documents, complaints, their working-day deadlines, pauses,
suspension of the tender, the decision and its letter (Reg 22, 44, 54, 60-62).

Every act is audited (``audit_record``) and told to whom it concerns (``notify``).
Refusals are ``core.refusals.refuse`` with a code and, where a rule refuses, its article.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta

from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organisation
from accounts.services import notify
from audit.services import audit_record
from bidding.tenders import lifecycle
from bidding.tenders.selectors import TenderStatus, tenders
from core import statutory, timefmt, workdays
from core.clock import for_each
from core.refusals import refuse

from . import policies
from .models import Complaint, Evidence, Matter, Objection, Pause, Suspension

S = TenderStatus
C = Complaint.Status

# Evidence: PDFs and images, each at most this size, at most this many per complaint.
EVIDENCE_MAX_BYTES = 8 * 1024 * 1024
EVIDENCE_MAX_FILES = 10
EVIDENCE_TYPES = {
    b"%PDF-": "application/pdf",
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
}
TEXT_MAX = 20000

# Which objection must come first, by matter (Reg 60 second paragraph).
OBJECTION_ARTICLE = {Matter.DOCUMENTS: "Reg 22", Matter.OPENING: "Reg 44",
                     Matter.EVALUATION: "Reg 54"}


def _text(value, field: str, *, required: bool = True, limit: int = TEXT_MAX) -> str:
    text = str(value or "").strip()
    if "\x00" in text:
        raise refuse(field, _("The text contains a NUL character."), "nul_byte")
    if required and not text:
        raise refuse(field, _("This field is required."), "required")
    if len(text) > limit:
        raise refuse(field, _("At most %(n)s characters.") % {"n": limit}, "too_long")
    return text


def _owners(tender):
    return Organisation.objects.filter(pk__in=[p for p in tender.owner_organisations() if p])


def _supervisors():
    return Organisation.objects.filter(kind=Organisation.Kind.SUPERVISOR)


def _link(c: Complaint) -> str:
    return f"/complaints/{c.pk}/"


# --- objections to the tender documents (Reg 22) -------------------------------------


@transaction.atomic
def objection_raise(*, user, tender, text: str, now: datetime | None = None) -> Objection:
    """A (would-be) bidder objects to the tender documents, at least 10 days before the
    bid deadline (Reg 22); the tenderer answers within 3 days."""
    now = now or timezone.now()
    if not policies.may_file(user) or policies.is_owner(user, tender):
        raise PermissionDenied(_("Only a bidder or another interested party objects to the "
                                 "tender documents."))
    if tender.status in (S.DRAFT, S.CANCELLED):
        raise refuse("tender", _("This tender is not published."), "not_published")
    latest = tender.deadline - statutory.days("OBJECTION_TO_DOCS_MIN_DAYS")
    if now > latest:
        raise refuse("__all__", _(
            "Objections to the tender documents must be raised at least %(days)s days "
            "before the bid deadline (%(source)s); the last day was %(last)s.") % {
            "days": statutory.value("OBJECTION_TO_DOCS_MIN_DAYS"),
            "source": statutory.source("OBJECTION_TO_DOCS_MIN_DAYS"),
            "last": timefmt.human(latest)},
            "objection_too_late")
    text = _text(text, "text")
    o = Objection.objects.create(
        tender=tender, party_id=user.organisation_id, raised_by=user, text=text, raised_at=now,
        answer_due=now + statutory.days("OBJECTION_TO_DOCS_ANSWER_DAYS"))
    audit_record(actor=user, action="complaints.objection_raised", obj=o,
                 payload={"tender": tender.reference, "text": text},
                 summary=f"{tender.reference}: objection to the tender documents")
    for org in _owners(tender):
        notify(organisation=org, subject=_("Objection to the tender documents of %(ref)s") % {
            "ref": tender.reference}, body=text, link="/complaints/objections/")
    return o


@transaction.atomic
def objection_answer(*, user, objection: Objection, answer: str,
                     now: datetime | None = None) -> Objection:
    now = now or timezone.now()
    o = Objection.objects.select_for_update().select_related("tender").get(pk=objection.pk)
    policies.require_tender_owner(user, o.tender)
    if o.answered_at:
        raise refuse("__all__", _("This objection has already been answered."),
                     "already_answered")
    o.answer, o.answered_by, o.answered_at = _text(answer, "answer"), user, now
    o.save(update_fields=["answer", "answered_by", "answered_at"])
    audit_record(actor=user, action="complaints.objection_answered", obj=o,
                 payload={"answer": o.answer, "late": now > o.answer_due},
                 summary=f"{o.tender.reference}: objection to the documents answered")
    notify(organisation=o.party, subject=_("Your objection to %(ref)s was answered") % {
        "ref": o.tender.reference}, body=o.answer, link="/complaints/objections/")
    return o


# --- which objection came first -------------------------------------------------------


def _settled(answered_at, answer_due, now) -> bool:
    return answered_at is not None or (answer_due is not None and now >= answer_due)


def prior_objection(*, matter: str, tender, organisation_id: int, now: datetime):
    """The objection a complaint on ``matter`` rests on, or a refusal saying why there is
    none: (objection, field_name) or raises."""
    if matter == Matter.OTHER:
        return None, None
    article = OBJECTION_ARTICLE[matter]
    if matter == Matter.DOCUMENTS:
        rows = [(o, o.answered_at, o.answer_due) for o in Objection.objects.filter(
            tender=tender, party_id=organisation_id).order_by("raised_at")]
        field = "document_objection"
    elif matter == Matter.OPENING:
        from bidding.opening.selectors import opening_objections_of

        # Answered on the spot; once the opening is closed an unanswered one is settled too.
        rows = []
        for o in opening_objections_of(tender, organisation_id):
            closed = o.session.closed_at
            rows.append((o, o.answered_at, closed))
        field = "opening_objection"
    else:
        from bidding.award.selectors import award_objections_of

        rows = [(o, o.answered_at, o.answer_due)
                for o in award_objections_of(tender, organisation_id)]
        field = "award_objection"
    if not rows:
        raise refuse("matter", _(
            "A complaint about %(matter)s must follow an objection to the tenderer first "
            "(Reg 60, %(article)s); your organisation has raised none in this tender.") % {
            "matter": Matter(matter).label, "article": article}, "objection_required")
    settled = [r for r in rows if _settled(r[1], r[2], now)]
    if not settled:
        raise refuse("matter", _(
            "Your objection (%(article)s) has not been answered yet and its answer is not "
            "yet due; a complaint may follow once it is answered or overdue (Reg 60).") % {
            "article": article}, "objection_pending")
    return settled[-1][0], field


def filing_deadline(*, knew_on: date, objection=None) -> date:
    """The last day to complain: 10 days after the day the complainant knew (Reg 60),
    plus the days the objection waited for its answer (not counted, Reg 60)."""
    last = knew_on + statutory.days("COMPLAINT_FILING_DAYS")
    if objection is not None:
        raised = timezone.localdate(objection.raised_at)
        end = getattr(objection, "answered_at", None) or getattr(objection, "answer_due", None)
        if end is not None:
            last += timedelta(days=max(0, (timezone.localdate(end) - raised).days))
    return last


# --- deadlines ----------------------------------------------------------------------


def refresh_deadlines(c: Complaint) -> None:
    """Recompute the acceptance and decision deadlines (working days, pauses excluded);
    a year nobody has defined leaves them empty and names the year in ``calendar_gap``."""
    c.calendar_gap = None
    try:
        c.accept_due = workdays.add_working_days(
            timezone.localdate(c.filed_at), statutory.value("COMPLAINT_ACCEPT_WORKING_DAYS"))
        if c.accepted_at:
            paused = sum(p.working_days for p in c.pauses.filter(ended_at__isnull=False))
            c.decide_due = workdays.add_working_days(
                timezone.localdate(c.accepted_at),
                statutory.value("COMPLAINT_DECISION_WORKING_DAYS") + paused)
        else:
            c.decide_due = None
    except workdays.CalendarUndefined as gap:
        c.calendar_gap = gap.year
        if c.accept_due is None or c.accepted_at:
            c.decide_due = None
    c.save(update_fields=["accept_due", "decide_due", "calendar_gap"])


def working_days_left(due: date | None, *, today: date | None = None) -> int | None:
    """Working days from today to ``due`` (negative: overdue by that many)."""
    if due is None:
        return None
    today = today or timezone.localdate()
    try:
        if due >= today:
            return workdays.working_days_between(today, due)
        return -workdays.working_days_between(due, today)
    except workdays.CalendarUndefined:
        return None


# --- filing -------------------------------------------------------------------------


def _check_evidence(files) -> list[tuple[str, str, bytes]]:
    files = list(files or [])
    if len(files) > EVIDENCE_MAX_FILES:
        raise refuse("evidence", _("At most %(n)s evidence files.") % {
            "n": EVIDENCE_MAX_FILES}, "too_many_files")
    out = []
    for f in files:
        if f.size > EVIDENCE_MAX_BYTES:
            raise refuse("evidence", _("%(name)s is larger than %(mb)s MB.") % {
                "name": f.name, "mb": EVIDENCE_MAX_BYTES // (1024 * 1024)}, "file_too_large")
        data = f.read()
        kind = next((t for magic, t in EVIDENCE_TYPES.items() if data.startswith(magic)), None)
        if kind is None:
            raise refuse("evidence", _("%(name)s is not a PDF, PNG or JPEG file.") % {
                "name": f.name}, "file_type")
        name = str(f.name or "evidence").replace("/", "_").replace("\\", "_")[-200:]
        out.append((name, kind, data))
    return out


def _store_evidence(c: Complaint, user, items, now) -> list[Evidence]:
    stored = []
    for name, kind, data in items:
        digest = hashlib.sha256(data).hexdigest()
        ev = Evidence(complaint=c, name=name, content_type=kind, size=len(data), sha256=digest,
                      uploaded_by=user, uploaded_at=now)
        ext = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}[kind]
        ev.file.save(f"{c.public_id}-{digest[:16]}.{ext}", ContentFile(data), save=False)
        ev.save()
        stored.append(ev)
    return stored


def complaint_file(*, user, tender, matter: str, text: str, knew_on: date,
                   requests: str = "", evidence=(), now: datetime | None = None) -> Complaint:
    """A bidder or another interested party complains to the supervisor (Reg 60)."""
    now = now or timezone.now()
    if not policies.may_file(user):
        raise PermissionDenied(_("Only a bidder or another interested party may complain."))
    if matter not in Matter.values:
        raise refuse("matter", _("Choose what the complaint is about."), "invalid_matter")
    if tender.status == S.DRAFT:
        raise refuse("tender", _("This tender is not published."), "not_published")
    text = _text(text, "text")
    requests = _text(requests, "requests", required=False)
    if knew_on is None:
        raise refuse("knew_on", _("Say on which day you knew of the matter."), "required")
    today = timezone.localdate(now)
    if knew_on > today:
        raise refuse("knew_on", _("That day is in the future."), "knew_on_future")
    objection, field = prior_objection(matter=matter, tender=tender,
                                       organisation_id=user.organisation_id, now=now)
    last = filing_deadline(knew_on=knew_on, objection=objection)
    if today > last:
        raise refuse("knew_on", _(
            "A complaint must be filed within %(days)s days of the day you knew or should "
            "have known of the matter (%(source)s); the last day was %(last)s.") % {
            "days": statutory.value("COMPLAINT_FILING_DAYS"),
            "source": statutory.source("COMPLAINT_FILING_DAYS"), "last": last.isoformat()},
            "complaint_late")
    items = _check_evidence(evidence)
    with transaction.atomic():
        c = Complaint.objects.create(
            tender=tender, complainant_id=user.organisation_id, filed_by=user, matter=matter,
            text=text, requests=requests, knew_on=knew_on, filed_at=now,
            **({field: objection} if field else {}))
        evs = _store_evidence(c, user, items, now)
        refresh_deadlines(c)
        audit_record(actor=user, action="complaints.filed", obj=c, payload={
            "tender": tender.reference, "matter": matter, "text": text, "requests": requests,
            "knew_on": knew_on.isoformat(), "objection": getattr(objection, "pk", None),
            "evidence": [e.sha256 for e in evs],
            "accept_due": c.accept_due.isoformat() if c.accept_due else None},
            summary=f"{tender.reference}: complaint filed")
        for org in _supervisors():
            notify(organisation=org, subject=_("New complaint on %(ref)s") % {
                "ref": tender.reference}, body=text[:500], link=_link(c))
    return c


def evidence_add(*, user, complaint: Complaint, files, now=None) -> list[Evidence]:
    now = now or timezone.now()
    if not policies.is_complainant(user, complaint):
        raise PermissionDenied(_("Only the complainant adds evidence."))
    if complaint.status in (C.REJECTED, C.DECIDED):
        raise refuse("evidence", _("The complaint is closed."), "closed")
    items = _check_evidence(files)
    if not items:
        raise refuse("evidence", _("Choose a file."), "required")
    with transaction.atomic():
        c = Complaint.objects.select_for_update().get(pk=complaint.pk)
        if c.evidence.count() + len(items) > EVIDENCE_MAX_FILES:
            raise refuse("evidence", _("At most %(n)s evidence files.") % {
                "n": EVIDENCE_MAX_FILES}, "too_many_files")
        evs = _store_evidence(c, user, items, now)
        audit_record(actor=user, action="complaints.evidence_added", obj=c,
                     payload={"evidence": [(e.name, e.sha256) for e in evs]},
                     summary=f"{c.tender.reference}: evidence added")
    return evs


# --- handling -------------------------------------------------------------------------


def _locked(complaint: Complaint) -> Complaint:
    return Complaint.objects.select_for_update().select_related("tender").get(pk=complaint.pk)


def _tell_parties(c: Complaint, subject: str, body: str = "", *, supervisors=False) -> None:
    orgs = {c.complainant_id: c.complainant} | {o.pk: o for o in _owners(c.tender)}
    if supervisors:
        orgs |= {o.pk: o for o in _supervisors()}
    for org in orgs.values():
        notify(organisation=org, subject=subject, body=body, link=_link(c))


def complaint_accept(*, user, complaint: Complaint, now=None) -> Complaint:
    now = now or timezone.now()
    policies.require_supervisor(user)
    with transaction.atomic():
        c = _locked(complaint)
        if c.status != C.RECEIVED:
            raise refuse("__all__", _("Only a complaint awaiting acceptance can be accepted."),
                         "not_received")
        c.status, c.accepted_at, c.handled_by = C.ACCEPTED, now, user
        c.save(update_fields=["status", "accepted_at", "handled_by"])
        refresh_deadlines(c)
        late = c.accept_due is not None and timezone.localdate(now) > c.accept_due
        audit_record(actor=user, action="complaints.accepted", obj=c, payload={
            "late": late, "decide_due": c.decide_due.isoformat() if c.decide_due else None},
            summary=f"{c.tender.reference}: complaint accepted")
        _tell_parties(c, _("Complaint on %(ref)s accepted") % {"ref": c.tender.reference},
                      _("A decision is due by %(due)s (%(source)s).") % {
                          "due": c.decide_due or "—",
                          "source": statutory.source("COMPLAINT_DECISION_WORKING_DAYS")})
    return c


def complaint_reject(*, user, complaint: Complaint, reason: str, now=None) -> Complaint:
    now = now or timezone.now()
    policies.require_supervisor(user)
    reason = _text(reason, "reason")
    with transaction.atomic():
        c = _locked(complaint)
        if c.status != C.RECEIVED:
            raise refuse("__all__", _("Only a complaint awaiting acceptance can be rejected."),
                         "not_received")
        c.status, c.rejected_at, c.handled_by, c.rejection_reason = (
            C.REJECTED, now, user, reason)
        c.save(update_fields=["status", "rejected_at", "handled_by", "rejection_reason"])
        audit_record(actor=user, action="complaints.rejected", obj=c,
                     payload={"reason": reason},
                     summary=f"{c.tender.reference}: complaint not accepted")
        notify(organisation=c.complainant, subject=_(
            "Your complaint on %(ref)s was not accepted") % {"ref": c.tender.reference},
            body=reason, link=_link(c))
    return c


def pause_start(*, user, complaint: Complaint, reason: str, note: str = "", now=None) -> Pause:
    """Stop the decision clock for expert review or testing (Reg 61)."""
    now = now or timezone.now()
    policies.require_supervisor(user)
    if reason not in Pause.Reason.values:
        raise refuse("reason", _("Choose expert review or testing."), "invalid_reason")
    note = _text(note, "note", required=False)
    with transaction.atomic():
        c = _locked(complaint)
        if c.status != C.ACCEPTED:
            raise refuse("__all__", _("The clock can only be paused on an accepted complaint "
                                      "under review."), "not_accepted")
        if c.pauses.filter(ended_at__isnull=True).exists():
            raise refuse("__all__", _("The clock is already paused."), "already_paused")
        p = Pause.objects.create(complaint=c, reason=reason, note=note, started_at=now,
                                 started_by=user)
        audit_record(actor=user, action="complaints.paused", obj=c,
                     payload={"reason": reason, "note": note},
                     summary=f"{c.tender.reference}: complaint clock paused")
    return p


def pause_end(*, user, complaint: Complaint, now=None) -> Pause:
    """Restart the clock; the decision deadline moves by the working days paused."""
    now = now or timezone.now()
    policies.require_supervisor(user)
    with transaction.atomic():
        c = _locked(complaint)
        p = c.pauses.select_for_update().filter(ended_at__isnull=True).first()
        if p is None:
            raise refuse("__all__", _("The clock is not paused."), "not_paused")
        p.ended_at, p.ended_by = now, user
        p.working_days = workdays.working_days_between(
            timezone.localdate(p.started_at), timezone.localdate(now))
        p.save(update_fields=["ended_at", "ended_by", "working_days"])
        before = c.decide_due
        refresh_deadlines(c)
        if c.decide_due and before and c.decide_due > before:
            c.decide_reminded_at = None
            c.save(update_fields=["decide_reminded_at"])
        audit_record(actor=user, action="complaints.resumed_clock", obj=c, payload={
            "paused_working_days": p.working_days,
            "decide_due": c.decide_due.isoformat() if c.decide_due else None},
            summary=f"{c.tender.reference}: complaint clock restarted")
    return p


def suspend_tender(*, user, complaint: Complaint, reason: str, now=None) -> Suspension:
    """Suspend the tender while the complaint is handled (Reg 62), through the lifecycle."""
    now = now or timezone.now()
    policies.require_supervisor(user)
    reason = _text(reason, "reason")
    with transaction.atomic():
        c = _locked(complaint)
        if c.status not in (C.RECEIVED, C.ACCEPTED):
            raise refuse("__all__", _("The tender can only be suspended while the complaint "
                                      "is being handled."), "not_handling")
        if c.suspensions.filter(resumed_at__isnull=True).exists():
            raise refuse("__all__", _("The tender is already suspended for this complaint."),
                         "already_suspended")
        tender = c.tender
        before = tender.status
        lifecycle.tender_transition(tender=tender, to=S.SUSPENDED, by=lifecycle.SUPERVISOR,
                                    actor=user, reason=f"Reg 62: {reason}", now=now)
        s = Suspension.objects.create(complaint=c, suspended_at=now, suspended_by=user,
                                      reason=reason, from_status=before)
        audit_record(actor=user, action="complaints.tender_suspended", obj=c,
                     payload={"reason": reason, "from": before},
                     summary=f"{tender.reference}: suspended for a complaint (Reg 62)")
        _tell_parties(c, _("Tender %(ref)s suspended while a complaint is handled (Reg 62)")
                      % {"ref": tender.reference}, reason)
    return s


def resume_tender(*, user, complaint: Complaint, now=None) -> Suspension:
    """Resume the tender where it was before the suspension."""
    now = now or timezone.now()
    policies.require_supervisor(user)
    with transaction.atomic():
        c = _locked(complaint)
        s = c.suspensions.select_for_update().filter(resumed_at__isnull=True).first()
        if s is None:
            raise refuse("__all__", _("The tender is not suspended for this complaint."),
                         "not_suspended")
        tender = tenders().get(pk=c.tender_id)
        target = tender.suspended_from or s.from_status
        lifecycle.tender_transition(tender=tender, to=target, by=lifecycle.SUPERVISOR,
                                    actor=user, reason="Reg 62: resumed", now=now)
        s.resumed_at, s.resumed_by = now, user
        s.save(update_fields=["resumed_at", "resumed_by"])
        audit_record(actor=user, action="complaints.tender_resumed", obj=c,
                     payload={"to": target},
                     summary=f"{tender.reference}: resumed after suspension")
        _tell_parties(c, _("Tender %(ref)s resumed") % {"ref": tender.reference})
    return s


def complaint_decide(*, user, complaint: Complaint, outcome: str, decision: str,
                     now=None) -> Complaint:
    """The supervisor's decision; the signed letter goes to the complainant and the
    parties concerned."""
    from .pdf.letter import decision_letter_pdf

    now = now or timezone.now()
    policies.require_supervisor(user)
    if outcome not in Complaint.Outcome.values:
        raise refuse("outcome", _("Choose the outcome."), "invalid_outcome")
    decision = _text(decision, "decision")
    with transaction.atomic():
        c = _locked(complaint)
        if c.status != C.ACCEPTED:
            raise refuse("__all__", _("Only an accepted complaint can be decided."),
                         "not_accepted")
        if c.pauses.filter(ended_at__isnull=True).exists():
            raise refuse("__all__", _("End the pause (expert review or testing) before "
                                      "deciding."), "paused")
        c.status, c.outcome, c.decision, c.decided_at, c.handled_by = (
            C.DECIDED, outcome, decision, now, user)
        c.save(update_fields=["status", "outcome", "decision", "decided_at", "handled_by"])
        pdf = decision_letter_pdf(c)
        c.letter_sha256 = hashlib.sha256(pdf).hexdigest()
        c.letter.save(f"{c.public_id}.pdf", ContentFile(pdf), save=False)
        c.save(update_fields=["letter", "letter_sha256"])
        late = c.decide_due is not None and timezone.localdate(now) > c.decide_due
        audit_record(actor=user, action="complaints.decided", obj=c, payload={
            "outcome": outcome, "decision": decision, "letter_sha256": c.letter_sha256,
            "late": late}, summary=f"{c.tender.reference}: complaint decided ({outcome})")
        _tell_parties(c, _("Decision on the complaint on %(ref)s") % {
            "ref": c.tender.reference}, _("The decision letter is on the complaint's page."))
    return c


# --- the clock ------------------------------------------------------------------------


def _remind_or_flag(pk: int, now: datetime) -> bool:
    today = timezone.localdate(now)
    ahead = statutory.value("COMPLAINT_REMINDER_WORKING_DAYS")
    with transaction.atomic():
        c = Complaint.objects.select_for_update().select_related("tender").get(pk=pk)
        if c.calendar_gap or (c.status == C.RECEIVED and c.accept_due is None) or (
                c.status == C.ACCEPTED and c.decide_due is None):
            refresh_deadlines(c)
        if c.status == C.RECEIVED:
            due, stage = c.accept_due, "accept"
        elif c.status == C.ACCEPTED and not c.pauses.filter(ended_at__isnull=True).exists():
            due, stage = c.decide_due, "decide"
        else:
            return False
        if due is None:
            return False
        reminded, overdue = f"{stage}_reminded_at", f"{stage}_overdue_since"
        what = _("the acceptance decision") if stage == "accept" else _("the decision")
        if today > due and getattr(c, overdue) is None:
            setattr(c, overdue, now)
            c.save(update_fields=[overdue])
            audit_record(actor="clock", action=f"complaints.{stage}_overdue", obj=c,
                         payload={"due": due.isoformat()},
                         summary=f"{c.tender.reference}: complaint {stage} overdue")
            for org in _supervisors():
                notify(organisation=org, subject=_(
                    "Overdue: %(what)s on the complaint on %(ref)s was due %(due)s") % {
                    "what": what, "ref": c.tender.reference, "due": due.isoformat()},
                    link=_link(c))
            return True
        if today <= due and getattr(c, reminded) is None and \
                workdays.working_days_between(today, due) <= ahead:
            setattr(c, reminded, now)
            c.save(update_fields=[reminded])
            audit_record(actor="clock", action=f"complaints.{stage}_reminder", obj=c,
                         payload={"due": due.isoformat()},
                         summary=f"{c.tender.reference}: complaint {stage} due soon")
            for org in _supervisors():
                notify(organisation=org, subject=_(
                    "Due %(due)s: %(what)s on the complaint on %(ref)s") % {
                    "what": what, "ref": c.tender.reference, "due": due.isoformat()},
                    link=_link(c))
            return True
    return False


def _objection_overdue(pk: int, now: datetime) -> bool:
    with transaction.atomic():
        o = Objection.objects.select_for_update().select_related("tender").get(pk=pk)
        if o.answered_at or o.overdue_since:
            return False
        o.overdue_since = now
        o.save(update_fields=["overdue_since"])
        audit_record(actor="clock", action="complaints.objection_overdue", obj=o,
                     summary=f"{o.tender.reference}: objection to the documents unanswered")
        for org in _owners(o.tender):
            notify(organisation=org, subject=_(
                "Overdue: answer the objection to the documents of %(ref)s (%(source)s)") % {
                "ref": o.tender.reference,
                "source": statutory.source("OBJECTION_TO_DOCS_ANSWER_DAYS")},
                link="/complaints/objections/")
        notify(organisation=o.party, subject=_(
            "Your objection to %(ref)s was not answered in time; you may complain (Reg 60)")
            % {"ref": o.tender.reference}, link="/complaints/new/")
        return True


def complaints_tick(now: datetime) -> dict:
    """Reminders as complaint deadlines approach, overdue marks once they pass, and
    overdue objections to the documents. Each complaint is isolated from the others."""
    open_ids = Complaint.objects.filter(status__in=[C.RECEIVED, C.ACCEPTED]).values_list(
        "pk", flat=True)
    done = for_each(open_ids, lambda pk: _remind_or_flag(pk, now), what="complaint deadline")
    due = Objection.objects.filter(answered_at__isnull=True, overdue_since__isnull=True,
                                   answer_due__lte=now).values_list("pk", flat=True)
    objections = for_each(due, lambda pk: _objection_overdue(pk, now),
                          what="objection overdue")
    return {"complaints": done, "objections": objections}



