"""Publicity of the candidates and objections to them (Reg 54).

* When a tender reaches ``candidates`` (a lifecycle hook) the candidates' names and prices
  are published at once, so always within Reg 54's three days of the report unless the
  move itself came late (then ``Publicity.late`` is set for the supervisor), and stay up
  for at least three days.
* A bidder may object while the publicity is up; the tenderer answers within three days.
* Guards on ``candidates -> award`` and ``candidates -> awarded``: the publicity has ended
  and no objection is open. An unanswered objection past its three days is flagged by the
  clock and the tenderer reminded; the procedure stays paused until it is answered.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organisation
from accounts.services import notify
from audit.services import audit_record
from bidding.evaluation.models import EvaluationReport
from bidding.evaluation.selectors import recommended_candidates
from bidding.tenders import lifecycle
from bidding.tenders.models import Tender
from core import statutory, timefmt
from core.clock import for_each
from core.refusals import refuse

from . import policies
from .models import Objection, Publicity

S = Tender.Status


def candidates_rows(tender: Tender) -> list[dict]:
    return [
        {"bid": str(c.bid.public_id), "bidder": c.bid.bidder.name,
         "credit_code": c.bid.bidder.credit_code, "rank": c.rank,
         "price": str(c.price), "score": None if c.score is None else str(c.score)}
        for c in recommended_candidates(tender)
    ]


def publicity_open(*, tender: Tender, previous: str = "", reason: str = "",
                   now: datetime | None = None) -> Publicity:
    """Publish the candidates (hook on reaching ``candidates``); idempotent."""
    now = now or timezone.now()
    existing = Publicity.objects.filter(tender=tender).first()
    if existing is not None:
        return existing
    report = EvaluationReport.objects.filter(tender=tender, completed_at__isnull=False).first()
    completed = report.completed_at if report else now
    publicity = Publicity.objects.create(
        tender=tender, report_completed_at=completed, published_at=now,
        ends_at=now + statutory.days("PUBLICITY_MIN_DAYS"),
        late=now - completed > statutory.days("PUBLICITY_WITHIN_DAYS"),
        candidates=candidates_rows(tender),
    )
    audit_record(actor="system", action="award.publicity_opened", obj=publicity,
                 payload={"tender": tender.reference, "candidates": publicity.candidates,
                          "ends_at": publicity.ends_at, "late": publicity.late},
                 summary=f"{tender.reference}: candidates published")
    return publicity


def publicity_refusal(tender: Tender, now: datetime) -> tuple[str, str]:
    """Why the award cannot go ahead yet, as ``(code, message)``; ``("", "")`` if it can:
    the publicity has ended and no objection is open (Reg 54)."""
    publicity = Publicity.objects.filter(tender=tender).first()
    if publicity is None:
        return "not_published", _("The candidates have not been published yet (Reg 54).")
    if now < publicity.ends_at:
        return "publicity_running", _(
            "The candidates' publicity runs until %(end)s; the award cannot be made before "
            "it ends (%(source)s).") % {
                "end": timefmt.human(publicity.ends_at),
                "source": statutory.source("PUBLICITY_MIN_DAYS")}
    if Objection.objects.filter(tender=tender, answered_at__isnull=True).exists():
        return "objection_open", _(
            "An objection to the candidates is still unanswered; the procedure is paused "
            "until the tenderer answers it (%(source)s).") % {
                "source": statutory.source("PUBLICITY_OBJECTION_ANSWER_DAYS")}
    return "", ""


def check_publicity(tender: Tender, now: datetime) -> None:
    """Refuse (with the code) while the publicity runs or an objection is open."""
    code, message = publicity_refusal(tender, now)
    if code:
        raise refuse("__all__", message, code)


def award_publicity_guard(tender: Tender, now: datetime) -> str:
    """Guard on candidates -> award / awarded (Reg 54)."""
    return publicity_refusal(tender, now)[1]


def direct_award_only(tender: Tender, now: datetime) -> str:
    """Guard on candidates -> awarded: only the direct award skips the committee."""
    if tender.award_method != "first_ranked":
        return _("This tender's award is decided by its award committee (评定分离); the "
                 "first-ranked candidate does not win directly.")
    return ""


def committee_award_only(tender: Tender, now: datetime) -> str:
    """Guard on candidates -> award: only under 评定分离."""
    if tender.award_method != "separate":
        return _("This tender awards to the first-ranked candidate; there is no award "
                 "committee decision (Reg 55).")
    return ""


@transaction.atomic
def objection_raise(*, user, tender: Tender, text: str,
                    now: datetime | None = None) -> Objection:
    """A bidder objects to the candidates while the publicity is up (Reg 54)."""
    now = now or timezone.now()
    if not policies.bidder_of(user, tender):
        raise refuse("__all__", _("Only a bidder in this tender can object to its candidates."),
                     "not_a_bidder")
    publicity = Publicity.objects.filter(tender=tender).first()
    if publicity is None or not (publicity.published_at <= now < publicity.ends_at):
        raise refuse("__all__", _("Objections to the candidates can only be raised while "
                                  "they are in publicity (Reg 54)."), "outside_publicity")
    text = (text or "").strip()
    if not text:
        raise refuse("text", _("Say what the objection is."), "required")
    objection = Objection.objects.create(
        tender=tender, bidder_id=user.organisation_id, raised_by=user, text=text,
        raised_at=now, answer_due=now + statutory.days("PUBLICITY_OBJECTION_ANSWER_DAYS"))
    audit_record(actor=user, action="award.objection_raised", obj=objection,
                 payload={"tender": tender.reference, "text": text},
                 summary=f"{tender.reference}: objection to the candidates")
    for org in Organisation.objects.filter(pk__in=[p for p in tender.owner_organisations() if p]):
        notify(organisation=org, subject=_("Objection to the candidates of %(ref)s") % {
            "ref": tender.reference}, body=text, link=f"/award/{tender.pk}/")
    return objection


@transaction.atomic
def objection_answer(*, user, objection: Objection, answer: str,
                     now: datetime | None = None) -> Objection:
    """The tenderer answers an objection; the procedure may go on once none is open."""
    now = now or timezone.now()
    objection = Objection.objects.select_for_update().select_related("tender").get(
        pk=objection.pk)
    policies.require_owner(user, objection.tender)
    if objection.answered_at:
        raise refuse("__all__", _("This objection has already been answered."),
                     "already_answered")
    answer = (answer or "").strip()
    if not answer:
        raise refuse("answer", _("Write the answer."), "required")
    objection.answer, objection.answered_by, objection.answered_at = answer, user, now
    objection.save(update_fields=["answer", "answered_by", "answered_at"])
    audit_record(actor=user, action="award.objection_answered", obj=objection,
                 payload={"answer": answer, "late": now > objection.answer_due},
                 summary=f"{objection.tender.reference}: objection answered")
    notify(organisation=objection.bidder,
           subject=_("Your objection to %(ref)s was answered") % {
               "ref": objection.tender.reference},
           body=answer, link=f"/award/{objection.tender_id}/")
    return objection


def objections_tick(*, now: datetime) -> list[int]:
    """Flag unanswered objections past their three days and remind the tenderer once."""
    due = Objection.objects.filter(answered_at__isnull=True, overdue_since__isnull=True,
                                   answer_due__lte=now).values_list("pk", flat=True)

    def flag(pk) -> bool:
        with transaction.atomic():
            o = Objection.objects.select_for_update().select_related("tender").get(pk=pk)
            if o.answered_at or o.overdue_since:
                return False
            o.overdue_since = now
            o.save(update_fields=["overdue_since"])
            audit_record(actor="clock", action="award.objection_overdue", obj=o,
                         summary=f"{o.tender.reference}: objection answer overdue")
            for org in Organisation.objects.filter(pk__in=[
                    p for p in o.tender.owner_organisations() if p]):
                notify(organisation=org, subject=_(
                    "Overdue: answer the objection to the candidates of %(ref)s (%(source)s)")
                    % {"ref": o.tender.reference,
                       "source": statutory.source("PUBLICITY_OBJECTION_ANSWER_DAYS")},
                    link=f"/award/{o.tender_id}/")
            return True

    return for_each(due, flag, what="objection reminder")


def install() -> None:
    lifecycle.register_hook(S.CANDIDATES, publicity_open)
    lifecycle.register_guard(S.CANDIDATES, S.AWARD, award_publicity_guard)
    lifecycle.register_guard(S.CANDIDATES, S.AWARD, committee_award_only)
    lifecycle.register_guard(S.CANDIDATES, S.AWARDED, award_publicity_guard)
    lifecycle.register_guard(S.CANDIDATES, S.AWARDED, direct_award_only)
