"""Shared steps of the award tests."""

from datetime import timedelta

from bidding.award import committee, decision
from tests import factories


def code(exc) -> str:
    return next(e.code for errs in exc.value.error_dict.values() for e in errs)


def after_publicity(tender):
    return tender.publicity.ends_at + timedelta(minutes=1)


def separate_tender(method: str, *, size: int = 3, vote_mode: str = "", n_candidates=3,
                    mode: str = "appointed"):
    """A 评定分离 tender in its award phase with an appointed committee (chair first)."""
    tender, users, bids = factories.candidates_tender(
        n_candidates=n_candidates, ranked=False, award_method="separate",
        decision_method=method, committee_mode=mode, committee_size=size, vote_mode=vote_mode)
    now = after_publicity(tender)
    decision.award_start(user=tender.created_by, tender=tender, now=now)
    pool = factories.award_pool(tender, size + 2)
    members = []
    if mode == "appointed":
        committee.committee_appoint(user=tender.created_by, tender=tender,
                                    member_ids=[p.pk for p in pool[:size]],
                                    chair_id=pool[0].pk, now=now)
        members = [p.user for p in pool[:size]]
    return tender, users, bids, members, now
