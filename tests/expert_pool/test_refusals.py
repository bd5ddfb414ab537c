"""Every remaining refusal of the pool's services, each with its code and nothing saved."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.models import Role
from expert_pool import draw as D
from expert_pool import services
from expert_pool.models import Draw, Expert, ImportBatch
from tests import factories

from .conftest import BEACON_VALUES, expert_user, make_expert, party_users, request, run_beacon

pytestmark = pytest.mark.django_db


def _code(exc: ValidationError) -> str:
    return next(e.code for errs in exc.error_dict.values() for e in errs)


def _refused(code, fn, *args, **kwargs):
    with pytest.raises(ValidationError) as exc:
        fn(*args, **kwargs)
    assert _code(exc.value) == code, exc.value


def test_an_unknown_specialty_in_a_quota_is_refused(tender, operator, pool):
    _refused("unknown_specialty", request, tender, operator, quotas=(("A0201", 3), ("Z99", 2)))
    assert not Draw.objects.exists()


def test_a_specialty_in_two_quotas_is_refused(tender, operator, pool):
    _refused("invalid", request, tender, operator, quotas=(("A0201", 3), ("A0201", 2)))


def test_an_unknown_region_mode_and_negative_backups_are_refused(tender, operator, pool):
    _refused("invalid", request, tender, operator, region_mode="moon")
    _refused("invalid", request, tender, operator, backups=-1)


def test_a_party_cannot_reveal_twice(tender, operator, pool):
    users = party_users()
    draw = request(tender, operator)
    for role, user in users.items():
        D.beacon_commit(draw=draw, user=user,
                        commitment=D.contribution_commitment(BEACON_VALUES[role]))
    D.beacon_reveal(draw=draw, user=users[Role.NOTARY], value=BEACON_VALUES[Role.NOTARY])
    _refused("beacon_already_revealed", D.beacon_reveal, draw=draw, user=users[Role.NOTARY],
             value=BEACON_VALUES[Role.NOTARY])


def test_the_outside_beacon_refuses_others_and_empty_values(tender, operator, pool, settings):
    settings.EXPERT_DRAW_BEACON = "external"
    draw = request(tender, operator, beacon_round="drand 4242")
    _refused("forbidden", D.beacon_record, draw=draw, user=factories.supervisor(), value="1")
    _refused("required", D.beacon_record, draw=draw, user=operator, value="  ")
    settings.EXPERT_DRAW_BEACON = "commit_reveal"
    other = factories.published_tender()
    crdraw = request(other, operator)
    _refused("beacon_closed", D.beacon_record, draw=crdraw, user=operator, value="1")


def test_applying_twice_or_with_unknown_specialties_is_refused():
    user = factories.expert()
    _refused("invalid", services.expert_apply, user=user, name="甲", title="senior",
             years_experience=10, region="350102", specialties=["ZZ"])
    services.expert_apply(user=user, name="甲", title="senior", years_experience=10,
                          region="350102", specialties=["A0201"])
    _refused("duplicate", services.expert_apply, user=user, name="甲", title="senior",
             years_experience=10, region="350102", specialties=["A0201"])


def test_profile_edits_are_the_experts_own_and_checked():
    expert, user = expert_user()
    with pytest.raises(PermissionDenied):
        services.expert_update_profile(user=factories.expert(), expert=expert, data={})
    _refused("invalid", services.expert_update_profile, user=user, expert=expert,
             data={"specialties": ["NOPE"]})
    _refused("invalid", services.expert_mark_unavailable, user=user, expert=expert,
             start=date(2026, 5, 2), end=date(2026, 5, 1))


def test_admission_and_suspension_are_refused_when_they_should_be(operator):
    retired = make_expert(status=Expert.Status.RETIRED)
    _refused("invalid", services.expert_admit, user=operator, expert=retired)
    junior = make_expert(status=Expert.Status.PENDING, title=Expert.Title.INTERMEDIATE)
    _refused("expert_not_qualified", services.expert_admit, user=operator, expert=junior)
    active = make_expert()
    _refused("required", services.expert_suspend, user=operator, expert=active, reason=" ")
    with pytest.raises(PermissionDenied):
        services.expert_admit(user=factories.supervisor(), expert=junior)
    with pytest.raises(PermissionDenied):
        services.expert_suspend(user=factories.expert(), expert=active, reason="x")


def test_a_csv_without_the_required_columns_is_refused(operator):
    _refused("invalid_csv", services.import_csv, user=operator, text="code,name\nX,Y\n")
    assert not ImportBatch.objects.exists()
    with pytest.raises(PermissionDenied):
        services.import_csv(user=factories.bidder(), text="code\n")


def test_a_pledge_is_signed_once(tender, operator):
    people = [expert_user(specialties=("A0201",)) for _ in range(3)]
    people += [expert_user(specialties=("D0101",)) for _ in range(2)]
    users = {e.pk: u for e, u in people}
    draw = run_beacon(request(tender, operator, backups=0))
    seat = draw.members.select_related("expert").first()
    user = users[seat.expert_id]
    services.member_respond(member=seat, user=user, accept=True)
    seat.refresh_from_db()
    seat.otp_hash = services._otp_hash(seat, "123456")
    seat.otp_expires = timezone.now() + timedelta(minutes=5)
    seat.save()
    services.pledge_sign(member=seat, user=user, otp="123456")
    _refused("already_pledged", services.pledge_sign, member=seat, user=user, otp="123456")
