"""The sealed list: only the drawn experts know until evaluation starts."""

from __future__ import annotations

import pytest

from accounts.models import Role
from bidding.tenders.models import Tender
from expert_pool import policies, selectors
from tests import factories

from .conftest import expert_user, make_pool, request, run_beacon

pytestmark = pytest.mark.django_db
S = Tender.Status


@pytest.fixture
def drawn(tender, operator):
    people = [expert_user(specialties=("A0201",)) for _ in range(3)]
    make_pool(2, specialties=("D0101",))
    return run_beacon(request(tender, operator, backups=0)), people


def _roles(tender):
    return {
        "tenderer": tender.created_by,
        "bidder": factories.bidder(),
        "operator": factories.operator(),
        "supervisor": factories.supervisor(),
        "other expert": factories.expert(),
        "notary": factories.UserFactory(role=Role.NOTARY),
    }


def test_before_evaluation_nobody_but_the_drawn_expert_sees_names(drawn):
    draw, people = drawn
    for name, user in _roles(draw.tender).items():
        assert selectors.committee_for(user, draw) is None, name
        assert not selectors.my_seats(user).exists(), name
    expert, user = people[0]
    seats = list(selectors.my_seats(user))
    assert [s.expert_id for s in seats] == [expert.pk]


def test_the_operator_sees_counts_only(drawn):
    draw, _people = drawn
    operator = factories.operator()
    assert policies.can_see_progress(operator)
    progress = selectors.draw_progress(draw)
    assert progress["called"] == 5 and progress["seats"] == 5
    assert not any(isinstance(v, str) and v.startswith("T0") for v in progress.values())
    assert not policies.can_see_members(operator, draw)


def test_the_simulated_gateway_is_hidden_from_operators(drawn):
    assert not policies.can_see_gateway(factories.operator())
    assert not policies.can_see_gateway(factories.supervisor())


def test_when_evaluation_starts_the_tenderer_sees_the_committee_but_bidders_do_not(drawn):
    draw, _people = drawn
    Tender.objects.filter(pk=draw.tender.pk).update(status=S.EVALUATION)
    draw.tender.refresh_from_db()
    roles = _roles(draw.tender)
    assert policies.can_see_members(roles["tenderer"], draw)
    for name in ("bidder", "other expert", "notary"):
        assert not policies.can_see_members(roles[name], draw), name
    other_tenderer = factories.tenderer()
    assert not policies.can_see_members(other_tenderer, draw)


def test_names_are_public_with_the_result(drawn):
    draw, _people = drawn
    Tender.objects.filter(pk=draw.tender.pk).update(status=S.CANDIDATES)
    draw.tender.refresh_from_db()
    for name, user in _roles(draw.tender).items():
        assert policies.can_see_members(user, draw), name


def test_the_audit_trail_names_the_seat_not_the_expert(drawn):
    from audit.models import AuditEvent
    from expert_pool import services

    draw, people = drawn
    expert, user = people[0]
    seat = draw.members.get(expert=expert)
    services.member_respond(member=seat, user=user, accept=True)
    event = AuditEvent.objects.filter(action="expert_draw.confirmed").get()
    assert event.actor == "drawn-expert" and event.actor_id is None
    assert user.username not in event.summary and expert.name not in event.summary
