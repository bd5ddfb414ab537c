"""The audit log's tree heads and proofs are public: no sign-in, documented JSON, no
event contents."""

import pytest

from audit.services import audit_checkpoint, audit_record
from core import platform_keys
from crypto import log
from tests import factories

pytestmark = pytest.mark.django_db


def _record(n, start=1, **kw):
    return [audit_record(actor=f"user{i}", action="test.action", object_type="thing",
                         object_id=i, payload={"i": i}, **kw) for i in range(start, start + n)]


def test_the_latest_tree_head_answers_without_login(api):
    assert api.get("/api/audit/sth/latest/").status_code == 404
    _record(3)
    audit_checkpoint()
    answer = api.get("/api/audit/sth/latest/")
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"sth", "cosignature"}
    assert log.sth_verify(body["sth"], platform_keys.verify_key())["size"] == 3


def test_the_feed_lists_every_tree_head_paginated(api):
    _record(2)
    audit_checkpoint()
    _record(2, start=3)
    audit_checkpoint()
    body = api.get("/api/audit/sth/").json()
    assert body["count"] == 2 and {"next", "previous"} <= set(body)
    assert [item["sth"]["size"] for item in body["results"]] == [2, 4]
    page = api.get("/api/audit/sth/?page_size=1&page=2").json()
    assert [item["sth"]["size"] for item in page["results"]] == [4]


def test_a_consistency_proof_from_the_api_verifies_between_signed_heads(api):
    _record(3)
    audit_checkpoint()
    _record(4, start=4)
    audit_checkpoint()
    heads = [i["sth"] for i in api.get("/api/audit/sth/").json()["results"]]
    body = api.get("/api/audit/consistency/?first=3&second=7").json()
    assert set(body) == {"first", "second", "first_root", "second_root", "proof"}
    assert body["first_root"] == heads[0]["root"] and body["second_root"] == heads[1]["root"]
    assert log.verify_consistency(3, 7, bytes.fromhex(heads[0]["root"]),
                                  bytes.fromhex(heads[1]["root"]), log.hex_list(body["proof"]))
    assert api.get("/api/audit/consistency/?first=3").json()["second"] == 7


@pytest.mark.parametrize("query", ["first=0", "first=8", "first=5&second=4", "first=x"])
def test_consistency_sizes_outside_the_signed_log_are_refused(api, query):
    _record(7)
    audit_checkpoint()
    answer = api.get(f"/api/audit/consistency/?{query}")
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] in {"size_out_of_range", "invalid"}


def test_an_inclusion_proof_from_the_api_verifies_and_gives_no_contents(api):
    events = _record(5)
    audit_checkpoint()
    sth = api.get("/api/audit/sth/latest/").json()["sth"]
    body = api.get("/api/audit/inclusion/?seq=4").json()
    assert set(body) == {"seq", "leaf_index", "size", "leaf", "root", "path"}
    assert body["leaf"] == events[3].hash and body["root"] == sth["root"]
    assert log.verify_inclusion(bytes.fromhex(body["leaf"]), 3, 5, log.hex_list(body["path"]),
                                bytes.fromhex(sth["root"]))
    assert "user4" not in str(body)
    assert api.get("/api/audit/inclusion/?seq=6").status_code == 400


def test_no_inclusion_proof_for_events_whose_hash_the_viewer_withholds(api):
    _record(1)  # before any tender is open: its hash is shown, so is its proof
    tender = factories.published_tender()
    _record(1, start=2, sealed_tender_id=tender.pk)  # a bidder's sealed action
    audit_checkpoint()
    size = api.get("/api/audit/sth/latest/").json()["sth"]["size"]
    assert api.get("/api/audit/inclusion/?seq=1").status_code == 200
    assert api.get(f"/api/audit/inclusion/?seq={size}").status_code == 404
    assert api.get(f"/api/audit/inclusion/?seq={size - 1}").status_code == 404


def test_the_schema_documents_the_public_log(api):
    schema = api.get("/api/schema/?format=json").json()
    for path in ["/api/audit/sth/", "/api/audit/sth/latest/", "/api/audit/consistency/",
                 "/api/audit/inclusion/"]:
        assert "get" in schema["paths"][path]
    assert "AuditConsistencyProof" in schema["components"]["schemas"]
