"""A penalty a supervision decision imposes (expert_pool.services.expert_penalise) is
recorded on the expert, audited, and keeps the expert out of draws while in force; an
unknown expert code is refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from expert_pool import avoidance, services
from expert_pool.models import Expert, Penalty
from tests import factories

from .conftest import make_expert

pytestmark = pytest.mark.django_db


def test_a_penalty_is_recorded_audited_and_excludes_the_expert_from_draws(tender):
    ctx = avoidance.context_for(tender, now=tender.opening_time - timedelta(hours=24))
    expert, other = make_expert(), make_expert()
    penalty = services.expert_penalise(
        user=factories.supervisor(), code=expert.code, imposed_on=ctx.now.date(),
        until=ctx.now.date() + timedelta(days=365), reason="JD-2026-00001: suspension",
        payload={"decision": "JD-2026-00001"}, summary=f"expert {expert.code} penalised")
    assert Penalty.objects.get() == penalty and penalty.expert == expert
    event = AuditEvent.objects.filter(action="expert.penalised").get()
    assert event.object_id == str(penalty.pk) and expert.code in event.summary
    assert avoidance.penalised(ctx, {expert.pk, other.pk}) == {expert.pk: "penalised"}


def test_a_penalty_reason_is_cut_to_the_field_length():
    expert = make_expert()
    penalty = services.expert_penalise(user=factories.supervisor(), code=expert.code,
                                       imposed_on=timezone.localdate(), until=None,
                                       reason="x" * 400)
    assert len(penalty.reason) == 300


def test_an_unknown_expert_code_is_refused():
    with pytest.raises(Expert.DoesNotExist):
        services.expert_penalise(user=factories.supervisor(), code="NOSUCH", until=None,
                                 imposed_on=timezone.localdate(), reason="x")
    assert not Penalty.objects.exists()
