"""The witness cosigns a tree head only when it extends the one it cosigned before; the
clock sends it every new head; verification reports heads it never cosigned."""

import json
import os
import socket
import stat
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from audit import witness as witness_mod
from audit.models import AuditCheckpoint
from audit.services import audit_checkpoint, audit_record, audit_verify
from crypto import keys, log
from tests.audit.test_verify import _rewrite_chain_from

ROOT = Path(__file__).resolve().parents[2]


def _record(n, start=1):
    for i in range(start, start + n):
        audit_record(actor=f"user{i}", action="test.action", object_type="thing",
                     object_id=i, payload={"i": i})


@pytest.fixture
def witness(tmp_path):
    """A witness on 127.0.0.1 with a free port, in this process."""
    w = witness_mod.Witness(tmp_path / "witness")
    server = witness_mod.serve(w, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    w.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield w
    server.shutdown()
    server.server_close()


def _post(url, body):
    request = urllib.request.Request(url + "/cosign", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _leaves(n):
    return [bytes([i]) * 32 for i in range(n)]


def _sth(key, leaves):
    return log.sth_sign(key, size=len(leaves), root=log.tree_root(leaves).hex(),
                        timestamp="2026-12-06T10:00:00+00:00")


def _pem(key):
    return keys.public_key_to_pem(key.public_key()).decode()


def test_the_witness_cosigns_a_consistent_head_and_refuses_an_inconsistent_one(witness):
    key = keys.generate_signing_key()
    leaves = _leaves(7)
    status, answer = _post(witness.url, {"sth": _sth(key, leaves[:3]), "platform_key": _pem(key)})
    assert status == 200
    assert log.cosignature_verify(answer["cosignature"], _sth(key, leaves[:3]),
                                  witness.key.public_key())
    proof = [p.hex() for p in log.consistency_proof(leaves, 3)]
    status, answer = _post(witness.url, {"sth": _sth(key, leaves),
                                         "consistency": {"first": 3, "proof": proof}})
    assert status == 200 and answer["cosignature"]["size"] == 7

    forged = list(leaves) + [b"\x09" * 32]
    forged[1] = b"\xff" * 32  # a rewritten history that claims to extend the old one
    bad_proof = [p.hex() for p in log.consistency_proof(forged, 7)]
    status, answer = _post(witness.url, {"sth": _sth(key, forged),
                                         "consistency": {"first": 7, "proof": bad_proof}})
    assert status == 409 and "not consistent" in answer["error"]
    status, answer = _post(witness.url, {"sth": _sth(key, leaves[:5])})
    assert status == 409 and "shrank" in answer["error"]
    status, answer = _post(witness.url, {"sth": _sth(key, forged[:7])})
    assert status == 409 and "different root" in answer["error"]
    with urllib.request.urlopen(witness.url + "/latest", timeout=5) as response:
        assert json.loads(response.read())["sth"]["size"] == 7


def test_the_witness_refuses_a_head_signed_by_another_key(witness):
    key, other = keys.generate_signing_key(), keys.generate_signing_key()
    leaves = _leaves(2)
    assert _post(witness.url, {"sth": _sth(key, leaves[:1]), "platform_key": _pem(key)})[0] == 200
    proof = [p.hex() for p in log.consistency_proof(leaves, 1)]
    status, answer = _post(witness.url, {"sth": _sth(other, leaves), "platform_key": _pem(other),
                                         "consistency": {"first": 1, "proof": proof}})
    assert status == 409 and "not signed by the platform key" in answer["error"]


def test_malformed_requests_are_refused(witness):
    assert _post(witness.url, {"nothing": 1})[0] == 400
    assert _post(witness.url, {"sth": {"v": 1}, "platform_key": "x"})[0] == 400


def test_the_witness_key_is_created_once_and_private(tmp_path):
    first = witness_mod.Witness(tmp_path / "w")
    again = witness_mod.Witness(tmp_path / "w")
    assert keys.key_fingerprint(first.key) == keys.key_fingerprint(again.key)
    mode = stat.S_IMODE(os.stat(tmp_path / "w" / "witness_key.pem").st_mode)
    assert mode == 0o600


@pytest.mark.django_db
def test_the_clock_job_has_each_new_head_cosigned(witness, settings):
    settings.AUDIT_WITNESS_URL = witness.url
    _record(3)
    first = audit_checkpoint()
    _record(2, start=4)
    second = audit_checkpoint()
    first.refresh_from_db()
    second.refresh_from_db()
    witness_key = witness.key.public_key()
    assert log.cosignature_verify(first.cosignature, first.sth, witness_key)
    assert log.cosignature_verify(second.cosignature, second.sth, witness_key)
    result = audit_verify(witness_key=witness_key)
    assert result.ok and result.cosigned == 2


@pytest.mark.django_db
def test_the_witness_refuses_a_rewritten_log_and_the_platform_records_why(witness, settings):
    settings.AUDIT_WITNESS_URL = witness.url
    _record(4)
    audit_checkpoint()
    _rewrite_chain_from(2)
    AuditCheckpoint.objects.all().delete()
    _record(1, start=5)
    item = audit_checkpoint()  # re-signed by the insider; the witness will not follow
    item.refresh_from_db()
    assert item.cosignature is None and "409" in item.witness_error
    result = audit_verify(witness_key=witness.key.public_key())
    assert not result.ok and any("never cosigned" in p for p in result.problems)


@pytest.mark.django_db
def test_a_tree_head_the_witness_never_cosigned_is_reported(tmp_path, settings):
    settings.AUDIT_WITNESS_URL = None
    _record(2)
    audit_checkpoint()
    witness_key = keys.generate_signing_key().public_key()
    result = audit_verify(witness_key=witness_key)
    assert not result.ok
    assert "UNWITNESSED: the tree head at #2" in result.reason
    assert "never cosigned by the witness" in result.reason
    path = tmp_path / "witness.pub"
    path.write_bytes(keys.public_key_to_pem(witness_key))
    settings.AUDIT_WITNESS_KEY_FILE = str(path)
    assert not audit_verify().ok


@pytest.mark.django_db
def test_a_witness_that_is_down_does_not_break_the_tick(settings):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings.AUDIT_WITNESS_URL = f"http://127.0.0.1:{port}"
    _record(1)
    item = audit_checkpoint()
    item.refresh_from_db()
    assert item.sth and item.cosignature is None and "cannot be reached" in item.witness_error


@pytest.mark.django_db
def test_the_latest_head_is_sent_again_once_the_witness_is_back(witness, settings):
    settings.AUDIT_WITNESS_URL = "http://127.0.0.1:9"  # nothing listens on discard
    _record(2)
    item = audit_checkpoint()
    settings.AUDIT_WITNESS_URL = witness.url
    assert audit_checkpoint() is None  # no new events, but the head gets cosigned now
    item.refresh_from_db()
    assert item.cosignature is not None


def test_the_witness_runs_as_its_own_process_without_django(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["WITNESS_QUIET"] = "1"
    proc = subprocess.Popen(
        [sys.executable, "-c",
         # Any import of Django would fail: the witness must run where there is none.
         "import sys, runpy; sys.modules['django'] = None; "
         "runpy.run_module('audit.witness', run_name='__main__')",
         "--port", str(port), "--state-dir", str(tmp_path / "w")],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()  # printed once the socket is bound
        assert "listening" in line, proc.stderr.read()
        key = keys.generate_signing_key()
        status, answer = _post(f"http://127.0.0.1:{port}",
                               {"sth": _sth(key, _leaves(1)), "platform_key": _pem(key)})
        assert status == 200 and answer["cosignature"]["size"] == 1
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert (tmp_path / "w" / "witness_key.pub").exists()



@pytest.mark.django_db
def test_a_cut_tail_is_caught_against_the_witness_copy_without_any_kept_file(
        witness, settings, tmp_path):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    from audit.models import AuditEvent, AuditHead
    from core import platform_keys
    from tests.audit.test_verify import _sql

    settings.AUDIT_WITNESS_URL = witness.url
    pin = tmp_path / "pin.pem"
    pin.write_text(platform_keys.verify_key_pem())
    settings.AUDIT_PINNED_KEY_FILE = str(pin)
    _record(3)
    audit_checkpoint()
    _record(3, start=4)
    audit_checkpoint()
    call_command("verify_audit")
    _sql("DELETE FROM audit_auditevent WHERE seq > 3")
    AuditCheckpoint.objects.filter(seq__gt=3).delete()
    AuditHead.objects.filter(pk=1).update(seq=3, hash=AuditEvent.objects.get(seq=3).hash)
    with pytest.raises(CommandError, match="witness's last cosigned tree head"):
        call_command("verify_audit")


@pytest.mark.django_db
def test_an_unreachable_witness_url_given_on_the_command_line_is_an_error(settings):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    _record(1)
    with pytest.raises(CommandError, match="cannot be reached"):
        call_command("verify_audit", "--witness-url", "http://127.0.0.1:9")
