"""The audit verifier finds every kind of tampering."""

import importlib

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from audit.models import AuditEvent, AuditHead, AuditImmutable
from audit.services import audit_record, audit_verify
from crypto import chain

pytestmark = pytest.mark.django_db


@pytest.fixture
def events():
    return [
        audit_record(actor=f"user{i}", action="test.action", object_type="thing",
                     object_id=i, payload={"i": i})
        for i in range(1, 6)
    ]


def _sql(statement, params=()):
    """Tamper as a database administrator would: past the append-only triggers."""
    trigger_migration = importlib.import_module("audit.migrations.0002_append_only_trigger")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
        else:
            for drop in trigger_migration.SQLITE_DROP:
                cursor.execute(drop)
        cursor.execute(statement, params)
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER USER")
        else:
            for create in trigger_migration.SQLITE_CREATE:
                cursor.execute(create)


def test_an_intact_chain_verifies(events, capsys):
    result = audit_verify()
    assert result.ok and result.count == 5
    call_command("verify_audit")
    assert capsys.readouterr().out.startswith("OK: 5 events")


def test_an_edited_event_is_found(events):
    _sql("UPDATE audit_auditevent SET actor = %s WHERE seq = 3", ["mallory"])
    result = audit_verify()
    assert not result.ok and result.bad_seq == 3
    assert "edited" in result.reason


def test_an_edited_event_with_recomputed_hash_breaks_the_next_link(events):
    victim = AuditEvent.objects.get(seq=3)
    fields = victim.chain_fields() | {"actor": "mallory"}
    new_hash = chain.link_hash(victim.prev_hash, chain.event_digest(fields))
    _sql("UPDATE audit_auditevent SET actor = %s, hash = %s WHERE seq = 3", ["mallory", new_hash])
    result = audit_verify()
    assert not result.ok and result.bad_seq == 4


def test_a_deleted_event_is_found(events):
    _sql("DELETE FROM audit_auditevent WHERE seq = 2")
    result = audit_verify()
    assert not result.ok and result.bad_seq == 3
    assert "deleted" in result.reason


def test_a_deleted_last_event_is_found_against_the_head(events):
    _sql("DELETE FROM audit_auditevent WHERE seq = 5")
    result = audit_verify()
    assert not result.ok
    assert "head" in result.reason


def test_an_inserted_event_is_found(events):
    _sql("UPDATE audit_auditevent SET seq = seq + 100 WHERE seq >= 3")
    _sql("UPDATE audit_auditevent SET seq = seq - 99 WHERE seq >= 103")
    forged = AuditEvent.objects.get(seq=2)
    _sql(
        "INSERT INTO audit_auditevent (seq, time, actor_id, actor, action, object_type, "
        "object_id, summary, payload_digest, prev_hash, hash) "
        "SELECT 3, time, actor_id, 'mallory', action, object_type, object_id, summary, "
        "payload_digest, %s, %s FROM audit_auditevent WHERE seq = 2",
        [forged.hash, "f" * 64],
    )
    AuditHead.objects.filter(pk=1).update(seq=6)
    result = audit_verify()
    assert not result.ok and result.bad_seq == 3


def test_reordered_events_are_found(events):
    _sql("UPDATE audit_auditevent SET seq = 100 WHERE seq = 2")
    _sql("UPDATE audit_auditevent SET seq = 2 WHERE seq = 3")
    _sql("UPDATE audit_auditevent SET seq = 3 WHERE seq = 100")
    result = audit_verify()
    assert not result.ok and result.bad_seq == 2
    assert "reordered" in result.reason


def test_the_command_exits_non_zero_naming_the_first_bad_event(events):
    _sql("UPDATE audit_auditevent SET action = 'forged' WHERE seq = 4")
    with pytest.raises(CommandError, match=r"FAIL at event #4"):
        call_command("verify_audit")


def test_the_model_refuses_updates_and_deletes(events):
    event = events[0]
    event.actor = "mallory"
    with pytest.raises(AuditImmutable):
        event.save()
    with pytest.raises(AuditImmutable):
        event.delete()


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_auditevent SET actor = 'x' WHERE seq = 1",
     "DELETE FROM audit_auditevent WHERE seq = 1"],
)
def test_the_database_refuses_sql_updates_and_deletes_of_audit_events(events, statement):
    from django.db import DatabaseError, IntegrityError, transaction

    with pytest.raises((DatabaseError, IntegrityError), match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert audit_verify().ok


def test_payloads_are_stored_as_digests_only(events):
    event = AuditEvent.objects.get(seq=1)
    assert event.payload_digest == chain.payload_digest({"i": 1})


def _rewrite_chain_from(seq, actor="mallory"):
    """What an attacker with database access but not the platform key can do: edit an
    event and recompute every hash after it, and the chain head, so links verify."""
    from audit.models import AuditHead

    _sql("UPDATE audit_auditevent SET actor = %s WHERE seq = %s", [actor, seq])
    prev = AuditEvent.objects.get(seq=seq).prev_hash
    for event in AuditEvent.objects.filter(seq__gte=seq).order_by("seq"):
        new_hash = chain.link_hash(prev, chain.event_digest(event.chain_fields()))
        _sql("UPDATE audit_auditevent SET prev_hash = %s, hash = %s WHERE seq = %s",
             [prev, new_hash, event.seq])
        prev = new_hash
    AuditHead.objects.filter(pk=1).update(hash=prev)


def test_a_rewritten_chain_is_caught_by_the_signed_checkpoint(events):
    from audit.services import audit_checkpoint

    assert audit_checkpoint().seq == 5
    assert audit_checkpoint() is None  # nothing new to sign
    assert audit_verify().checkpoints == 1
    _rewrite_chain_from(2)
    result = audit_verify()
    assert not result.ok and result.bad_seq == 5
    assert "rewritten" in result.reason


def test_without_checkpoints_a_full_rewrite_would_pass(events):
    _rewrite_chain_from(2)
    assert audit_verify().ok  # which is why the clock signs checkpoints


def test_a_forged_checkpoint_is_refused(events):
    from audit.models import AuditCheckpoint
    from audit.services import audit_checkpoint

    item = audit_checkpoint()
    statement = dict(item.statement, head_hash="ab" * 32)
    AuditCheckpoint.objects.filter(pk=item.pk).update(statement=statement, head_hash="ab" * 32)
    result = audit_verify()
    assert not result.ok and "not signed by the platform" in result.reason


def test_deleting_events_behind_a_checkpoint_is_caught(events):
    from audit.models import AuditHead
    from audit.services import audit_checkpoint

    audit_checkpoint()
    _sql("DELETE FROM audit_auditevent WHERE seq >= 4")
    last = AuditEvent.objects.get(seq=3)
    AuditHead.objects.filter(pk=1).update(seq=3, hash=last.hash)
    result = audit_verify()
    assert not result.ok and "deleted" in result.reason
