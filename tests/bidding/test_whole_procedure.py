"""The whole procedure, once per award method: publication, sealed bids, the deadline, the
opening (bidders decrypt, the window closes, the record is confirmed or deemed confirmed),
the expert draw (commit-reveal beacon, confirmations, pledges signed with keys), the
evaluation (committee from the draw plus a representative of the tenderer, chair vote,
sheets per stage, locks, the report signed by every member with their key), the
candidates' publicity, the award by the declared method, and the notices.

Only the services move the tender (no status is written by a query); the clock moves by
time travel and the clock tick does what is due. Each test ends with the same checks
(``assert_awarded``): the tender awarded along the lifecycle's path, the winner among the
report's candidates, one award notice to the winner and a result notice to every other
bidder, all at the same time, and the audit chain verifying.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.models import Role
from audit.models import AuditEvent
from audit.services import audit_verify
from bidding.award import committee as award_committee
from bidding.award import decision
from bidding.award.models import AwardDecision, Notice
from bidding.evaluation import services as evaluation
from bidding.evaluation.models import EvaluatedBid, EvaluationReport
from bidding.opening import services as opening
from bidding.opening.models import OpeningSession
from bidding.tenders.models import Tender
from core import tasks
from crypto import envelope, signing
from expert_pool import draw as expert_draw
from expert_pool import services as expert_services
from expert_pool.models import Draw, DrawMember, Expert, Specialty
from tests import factories
from tests.bidding.evaluation import helpers as evaluation_helpers

pytestmark = pytest.mark.django_db
S = Tender.Status

# Four sealed bids under the maximum price (9,800,000.00).
PRICES = ("9500000.00", "9300000.00", "9600000.00", "9400000.00")
EXPERTS = 4  # drawn; with one representative of the tenderer: a committee of 5 (Law 37)


@pytest.fixture
def clock():
    """Frozen time that the test moves forward (``clock.move_to``)."""
    traveller = time_machine.travel(timezone.now(), tick=False)
    coordinates = traveller.start()
    yield coordinates
    traveller.stop()


@dataclass
class Procedure:
    tender: Tender
    bidders: list
    bids: list
    members: list = field(default_factory=list)  # evaluation committee (users)
    candidates: list = field(default_factory=list)  # bid public ids, report order


# --- the shared path ----------------------------------------------------------------------


def _data_keys(bid, user):
    """What the bidder's own tool does at the opening: unwrap both data keys."""
    private = factories.PRIVATE_KEYS[user.username]
    with bid.envelope.open("rb") as fh:
        bid_key = envelope.unwrap_data_key(fh, private, label="bidder")
    sheet_key = envelope.unwrap_data_key(bytes(bid.price_sheet), private, label="bidder")
    return bid_key.hex(), sheet_key.hex()


# Signing keys made on each signer's side (experts, the tenderer's representative).
SIGNING: dict[int, object] = {}


def _signer(user):
    SIGNING[user.pk] = factories.signing_key_for(user)
    return user


def _sign(label: bytes, message: bytes, user) -> str:
    return base64.b64encode(signing.sign(SIGNING[user.pk], label, message)).decode()


def _open(clock, tender, bidders, bids) -> None:
    """The deadline passes; every bidder decrypts in the window; one confirms the
    record, the others are deemed to when the confirmation time is over."""
    clock.move_to(tender.deadline)
    tasks.clock_tick()
    tender.refresh_from_db()
    assert tender.status == S.OPENING
    for bid, user in zip(bids, bidders, strict=True):
        bid_key, sheet_key = _data_keys(bid, user)
        opening.opening_decrypt(user=user, tender=tender, bid_key=bid_key,
                                price_sheet_key=sheet_key)
    session = tender.opening
    clock.move_to(session.window_ends_at)
    tasks.clock_tick()
    session.refresh_from_db()
    assert session.phase == OpeningSession.Phase.CONFIRMING
    opening.opening_confirm(user=bidders[0], tender=tender, remark="无异议")
    clock.move_to(session.confirm_until)
    tasks.clock_tick()
    session.refresh_from_db()
    tender.refresh_from_db()
    assert session.phase == OpeningSession.Phase.CLOSED and tender.status == S.OPENED
    assert {c.deemed for c in session.confirmations.all()} == {False, True}


def _draw_experts(tender) -> list:
    """The trading centre requests the draw; supervisor, operator and notary commit and
    reveal their beacon values; the drawn experts confirm and sign the pledge with their
    keys. Returns the seated experts' users."""
    spec = Specialty.objects.get(code="A0201")
    people = []
    for i in range(EXPERTS + 1):  # one backup stays on standby
        user = _signer(factories.expert())
        expert = Expert.objects.create(
            code=f"W{user.pk:06d}", name=f"评标专家{i + 1}", user=user,
            title=Expert.Title.SENIOR, years_experience=15, region="350102",
            status=Expert.Status.ACTIVE)
        expert.specialties.set([spec])
        people.append(user)
    draw = expert_draw.draw_request(
        tender=tender, user=factories.operator(), committee_size=EXPERTS + 1,
        tenderer_reps=1, quotas=[expert_draw.Quota("A0201", EXPERTS)], backups=1)
    parties = {Role.SUPERVISOR: factories.supervisor(), Role.OPERATOR: factories.operator(),
               Role.NOTARY: factories.UserFactory(role=Role.NOTARY)}
    for role, user in parties.items():
        expert_draw.beacon_commit(draw=draw, user=user, commitment=(
            expert_draw.contribution_commitment(f"{role}-{tender.reference}")))
    for role, user in parties.items():
        expert_draw.beacon_reveal(draw=draw, user=user, value=f"{role}-{tender.reference}")
    called = list(DrawMember.objects.select_related("expert__user", "draw__tender")
                  .filter(draw=draw, status=DrawMember.Status.CALLED))
    assert len(called) == EXPERTS
    for member in called:
        user = member.expert.user
        expert_services.member_respond(member=member, user=user, accept=True)
        expert_services.pledge_sign(member=member, user=user, signature_b64=_sign(
            signing.DRAW, expert_services.pledge_message(member), user))
    draw.refresh_from_db()
    assert draw.status == Draw.Status.COMPLETE
    return [m.expert.user for m in called]


def _evaluate(tender) -> tuple[list, list]:
    """The committee forms, elects its chair, submits and locks every stage, and every
    member signs the report with their key. Returns (members, candidate bid ids)."""
    experts = _draw_experts(tender)
    rep = _signer(factories.UserFactory(role=Role.TENDERER, organisation=tender.tenderer))
    committee = evaluation.committee_form(tender=tender, user=tender.created_by,
                                          tenderer_reps=[rep])
    tender.refresh_from_db()
    assert tender.status == S.EVALUATION
    members = experts + [rep]
    assert committee.members.count() == len(members)
    evaluation_helpers.to_report(committee, members)
    report = EvaluationReport.objects.get(tender=tender)
    for user in members:
        evaluation.report_sign(report=report, user=user, signature_b64=_sign(
            evaluation.REPORT_LABEL, evaluation.report_message(report), user))
    report.refresh_from_db()
    tender.refresh_from_db()
    assert report.completed_at is not None and tender.status == S.CANDIDATES
    _check_candidates(tender, report)
    return members, [c["bid"] for c in report.candidates]


def _check_candidates(tender, report) -> None:
    """The report's candidates are the best ``candidate_count`` bids by the evaluation's
    ranking, which follows the totals; ranked or not as the tender declared."""
    ranked = list(EvaluatedBid.objects.filter(committee__tender=tender, rank__isnull=False)
                  .select_related("bid").order_by("rank"))
    assert len(ranked) == len(PRICES)
    totals = [eb.total for eb in ranked]
    assert totals == sorted(totals, reverse=True)
    top = [str(eb.bid.public_id) for eb in ranked[: tender.candidate_count]]
    got = [c["bid"] for c in report.candidates]
    assert len(got) == tender.candidate_count == 3
    if tender.candidates_ranked:
        assert got == top
        assert [c["rank"] for c in report.candidates] == [1, 2, 3]
    else:
        assert sorted(got) == sorted(top)
        assert {c["rank"] for c in report.candidates} == {None}


def to_award(clock, **declared) -> Procedure:
    """Publication to the end of the candidates' publicity, for a tender declaring
    ``declared`` (award method, decision method, committee...)."""
    tender = factories.published_tender(candidate_count=3, **declared)
    bidders = [factories.bidder_with_key() for _ in PRICES]
    bids = [factories.submit_priced_bid(tender, user, price)
            for user, price in zip(bidders, PRICES, strict=True)]
    _open(clock, tender, bidders, bids)
    members, candidates = _evaluate(tender)
    publicity = tender.publicity
    assert publicity.ends_at - publicity.published_at >= timedelta(days=3)
    assert [c["bid"] for c in publicity.candidates] == candidates
    clock.move_to(publicity.ends_at + timedelta(minutes=1))
    tasks.clock_tick()
    return Procedure(tender=tender, bidders=bidders, bids=bids, members=members,
                     candidates=candidates)


def award_committee_of(p: Procedure, *, drawn: bool = False) -> list:
    """评定分离: the tenderer starts the award phase and forms its committee from its
    pool, appointed (chair first) or drawn (a supervisor gives the public input).
    Returns the members' users, chair first."""
    tender = p.tender
    decision.award_start(user=tender.created_by, tender=tender)
    size = tender.award_committee_size
    pool = factories.award_pool(tender, size + 2)
    if drawn:
        award_committee.committee_draw_commit(user=tender.created_by, tender=tender,
                                              round_name="福彩3D 2026340")
        committee = award_committee.committee_draw_input(user=factories.supervisor(),
                                                         tender=tender, value="5 2 8")
        assert award_committee.verify_committee_draw(committee).ok
    else:
        committee = award_committee.committee_appoint(
            user=tender.created_by, tender=tender, member_ids=[m.pk for m in pool[:size]],
            chair_id=pool[0].pk)
    members = [m.user for m in committee.members.order_by("-is_chair", "order")]
    assert len(members) == size
    return members


def assert_awarded(p: Procedure, *, via_award_phase: bool) -> AwardDecision:
    tender = p.tender
    tender.refresh_from_db()
    assert tender.status == S.AWARDED
    d = AwardDecision.objects.get(tender=tender)
    assert str(d.winner.public_id) in p.candidates
    notices = list(Notice.objects.filter(tender=tender).select_related("organisation"))
    assert sorted(n.organisation_id for n in notices) == sorted(
        u.organisation_id for u in p.bidders)
    assert [n.organisation for n in notices if n.kind == Notice.Kind.AWARD] == [d.winner.bidder]
    assert {n.issued_at for n in notices} == {d.notices_at}
    assert all(n.pdf for n in notices)
    path = ["draft -> published", "published -> bidding_closed", "bidding_closed -> opening",
            "opening -> opened", "opened -> evaluation", "evaluation -> candidates"]
    path += (["candidates -> award", "award -> awarded"] if via_award_phase
             else ["candidates -> awarded"])
    moves = AuditEvent.objects.filter(action="tender.transition", object_id=str(tender.pk))
    assert [e.summary.split(": ", 1)[1] for e in moves.order_by("seq")] == path
    result = audit_verify()
    assert result.ok, result.problems
    return d


# --- one test per award method -------------------------------------------------------------


def test_direct_award_goes_to_the_first_ranked_candidate_after_the_whole_procedure(clock):
    p = to_award(clock, award_method="first_ranked")
    d = decision.award_direct(user=p.tender.created_by, tender=p.tender)
    assert d.method == "first_ranked" and str(d.winner.public_id) == p.candidates[0]
    assert_awarded(p, via_award_phase=False)


def test_separate_direct_vote_the_committee_majority_wins(clock):
    p = to_award(clock, award_method="separate", decision_method="vote",
                 award_committee_mode="appointed", award_committee_size=3,
                 vote_mode="direct", candidates_ranked=False)
    members = award_committee_of(p)
    chosen = p.candidates[2]
    for user, choice in zip(members, [chosen, p.candidates[0], chosen], strict=True):
        decision.vote_cast(user=user, tender=p.tender, choice=choice)
    decision.notices_issue(user=p.tender.created_by, tender=p.tender)
    d = assert_awarded(p, via_award_phase=True)
    assert d.method == "vote:direct" and str(d.winner.public_id) == chosen


def test_separate_elimination_vote_drops_the_fewest_until_a_majority(clock):
    p = to_award(clock, award_method="separate", decision_method="vote",
                 award_committee_mode="drawn", award_committee_size=5,
                 vote_mode="elimination", candidates_ranked=False, anonymous_technical=True)
    members = award_committee_of(p, drawn=True)
    a, b, c = p.candidates
    for user, choice in zip(members, [a, a, b, b, c], strict=True):  # 2/2/1: c is dropped
        decision.vote_cast(user=user, tender=p.tender, choice=choice)
    for user, choice in zip(members, [b, a, b, b, a], strict=True):  # 3/2: b has a majority
        decision.vote_cast(user=user, tender=p.tender, choice=choice)
    decision.notices_issue(user=p.tender.created_by, tender=p.tender)
    d = assert_awarded(p, via_award_phase=True)
    assert str(d.winner.public_id) == b
    assert [r["outcome"] for r in d.record["rounds"]] == ["eliminated", "winner"]


def test_separate_lottery_draws_one_candidate_verifiably(clock):
    p = to_award(clock, award_method="separate", decision_method="lottery",
                 award_committee_mode="drawn", award_committee_size=3,
                 candidates_ranked=False)
    award_committee_of(p, drawn=True)
    lottery = decision.lottery_commit(user=p.tender.created_by, tender=p.tender,
                                      round_name="福彩3D 2026341")
    assert sorted(lottery.candidates) == sorted(p.candidates)
    lottery = decision.lottery_draw(user=factories.supervisor(), tender=p.tender, value="3 9 4")
    assert decision.verify_lottery(lottery).ok
    decision.notices_issue(user=p.tender.created_by, tender=p.tender)
    d = assert_awarded(p, via_award_phase=True)
    assert str(d.winner.public_id) == lottery.result


def test_separate_vote_then_lottery_draws_among_the_two_most_voted(clock):
    p = to_award(clock, award_method="separate", decision_method="vote_then_lottery",
                 award_committee_mode="appointed", award_committee_size=3,
                 vote_mode="direct", candidates_ranked=False)
    members = award_committee_of(p)
    a, b, c = p.candidates
    for user, choice in zip(members, [c, c, b], strict=True):
        decision.vote_cast(user=user, tender=p.tender, choice=choice)
    lottery = decision.lottery_commit(user=p.tender.created_by, tender=p.tender,
                                      round_name="福彩3D 2026342")
    assert lottery.candidates == sorted([b, c])
    lottery = decision.lottery_draw(user=factories.supervisor(), tender=p.tender, value="1 1 7")
    assert decision.verify_lottery(lottery).ok
    decision.notices_issue(user=p.tender.created_by, tender=p.tender)
    d = assert_awarded(p, via_award_phase=True)
    assert str(d.winner.public_id) == lottery.result and lottery.result in (b, c)
    assert d.record["rounds"][0]["outcome"] == "shortlist"


def test_separate_deliberation_records_every_opinion_and_the_chair_decides(clock):
    p = to_award(clock, award_method="separate", decision_method="deliberation",
                 award_committee_mode="appointed", award_committee_size=3)
    chair, *others = award_committee_of(p)
    chosen = p.candidates[1]
    for user, text, preferred in [(others[0], "报价较低且方案可行", chosen),
                                  (others[1], "业绩最好", p.candidates[0]),
                                  (chair, "同意委员一的意见", chosen)]:
        decision.opinion_record(user=user, tender=p.tender, text=text, preferred=preferred)
    decision.deliberation_decide(user=chair, tender=p.tender, winner=chosen,
                                 reason="多数意见认为报价较低且技术方案可行")
    decision.notices_issue(user=p.tender.created_by, tender=p.tender)
    d = assert_awarded(p, via_award_phase=True)
    assert str(d.winner.public_id) == chosen
    assert len(d.record["opinions"]) == 3


def test_separate_price_competition_the_lowest_second_round_price_wins(clock):
    """The candidates seal a second price to the tender's custodian set, hand over their
    keys in the round's window, and the lowest valid price wins at that price."""
    import json

    from bidding.award import price_round

    p = to_award(clock, award_method="separate", decision_method="price_competition",
                 award_committee_mode="appointed", award_committee_size=3,
                 candidates_ranked=False)
    award_committee_of(p)
    tender = p.tender
    rnd = decision.price_competition_start(user=tender.created_by, tender=tender,
                                           deadline=timezone.now() + timedelta(days=2),
                                           window_minutes=30)
    assert sorted(rnd.candidates) == sorted(p.candidates)
    by_bid = {str(b.public_id): u for b, u in zip(p.bids, p.bidders, strict=True)}
    offers = dict(zip(p.candidates, ["9200000.00", "9150000.00", "9250000.00"], strict=True))
    sheets = {}
    for bid_id, price in offers.items():
        user = by_bid[bid_id]
        sheets[bid_id] = factories.seal_for(
            tender, user, json.dumps({"total_price": price}).encode(),
            tender_id=price_round.envelope_id(tender))
        price_round.price_offer_submit(user=user, tender=tender, sheet=sheets[bid_id])
    clock.move_to(rnd.deadline)
    tasks.clock_tick()
    for bid_id, sheet in sheets.items():
        user = by_bid[bid_id]
        key = envelope.unwrap_data_key(sheet, factories.PRIVATE_KEYS[user.username],
                                       label="bidder")
        price_round.price_offer_decrypt(user=user, tender=tender,
                                        price_sheet_key=base64.b64encode(key).decode())
    rnd.refresh_from_db()
    clock.move_to(rnd.window_ends_at)
    tasks.clock_tick()
    decision.notices_issue(user=tender.created_by, tender=tender)
    d = assert_awarded(p, via_award_phase=True)
    lowest = min(offers, key=lambda b: offers[b])
    assert str(d.winner.public_id) == lowest
    assert d.method == "price_competition" and d.record["award_price"] == offers[lowest]
