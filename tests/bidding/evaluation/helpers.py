"""Building an evaluation for the tests: an opened tender, a completed draw, the committee,
a chair, and sheets filled the same way by every member unless told otherwise."""

from __future__ import annotations

from decimal import Decimal

from bidding.evaluation import services
from bidding.evaluation.models import Committee, Stage
from tests import factories


def formed(*, experts=5, reps=0, prices=None, backups=1, backups_confirmed=0,
           **overrides):
    kw = {} if prices is None else {"prices": prices}
    tender, bidders = factories.opened_tender(**kw, **overrides)
    draw, users, backup_seats = factories.complete_draw(
        tender, experts=experts, reps=reps, backups=backups,
        backups_confirmed=backups_confirmed)
    rep_users = [factories.UserFactory(role="tenderer", organisation=tender.tenderer)
                 for _ in range(reps)]
    committee = services.committee_form(tender=tender, user=tender.created_by,
                                        tenderer_reps=rep_users)
    return committee, users + rep_users, bidders, backup_seats


def elect(committee: Committee, users, chair_index=0) -> Committee:
    chair = committee.members.get(user=users[chair_index])
    for u in users:
        committee.refresh_from_db()
        if committee.chair_id:
            break
        services.chair_vote(committee=committee, user=u, candidate=chair)
    committee.refresh_from_db()
    return committee


def keys(committee, stage):
    return [services.bid_key(b, stage) for b in services.stage_bids(committee, stage)]


def qualification_entries(committee, *, fail=()):
    crit = services.stage_criteria(committee.tender, "qualification")
    out = {}
    for k in keys(committee, "qualification"):
        out[k] = {"criteria": {str(c.number): ({"passed": False, "reason": "资质不符"}
                                               if k in fail else {"passed": True})
                               for c in crit}, "rejections": []}
    return out


def score_entries(committee, stage, *, value=None, per_key=None):
    crit = services.stage_criteria(committee.tender, stage)
    out = {}
    for i, k in enumerate(keys(committee, stage)):
        out[k] = {}
        for c in crit:
            v = (per_key or {}).get(k)
            if v is None:
                v = value if value is not None else c.max_score * Decimal("0.8") - i
            out[k][str(c.number)] = str(Decimal(v).quantize(Decimal("0.01")))
    return out


def run_stage(committee, users, stage, entries_for=None, chair_user=None):
    for u in users:
        entries = entries_for(u) if entries_for else (
            qualification_entries(committee) if stage == "qualification"
            else score_entries(committee, stage))
        services.sheet_submit(committee=committee, user=u, stage=stage, entries=entries)
    chair_user = chair_user or committee.chair.user
    services.stage_lock(committee=committee, user=chair_user, stage=stage)
    committee.refresh_from_db()
    return committee


def to_report(committee, users):
    committee = elect(committee, users)
    for stage in (Stage.QUALIFICATION, Stage.TECHNICAL, Stage.COMMERCIAL):
        committee = run_stage(committee, users, stage)
    return committee
