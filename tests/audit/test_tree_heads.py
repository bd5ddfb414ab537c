"""Tree heads kept outside the database catch what an insider with the database and the
platform's disk can do: cut the log with its checkpoints, rewrite or reorder events and
re-sign everything, with the platform key or with a new one."""

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.models import AuditCheckpoint, AuditEvent, AuditHead
from audit.selectors import tree_head_item, tree_heads
from audit.services import audit_checkpoint, audit_record, audit_verify, kept_tree_heads
from core import platform_keys
from crypto import chain, keys, log
from tests.audit.test_verify import _rewrite_chain_from, _sql

pytestmark = pytest.mark.django_db


def _record(n, start=1):
    return [audit_record(actor=f"user{i}", action="test.action", object_type="thing",
                         object_id=i, payload={"i": i}) for i in range(start, start + n)]


@pytest.fixture
def pinned(tmp_path):
    """The platform key as a bidder pinned it (GET /api/platform/keys/) before any attack."""
    path = tmp_path / "pinned-platform.pem"
    path.write_text(platform_keys.verify_key_pem())
    return path


def _keep(tmp_path, name="kept.json"):
    """What a bidder or auditor keeps: the public feed's items, saved to a file."""
    path = tmp_path / name
    path.write_text(json.dumps([tree_head_item(c) for c in tree_heads()]))
    return path


def _verify_against(kept, pinned, capsys):
    with pytest.raises(CommandError) as err:
        call_command("verify_audit", "--against", str(kept), "--platform-key", str(pinned))
    return str(err.value) + "\n" + capsys.readouterr().err


def _cut_tail_with_checkpoints(after):
    """Delete every event after #after and every checkpoint row beyond it, and move the
    chain head back: the database then looks like a shorter, intact log."""
    _sql("DELETE FROM audit_auditevent WHERE seq > %s", [after])
    AuditCheckpoint.objects.filter(seq__gt=after).delete()
    last = AuditEvent.objects.get(seq=after)
    AuditHead.objects.filter(pk=1).update(seq=after, hash=last.hash)


def test_a_checkpoint_signs_a_tree_head_over_the_events(pinned):
    events = _record(5)
    item = audit_checkpoint()
    leaves = [bytes.fromhex(e.hash) for e in events]
    body = log.sth_verify(item.sth, keys.verify_key_from_pem(pinned.read_bytes()))
    assert body["size"] == 5 and body["root"] == log.tree_root(leaves).hex() == item.root_hash


def test_deleting_the_tail_with_its_checkpoints_passes_alone_but_not_against_a_kept_head(
        tmp_path, pinned, capsys):
    _record(5)
    audit_checkpoint()
    _record(3, start=6)
    audit_checkpoint()
    kept = _keep(tmp_path)
    _cut_tail_with_checkpoints(5)
    assert audit_verify().ok  # the database alone no longer shows it
    out = _verify_against(kept, pinned, capsys)
    assert "TRUNCATED" in out and "events #6…#8 were deleted" in out
    assert "missing from the platform's tree heads" not in out.split("TRUNCATED")[0]


def test_a_rewritten_event_re_signed_with_the_platform_key_fails_against_a_kept_head(
        tmp_path, pinned, capsys):
    _record(5)
    audit_checkpoint()
    kept = _keep(tmp_path)
    _rewrite_chain_from(3)
    AuditCheckpoint.objects.all().delete()
    audit_checkpoint()  # the insider holds the platform key and signs the new history
    assert audit_verify().ok
    out = _verify_against(kept, pinned, capsys)
    assert "MISMATCH" in out and "between #1 and #5" in out
    assert "rewritten, reordered" in out


def test_reordered_events_re_chained_and_re_signed_fail_against_a_kept_head(
        tmp_path, pinned, capsys):
    _record(4)
    audit_checkpoint()
    kept = _keep(tmp_path)
    # Swap #2 and #3 and recompute the whole chain from #2 so every link verifies.
    _sql("UPDATE audit_auditevent SET seq = 100 WHERE seq = 2")
    _sql("UPDATE audit_auditevent SET seq = 2 WHERE seq = 3")
    _sql("UPDATE audit_auditevent SET seq = 3 WHERE seq = 100")
    prev = AuditEvent.objects.get(seq=1).hash
    for event in AuditEvent.objects.filter(seq__gte=2).order_by("seq"):
        new = chain.link_hash(prev, chain.event_digest(event.chain_fields()))
        _sql("UPDATE audit_auditevent SET prev_hash = %s, hash = %s WHERE id = %s",
             [prev, new, event.pk])
        prev = new
    AuditHead.objects.filter(pk=1).update(hash=prev)
    AuditCheckpoint.objects.all().delete()
    audit_checkpoint()
    assert audit_verify().ok
    out = _verify_against(kept, pinned, capsys)
    assert "MISMATCH" in out and "reordered" in out


def test_checkpoints_re_signed_with_a_different_key_fail_against_the_pinned_key(
        tmp_path, pinned, settings, capsys):
    _record(5)
    audit_checkpoint()
    kept = _keep(tmp_path)
    _rewrite_chain_from(2)
    AuditCheckpoint.objects.all().delete()
    # The insider replaces the key file and re-signs: the on-disk key now agrees.
    settings.PLATFORM_KEY_FILE = str(tmp_path / "new-key.pem")
    audit_checkpoint()
    call_command("verify_audit")  # unpinned, the new key vouches for itself
    assert "not pinned" in capsys.readouterr().out
    with pytest.raises(CommandError) as err:
        call_command("verify_audit", "--platform-key", str(pinned))
    assert "not signed by the platform key" in str(err.value)
    out = _verify_against(kept, pinned, capsys)
    assert "not signed by the pinned platform key" in out


def test_a_forged_kept_head_is_reported(tmp_path, pinned, capsys):
    _record(2)
    audit_checkpoint()
    forged = log.sth_sign(keys.generate_signing_key(), size=2, root="ab" * 32,
                          timestamp="2026-01-01T00:00:00+00:00")
    path = tmp_path / "forged.json"
    path.write_text(json.dumps([forged]))
    out = _verify_against(path, pinned, capsys)
    assert "kept tree head 1 is not signed by the pinned platform key" in out


def test_kept_heads_that_the_log_still_extends_verify(tmp_path, pinned, capsys):
    _record(3)
    audit_checkpoint()
    kept = _keep(tmp_path)
    _record(4, start=4)
    audit_checkpoint()
    call_command("verify_audit", "--against", str(kept), "--platform-key", str(pinned))
    assert "consistent with 1 kept tree heads" in capsys.readouterr().out


def test_against_needs_a_pinned_key(tmp_path):
    _record(1)
    audit_checkpoint()
    kept = _keep(tmp_path)
    with pytest.raises(CommandError, match="pinned platform key"):
        call_command("verify_audit", "--against", str(kept))


def test_the_pinned_key_can_come_from_settings(tmp_path, pinned, settings):
    _record(2)
    audit_checkpoint()
    settings.AUDIT_PINNED_KEY_FILE = str(pinned)
    result = audit_verify()
    assert result.ok and not any("not pinned" in n for n in result.notes)
    settings.PLATFORM_KEY_FILE = str(tmp_path / "other.pem")
    AuditCheckpoint.objects.all().delete()
    audit_checkpoint()
    assert not audit_verify().ok


def test_old_checkpoints_without_a_tree_head_still_verify(pinned):
    _record(3)
    item = audit_checkpoint()
    AuditCheckpoint.objects.filter(pk=item.pk).update(sth=None, root_hash="")
    result = audit_verify(platform_key=keys.verify_key_from_pem(pinned.read_bytes()))
    assert result.ok and result.checkpoints == 1 and result.tree_heads == 0


def test_the_kept_file_may_be_a_feed_page_or_bare_heads():
    sth = {"type": "ggzy-tree-head", "size": 1}
    assert kept_tree_heads({"results": [{"sth": sth, "cosignature": None}]})[0]["sth"] == sth
    assert kept_tree_heads([sth])[0]["cosignature"] is None
    with pytest.raises(ValueError):
        kept_tree_heads([{"something": "else"}])
    with pytest.raises(ValueError):
        kept_tree_heads("text")
