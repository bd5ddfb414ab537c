"""Requesting and running a draw: Law 37, quotas and backups, refusals, uniformity."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import Role
from audit.models import AuditEvent
from crypto import randomness
from expert_pool import draw as D
from expert_pool.models import Draw, Expert
from tests import factories

from .conftest import BEACON_VALUES, make_expert, make_pool, party_users, request, run_beacon

pytestmark = pytest.mark.django_db


def _code(exc: ValidationError) -> str:
    return next(e.code for errs in exc.error_dict.values() for e in errs)


def test_a_draw_fills_each_quota_with_seats_then_backups(tender, operator, pool):
    draw = run_beacon(request(tender, operator, quotas=(("A0201", 3), ("D01", 2)), backups=2))
    assert draw.status == Draw.Status.DRAWN
    g0 = list(draw.members.filter(group=0).order_by("position"))
    g1 = list(draw.members.filter(group=1).order_by("position"))
    assert len(g0) == 5 and len(g1) == 4
    assert [m.status for m in g0] == ["called"] * 3 + ["standby"] * 2
    assert [m.status for m in g1] == ["called"] * 2 + ["standby"] * 2
    assert all(m.expert.specialties.filter(code="A0201").exists() for m in g0)
    assert all(m.expert.specialties.filter(code="D0101").exists() for m in g1)


def test_an_expert_in_two_quotas_is_drawn_once(tender, operator):
    make_pool(7, specialties=("A0201", "D0101"))
    draw = run_beacon(request(tender, operator, quotas=(("A0201", 3), ("D01", 2)), backups=1))
    codes = [m.expert.code for m in draw.members.all()]
    assert len(codes) == len(set(codes)) == 7


def test_impossible_quota_names_the_specialty_and_how_many_are_missing(tender, operator, pool):
    with pytest.raises(ValidationError) as exc:
        request(tender, operator, quotas=(("A0201", 3), ("D01", 2)), backups=5)
    assert _code(exc.value) == "not_enough_experts"
    assert "D01" in str(exc.value) and "1 missing" in str(exc.value)
    assert not Draw.objects.exists()
    assert not AuditEvent.objects.filter(action="expert_draw.committed").exists()


def test_excluded_experts_do_not_count_towards_a_quota(tender, operator, pool):
    for e in pool["D0101"][:3]:
        e.employer = tender.tenderer
        e.save()
    with pytest.raises(ValidationError) as exc:
        request(tender, operator, backups=2)
    assert "D01" in str(exc.value) and "1 missing" in str(exc.value)


def test_unqualified_suspended_and_out_of_region_experts_are_never_candidates(tender, operator,
                                                                              pool):
    junior = make_expert(specialties=("D0101",), title=Expert.Title.INTERMEDIATE)
    young = make_expert(specialties=("D0101",), years=5)
    away = make_expert(specialties=("D0101",), region="110101")
    off = make_expert(specialties=("D0101",), status=Expert.Status.SUSPENDED)
    draw = request(tender, operator)
    candidates = {c for g in draw.groups for c in g["candidates"]}
    assert not candidates & {junior.code, young.code, away.code, off.code}


def test_remote_draw_takes_experts_from_another_province_only(tender, operator, pool):
    make_pool(4, specialties=("A0201",), region="110101")
    make_pool(3, specialties=("D0102",), region="310101")
    draw = request(tender, operator, region_mode="remote", backups=0,
                   now=tender.opening_time - timedelta(hours=60))
    candidates = [c for g in draw.groups for c in g["candidates"]]
    regions = set(Expert.objects.filter(code__in=candidates).values_list("region", flat=True))
    assert regions == {"110101", "310101"}


@pytest.mark.parametrize("size,reps,quotas,code", [
    (4, 0, (("A0201", 2), ("D01", 2)), "committee_size"),
    (6, 1, (("A0201", 3), ("D01", 2)), "committee_size"),
    (3, 0, (("A0201", 2), ("D01", 1)), "committee_size"),
    (5, 2, (("A0201", 2), ("D01", 1)), "committee_composition"),
    (5, 0, (("A0201", 2), ("E01", 3)), "committee_composition"),
    (5, 0, (("A0201", 2), ("D01", 2)), "quotas_mismatch"),
])
def test_a_committee_breaking_law_37_is_refused(tender, operator, pool, size, reps, quotas,
                                                code):
    make_pool(3, specialties=("E01",))
    with pytest.raises(ValidationError) as exc:
        request(tender, operator, size=size, reps=reps, quotas=quotas, backups=0)
    assert _code(exc.value) == code
    assert not Draw.objects.exists()


def test_a_committee_of_seven_with_two_tenderer_representatives_is_accepted(tender, operator,
                                                                          pool):
    draw = request(tender, operator, size=7, reps=2, quotas=(("A0201", 3), ("D01", 2)))
    assert draw.params["tenderer_reps"] == 2


def test_a_draw_too_early_is_refused(tender, operator, pool):
    with pytest.raises(ValidationError) as exc:
        request(tender, operator, now=tender.opening_time - timedelta(hours=49))
    assert _code(exc.value) == "draw_too_early"
    assert not Draw.objects.exists()


def test_a_remote_draw_may_start_72_hours_before(tender, operator, pool):
    make_pool(6, specialties=("A0201", "D0101"), region="110101")
    with pytest.raises(ValidationError) as exc:
        request(tender, operator, region_mode="remote", backups=0,
                now=tender.opening_time - timedelta(hours=73))
    assert _code(exc.value) == "draw_too_early"
    request(tender, operator, region_mode="remote", backups=0,
            now=tender.opening_time - timedelta(hours=71))


def test_a_second_draw_for_the_same_committee_is_refused(tender, operator, pool):
    run_beacon(request(tender, operator))
    with pytest.raises(ValidationError) as exc:
        request(tender, operator)
    assert _code(exc.value) == "draw_exists"
    assert Draw.objects.count() == 1


def test_a_second_request_while_waiting_for_input_is_refused_too(tender, operator, pool):
    request(tender, operator)
    with pytest.raises(ValidationError) as exc:
        request(tender, operator)
    assert _code(exc.value) == "draw_exists"


def test_only_the_trading_centre_requests_a_draw(tender, pool):
    for user in (factories.supervisor(), factories.bidder(), tender.created_by):
        with pytest.raises(ValidationError) as exc:
            request(tender, user)
        assert _code(exc.value) == "forbidden"


def test_a_draft_tender_cannot_have_a_draw(operator, pool):
    draft = factories.draft_tender()
    with pytest.raises(ValidationError) as exc:
        request(draft, operator)
    assert _code(exc.value) == "draw_not_allowed_now"


def test_commitment_and_digests_are_audited_before_any_public_input(tender, operator, pool):
    draw = run_beacon(request(tender, operator))
    actions = list(AuditEvent.objects.filter(object_id=str(draw.pk),
                                             action__startswith="expert_draw.")
                   .order_by("seq").values_list("action", flat=True))
    assert actions[0] == "expert_draw.committed"
    assert actions.index("expert_draw.beacon_revealed") > actions.index(
        "expert_draw.beacon_committed")
    assert actions[-1] == "expert_draw.drawn"
    commit = AuditEvent.objects.get(action="expert_draw.committed", object_id=str(draw.pk))
    assert draw.commitment in commit.summary


def test_reveals_wait_until_every_party_has_committed(tender, operator, pool):
    draw = request(tender, operator)
    users = party_users()
    sup = users[Role.SUPERVISOR]
    D.beacon_commit(draw=draw, user=sup,
                    commitment=D.contribution_commitment(BEACON_VALUES[Role.SUPERVISOR]))
    with pytest.raises(ValidationError) as exc:
        D.beacon_reveal(draw=draw, user=sup, value=BEACON_VALUES[Role.SUPERVISOR])
    assert _code(exc.value) == "beacon_not_all_committed"


def test_a_party_cannot_commit_twice_or_reveal_another_value(tender, operator, pool):
    draw = request(tender, operator)
    users = party_users()
    for role, user in users.items():
        D.beacon_commit(draw=draw, user=user,
                        commitment=D.contribution_commitment(BEACON_VALUES[role]))
    with pytest.raises(ValidationError) as exc:
        D.beacon_commit(draw=draw, user=users[Role.NOTARY], commitment="a" * 64)
    assert _code(exc.value) == "beacon_already_committed"
    with pytest.raises(ValidationError) as exc:
        D.beacon_reveal(draw=draw, user=users[Role.NOTARY], value="another-value-0123456789")
    assert _code(exc.value) == "beacon_mismatch"


def test_a_malformed_commitment_is_refused(tender, operator, pool):
    draw = request(tender, operator)
    with pytest.raises(ValidationError) as exc:
        D.beacon_commit(draw=draw, user=factories.supervisor(), commitment="not-hex")
    assert _code(exc.value) == "invalid"


def test_a_bidder_is_not_a_beacon_party(tender, operator, pool):
    draw = request(tender, operator)
    with pytest.raises(PermissionDenied):
        D.beacon_commit(draw=draw, user=factories.bidder(), commitment="a" * 64)


def test_a_drawn_draw_takes_no_more_input_and_is_never_rerun(tender, operator, pool):
    users = party_users()
    draw = run_beacon(request(tender, operator), users=users)
    before = list(draw.members.values_list("expert_id", flat=True))
    with pytest.raises(ValidationError) as exc:
        D.beacon_reveal(draw=draw, user=users[Role.NOTARY], value=BEACON_VALUES[Role.NOTARY])
    assert _code(exc.value) == "beacon_closed"
    assert list(draw.members.values_list("expert_id", flat=True)) == before


def test_the_external_beacon_uses_the_round_named_at_request(tender, operator, pool, settings):
    settings.EXPERT_DRAW_BEACON = "external"
    with pytest.raises(ValidationError) as exc:
        request(tender, operator)
    assert _code(exc.value) == "required"
    draw = request(tender, operator, beacon_round="福彩3D 2026342期")
    D.beacon_record(draw=draw, user=operator, value="3 7 1")
    draw.refresh_from_db()
    assert draw.public_input == "external-v1;福彩3D 2026342期=3 7 1"
    assert draw.status == Draw.Status.DRAWN
    assert D.verify(draw).ok


def _uniform_counts(n_candidates=12, m=3, draws=1200):
    candidates = [f"E{i:03d}" for i in range(n_candidates)]
    digest = randomness.candidates_digest(candidates)
    groups = [{"specialty": "A0201", "count": m, "backups": 0, "digest": digest,
               "candidates": candidates}]
    counts = Counter()
    secret = bytes(range(32))
    for k in range(draws):
        picked, failure = D.select_groups(secret=secret, params={"k": 1}, groups=groups,
                                          public_input=f"round {k}")
        assert not failure
        counts.update(picked[0])
    return counts, candidates, m, draws


def test_selection_is_uniform_over_the_eligible_experts():
    counts, candidates, m, draws = _uniform_counts()
    expected = draws * m / len(candidates)
    chi2 = sum((counts[c] - expected) ** 2 / expected for c in candidates)
    # 11 degrees of freedom: P(chi2 > 31.26) = 0.001. Fixed seeds: the value is stable.
    assert chi2 < 31.26, chi2


def test_the_uniformity_test_can_fail_on_a_biased_selection():
    counts, candidates, m, draws = _uniform_counts()
    counts[candidates[0]] += draws // 4  # what a selector favouring one expert looks like
    counts[candidates[1]] -= draws // 4
    expected = draws * m / len(candidates)
    chi2 = sum((counts[c] - expected) ** 2 / expected for c in candidates)
    assert chi2 > 31.26


def test_a_supervisor_abandons_a_stuck_draw_and_a_new_draw_may_follow(tender, operator, pool):
    users = party_users()
    draw = request(tender, operator)
    for role, user in users.items():
        D.beacon_commit(draw=draw, user=user,
                        commitment=D.contribution_commitment(BEACON_VALUES[role]))
    D.beacon_reveal(draw=draw, user=users[Role.SUPERVISOR], value=BEACON_VALUES[Role.SUPERVISOR])
    with pytest.raises(ValidationError) as exc:
        D.draw_abandon(draw=draw, user=operator, reason="notary silent")
    assert _code(exc.value) == "forbidden"
    D.draw_abandon(draw=draw, user=users[Role.SUPERVISOR], reason="notary silent")
    draw.refresh_from_db()
    assert draw.status == Draw.Status.FAILED
    assert "notary" in draw.failure_reason and "operator" in draw.failure_reason
    with pytest.raises(ValidationError) as exc:
        D.draw_abandon(draw=draw, user=users[Role.SUPERVISOR], reason="again")
    assert _code(exc.value) == "draw_not_waiting"
    second = request(tender, operator)
    assert second.attempt == 2 and second.commitment != draw.commitment
