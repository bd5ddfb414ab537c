"""The tenderer's award committee: the size rule, appointment, the verifiable draw."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from audit.models import AuditEvent
from bidding.award import committee, decision
from bidding.award.models import AwardCommittee
from tests import factories
from tests.bidding.award.helpers import after_publicity, code, separate_tender

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("size", [1, 2, 4, 6, None])
def test_committee_size_must_be_odd_and_at_least_three(size):
    with pytest.raises(ValidationError) as exc:
        committee.check_size(size)
    assert code(exc) == "committee_size"


@pytest.mark.parametrize("size", [3, 5, 7])
def test_odd_committee_sizes_from_three_are_allowed(size):
    assert committee.check_size(size) == size


def test_appointment_of_the_wrong_number_or_outsiders_is_refused():
    tender, users, bids, members, now = separate_tender("lottery", mode="drawn")
    pool = list(committee.pool_of(tender))
    tender.award_committee_mode = "appointed"
    tender.save(update_fields=["award_committee_mode"])
    with pytest.raises(ValidationError) as exc:
        committee.committee_appoint(user=tender.created_by, tender=tender,
                                    member_ids=[p.pk for p in pool[:2]], chair_id=pool[0].pk,
                                    now=now)
    assert code(exc) == "committee_size"
    stranger = factories.award_pool(factories.candidates_tender()[0], 1)[0]
    with pytest.raises(ValidationError) as exc:
        committee.committee_appoint(user=tender.created_by, tender=tender,
                                    member_ids=[pool[0].pk, pool[1].pk, stranger.pk],
                                    chair_id=pool[0].pk, now=now)
    assert code(exc) == "not_in_pool"
    with pytest.raises(ValidationError) as exc:
        committee.committee_appoint(user=tender.created_by, tender=tender,
                                    member_ids=[p.pk for p in pool[:3]], chair_id=pool[4].pk,
                                    now=now)
    assert code(exc) == "chair_not_member"
    with pytest.raises(PermissionDenied):
        committee.committee_appoint(user=users[0], tender=tender,
                                    member_ids=[p.pk for p in pool[:3]], chair_id=pool[0].pk,
                                    now=now)


def test_appointing_when_the_tender_declared_a_draw_is_refused():
    tender, users, bids, members, now = separate_tender("lottery", mode="drawn")
    pool = list(committee.pool_of(tender))
    with pytest.raises(ValidationError) as exc:
        committee.committee_appoint(user=tender.created_by, tender=tender,
                                    member_ids=[p.pk for p in pool[:3]], chair_id=pool[0].pk,
                                    now=now)
    assert code(exc) == "wrong_mode"


def test_drawn_committee_is_committed_before_the_input_and_verifiable():
    tender, users, bids, members, now = separate_tender("deliberation", mode="drawn")
    c = committee.committee_draw_commit(user=tender.created_by, tender=tender,
                                        round_name="福彩3D 2026330", now=now)
    assert c.formed_at is None and c.commitment and not c.public_input
    with pytest.raises(ValidationError) as exc:
        committee.committee_draw_commit(user=tender.created_by, tender=tender,
                                        round_name="another", now=now)
    assert code(exc) == "draw_rerun"
    with pytest.raises(PermissionDenied):
        committee.committee_draw_input(user=tender.created_by, tender=tender, value="1",
                                       now=now)
    supervisor = factories.supervisor()
    c = committee.committee_draw_input(user=supervisor, tender=tender, value="3 8 2", now=now)
    with pytest.raises(ValidationError) as exc:
        committee.committee_draw_input(user=supervisor, tender=tender, value="9", now=now)
    assert code(exc) == "draw_rerun"
    commit = AuditEvent.objects.get(action="award.committee_committed")
    drawn = AuditEvent.objects.get(action="award.committee_drawn")
    assert commit.seq < drawn.seq
    assert len(c.drawn) == 3 and c.members.count() == 3
    assert c.members.get(is_chair=True).pool_member.code == c.drawn[0]
    assert committee.verify_committee_draw(c).ok
    # The drawn committee acts: the chair is a member.
    chair = c.members.get(is_chair=True).user
    decision.opinion_record(user=chair, tender=tender, text="意见",
                            preferred=str(bids[0].public_id), now=now)


def test_committee_draw_verification_fails_on_tampered_inputs():
    tender, users, bids, members, now = separate_tender("lottery", mode="drawn")
    committee.committee_draw_commit(user=tender.created_by, tender=tender, round_name="R",
                                    now=now)
    c = committee.committee_draw_input(user=factories.supervisor(), tender=tender, value="5",
                                       now=now)
    others = [x for x in c.candidates if x not in c.drawn]
    for field, value in [("drawn", [others[0]] + c.drawn[1:]),
                         ("public_input", "external-v1;R=6"),
                         ("public_input", "external-v1;other=5"),
                         ("secret", bytes(32)), ("params", {**c.params, "size": 5}),
                         ("candidates", c.candidates[:-1]),
                         ("commitment", "0" * 64)]:
        fresh = AwardCommittee.objects.get(pk=c.pk)
        setattr(fresh, field, value)
        assert not committee.verify_committee_draw(fresh).ok, field


def test_a_pool_smaller_than_the_committee_is_refused():
    tender, _u, _b = factories.candidates_tender(
        award_method="separate", decision_method="lottery", committee_mode="drawn",
        committee_size=5)
    now = after_publicity(tender)
    decision.award_start(user=tender.created_by, tender=tender, now=now)
    factories.award_pool(tender, 4)
    with pytest.raises(ValidationError) as exc:
        committee.committee_draw_commit(user=tender.created_by, tender=tender, round_name="R",
                                        now=now)
    assert code(exc) == "pool_too_small"


def test_only_the_tenderers_own_staff_join_its_pool():
    tender, users, _b = factories.candidates_tender()
    with pytest.raises(ValidationError) as exc:
        committee.pool_add(user=tender.created_by, person=factories.tenderer(), name="外人")
    assert code(exc) == "not_own_staff"
    colleague = factories.tenderer(organisation=tender.tenderer)
    member = committee.pool_add(user=tender.created_by, person=colleague, name="王五",
                                title="总工")
    assert member.organisation == tender.tenderer
