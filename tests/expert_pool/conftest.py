"""Factories for the expert pool's tests (tests/factories.py builds tenders and users)."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from accounts.models import Role
from expert_pool import draw as D
from expert_pool.models import Expert, Specialty
from tests import factories

_n = itertools.count(1)

# Distinct values so each party's reveal is unique; the commitment is SHA-256 of it.
BEACON_VALUES = {
    Role.SUPERVISOR: "supervisor-0123456789abcdef",
    Role.OPERATOR: "operator-0123456789abcdef",
    Role.NOTARY: "notary-0123456789abcdef",
}


def make_expert(*, specialties=("A0201",), region="350102", employer=None, user=None,
                title=Expert.Title.SENIOR, years=12, status=Expert.Status.ACTIVE,
                code=None, phone="13800000000", email="e@example.cn") -> Expert:
    n = next(_n)
    expert = Expert.objects.create(
        code=code or f"T{n:06d}", name=f"专家{n}", employer=employer, user=user, title=title,
        years_experience=years, region=region, status=status, phone=phone, email=email,
    )
    expert.specialties.set(Specialty.objects.filter(code__in=specialties))
    return expert


def make_pool(n: int, **kw) -> list[Expert]:
    return [make_expert(**kw) for _ in range(n)]


def expert_user(**kw):
    """An expert with a platform account of their own."""
    user = factories.expert()
    return make_expert(user=user, **kw), user


def party_users():
    return {
        Role.SUPERVISOR: factories.supervisor(),
        Role.OPERATOR: factories.operator(),
        Role.NOTARY: factories.UserFactory(role=Role.NOTARY),
    }


def run_beacon(draw, users=None, values=None, now=None):
    """Every party commits, then every party reveals: the draw runs on the last reveal."""
    users = users or party_users()
    values = values or BEACON_VALUES
    for role, user in users.items():
        D.beacon_commit(draw=draw, user=user, commitment=D.contribution_commitment(values[role]),
                        now=now)
    for role, user in users.items():
        D.beacon_reveal(draw=draw, user=user, value=values[role], now=now)
    draw.refresh_from_db()
    return draw


def request(tender, operator, *, quotas=(("A0201", 3), ("D01", 2)), size=5, reps=0,
            backups=1, region_mode="local", now=None, **kw):
    now = now or tender.opening_time - timedelta(hours=24)
    return D.draw_request(
        tender=tender, user=operator, committee_size=size, tenderer_reps=reps,
        quotas=[D.Quota(s, c) for s, c in quotas], backups=backups, region_mode=region_mode,
        now=now, **kw)


@pytest.fixture
def tender(db):
    return factories.published_tender()


@pytest.fixture
def operator(db):
    return factories.operator()


@pytest.fixture
def pool(db):
    """10 municipal-road experts and 6 cost engineers in Fuzhou."""
    return {"A0201": make_pool(10, specialties=("A0201",)),
            "D0101": make_pool(6, specialties=("D0101",))}
