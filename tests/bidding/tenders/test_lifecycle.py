"""The tender state machine: every edge of the table, every refusal, the clock."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from audit.models import AuditEvent
from bidding.tenders import lifecycle
from bidding.tenders.lifecycle import CLOCK, SUPERVISOR, SYSTEM, TENDERER, TRANSITIONS
from bidding.tenders.models import Tender
from tests import factories

S = Tender.Status
pytestmark = pytest.mark.django_db

# The lifecycle of DESIGN.md ("draft -> published -> deadline -> opening -> opened ->
# evaluation -> candidates -> award -> awarded -> contract; side exits cancelled,
# failed (fewer than 3 bids, all rejected), suspended (by a complaint)"), written out by
# hand: every allowed (source, target, who may make the move). Only the tenderer
# publishes or cancels, and only before bidding closes; the clock closes bidding at the
# deadline; the platform reacts to events (bids counted, report signed); the supervisor
# suspends any live stage and resumes to where it was. Not derived from TRANSITIONS:
# the implementation's table must equal this one exactly.
EXPECTED = {
    ("draft", "published", frozenset({"tenderer"})),
    ("draft", "cancelled", frozenset({"tenderer"})),
    ("published", "bidding_closed", frozenset({"clock"})),
    ("published", "cancelled", frozenset({"tenderer"})),
    ("published", "suspended", frozenset({"supervisor"})),
    ("bidding_closed", "opening", frozenset({"clock", "system"})),
    ("bidding_closed", "failed", frozenset({"system"})),
    ("bidding_closed", "suspended", frozenset({"supervisor"})),
    ("opening", "opened", frozenset({"system", "tenderer"})),
    ("opening", "failed", frozenset({"system"})),
    ("opening", "suspended", frozenset({"supervisor"})),
    ("opened", "evaluation", frozenset({"system", "tenderer"})),
    ("opened", "suspended", frozenset({"supervisor"})),
    ("evaluation", "candidates", frozenset({"system"})),
    ("evaluation", "failed", frozenset({"system"})),
    ("evaluation", "suspended", frozenset({"supervisor"})),
    ("candidates", "award", frozenset({"system", "tenderer"})),
    ("candidates", "awarded", frozenset({"system", "tenderer"})),
    ("candidates", "suspended", frozenset({"supervisor"})),
    ("award", "awarded", frozenset({"system", "tenderer"})),
    ("award", "failed", frozenset({"system"})),  # price competition: no valid price left
    ("award", "suspended", frozenset({"supervisor"})),
    ("awarded", "contracted", frozenset({"system", "tenderer"})),
    ("suspended", "resume", frozenset({"supervisor"})),
}
TERMINAL = {"contracted", "cancelled", "failed"}
ALL_STATUSES = {"draft", "published", "bidding_closed", "opening", "opened", "evaluation",
                "candidates", "award", "awarded", "contracted", "cancelled", "failed",
                "suspended"}


def test_the_implementations_table_is_exactly_the_designed_one():
    implemented = {(str(source), str(edge.target), frozenset(edge.by))
                   for source, edges in TRANSITIONS.items() for edge in edges}
    assert implemented == EXPECTED
    assert {str(s) for s in TRANSITIONS} == ALL_STATUSES == set(S.values)
    assert {str(s) for s, edges in TRANSITIONS.items() if not edges} == TERMINAL


# Every actor of every edge, from the hand-written table.
EDGES = sorted(
    (source, target, by)
    for source, target, actors in EXPECTED
    for by in actors
    if target != "resume"
)


def _tender_in(status: str) -> Tender:
    tender = factories.draft_tender()
    Tender.objects.filter(pk=tender.pk).update(status=status)
    tender.refresh_from_db()
    return tender


@pytest.mark.parametrize(("source", "target", "by"), EDGES)
def test_every_edge_in_the_table_moves_the_tender_and_is_audited(source, target, by, monkeypatch):
    # The table alone: the stages' guards (the minimum number of bids) are tested below.
    monkeypatch.setattr(lifecycle, "guard_refusal", lambda *args, **kwargs: "")
    tender = _tender_in(source)
    last_seq = AuditEvent.objects.order_by("seq").values_list("seq", flat=True).last() or 0

    assert lifecycle.tender_transition(tender=tender, to=target, by=by) is True

    tender.refresh_from_db()
    assert tender.status == target
    # The move itself is recorded exactly once and first. A later stage's hook on the
    # target (the award stage opens the candidates' publicity on CANDIDATES) may record
    # its own acts after it, in the same transaction; those are not transitions.
    new = list(AuditEvent.objects.filter(seq__gt=last_seq).order_by("seq"))
    moves = [e for e in new if e.action == "tender.transition"]
    assert len(moves) == 1
    (event,) = moves
    assert new[0] == event
    assert event.object_id == str(tender.pk)
    assert event.summary == f"{tender.reference}: {source} -> {target}"


NON_EDGES = [
    (source, target)
    for source in sorted(ALL_STATUSES)
    for target in sorted(ALL_STATUSES)
    if source != target
    and (source, target) not in {(s, t) for s, t, _ in EXPECTED}
    and source != "suspended"
]


@pytest.mark.parametrize(("source", "target"), NON_EDGES)
def test_a_move_outside_the_table_is_refused_naming_the_current_status(source, target):
    tender = _tender_in(source)
    with pytest.raises(lifecycle.TransitionNotAllowed) as exc:
        lifecycle.tender_transition(tender=tender, to=target, by=SYSTEM)
    assert exc.value.current == source
    assert str(S(source).label) in str(exc.value)
    tender.refresh_from_db()
    assert tender.status == source


def test_moving_to_the_current_status_is_a_no_op():
    tender = _tender_in(S.PUBLISHED)
    before = AuditEvent.objects.count()
    assert lifecycle.tender_transition(tender=tender, to=S.PUBLISHED, by=TENDERER) is False
    assert AuditEvent.objects.count() == before


def test_a_move_by_the_wrong_actor_is_refused():
    tender = _tender_in(S.PUBLISHED)
    with pytest.raises(lifecycle.TransitionNotAllowed, match="not made by the tenderer"):
        lifecycle.tender_transition(tender=tender, to=S.SUSPENDED, by=TENDERER)


def test_closing_bidding_before_the_deadline_is_refused():
    tender = factories.published_tender()
    with pytest.raises(lifecycle.TransitionNotAllowed, match="deadline has not passed"):
        lifecycle.tender_transition(tender=tender, to=S.BIDDING_CLOSED, by=CLOCK)


def test_suspend_then_resume_returns_to_the_previous_status():
    tender = _tender_in(S.BIDDING_CLOSED)
    lifecycle.tender_transition(tender=tender, to=S.SUSPENDED, by=SUPERVISOR)
    assert [e.target for e in lifecycle.available_transitions(tender)] == [S.BIDDING_CLOSED]
    lifecycle.tender_transition(tender=tender, to=S.BIDDING_CLOSED, by=SUPERVISOR)
    tender.refresh_from_db()
    assert tender.status == S.BIDDING_CLOSED and tender.suspended_from == ""


def test_a_suspended_tender_cannot_resume_into_another_status():
    tender = _tender_in(S.BIDDING_CLOSED)
    lifecycle.tender_transition(tender=tender, to=S.SUSPENDED, by=SUPERVISOR)
    with pytest.raises(lifecycle.TransitionNotAllowed):
        lifecycle.tender_transition(tender=tender, to=S.PUBLISHED, by=SUPERVISOR)


def test_terminal_statuses_allow_nothing():
    for status in (S.CONTRACTED, S.CANCELLED, S.FAILED):
        assert lifecycle.available_transitions(_tender_in(status)) == []


def test_available_transitions_can_be_filtered_by_actor():
    tender = _tender_in(S.PUBLISHED)
    assert [e.target for e in lifecycle.available_transitions(tender, by=CLOCK)] == [
        S.BIDDING_CLOSED
    ]


def test_the_clock_closes_bidding_at_the_deadline_and_not_before():
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        tender = factories.published_tender()
    deadline = tender.deadline
    with time_machine.travel(deadline - timedelta(seconds=1), tick=False):
        assert lifecycle.advance_by_clock() == []
    with time_machine.travel(deadline, tick=False):
        assert lifecycle.advance_by_clock() == [tender.pk]
    tender.refresh_from_db()
    assert tender.status == S.BIDDING_CLOSED
    assert tender.status_changed_at == deadline
    event = AuditEvent.objects.order_by("seq").last()
    assert event.actor == "clock"


def test_the_clock_tick_is_idempotent():
    with time_machine.travel(timezone.now(), tick=False):
        tender = factories.published_tender()
    with time_machine.travel(tender.deadline + timedelta(minutes=1), tick=False):
        assert lifecycle.advance_by_clock() == [tender.pk]
        events = AuditEvent.objects.count()
        assert lifecycle.advance_by_clock() == []
        assert AuditEvent.objects.count() == events


def test_the_clock_leaves_a_suspended_tender_alone():
    with time_machine.travel(timezone.now(), tick=False):
        tender = factories.published_tender()
        lifecycle.tender_transition(tender=tender, to=S.SUSPENDED, by=SUPERVISOR)
    with time_machine.travel(tender.deadline + timedelta(minutes=1), tick=False):
        assert lifecycle.advance_by_clock() == []
    tender.refresh_from_db()
    assert tender.status == S.SUSPENDED


# --- the registries: later stages add guards and hooks ------------------------------


@pytest.fixture
def clean_registries(monkeypatch):
    from collections import defaultdict

    monkeypatch.setattr(lifecycle, "_guards", defaultdict(list))
    monkeypatch.setattr(lifecycle, "_hooks", defaultdict(list))


def test_a_registered_guard_refuses_the_move_with_its_reason(clean_registries):
    tender = _tender_in(S.OPENED)
    lifecycle.register_guard(S.OPENED, S.EVALUATION, lambda t, now: "the committee is not drawn")
    with pytest.raises(lifecycle.TransitionNotAllowed, match="the committee is not drawn") as exc:
        lifecycle.tender_transition(tender=tender, to=S.EVALUATION, by=SYSTEM)
    assert exc.value.guarded and exc.value.reason == "the committee is not drawn"
    tender.refresh_from_db()
    assert tender.status == S.OPENED


def test_a_guard_for_a_move_the_table_lacks_is_refused_at_registration(clean_registries):
    with pytest.raises(ValueError, match="no move draft -> awarded"):
        lifecycle.register_guard(S.DRAFT, S.AWARDED, lambda t, now: "")


def test_a_hook_runs_inside_the_moving_transaction(clean_registries):
    from django.db import transaction

    calls = []

    def hook(*, tender, previous, reason, now):
        in_transaction = transaction.get_connection().in_atomic_block
        calls.append((tender.status, previous, reason, in_transaction))

    lifecycle.register_hook(S.CANCELLED, hook)
    tender = _tender_in(S.PUBLISHED)
    lifecycle.tender_transition(tender=tender, to=S.CANCELLED, by=TENDERER, reason="budget cut")
    assert calls == [(S.CANCELLED, S.PUBLISHED, "budget cut", True)]


def test_a_failing_hook_undoes_the_move(clean_registries):
    def hook(**kwargs):
        raise RuntimeError("notification service down")

    lifecycle.register_hook(S.CANCELLED, hook)
    tender = _tender_in(S.PUBLISHED)
    before = AuditEvent.objects.count()
    with pytest.raises(RuntimeError):
        lifecycle.tender_transition(tender=tender, to=S.CANCELLED, by=TENDERER)
    tender.refresh_from_db()
    assert tender.status == S.PUBLISHED and AuditEvent.objects.count() == before


def test_advance_or_fail_fails_the_tender_with_the_guards_reason(clean_registries):
    lifecycle.register_guard(S.OPENING, S.OPENED, lambda t, now: "2 bids opened")
    tender = _tender_in(S.OPENING)
    assert lifecycle.tender_advance_or_fail(tender=tender, to=S.OPENED, by=SYSTEM) == S.FAILED
    event = AuditEvent.objects.filter(action="tender.transition").order_by("seq").last()
    assert event.summary.endswith("opening -> failed")


def test_advance_or_fail_does_not_fail_a_tender_for_a_move_outside_the_table():
    tender = _tender_in(S.PUBLISHED)
    with pytest.raises(lifecycle.TransitionNotAllowed):
        lifecycle.tender_advance_or_fail(tender=tender, to=S.OPENED, by=SYSTEM)
    tender.refresh_from_db()
    assert tender.status == S.PUBLISHED


def test_the_minimum_bids_rule_is_one_guard_on_both_counts():
    """Reg 44 at the deadline (bids standing) and after decryption (bids opened)."""
    names = {
        edge: [g.__name__ for g in lifecycle._guards[edge]]
        for edge in [(S.BIDDING_CLOSED, S.OPENING), (S.OPENING, S.OPENED)]
    }
    assert names == {
        (S.BIDDING_CLOSED, S.OPENING): ["min_bids_at_deadline"],
        (S.OPENING, S.OPENED): ["min_bids_opened"],
    }
    guard = lifecycle._guards[(S.BIDDING_CLOSED, S.OPENING)][0]
    tender = _tender_in(S.BIDDING_CLOSED)
    assert guard(tender, timezone.now()) == (
        "0 bids received by the deadline, fewer than the 3 required (Reg 44).")


def test_the_minimum_is_statutory_so_a_local_override_cannot_lower_it(settings):
    settings.STATUTORY_OVERRIDES = {"MIN_BIDS_TO_OPEN": 0}
    tender = _tender_in(S.BIDDING_CLOSED)
    assert "fewer than the 3 required" in lifecycle.guard_refusal(tender, S.OPENING)
