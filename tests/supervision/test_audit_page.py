"""The web verifier checks the log against tree heads an oversight user pastes or uploads."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from audit.models import AuditCheckpoint, AuditEvent, AuditHead
from audit.selectors import tree_head_item, tree_heads
from audit.services import audit_checkpoint, audit_record
from core import platform_keys
from crypto import keys
from tests import factories
from tests.audit.test_verify import _sql

pytestmark = pytest.mark.django_db


def _record(n, start=1):
    for i in range(start, start + n):
        audit_record(actor=f"user{i}", action="test.action", object_type="thing",
                     object_id=i, payload={"i": i})


@pytest.fixture
def supervisor_client():
    client = Client()
    client.force_login(factories.supervisor())
    return client


def _kept_then_cut():
    _record(3)
    audit_checkpoint()
    _record(2, start=4)
    audit_checkpoint()
    kept = json.dumps([tree_head_item(c) for c in tree_heads()])
    _sql("DELETE FROM audit_auditevent WHERE seq > 3")
    AuditCheckpoint.objects.filter(seq__gt=3).delete()
    AuditHead.objects.filter(pk=1).update(seq=3, hash=AuditEvent.objects.get(seq=3).hash)
    return kept


def test_the_page_finds_a_cut_log_from_pasted_tree_heads(supervisor_client):
    pem = platform_keys.verify_key_pem()
    kept = _kept_then_cut()
    page = supervisor_client.get("/supervision/audit/?verify=1").content.decode()
    assert "msg-success" in page  # the database alone looks intact
    page = supervisor_client.post("/supervision/audit/", {"kept": kept, "platform_key": pem})
    text = page.content.decode()
    assert page.status_code == 200 and "msg-error" in text and "TRUNCATED" in text


def test_the_page_takes_an_uploaded_file(supervisor_client):
    pem = platform_keys.verify_key_pem()
    kept = _kept_then_cut()
    upload = SimpleUploadedFile("kept.json", kept.encode(), content_type="application/json")
    text = supervisor_client.post("/supervision/audit/",
                                  {"kept_file": upload, "platform_key": pem}).content.decode()
    assert "TRUNCATED" in text


def test_the_page_reports_heads_signed_by_another_key_than_the_pasted_one(supervisor_client):
    _record(2)
    audit_checkpoint()
    kept = json.dumps([tree_head_item(c) for c in tree_heads()])
    other = keys.public_key_to_pem(keys.generate_signing_key().public_key()).decode()
    text = supervisor_client.post("/supervision/audit/",
                                  {"kept": kept, "platform_key": other}).content.decode()
    assert "not signed by the pinned platform key" in text


def test_the_page_refuses_kept_heads_without_a_pinned_key(supervisor_client, settings):
    settings.AUDIT_PINNED_KEY_FILE = None
    _record(1)
    audit_checkpoint()
    kept = json.dumps([tree_head_item(c) for c in tree_heads()])
    text = supervisor_client.post("/supervision/audit/", {"kept": kept}).content.decode()
    assert "msg-error" in text and "AUDIT_PINNED_KEY_FILE" in text


def test_the_page_reports_malformed_kept_heads(supervisor_client):
    text = supervisor_client.post("/supervision/audit/", {"kept": "[1, 2"}).content.decode()
    assert "msg-error" in text and "JSON" in text


def test_the_page_reports_unwitnessed_heads_against_a_pasted_witness_key(supervisor_client):
    _record(1)
    audit_checkpoint()
    witness = keys.public_key_to_pem(keys.generate_signing_key().public_key()).decode()
    text = supervisor_client.post("/supervision/audit/", {"witness_key": witness}).content.decode()
    assert "never cosigned by the witness" in text


def test_bidders_cannot_use_the_verifier_page():
    client = Client()
    client.force_login(factories.bidder())
    assert client.post("/supervision/audit/", {"kept": "[]"}).status_code == 403
