"""The award decision and the notices.

* **Direct award** (``award_method=first_ranked``, Reg 55): after the publicity, the
  first-ranked candidate wins; the notices go out and the tender moves
  ``candidates -> awarded`` in one transaction.
* **评定分离** (``award_method=separate``): ``candidates -> award`` after the publicity; the
  committee decides by exactly the method the tender declared (``decision_method``; any
  other is refused):

  - **vote** (``vote_mode``): every member votes once per round; a round closes when the
    last member has voted, and only then are its ballots visible (they go into the
    report). *direct*: one round, the most votes wins. *elimination*: a candidate with
    more than half the votes wins; otherwise the one with the fewest votes is dropped and
    a new round opens with the rest. **Ties** (the leaders in a direct vote, the fewest
    in an elimination round) are broken by the evaluation report's order: the candidate
    listed earlier stays ahead. The rule is written into every round's record.
  - **lottery**: commit-reveal as the committee draw (``committee.py``): the tenderer
    commits, a supervisor records the public round's value, one candidate is drawn; a
    lottery is never re-run.
  - **vote then lottery**: one vote round makes a shortlist of the **top 2** by votes
    (ties at the cut broken by report order, as above); then the lottery among them.
  - **deliberation**: every member records an opinion (text and preferred candidate); the
    chair then decides with a written reason.
  - **price competition**: a second sealed price round among the candidates, the lowest
    valid price wins (``price_round.py``).

  The decision writes an ``AwardDecision`` (winner, method, record of every vote, draw and
  opinion) with a signed award report PDF; ``notices_issue`` sends the notices and moves
  ``award -> awarded``.
* **Notices** (Law 45): the award notice to the winner and a result notice to every other
  bidder, created in one transaction with one timestamp; the contract (Law 46, 30 days)
  and report (Law 47, 15 days) deadlines start there.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.services import notify
from audit.services import audit_record
from bidding.bids.models import Bid
from bidding.bids.selectors import current_bids
from bidding.evaluation.selectors import recommended_candidates
from bidding.tenders import lifecycle
from bidding.tenders.models import Tender
from bidding.tenders.reference import DecisionMethod, VoteMode
from core import statutory
from core.refusals import refuse
from crypto import randomness

from . import policies
from .committee import verify_draw
from .models import (
    AwardCommittee,
    AwardDecision,
    Ballot,
    CommitteeMember,
    Lottery,
    Notice,
    Opinion,
    VoteRound,
)
from .pdf.documents import NoticeData, ReportData, award_report_pdf, notice_pdf, when
from .publicity import check_publicity

S = Tender.Status
M = DecisionMethod
SHORTLIST = 2  # vote then lottery: the top 2 by votes go to the lottery
TIE_RULE = "report_order"


def candidate_ids(tender: Tender) -> list[str]:
    return [str(c.bid.public_id) for c in recommended_candidates(tender)]


def _names(tender: Tender) -> dict[str, str]:
    return {str(c.bid.public_id): c.bid.bidder.name for c in recommended_candidates(tender)}


def _check_separate(tender: Tender, method: str) -> None:
    """The committee acts only under 评定分离, in the award phase, by the declared method."""
    if tender.award_method != "separate":
        raise refuse("__all__", _("This tender awards to the first-ranked candidate; there is "
                                  "no committee decision (Reg 55)."), "wrong_method")
    if tender.decision_method != method:
        raise refuse("method", _(
            "The tender declared “%(declared)s” as its award decision method; “%(asked)s” "
            "cannot be used.") % {"declared": tender.get_decision_method_display(),
                                  "asked": M(method).label if method in M.values else method},
            "wrong_method")
    if tender.status != S.AWARD:
        raise refuse("__all__", _("The award committee decides only while the tender is in "
                                  "its award phase."), "wrong_status")
    if AwardDecision.objects.filter(tender=tender).exists():
        raise refuse("__all__", _("The award has already been decided."), "already_decided")


def _check_choice(tender: Tender, choice: str, allowed: list[str], field: str = "choice"):
    if str(choice) not in allowed:
        raise refuse(field, _("Choose one of the candidates."), "not_a_candidate")
    return str(choice)


# ---------------------------------------------------------------- the decision


def _committee_record(tender: Tender) -> list[dict]:
    committee = AwardCommittee.objects.filter(tender=tender).first()
    if committee is None:
        return []
    return [{"name": m.name, "title": m.title, "chair": m.is_chair}
            for m in committee.members.all()]


def _decide(*, tender: Tender, winner: str, method: str, record: dict, by,
            now: datetime, price=None) -> AwardDecision:
    """Record the decision and its signed report. ``price``: the award price when it is
    not the winner's first-round price (price competition); kept as ``award_price``."""
    bid = Bid.objects.select_related("bidder").get(tender=tender, public_id=winner)
    names = _names(tender)
    candidates = recommended_candidates(tender)
    record = {"candidates": [
        {"bid": str(c.bid.public_id), "bidder": c.bid.bidder.name, "rank": c.rank,
         "price": str(c.price)} for c in candidates],
        "committee": _committee_record(tender), **record, "winner": winner,
        "winner_name": names.get(winner, "")}
    if price is not None:
        record["award_price"] = str(price)
    decision = AwardDecision.objects.create(tender=tender, winner=bid, method=method,
                                            record=record, decided_at=now,
                                            decided_by=by if hasattr(by, "pk") else None)
    if price is None:
        price = next((c.price for c in candidates if str(c.bid.public_id) == winner), None)
    pdf = award_report_pdf(ReportData(
        reference=tender.reference, title=tender.title, tenderer=tender.tenderer.name,
        method=method, winner=bid.bidder.name, winner_code=bid.bidder.credit_code,
        price=f"{price:,.2f}" if price is not None else "—", decided_at=when(now),
        candidates=[(c.bid.bidder.name, c.bid.bidder.credit_code,
                     "—" if c.rank is None else str(c.rank), f"{c.price:,.2f}")
                    for c in candidates], record=record))
    decision.report.save(f"{tender.reference}-award-report.pdf", ContentFile(pdf), save=False)
    decision.save(update_fields=["report"])
    audit_record(actor=by, action="award.decided", obj=decision,
                 payload={"tender": tender.reference, "method": method, "winner": winner,
                          "record": record, "report_sha256": hashlib.sha256(pdf).hexdigest()},
                 summary=f"{tender.reference}: award decided ({method})")
    return decision


@transaction.atomic
def award_direct(*, user, tender: Tender, now: datetime | None = None) -> AwardDecision:
    """Reg 55: after the publicity the first-ranked candidate wins; notices go out."""
    now = now or timezone.now()
    policies.require_owner(user, tender)
    tender = Tender.objects.select_for_update().get(pk=tender.pk)
    if tender.award_method != "first_ranked":
        raise refuse("method", _("This tender's award is decided by its award committee "
                                 "(评定分离)."), "wrong_method")
    if tender.status != S.CANDIDATES:
        raise refuse("__all__", _("The award is made once the candidates are published."),
                     "wrong_status")
    check_publicity(tender, now)
    first = [c for c in recommended_candidates(tender) if c.rank == 1]
    if not first:
        raise refuse("__all__", _("The candidates are not ranked; there is no first-ranked "
                                  "candidate to award to."), "unranked")
    decision = _decide(tender=tender, winner=str(first[0].bid.public_id),
                       method="first_ranked", record={"rule": "Reg 55"}, by=user, now=now)
    _issue_notices(tender=tender, decision=decision, user=user, now=now)
    return decision


@transaction.atomic
def award_start(*, user, tender: Tender, now: datetime | None = None) -> Tender:
    """评定分离: after the publicity, hand the decision to the award committee."""
    now = now or timezone.now()
    policies.require_owner(user, tender)
    if tender.award_method != "separate":
        raise refuse("method", _("This tender awards to the first-ranked candidate; there is "
                                 "no committee decision (Reg 55)."), "wrong_method")
    if tender.status != S.CANDIDATES:
        raise refuse("__all__", _("The award decision starts once the candidates are "
                                  "published."), "wrong_status")
    check_publicity(tender, now)
    lifecycle.tender_transition(tender=tender, to=S.AWARD, by=lifecycle.TENDERER, actor=user,
                                now=now)
    return tender


# ---------------------------------------------------------------- vote


def tally(candidates: list[str], choices: list[str], *, members: int, mode: str) -> dict:
    """Count one round. ``candidates`` in report order (the tie-break order).

    Returns ``{"tally": [[bid, votes], ...], "outcome": "winner"|"eliminated"|"shortlist",
    "winner"|"eliminated"|"shortlist": ..., "tie_broken": bool, "tie_rule": ...}``.
    """
    counts = {c: 0 for c in candidates}
    for choice in choices:
        counts[choice] += 1
    order = {c: i for i, c in enumerate(candidates)}
    ranked = sorted(candidates, key=lambda c: (-counts[c], order[c]))
    out = {"tally": [[c, counts[c]] for c in ranked], "tie_rule": TIE_RULE, "mode": mode}
    if mode == "shortlist":
        keep = ranked[:SHORTLIST]
        cut = counts[keep[-1]]
        out.update(outcome="shortlist", shortlist=keep, tie_broken=sum(
            1 for c in candidates if counts[c] == cut) > sum(1 for c in keep if counts[c] == cut))
        return out
    top = counts[ranked[0]]
    if mode == VoteMode.DIRECT or len(candidates) == 1:
        out.update(outcome="winner", winner=ranked[0],
                   tie_broken=sum(1 for c in candidates if counts[c] == top) > 1)
        return out
    if top * 2 > members:
        out.update(outcome="winner", winner=ranked[0], tie_broken=False)
        return out
    fewest = counts[ranked[-1]]
    out.update(outcome="eliminated", eliminated=ranked[-1],
               tie_broken=sum(1 for c in candidates if counts[c] == fewest) > 1)
    return out


def _open_round(tender: Tender, candidates: list[str], number: int, now) -> VoteRound:
    rnd = VoteRound.objects.create(tender=tender, number=number, candidates=candidates,
                                   opened_at=now)
    audit_record(actor="system", action="award.round_opened", obj=rnd,
                 payload={"tender": tender.reference, "number": number,
                          "candidates": candidates},
                 summary=f"{tender.reference}: vote round {number} opened")
    return rnd


def _round_record(rnd: VoteRound, names: dict[str, str]) -> dict:
    r = rnd.result
    text = {"winner": _("%(name)s wins"), "eliminated": _("%(name)s is eliminated"),
            "shortlist": _("shortlist: %(name)s")}[r["outcome"]]
    subject = r.get("winner") or r.get("eliminated")
    name = "、".join(names[c] for c in r["shortlist"]) if r["outcome"] == "shortlist" else (
        names[subject])
    if r.get("tie_broken"):
        text += _(" (tie broken by the evaluation report's order)")
    return {"number": rnd.number, "ballots": [
        {"member": b["member"], "choice": b["choice"], "choice_name": names[b["choice"]]}
        for b in r["ballots"]], "tally": [[names[c], n] for c, n in r["tally"]],
        "outcome": r["outcome"], "outcome_text": text % {"name": name},
        "tie_broken": r.get("tie_broken", False), "tie_rule": TIE_RULE}


@transaction.atomic
def vote_cast(*, user, tender: Tender, choice: str, now: datetime | None = None) -> VoteRound:
    """A member votes once in the open round; the last ballot closes and counts it."""
    now = now or timezone.now()
    tender = Tender.objects.select_for_update().get(pk=tender.pk)
    method = tender.decision_method if tender.decision_method in (
        M.VOTE, M.VOTE_THEN_LOTTERY) else M.VOTE
    _check_separate(tender, method)
    member = policies.member_of(user, tender)
    rounds = list(VoteRound.objects.select_for_update().filter(tender=tender))
    rnd = next((r for r in rounds if r.closed_at is None), None)
    if rnd is None:
        if rounds:  # the vote ended: a shortlist waiting for its lottery
            raise refuse("__all__", _("The vote is over."), "vote_over")
        rnd = _open_round(tender, candidate_ids(tender), 1, now)
    choice = _check_choice(tender, choice, rnd.candidates)
    if Ballot.objects.filter(round=rnd, member=member).exists():
        raise refuse("__all__", _("You have already voted in this round."), "already_voted")
    Ballot.objects.create(round=rnd, member=member, choice=choice, cast_at=now)
    # The ballot's content stays out of the audit payload until the round closes.
    audit_record(actor=user, action="award.ballot_cast", obj=rnd,
                 payload={"round": rnd.number, "member": member.pk},
                 summary=f"{tender.reference}: ballot cast in round {rnd.number}")
    members = list(member.committee.members.all())
    ballots = list(rnd.ballots.select_related("member"))
    if len(ballots) == len(members):
        _close_round(tender, rnd, ballots, len(members), now)
    return rnd


def _close_round(tender: Tender, rnd: VoteRound, ballots, members: int, now) -> None:
    mode = "shortlist" if tender.decision_method == M.VOTE_THEN_LOTTERY else tender.vote_mode
    result = tally(rnd.candidates, [b.choice for b in ballots], members=members, mode=mode)
    result["ballots"] = [{"member": b.member.name, "choice": b.choice}
                         for b in sorted(ballots, key=lambda b: b.member.order)]
    rnd.result, rnd.closed_at = result, now
    rnd.save(update_fields=["result", "closed_at"])
    audit_record(actor="system", action="award.round_closed", obj=rnd, payload=result,
                 summary=f"{tender.reference}: vote round {rnd.number} closed")
    if result["outcome"] == "eliminated":
        rest = [c for c in rnd.candidates if c != result["eliminated"]]
        _open_round(tender, rest, rnd.number + 1, now)
    elif result["outcome"] == "winner":
        names = _names(tender)
        rounds = [_round_record(r, names) for r in VoteRound.objects.filter(tender=tender)]
        _decide(tender=tender, winner=result["winner"], method=f"vote:{tender.vote_mode}",
                record={"rounds": rounds}, by="system", now=now)


# ---------------------------------------------------------------- lottery


def _lottery_pool(tender: Tender) -> list[str]:
    if tender.decision_method == M.LOTTERY:
        return candidate_ids(tender)
    rnd = VoteRound.objects.filter(tender=tender, closed_at__isnull=False).first()
    if rnd is None:
        raise refuse("__all__", _("The committee votes for the shortlist before the lottery."),
                     "vote_first")
    return list(rnd.result["shortlist"])


def lottery_commit_payload(lottery: Lottery) -> dict:
    return {"lottery": lottery.pk, "params": lottery.params,
            "candidates_digest": lottery.candidates_digest, "commitment": lottery.commitment}


def lottery_drawn_payload(lottery: Lottery) -> dict:
    return {"public_input": lottery.public_input, "result": lottery.result,
            "secret": bytes(lottery.secret).hex()}


@transaction.atomic
def lottery_commit(*, user, tender: Tender, round_name: str, now: datetime | None = None,
                   rng=None) -> Lottery:
    """Commit to the lottery's secret over the candidates, before the public input."""
    now = now or timezone.now()
    policies.require_owner(user, tender)
    tender = Tender.objects.select_for_update().get(pk=tender.pk)
    method = M.VOTE_THEN_LOTTERY if tender.decision_method == M.VOTE_THEN_LOTTERY else M.LOTTERY
    if Lottery.objects.filter(tender=tender).exists():
        raise refuse("__all__", _("The lottery has already been committed; a lottery is never "
                                  "re-run."), "lottery_rerun")
    _check_separate(tender, method)
    round_name = (round_name or "").strip()
    if not round_name:
        raise refuse("round", _("Name the public round whose value will be the public input."),
                     "required")
    pool = _lottery_pool(tender)
    secret, commitment = randomness.commit(rng)
    lottery = Lottery.objects.create(
        tender=tender, candidates=sorted(pool), candidates_digest=randomness.candidates_digest(
            pool), commitment=commitment, secret=secret, committed_at=now,
        params={"purpose": "award_lottery", "tender": tender.reference, "round": round_name,
                "v": 1})
    audit_record(actor=user, action="award.lottery_committed", obj=lottery,
                 payload=lottery_commit_payload(lottery),
                 summary=f"{tender.reference}: lottery committed")
    return lottery


@transaction.atomic
def lottery_draw(*, user, tender: Tender, value: str, now: datetime | None = None) -> Lottery:
    """A supervisor records the public round's value; one candidate is drawn, once."""
    now = now or timezone.now()
    policies.require_oversight(user)
    lottery = Lottery.objects.select_for_update().filter(tender=tender).first()
    if lottery is None:
        raise refuse("__all__", _("The lottery has not been committed yet."), "no_lottery")
    if lottery.drawn_at:
        raise refuse("__all__", _("The lottery has been drawn; a lottery is never re-run."),
                     "lottery_rerun")
    value = (value or "").strip()
    if not value:
        raise refuse("value", _("Give the public round's value."), "required")
    lottery.public_input = f"external-v1;{lottery.params['round']}={value}"
    lottery.result = randomness.select(
        secret=bytes(lottery.secret), params=lottery.params,
        candidates_digest=lottery.candidates_digest, public_input=lottery.public_input,
        candidates=lottery.candidates, m=1)[0]
    lottery.drawn_at = now
    lottery.save(update_fields=["public_input", "result", "drawn_at"])
    audit_record(actor=user, action="award.lottery_drawn", obj=lottery,
                 payload=lottery_drawn_payload(lottery),
                 summary=f"{tender.reference}: lottery drawn")
    names = _names(tender)
    record = {"lottery": {
        "commitment": lottery.commitment, "candidates_digest": lottery.candidates_digest,
        "candidates": lottery.candidates, "params": lottery.params,
        "public_input": lottery.public_input, "secret": bytes(lottery.secret).hex(),
        "result": lottery.result, "result_name": names[lottery.result]}}
    if tender.decision_method == M.VOTE_THEN_LOTTERY:
        record["rounds"] = [_round_record(r, names)
                            for r in VoteRound.objects.filter(tender=tender)]
    _decide(tender=tender, winner=lottery.result, method=tender.decision_method,
            record=record, by=user, now=now)
    return lottery


def verify_lottery(lottery: Lottery):
    """Recompute the lottery from its stored inputs and the audit chain."""
    return verify_draw(obj=lottery, commit_action="award.lottery_committed",
                       drawn_action="award.lottery_drawn",
                       commit_payload=lottery_commit_payload(lottery),
                       drawn_payload=lottery_drawn_payload(lottery), m=1,
                       expected=[lottery.result] if lottery.result else [])


# ---------------------------------------------------------------- deliberation


@transaction.atomic
def opinion_record(*, user, tender: Tender, text: str, preferred: str,
                   now: datetime | None = None) -> Opinion:
    """A member records their opinion and preferred candidate (集体议事), once."""
    now = now or timezone.now()
    _check_separate(tender, M.DELIBERATION)
    member = policies.member_of(user, tender)
    preferred = _check_choice(tender, preferred, candidate_ids(tender), "preferred")
    if not (text or "").strip():
        raise refuse("text", _("Write the opinion."), "required")
    if Opinion.objects.filter(tender=tender, member=member).exists():
        raise refuse("__all__", _("You have already recorded your opinion."),
                     "already_recorded")
    opinion = Opinion.objects.create(tender=tender, member=member, text=text.strip(),
                                     preferred=preferred, recorded_at=now)
    audit_record(actor=user, action="award.opinion_recorded", obj=opinion,
                 payload={"member": member.name, "text": opinion.text, "preferred": preferred},
                 summary=f"{tender.reference}: opinion recorded")
    return opinion


@transaction.atomic
def deliberation_decide(*, user, tender: Tender, winner: str, reason: str,
                        now: datetime | None = None) -> AwardDecision:
    """The chair decides, with a written reason, once every member's opinion is recorded."""
    now = now or timezone.now()
    tender = Tender.objects.select_for_update().get(pk=tender.pk)
    _check_separate(tender, M.DELIBERATION)
    member = policies.member_of(user, tender)
    if not member.is_chair:
        raise refuse("__all__", _("Only the chair decides after the deliberation."),
                     "not_chair")
    winner = _check_choice(tender, winner, candidate_ids(tender), "winner")
    if not (reason or "").strip():
        raise refuse("reason", _("The chair gives the reason for the decision in writing."),
                     "required")
    members = CommitteeMember.objects.filter(committee=member.committee)
    opinions = {o.member_id: o for o in Opinion.objects.filter(tender=tender)}
    missing = [m.name for m in members if m.pk not in opinions]
    if missing:
        raise refuse("__all__", _("Every member records an opinion first; missing: %(names)s.")
                     % {"names": "、".join(missing)}, "opinions_missing")
    names = _names(tender)
    record = {"opinions": [{"member": m.name, "text": opinions[m.pk].text,
                            "preferred": opinions[m.pk].preferred,
                            "preferred_name": names[opinions[m.pk].preferred]}
                           for m in members],
              "chair": member.name, "chair_reason": reason.strip()}
    return _decide(tender=tender, winner=winner, method=M.DELIBERATION, record=record,
                   by=user, now=now)


# ---------------------------------------------------------------- price competition


def price_competition_start(*, user, tender: Tender, deadline: datetime | None = None,
                            window_minutes: int | None = None,
                            now: datetime | None = None):
    """Open the second sealed price round among the candidates (``price_round.py``)."""
    from .price_round import price_round_open

    return price_round_open(user=user, tender=tender, deadline=deadline,
                            window_minutes=window_minutes, now=now)


# ---------------------------------------------------------------- notices


def _issue_notices(*, tender: Tender, decision: AwardDecision, user, now: datetime) -> None:
    winner_org = decision.winner.bidder
    price = next((c.price for c in recommended_candidates(tender)
                  if c.bid.pk == decision.winner_id), None)
    if decision.record.get("award_price"):  # a second price round set the price
        price = Decimal(decision.record["award_price"])
    contract_due = now + statutory.days("CONTRACT_DAYS")
    bids = current_bids(tender).select_related("bidder").order_by("bidder__name")
    for bid in bids:
        kind = Notice.Kind.AWARD if bid.bidder_id == winner_org.pk else Notice.Kind.RESULT
        pdf = notice_pdf(NoticeData(
            kind=kind, reference=tender.reference, title=tender.title,
            tenderer=tender.tenderer.name, addressee=bid.bidder.name,
            addressee_code=bid.bidder.credit_code, winner=winner_org.name,
            price=f"{price:,.2f}" if price is not None else "—", issued_at=when(now),
            contract_due=when(contract_due)))
        notice = Notice(tender=tender, organisation=bid.bidder, kind=kind, issued_at=now)
        notice.pdf.save(f"{tender.reference}-{kind}-{bid.bidder.credit_code}.pdf",
                        ContentFile(pdf), save=False)
        notice.save()
        notify(organisation=bid.bidder, subject=(
            _("Award notice: %(ref)s") if kind == Notice.Kind.AWARD else
            _("Result of %(ref)s")) % {"ref": tender.reference},
            link=f"/award/{tender.pk}/")
    decision.notices_at = now
    decision.contract_due = contract_due
    decision.report_due = now + statutory.days("AWARD_REPORT_DAYS")
    decision.save(update_fields=["notices_at", "contract_due", "report_due"])
    audit_record(actor=user, action="award.notices_issued", obj=decision,
                 payload={"tender": tender.reference, "winner": winner_org.credit_code,
                          "at": now, "count": len(bids)},
                 summary=f"{tender.reference}: award and result notices issued")
    lifecycle.tender_transition(tender=tender, to=S.AWARDED, by=lifecycle.TENDERER
                                if hasattr(user, "pk") else lifecycle.SYSTEM,
                                actor=user, now=now)


@transaction.atomic
def notices_issue(*, user, tender: Tender, now: datetime | None = None) -> AwardDecision:
    """The tenderer sends the committee's result: award notice and result notices at once."""
    now = now or timezone.now()
    policies.require_owner(user, tender)
    tender = Tender.objects.select_for_update().get(pk=tender.pk)
    decision = AwardDecision.objects.filter(tender=tender).first()
    if decision is None:
        raise refuse("__all__", _("The award committee has not decided yet."), "not_decided")
    if decision.notices_at:
        raise refuse("__all__", _("The notices have already been issued."), "already_issued")
    _issue_notices(tender=tender, decision=decision, user=user, now=now)
    return decision
