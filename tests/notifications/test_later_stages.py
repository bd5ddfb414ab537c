"""The later stages' notifications (expert draw, evaluation, award, complaints): each goes
to the people it concerns and nobody else, as they chose, in their language."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bidding.award import decision, publicity
from bidding.evaluation import services as evaluation
from bidding.evaluation.models import Stage
from core.notifications import registry, services
from core.notifications.models import NotificationPreference, NotificationProfile
from expert_pool import services as experts
from expert_pool.models import Draw, DrawMember
from supervision.complaints import services as complaints
from tests import factories
from tests.bidding.evaluation.helpers import elect, formed, run_stage
from tests.supervision.complaints.helpers import other_complaint

from .helpers import of_kind, tick

pytestmark = pytest.mark.django_db


def told(kind) -> set[int]:
    return set(of_kind(kind).values_list("recipient_id", flat=True))


def test_every_later_stage_kind_is_registered_with_its_audit_actions():
    codes = {k.code for k in registry.kinds()}
    assert {"expert_draw.seat_call", "expert_draw.seat_answer", "evaluation.stage_open",
            "evaluation.stage_locked", "evaluation.report_to_sign",
            "evaluation.clarification", "award.candidates_published",
            "award.objection_answered", "award.notice", "award.contract_to_sign",
            "complaints.handled", "complaints.objection_answered",
            "complaints.deadline"} <= codes
    assert {"award.publicity_opened", "award.notices_issued", "complaints.decided",
            "evaluation.report_drawn_up", "expert_draw.confirmed"} <= registry.actions()


# --- the expert draw: sealed, to the drawn expert alone -----------------------------------


def _called_seat():
    tender = factories.published_tender()
    draw, users, backups = factories.complete_draw(tender, experts=2, backups=1)
    Draw.objects.filter(pk=draw.pk).update(status=Draw.Status.DRAWN)
    now = timezone.now()
    seat = DrawMember.objects.get(draw=draw, expert__user=users[0])
    DrawMember.objects.filter(pk=seat.pk).update(
        status=DrawMember.Status.CALLED, called_at=now, respond_by=now + timedelta(hours=2),
        pledged_at=None)
    seat.refresh_from_db()
    return tender, seat, users


def test_a_called_seat_tells_its_expert_once_and_says_no_more_than_the_gateway():
    tender, seat, users = _called_seat()
    services.run_schedules()
    services.run_schedules()
    assert told("expert_draw.seat_call") == {users[0].pk}
    n = of_kind("expert_draw.seat_call").get()
    assert n.url == f"/experts/seats/{seat.pk}/"
    assert tender.reference in n.body
    assert tender.title not in n.body and tender.title not in n.title
    assert set(n.params) == {"reference", "day", "respond_by"}
    assert n.event_seq is None  # not tied to the sealed draw's audit events
    # Called again later (a new call) is a new occasion.
    DrawMember.objects.filter(pk=seat.pk).update(called_at=timezone.now() + timedelta(
        seconds=1))
    services.run_schedules()
    assert of_kind("expert_draw.seat_call").count() == 2


def test_an_expert_gets_a_receipt_for_their_own_answer_only():
    tender, seat, users = _called_seat()
    experts.member_respond(member=seat, user=users[0], accept=True)
    services.dispatch_events()
    assert told("expert_draw.seat_answer") == {users[0].pk}
    assert of_kind("expert_draw.seat_answer").get().params["accepted"] is True


def test_a_decline_is_acknowledged_and_the_backup_called_is_told_in_turn():
    tender, seat, users = _called_seat()
    backup = DrawMember.objects.get(draw=seat.draw, status=DrawMember.Status.STANDBY)
    experts.member_respond(member=seat, user=users[0], accept=False, reason="出差")
    services.dispatch_events()
    services.run_schedules()
    answer = of_kind("expert_draw.seat_answer").get()
    assert answer.recipient_id == users[0].pk and answer.params["accepted"] is False
    assert told("expert_draw.seat_call") == {backup.expert.user_id}
    assert users[1].pk not in told("expert_draw.seat_call")


# --- the evaluation -------------------------------------------------------------------------


def test_the_committee_is_told_of_stages_and_the_bidder_asked_to_clarify_alone():
    committee, users, bidders, _backups = formed(experts=5)
    outsider = factories.bidder()
    committee = elect(committee, users)
    services.dispatch_events()
    assert told("evaluation.stage_open") == {u.pk for u in users}
    assert of_kind("evaluation.stage_open").first().params["stage"] == Stage.QUALIFICATION

    committee = run_stage(committee, users, Stage.QUALIFICATION)
    services.dispatch_events()
    locked = of_kind("evaluation.stage_locked")
    assert {n.recipient_id for n in locked} == {u.pk for u in users}
    assert {n.params["stage"] for n in locked} == {Stage.QUALIFICATION}
    assert set(of_kind("evaluation.stage_open").values_list("params__stage", flat=True)) == {
        Stage.QUALIFICATION, Stage.TECHNICAL}
    assert of_kind("evaluation.stage_open").count() == 2 * len(users)

    eb = committee.bids.filter(qualified=True).first()
    asked = [u for u in bidders if u.organisation_id == eb.bid.bidder_id]
    deadline = timezone.now() + timedelta(hours=2)
    evaluation.clarification_request(committee=committee, user=committee.chair.user,
                                     bid_key_=eb.code, question="请说明工期安排",
                                     deadline=deadline)
    services.dispatch_events()
    assert told("evaluation.clarification") == {u.pk for u in asked}
    n = of_kind("evaluation.clarification").get()
    assert "请说明工期安排" in n.body and n.params["answer_by"]
    assert outsider.pk not in told("evaluation.clarification")
    assert not set(told("evaluation.clarification")) & {u.pk for u in users}


def test_the_report_to_sign_goes_to_the_committee_members():
    from tests.bidding.evaluation.helpers import to_report

    committee, users, bidders, _backups = formed(experts=5)
    to_report(committee, users)
    services.dispatch_events()
    assert told("evaluation.report_to_sign") == {u.pk for u in users}
    n = of_kind("evaluation.report_to_sign").get(recipient=users[0])
    assert n.params["sign_until"] and len(n.params["sha256"]) == 64
    assert not set(told("evaluation.report_to_sign")) & {b.pk for b in bidders}
    # The last lock told the lock, not a further stage to score.
    assert {n.params["stage"] for n in of_kind("evaluation.stage_open")} == {
        Stage.QUALIFICATION, Stage.TECHNICAL, Stage.COMMERCIAL}


# --- the award --------------------------------------------------------------------------


def test_published_candidates_are_told_to_every_bidder_of_that_tender_and_nobody_else():
    tender, users, bids = factories.candidates_tender(n_candidates=2, n_bids=3)
    colleague = factories.bidder(organisation=users[0].organisation)
    outsider = factories.bidder()
    other_tender, other_users, _bids = factories.candidates_tender(n_candidates=1, n_bids=1)
    services.dispatch_events()
    mine = of_kind("award.candidates_published").filter(tender_reference=tender.reference)
    assert {n.recipient_id for n in mine} == {u.pk for u in users} | {colleague.pk}
    assert outsider.pk not in told("award.candidates_published")
    assert bids[0].bidder.name in mine.get(recipient=users[2]).body


def test_an_objection_answer_goes_to_the_objector_only():
    tender, users, bids = factories.candidates_tender(n_candidates=2, n_bids=3)
    owner = factories.tenderer(organisation=tender.tenderer)
    objection = publicity.objection_raise(user=users[2], tender=tender, text="第二名业绩造假")
    publicity.objection_answer(user=owner, objection=objection, answer="经核查业绩属实")
    services.dispatch_events()
    assert told("award.objection_answered") == {users[2].pk}
    assert "经核查业绩属实" in of_kind("award.objection_answered").get().body


def test_each_bidder_gets_its_own_notice():
    from tests.bidding.award.helpers import after_publicity

    tender, users, bids = factories.candidates_tender(n_candidates=2, n_bids=3)
    decision.award_direct(user=tender.created_by, tender=tender, now=after_publicity(tender))
    services.dispatch_events()
    notices = {n.recipient_id: n for n in of_kind("award.notice")}
    assert set(notices) == {u.pk for u in users}
    assert notices[users[0].pk].params["won"] is True
    assert [notices[u.pk].params["won"] for u in users[1:]] == [False, False]
    assert not of_kind("award.notice").filter(recipient=tender.created_by).exists()

    from bidding.award import contract

    tender.refresh_from_db()
    contract.contract_prepare(
        user=tender.created_by, tender=tender, document=b"%PDF-1.4 c", document_name="c.pdf",
        terms={"price": "9500000.00", "performance_bond": "950000.00",
               "payment_schedule": [{"description": "预付款", "amount": "1900000",
                                     "due_on": "2027-01-31"}]})
    services.dispatch_events()
    assert told("award.contract_to_sign") == {users[0].pk, tender.created_by_id}
    assert of_kind("award.contract_to_sign").first().url == f"/award/{tender.pk}/contract/"


# --- complaints ---------------------------------------------------------------------------


def test_a_complaint_decision_goes_to_the_complainant_only_in_its_language():
    complainant = factories.bidder()
    colleague = factories.bidder(organisation=complainant.organisation)
    NotificationProfile.objects.create(user=colleague, language="en")
    supervisor = factories.supervisor()
    tender = factories.published_tender()
    c = other_complaint(now=timezone.now(), tender=tender, user=complainant)
    complaints.complaint_accept(user=supervisor, complaint=c)
    complaints.complaint_decide(user=supervisor, complaint=c, outcome="dismissed",
                                decision="投诉缺乏事实依据")
    services.dispatch_events()
    handled = of_kind("complaints.handled")
    assert {n.recipient_id for n in handled} == {complainant.pk, colleague.pk}
    assert sorted(n.params["step"] for n in handled.filter(recipient=colleague)) == [
        "accepted", "decided"]
    decided = handled.get(recipient=colleague, params__step="decided")
    assert decided.language == "en"
    assert decided.title == f"{tender.reference}: your complaint was decided"
    assert "Dismissed" in decided.body and "投诉缺乏事实依据" in decided.body
    assert handled.get(recipient=complainant, params__step="decided").language == "zh-hans"


def test_a_rejected_complaint_tells_the_complainant_and_a_kind_turned_off_tells_nobody():
    complainant = factories.bidder()
    quiet = factories.bidder(organisation=complainant.organisation)
    NotificationPreference.objects.create(user=quiet, kind="complaints.handled",
                                          in_app=False, email=False)
    supervisor = factories.supervisor()
    c = other_complaint(now=timezone.now(), user=complainant)
    complaints.complaint_reject(user=supervisor, complaint=c, reason="不属于受理范围")
    tick()
    assert told("complaints.handled") == {complainant.pk}
    assert "不属于受理范围" in of_kind("complaints.handled").get().body


def test_a_document_objection_answer_goes_to_the_objector_only():
    owner = factories.tenderer()
    tender = factories.published_tender(user=owner)
    objector = factories.bidder()
    other = factories.bidder()
    o = complaints.objection_raise(user=objector, tender=tender, text="资质要求排斥潜在投标人")
    complaints.objection_answer(user=owner, objection=o, answer="资质要求符合规定")
    services.dispatch_events()
    assert told("complaints.objection_answered") == {objector.pk}
    assert other.pk not in told("complaints.objection_answered")


def test_a_complaint_deadline_reminder_goes_to_the_supervisors():
    supervisor = factories.supervisor()
    complainant = factories.bidder()
    c = other_complaint(now=timezone.now(), user=complainant)
    from audit.services import audit_record

    audit_record(actor="clock", action="complaints.accept_overdue", obj=c,
                 payload={"due": str(c.accept_due)})
    services.dispatch_events()
    from accounts.models import Organisation, User

    supervisors = set(User.objects.filter(organisation__kind=Organisation.Kind.SUPERVISOR)
                      .values_list("pk", flat=True))
    assert supervisor.pk in supervisors
    assert told("complaints.deadline") == supervisors
    assert complainant.pk not in supervisors
    n = of_kind("complaints.deadline").get(recipient=supervisor)
    assert n.params["overdue"] is True and n.params["stage"] == "accept"
