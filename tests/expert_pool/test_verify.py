"""Verification recomputes the draw and fails when any input is altered."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from expert_pool import draw as D
from expert_pool.models import BeaconContribution, Draw, DrawMember

from .conftest import request, run_beacon

pytestmark = pytest.mark.django_db


@pytest.fixture
def drawn(tender, operator, pool):
    return run_beacon(request(tender, operator))


def _reload(draw):
    return Draw.objects.get(pk=draw.pk)


def test_an_untouched_draw_verifies(drawn):
    v = D.verify(drawn)
    assert v.ok, v.problems
    assert len(v.checked) >= 4


def test_verify_draw_command_says_ok(drawn, capsys):
    call_command("verify_draw", str(drawn.pk))
    assert "OK" in capsys.readouterr().out


def test_verify_draw_command_fails_on_an_altered_draw(drawn):
    Draw.objects.filter(pk=drawn.pk).update(public_input="commit-reveal-v1;x")
    with pytest.raises(CommandError):
        call_command("verify_draw", str(drawn.pk))


def test_an_altered_secret_fails(drawn):
    Draw.objects.filter(pk=drawn.pk).update(secret=b"\x01" * 32)
    v = D.verify(_reload(drawn))
    assert not v.ok and any("commitment" in p for p in v.problems)


def test_an_altered_commitment_fails(drawn):
    Draw.objects.filter(pk=drawn.pk).update(commitment="0" * 64)
    assert not D.verify(_reload(drawn)).ok


def test_an_altered_candidate_list_fails(drawn):
    groups = drawn.groups
    groups[0]["candidates"] = groups[0]["candidates"][:-1]
    Draw.objects.filter(pk=drawn.pk).update(groups=groups)
    v = D.verify(_reload(drawn))
    assert any("candidate list" in p for p in v.problems)


def test_a_candidate_list_altered_with_a_matching_digest_fails_against_the_audit_chain(drawn):
    from crypto import randomness

    groups = drawn.groups
    groups[0]["candidates"] = groups[0]["candidates"][:-1]
    groups[0]["digest"] = randomness.candidates_digest(groups[0]["candidates"])
    Draw.objects.filter(pk=drawn.pk).update(groups=groups)
    v = D.verify(_reload(drawn))
    assert any("audit chain" in p for p in v.problems)


def test_altered_parameters_fail(drawn):
    params = dict(drawn.params, backups=2)
    Draw.objects.filter(pk=drawn.pk).update(params=params)
    assert not D.verify(_reload(drawn)).ok


def test_an_altered_exclusion_list_fails(drawn):
    Draw.objects.filter(pk=drawn.pk).update(exclusions=[{"expert": "X", "reasons": ["penalised"]}])
    v = D.verify(_reload(drawn))
    assert any("exclusion" in p for p in v.problems)


def test_an_altered_public_input_fails(drawn):
    Draw.objects.filter(pk=drawn.pk).update(public_input=drawn.public_input + "x")
    assert not D.verify(_reload(drawn)).ok


def test_an_altered_party_value_fails(drawn):
    c = BeaconContribution.objects.filter(draw=drawn).first()
    c.value = c.value + "0"
    c.save()
    v = D.verify(_reload(drawn))
    assert any("commitment" in p for p in v.problems)


def test_swapped_experts_fail(drawn):
    a, b = DrawMember.objects.filter(draw=drawn, group=0).order_by("position")[:2]
    DrawMember.objects.filter(pk=a.pk).update(position=999)
    DrawMember.objects.filter(pk=b.pk).update(position=a.position)
    DrawMember.objects.filter(pk=a.pk).update(position=b.position)
    v = D.verify(_reload(drawn))
    assert any("differ" in p for p in v.problems)


def test_a_draw_waiting_for_input_does_not_verify(tender, operator, pool):
    draw = request(tender, operator)
    assert not D.verify(draw).ok


def test_the_secret_is_revealed_once_after_the_award(drawn):
    assert drawn.secret_revealed_at is None
    assert D.draw_reveal(draw=drawn) is True
    assert D.draw_reveal(draw=drawn) is False
    assert D.verify(_reload(drawn)).secret_revealed
