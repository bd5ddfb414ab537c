"""Reads on the award for pages, the API and supervision."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from bidding.tenders.models import Tender
from core.prepared import Prepared

from .models import (
    AwardDecision,
    Contract,
    ContractVersion,
    Notice,
    Objection,
    PriceOffer,
    PriceRound,
    Publicity,
)


def publicity_of(tender: Tender) -> Publicity | None:
    return Publicity.objects.filter(tender=tender).first()


def publicity_state(tender: Tender, now: datetime | None = None) -> dict | None:
    """What anybody may see: the candidates' names and prices, the period, whether it is
    running, and how many objections are open (their text stays between the parties)."""
    now = now or timezone.now()
    p = publicity_of(tender)
    if p is None:
        return None
    return {"tender": tender.reference, "title": tender.title,
            "published_at": p.published_at, "ends_at": p.ends_at,
            "running": p.published_at <= now < p.ends_at,
            "candidates": [{k: c[k] for k in ("bidder", "credit_code", "rank", "price")}
                           for c in p.candidates],
            "objections_open": Objection.objects.filter(
                tender=tender, answered_at__isnull=True).count()}


def objections_for(user, tender: Tender):
    """The tenderer and oversight see every objection; a bidder sees its own."""
    from accounts.policies import is_oversight
    from bidding.tenders.policies import is_owner

    qs = Objection.objects.filter(tender=tender).select_related("bidder")
    if is_owner(user, tender) or is_oversight(user):
        return qs
    if getattr(user, "organisation_id", None):
        return qs.filter(bidder_id=user.organisation_id)
    return qs.none()


def notice_of(user, tender: Tender) -> Notice | None:
    """The user's organisation's own notice, never anyone else's."""
    if not getattr(user, "organisation_id", None):
        return None
    return Notice.objects.filter(tender=tender, organisation_id=user.organisation_id).first()


@dataclass(frozen=True)
class Overdue:
    tender: Tender
    what: str  # "contract" | "report" | "objection"
    due: datetime


def overdue(now: datetime | None = None) -> list[Overdue]:
    """For supervisors: contracts not signed within 30 days of the notice (Law 46),
    reports not filed within 15 days (Law 47), objections not answered within 3 (Reg 54)."""
    now = now or timezone.now()
    out = []
    signed = Contract.objects.filter(signed_at__isnull=False).values("tender_id")
    for d in AwardDecision.objects.filter(notices_at__isnull=False).filter(
            Q(contract_due__lte=now) & ~Q(tender_id__in=signed)).select_related("tender"):
        out.append(Overdue(d.tender, "contract", d.contract_due))
    for d in AwardDecision.objects.filter(report_due__lte=now, supervisor_report_at__isnull=True
                                          ).select_related("tender"):
        out.append(Overdue(d.tender, "report", d.report_due))
    for o in Objection.objects.filter(answered_at__isnull=True, answer_due__lte=now
                                      ).select_related("tender"):
        out.append(Overdue(o.tender, "objection", o.answer_due))
    return sorted(out, key=lambda x: x.due)


def contract_state(tender: Tender) -> dict | None:
    """The contract, its versions' signing status, deadlines and payments (supervisors,
    the tenderer and the winner)."""
    contract = Contract.objects.filter(tender=tender).first()
    decision = AwardDecision.objects.filter(tender=tender).first()
    state = {"tender": tender.reference, "status": tender.status,
             "contract_due": decision.contract_due if decision else None,
             "report_due": decision.report_due if decision else None,
             "report_filed_at": decision.supervisor_report_at if decision else None,
             "contract": None}
    if contract is None:
        return state
    state["contract"] = {
        "id": str(contract.public_id), "winner": contract.winner.name,
        "signed_at": contract.signed_at,
        "versions": [{"number": v.number, "document_sha256": v.document_sha256,
                      "terms": v.terms, "tenderer_signed_at": v.tenderer_signed_at,
                      "winner_signed_at": v.winner_signed_at}
                     for v in contract.versions.all()],
        "payments": [{"description": p.description, "amount": str(p.amount),
                      "due_on": p.due_on, "paid_at": p.paid_at}
                     for p in contract.payments.all()],
        "paid_total": str(sum((p.amount for p in contract.payments.all() if p.paid_at), 0)),
    }
    return state


def may_see_contract(user, tender: Tender) -> bool:
    """The tenderer, the winner and oversight."""
    from accounts.policies import is_oversight
    from bidding.tenders.policies import is_owner

    if is_owner(user, tender) or is_oversight(user):
        return True
    d = AwardDecision.objects.filter(tender=tender, notices_at__isnull=False).first()
    return bool(d and getattr(user, "organisation_id", None) == d.winner.bidder_id)


# Asked in every opening hall's state (``price_round_hall_part``), compiled once.
_PRICE_ROUND = Prepared(lambda tender_id: PriceRound.objects.filter(tender_id=tender_id)
                        .order_by("pk")[:1], tender_id=int)


def price_round_state(user, tender: Tender) -> dict | None:
    """The second price round as anybody may see it: its phase, times and counters; the
    user's own organisation's offer (digest, status); every price only once the round has
    closed and announced them together. None if no round was opened."""
    rnd = _PRICE_ROUND.first(tender_id=tender.pk)
    if rnd is None:
        return None
    counts = {s: 0 for s in PriceOffer.Status.values}
    for status in rnd.offers.values_list("status", flat=True):
        counts[status] += 1
    state = {"tender": tender.reference, "envelope_id": rnd.envelope_id,
             "phase": rnd.phase, "candidates": rnd.candidates, "opened_at": rnd.opened_at,
             "deadline": rnd.deadline, "window_minutes": rnd.window_minutes,
             "window_ends_at": rnd.window_ends_at, "custodians_until": rnd.custodians_until,
             "closed_at": rnd.closed_at, "threshold": tender.opening_threshold,
             "counters": {"offers": sum(counts.values()), **counts}, "you": None,
             "result": rnd.result if rnd.phase == PriceRound.Phase.CLOSED else None}
    org = getattr(user, "organisation_id", None) if getattr(
        user, "is_authenticated", False) else None
    mine = rnd.offers.filter(bidder_id=org).first() if org else None
    if mine is not None:
        state["you"] = {"sha256": mine.sha256, "submitted_at": mine.submitted_at,
                        "status": mine.status, "reason": mine.reason}
    return state


def price_round_hall_part(tender: Tender, user, role: str) -> dict:
    """The price round's part of the opening hall's state (``hall.state``): a client that
    (re)connects to the hall gets the round's snapshot with it, then ``price_round.*``
    events. JSON-ready; no price before the close (``price_round_state``)."""
    import json

    from django.core.serializers.json import DjangoJSONEncoder

    state = price_round_state(user, tender)
    if state is None:
        return {}
    return {"price_round": json.loads(json.dumps(state, cls=DjangoJSONEncoder))}


def price_round_page(user, tender: Tender) -> dict | None:
    """What the award page shows of the price round: the public state
    (``price_round_state``), one row per candidate saying whether it has offered (never a
    price before the close; each offer's status once the hall has opened), the result
    rows with names after the close, and the viewer's part (candidate / custodian)."""
    from bidding.tenders.models import TenderKeyShare

    state = price_round_state(user, tender)
    if state is None:
        return None
    pub = getattr(tender, "publicity", None)
    rows_by_bid = {c["bid"]: c for c in (pub.candidates if pub else [])}
    rnd = PriceRound.objects.get(tender=tender)
    offers = {str(o.bid.public_id): o for o in rnd.offers.select_related("bid")}
    sealing = rnd.phase == PriceRound.Phase.SEALING
    rows = []
    for bid in rnd.candidates:
        c = rows_by_bid.get(bid, {})
        o = offers.get(bid)
        rows.append({"bid": bid, "bidder": c.get("bidder", ""),
                     "first_round_price": c.get("price", ""), "offered": o is not None,
                     "offered_at": o.submitted_at if o else None,
                     "status": None if o is None or sealing else o.get_status_display()})
    result = state["result"]
    if result:
        result = {**result, "entries": [
            {**e, "bidder": e.get("bidder") or rows_by_bid.get(e["bid"], {}).get("bidder", ""),
             "won": e["bid"] == result.get("winner")} for e in result["entries"]]}
    org = getattr(user, "organisation_id", None) if getattr(
        user, "is_authenticated", False) else None
    candidate_orgs = {o.bidder_id for o in offers.values()}
    from bidding.bids.models import Bid
    candidate_orgs |= set(Bid.objects.filter(public_id__in=rnd.candidates)
                          .values_list("bidder_id", flat=True))
    return {**state, "rows": rows, "result": result,
            "is_candidate": bool(org) and org in candidate_orgs,
            "is_custodian": bool(getattr(user, "is_authenticated", False)) and
            TenderKeyShare.objects.filter(tender=tender, custodian=user).exists(),
            "receipt": state["you"] is not None}


# ------------------------------------------------------------ reads for supervision
# supervision reads the award only through these (import contract in pyproject.toml).


def award_decision_of(tender) -> AwardDecision | None:
    """The tender's award decision (with winner bid and bidder), or None. Used by
    supervision (inspections' filing deadline, open data)."""
    return AwardDecision.objects.select_related("winner__bidder").filter(tender=tender).first()


def award_noticed(tender) -> AwardDecision | None:
    """The tender's award decision once the award notices went out, else None. Used by
    supervision (results filings, open data)."""
    return (AwardDecision.objects.select_related("winner__bidder")
            .filter(tender=tender, notices_at__isnull=False).first())


def supervisor_report_sent(tender) -> bool:
    """Whether the award's report to the supervisor (Law 47) was submitted. Used by
    supervision's results filing."""
    return AwardDecision.objects.filter(tender=tender, supervisor_report_at__isnull=False).exists()


def winner_public_id(tender_id: int) -> str | None:
    """The winning bid's public id, None before the award. Used by supervision's market
    screens."""
    win = (AwardDecision.objects.filter(tender_id=tender_id)
           .values_list("winner__public_id", flat=True).first())
    return str(win) if win is not None else None


def signed_contract_of(tender) -> Contract | None:
    """The tender's contract once signed, else None. Used by supervision's open data."""
    return Contract.objects.filter(tender=tender, signed_at__isnull=False).first()


def latest_contract_version(tender):
    """The tender's newest contract version (``ContractVersion``), or None. Used by
    supervision's results filing."""
    return ContractVersion.objects.filter(contract__tender=tender).order_by("-number").first()


def award_objections_of(tender, organisation_id: int):
    """The objections a bidder raised against the tender's award, oldest first. Used by
    supervision's complaints (a complaint follows an objection, Reg 60)."""
    return Objection.objects.filter(tender=tender, bidder_id=organisation_id).order_by("raised_at")
