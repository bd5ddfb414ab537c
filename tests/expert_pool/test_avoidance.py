"""Each avoidance rule excludes the experts it should, with its reason, and no others."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from accounts.models import Organisation
from bidding.tenders import services as tender_services
from expert_pool import avoidance
from expert_pool.models import (
    Draw,
    DrawMember,
    Employment,
    Penalty,
    Relation,
    Unavailability,
)
from tests import factories

from .conftest import make_expert, make_pool, request, run_beacon

pytestmark = pytest.mark.django_db


def _ctx(tender, now=None):
    return avoidance.context_for(tender, now=now or tender.opening_time - timedelta(hours=24))


@pytest.fixture
def bidder_org(tender):
    user = factories.bidder()
    tender_services.document_obtain(user=user, tender=tender)
    return user.organisation


def test_current_employee_of_the_tenderer_is_excluded(tender):
    inside = make_expert(employer=tender.tenderer)
    outside = make_expert()
    found = avoidance.employed_by_a_party(_ctx(tender), {inside.pk, outside.pk})
    assert found == {inside.pk: "employer_is_party"}


def test_current_employee_of_a_bidder_is_excluded(tender, bidder_org):
    inside = make_expert(employer=bidder_org)
    assert avoidance.employed_by_a_party(_ctx(tender), {inside.pk}) == {
        inside.pk: "employer_is_party"}


def test_former_employee_within_three_years_is_excluded_but_not_earlier(tender, bidder_org):
    ctx = _ctx(tender)
    recent = make_expert()
    Employment.objects.create(expert=recent, organisation=bidder_org,
                              until=ctx.now.date() - timedelta(days=365 * 2))
    long_ago = make_expert()
    Employment.objects.create(expert=long_ago, organisation=bidder_org,
                              until=ctx.now.date() - timedelta(days=365 * 4))
    found = avoidance.employed_by_a_party(ctx, {recent.pk, long_ago.pk})
    assert found == {recent.pk: "recent_employer_is_party"}


def test_the_three_years_are_a_setting(tender, bidder_org, settings):
    ctx = _ctx(tender)
    e = make_expert()
    Employment.objects.create(expert=e, organisation=bidder_org,
                              until=ctx.now.date() - timedelta(days=365 * 4))
    settings.EXPERT_AVOID_EMPLOYMENT_YEARS = 5
    assert avoidance.employed_by_a_party(ctx, {e.pk}) == {e.pk: "recent_employer_is_party"}


def test_declared_shareholding_in_a_bidder_is_excluded(tender, bidder_org):
    e = make_expert()
    Relation.objects.create(expert=e, kind=Relation.Kind.SHAREHOLDER, organisation=bidder_org)
    other = make_expert()
    assert avoidance.related_to_a_party(_ctx(tender), {e.pk, other.pk}) == {
        e.pk: "related_to_party"}


def test_relative_who_is_a_bidders_legal_representative_is_excluded(tender, bidder_org):
    bidder_org.legal_representative = "王建国"
    bidder_org.save()
    e = make_expert()
    Relation.objects.create(expert=e, kind=Relation.Kind.LEGAL_REPRESENTATIVE,
                            person_name="王建国")
    stranger = make_expert()
    Relation.objects.create(expert=stranger, kind=Relation.Kind.RELATIVE, person_name="李四")
    assert avoidance.related_to_a_party(_ctx(tender), {e.pk, stranger.pk}) == {
        e.pk: "related_to_party"}


def test_staff_of_a_supervising_department_are_excluded(tender):
    dept = factories.OrganisationFactory(kind=Organisation.Kind.SUPERVISOR)
    e = make_expert(employer=dept)
    other = make_expert(employer=factories.OrganisationFactory(kind=Organisation.Kind.OTHER))
    assert avoidance.supervising_department_staff(_ctx(tender), {e.pk, other.pk}) == {
        e.pk: "supervising_department"}


def test_a_penalty_in_force_excludes_and_a_lapsed_one_does_not(tender):
    ctx = _ctx(tender)
    today = ctx.now.date()
    banned = make_expert()
    Penalty.objects.create(expert=banned, reason="违规评标", imposed_on=today - timedelta(days=10))
    lapsed = make_expert()
    Penalty.objects.create(expert=lapsed, reason="迟到", imposed_on=today - timedelta(days=400),
                           until=today - timedelta(days=1))
    assert avoidance.penalised(ctx, {banned.pk, lapsed.pk}) == {banned.pk: "penalised"}


def test_a_penalty_imposed_today_applies_from_local_midnight(tender):
    """01:00 in Beijing is 17:00 UTC the day before: the local day decides."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    early = datetime(2026, 12, 7, 1, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    ctx = _ctx(tender, now=early.astimezone(UTC))  # timezone.now() is in UTC
    banned = make_expert()
    Penalty.objects.create(expert=banned, reason="违规评标", imposed_on=early.date())
    assert avoidance.penalised(ctx, {banned.pk}) == {banned.pk: "penalised"}


def test_unavailable_on_the_evaluation_day_is_excluded(tender):
    ctx = _ctx(tender)
    day = ctx.evaluation_day
    away = make_expert()
    Unavailability.objects.create(expert=away, start=day - timedelta(days=1), end=day)
    back = make_expert()
    Unavailability.objects.create(expert=back, start=day - timedelta(days=5),
                                  end=day - timedelta(days=1))
    assert avoidance.unavailable(ctx, {away.pk, back.pk}) == {away.pk: "unavailable"}


def _served(expert, tenderer_user, operator, times):
    for _i in range(times):
        t = factories.published_tender(user=tenderer_user)
        d = Draw.objects.create(
            tender=t, requested_by=operator, requested_at=timezone.now(), params={},
            groups=[], exclusions_digest="", commitment="", secret=b"x" * 32, beacon="x",
            status=Draw.Status.COMPLETE, drawn_at=timezone.now())
        DrawMember.objects.create(draw=d, expert=expert, group=0, position=0,
                                  status=DrawMember.Status.CONFIRMED)


def test_served_the_same_tenderer_n_times_in_m_months_is_excluded(tender, operator, settings):
    settings.EXPERT_MAX_SERVICES_PER_TENDERER = 2
    owner = tender.created_by
    often = make_expert()
    _served(often, owner, operator, 2)
    once = make_expert()
    _served(once, owner, operator, 1)
    ctx = avoidance.context_for(tender, now=timezone.now())
    assert avoidance.served_tenderer_too_often(ctx, {often.pk, once.pk}) == {
        often.pk: "served_tenderer_often"}


def test_services_older_than_m_months_do_not_count(tender, operator, settings):
    settings.EXPERT_MAX_SERVICES_PER_TENDERER = 1
    settings.EXPERT_SERVICE_WINDOW_MONTHS = 6
    e = make_expert()
    _served(e, tender.created_by, operator, 1)
    later = timezone.now() + timedelta(days=31 * 7)
    assert avoidance.served_tenderer_too_often(avoidance.context_for(tender, now=later),
                                               {e.pk}) == {}


def test_every_exclusion_is_recorded_with_all_its_reasons(tender, operator, bidder_org):
    make_pool(10, specialties=("A0201",))
    make_pool(6, specialties=("D0101",))
    both = make_expert(specialties=("A0201",), employer=bidder_org)
    Penalty.objects.create(expert=both, reason="违规", imposed_on=date(2020, 1, 1))
    draw = request(tender, operator)
    assert {"expert": both.code, "reasons": ["employer_is_party", "penalised"]} in draw.exclusions
    run_beacon(draw)
    assert not draw.members.filter(expert=both).exists()
