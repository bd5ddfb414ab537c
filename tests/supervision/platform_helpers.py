"""Real evaluations (and awards) on the platform for the supervision tests: the tender is
opened (factories.opened_tender), its committee drawn and formed, every stage scored and
locked through bidding.evaluation.services, the report agreed, and the tender moved to
candidates by the evaluation itself (the lifecycle hooks run)."""

from __future__ import annotations

from decimal import Decimal

from bidding.bids.models import Bid
from bidding.evaluation import services
from bidding.evaluation.models import EvaluatedBid, EvaluationReport, Member
from expert_pool.models import DrawMember
from tests.bidding.evaluation.helpers import (
    elect,
    formed,
    keys,
    qualification_entries,
    run_stage,
    score_entries,
)


def evaluated(*, prices=None, buyer=None, expert=None, bidder_org=None, favour=False,
              fail=(), **overrides):
    """An evaluated tender. ``expert`` takes the first seat (member M of users[0]) and
    ``bidder_org`` the first bid (in price order); with ``favour`` that expert gives the
    bid the maximum on every scored criterion while the others score as usual. ``fail``:
    indexes of bids (price order) every member fails at qualification. Returns (tender,
    committee, users, bids in price order)."""
    if buyer is not None:
        overrides["user"] = buyer
    committee, users, _, _ = formed(prices=prices, **overrides)
    tender = committee.tender
    bids = list(Bid.objects.filter(tender=tender).order_by("submitted_at", "pk"))
    if bidder_org is not None:
        Bid.objects.filter(pk=bids[0].pk).update(bidder=bidder_org)
    if expert is not None:
        seat = committee.members.get(user=users[0])
        Member.objects.filter(pk=seat.pk).update(expert=expert)
        DrawMember.objects.filter(pk=seat.draw_member_id).update(expert=expert)
    committee = elect(committee, users)
    ebs = {eb.bid_id: eb for eb in EvaluatedBid.objects.filter(committee=committee)}
    failing = {services.bid_key(ebs[bids[i].pk], "qualification") for i in fail}
    committee = run_stage(committee, users, "qualification",
                          lambda u: qualification_entries(committee, fail=failing))
    for stage in ("technical", "commercial"):
        crit = services.stage_criteria(tender, stage)
        fav = services.bid_key(ebs[bids[0].pk], stage)

        def entries(u, stage=stage, crit=crit, fav=fav, committee=committee):
            out = score_entries(committee, stage)
            if favour and u == users[0] and fav in keys(committee, stage):
                out[fav] = {str(c.number): str(Decimal(c.max_score).quantize(Decimal("0.01")))
                            for c in crit}
            return out

        committee = run_stage(committee, users, stage, entries)
    report = EvaluationReport.objects.get(tender=tender)
    for u in users:
        services.report_refuse(report=report, user=u)  # no reasons: agrees (Reg 53)
    tender.refresh_from_db()
    return tender, committee, users, bids
