"""Appending stays one gap-free chain under concurrent writers, however the head is
locked: every event links to the one before it, an event exists exactly when its
transaction committed, and times never go backwards along the chain."""

import threading
from datetime import timedelta

import pytest
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from audit import services as audit_services
from audit.models import AuditEvent, AuditHead, AuditPending
from audit.services import audit_record, audit_verify
from crypto import chain


class _RolledBack(Exception):
    pass


def _assert_one_chain(expected: int) -> list[AuditEvent]:
    events = list(AuditEvent.objects.order_by("seq"))
    assert [e.seq for e in events] == list(range(1, expected + 1)), "a gap or a fork"
    prev = chain.GENESIS_HASH
    for event in events:
        assert event.prev_hash == prev
        assert event.hash == chain.link_hash(prev, chain.event_digest(event.chain_fields()))
        prev = event.hash
    assert all(a.time <= b.time for a, b in zip(events, events[1:], strict=False)), (
        "time went backwards")
    head = AuditHead.objects.get(pk=1)
    assert (head.seq, head.hash) == (expected, prev)
    result = audit_verify()
    assert result.ok and result.count == expected, result.lines()
    return events


@pytest.mark.django_db
def test_appended_events_link_to_the_one_before_and_verify():
    first = audit_record(actor="clock", action="test.one", object_type="t", object_id=1,
                         payload={"n": 1}, summary='quotes " and "seq":0, and 中文')
    second = audit_record(actor=None, action="test.two", object_type="t", object_id=2,
                          sealed_tender_id=7)
    assert (first.seq, second.seq) == (1, 2)
    assert first.pk and second.pk
    assert second.prev_hash == first.hash
    # What the appender returned is what was stored.
    stored = AuditEvent.objects.get(seq=2)
    assert (stored.hash, stored.time, stored.sealed_tender_id) == (
        second.hash, second.time, 7)
    _assert_one_chain(2)


@pytest.mark.django_db
def test_an_event_whose_action_is_rolled_back_leaves_no_trace():
    audit_record(actor="clock", action="test.kept", object_type="t", object_id=1)
    with pytest.raises(_RolledBack), transaction.atomic():
        audit_record(actor="clock", action="test.undone", object_type="t", object_id=2)
        raise _RolledBack
    assert not AuditEvent.objects.filter(action="test.undone").exists()
    assert AuditHead.objects.get(pk=1).seq == 1
    after = audit_record(actor="clock", action="test.next", object_type="t", object_id=3)
    assert after.seq == 2
    _assert_one_chain(2)


@pytest.mark.django_db
def test_an_event_never_has_an_earlier_time_than_the_one_before(monkeypatch):
    later = audit_record(actor="clock", action="test.first", object_type="t", object_id=1)
    # A writer whose clock reading is older than the head (it waited for the head).
    earlier = later.time - timedelta(seconds=5)
    monkeypatch.setattr(audit_services.timezone, "now", lambda: earlier)
    event = audit_record(actor="clock", action="test.second", object_type="t", object_id=2)
    assert event.time == later.time
    _assert_one_chain(2)


def test_the_template_rebuilds_the_canonical_json():
    fields = {"seq": 0, "time": "", "actor_id": None, "actor": 'a"seq":0,', "action": "x",
              "object_type": "t", "object_id": "1", "summary": '"time":""}',
              "sealed_tender_id": 3, "payload_digest": "d" * 64}
    head, middle, tail = chain.event_template(fields)
    stamp = timezone.now().isoformat(timespec="microseconds")
    assert head + b"42" + middle + stamp.encode() + tail == chain.canonical_json(
        {**fields, "seq": 42, "time": stamp})


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("at_commit", [False, True], ids=["at-once", "at-commit"])
def test_concurrent_appenders_make_one_gap_free_chain_without_rolled_back_events(at_commit):
    """Writers in many threads (each its own connection) append at once, some in
    transactions that then roll back; the chain holds exactly the committed events,
    numbered without gaps, each linked to the one before. With ``at_commit`` half the
    writers have their events linked during the commit, beside the others."""
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (SQLite serialises every writer)")
    threads_n, per_thread = 12, 15
    start = threading.Barrier(threads_n)
    errors: list = []

    def writer(w: int) -> None:
        try:
            start.wait(timeout=30)
            for i in range(per_thread):
                try:
                    with transaction.atomic():
                        # Two events in one transaction: both or neither.
                        late = at_commit and w % 2 == 0
                        audit_record(actor=f"w{w}", action="test.a", object_type="t",
                                     object_id=f"{w}-{i}", payload={"w": w, "i": i},
                                     at_commit=late)
                        audit_record(actor=f"w{w}", action="test.b", object_type="t",
                                     object_id=f"{w}-{i}", at_commit=late)
                        if i % 5 == 4:
                            raise _RolledBack
                except _RolledBack:
                    pass
        except Exception as exc:  # reported by the test, not lost in the thread
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    committed = threads_n * (per_thread - per_thread // 5)
    events = _assert_one_chain(2 * committed)
    kept = {e.object_id for e in events}
    assert not {f"{w}-{i}" for w in range(threads_n) for i in range(4, per_thread, 5)} & kept
    # Each transaction's two events are both there (and adjacent is not promised).
    a = {e.object_id for e in events if e.action == "test.a"}
    b = {e.object_id for e in events if e.action == "test.b"}
    assert a == b and len(a) == committed
    assert not AuditPending.objects.exists()


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_an_event_appended_at_commit_is_linked_when_its_transaction_commits():
    if connection.vendor != "postgresql":
        pytest.skip("events are appended at commit on PostgreSQL only")
    audit_record(actor="clock", action="test.before", object_type="t", object_id=1)
    with transaction.atomic():
        pending = audit_record(actor="clock", action="test.late", object_type="t",
                               object_id=2, payload={"x": 1}, summary="中文 \"q\"",
                               sealed_tender_id=9, at_commit=True)
        assert pending.seq is None
        # Until the commit it is pending, and other writers are not held up by it.
        assert AuditPending.objects.count() == 1
        assert not AuditEvent.objects.filter(action="test.late").exists()
    with pytest.raises(_RolledBack), transaction.atomic():
        audit_record(actor="clock", action="test.undone", object_type="t", object_id=3,
                     at_commit=True)
        raise _RolledBack
    events = _assert_one_chain(2)
    late = events[1]
    assert (late.action, late.summary, late.sealed_tender_id) == ("test.late", '中文 "q"', 9)
    assert late.payload_digest == chain.payload_digest({"x": 1})
    assert not AuditPending.objects.exists()
    assert not AuditEvent.objects.filter(action="test.undone").exists()


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_checkpoint_does_not_wait_for_an_append_in_progress():
    """The clock signs the committed head while a transaction holds the head: it covers
    the committed events, and neither waits for the other."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    from audit.services import audit_checkpoint

    for i in range(3):
        audit_record(actor="clock", action="test.before", object_type="t", object_id=i)
    holding, release = threading.Event(), threading.Event()
    errors: list = []

    def append_and_hold():
        try:
            with transaction.atomic():
                audit_record(actor="clock", action="test.held", object_type="t", object_id=9)
                holding.set()
                release.wait(timeout=20)
        except Exception as exc:  # reported by the test, not lost in the thread
            errors.append(exc)
        finally:
            connection.close()

    t = threading.Thread(target=append_and_hold)
    t.start()
    try:
        assert holding.wait(timeout=20)
        made = audit_checkpoint()  # would wait for the release if it locked the head
    finally:
        release.set()
        t.join(timeout=30)
    assert not errors, errors
    assert made is not None and made.seq == 3
    _assert_one_chain(4)
