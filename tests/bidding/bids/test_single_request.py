"""A sealed bid in one request (``POST /api/tenders/{id}/bids/``, multipart): the same
checks, submission and receipt as the resumable upload's three steps, each refusal
leaving nothing behind, and on the ASGI path the body streamed (refused before it is
read when late or declared too large, and as it arrives when it runs over)."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.utils import timezone
from rest_framework.authtoken.models import Token

from accounts.models import PublicKey
from audit.models import AuditEvent
from bidding.bids.models import Bid, BidUpload
from bidding.tenders import services
from bidding.tenders.models import Tender
from tests import factories
from tests.conftest import api_as


def _leftovers() -> list[str]:
    try:
        return [n for n in os.listdir(default_storage.path("bids/uploads"))
                if n.startswith("single-")]
    except FileNotFoundError:
        return []


def _parts(tender, user, blob, **extra):
    parts = {"envelope": SimpleUploadedFile("bid.ggzy", blob),
             "price_sheet": SimpleUploadedFile("price.ggzy",
                                               factories.price_sheet_for(tender, user))}
    parts.update(extra)
    return {k: v for k, v in parts.items() if v is not None}


def _post(client, tender, parts):
    return client.post(f"/api/tenders/{tender.pk}/bids/", parts, format="multipart")


def _refused(response, status, code, field=None):
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code, error
    if field:
        assert field in error["fields"], error
    return error


@pytest.mark.django_db
class TestOneRequestSubmission:
    def test_one_request_submits_the_bid_with_a_receipt_for_the_bytes_sent(self, tender,
                                                                           bidder):
        blob = factories.seal_for(tender, bidder, b"one request" * 500)
        r = _post(api_as(bidder), tender, _parts(
            tender, bidder, blob, claims=json.dumps({"tool": "test", "hostname": "pc-1"}),
            sha256=hashlib.sha256(blob).hexdigest()))
        assert r.status_code == 201, r.content
        out = r.json()
        digest = hashlib.sha256(blob).hexdigest()
        assert out["sha256"] == out["receipt"]["sha256"] == digest
        assert out["version"] == 1 and out["status"] == "submitted"
        bid = Bid.objects.get(public_id=out["bid_id"])
        with default_storage.open(bid.envelope.name, "rb") as fh:
            assert hashlib.sha256(fh.read()).hexdigest() == digest
        assert bid.claims == {"tool": "test", "hostname": "pc-1"}
        assert hashlib.sha256(bytes(bid.price_sheet)).hexdigest() == out["price_sheet_sha256"]
        assert not BidUpload.objects.exists()
        assert AuditEvent.objects.filter(action="bid.submit",
                                         object_id=str(bid.public_id)).exists()
        assert _leftovers() == []

    def test_a_second_submission_supersedes_the_first(self, tender, bidder):
        client = api_as(bidder)
        first = _post(client, tender, _parts(tender, bidder,
                                             factories.seal_for(tender, bidder, b"v1"))).json()
        second = _post(client, tender, _parts(tender, bidder,
                                              factories.seal_for(tender, bidder, b"v2"))).json()
        assert second["version"] == 2
        statuses = dict(Bid.objects.values_list("public_id", "status"))
        assert {str(k): v for k, v in statuses.items()} == {
            first["bid_id"]: Bid.Status.SUPERSEDED, second["bid_id"]: Bid.Status.SUBMITTED}

    def test_a_submission_costs_thirteen_statements_on_postgresql(
            self, tender, bidder, django_assert_num_queries):
        """What a deadline rush pays per bid (a new version superseding the last; the
        token's own query is not counted here): the checks before the body (tender,
        debarment, documents, bid keys), the seats and the latest tree head, then BEGIN,
        the one locking statement, the earlier versions, the supersede, the bid, the
        audit event and COMMIT. One more is a regression to explain."""
        from django.db import connection

        if connection.vendor != "postgresql":
            pytest.skip("the PostgreSQL statement count (SQLite locks differently)")
        client = api_as(bidder)
        assert _post(client, tender, _parts(
            tender, bidder, factories.seal_for(tender, bidder, b"v1"))).status_code == 201
        parts = _parts(tender, bidder, factories.seal_for(tender, bidder, b"v2"))
        with django_assert_num_queries(13):
            assert _post(client, tender, parts).status_code == 201

    def test_a_draft_tender_is_not_found_by_a_bidder_either_way(self, tender, bidder):
        blob = factories.seal_for(tender, bidder, b"early")
        Tender.objects.filter(pk=tender.pk).update(status=Tender.Status.DRAFT)
        client = api_as(bidder)
        _refused(_post(client, tender, _parts(tender, bidder, blob)), 404, "not_found")
        r = client.post(f"/api/tenders/{tender.pk}/bids/uploads/",
                        {"size": len(blob), "price_sheet": "x"}, format="json")
        _refused(r, 404, "not_found")
        assert not Bid.objects.exists() and not BidUpload.objects.exists()
        assert _leftovers() == []

    def test_after_the_deadline_it_is_refused(self, tender, bidder):
        blob = factories.seal_for(tender, bidder, b"late")
        Tender.objects.filter(pk=tender.pk).update(deadline=timezone.now() - timedelta(seconds=1))
        _refused(_post(api_as(bidder), tender, _parts(tender, bidder, blob)),
                 400, "deadline_passed")
        assert not Bid.objects.exists() and _leftovers() == []

    def test_without_the_documents_it_is_refused(self, tender):
        user = factories.bidder_with_key()
        blob = factories.seal_for(tender, user, b"no documents")
        r = _post(api_as(user), tender, _parts(tender, user, blob))
        assert r.status_code == 403, r.content
        assert not Bid.objects.exists() and _leftovers() == []

    def test_without_a_bid_key_it_is_refused(self, tender, bidder):
        blob = factories.seal_for(tender, bidder, b"key gone")
        PublicKey.objects.filter(organisation=bidder.organisation).update(active=False)
        _refused(_post(api_as(bidder), tender, _parts(tender, bidder, blob)), 400, "no_bid_key")
        assert _leftovers() == []

    def test_a_tenderer_cannot_submit(self, tender, bidder):
        blob = factories.seal_for(tender, bidder, b"x")
        r = _post(api_as(tender.created_by), tender, _parts(tender, bidder, blob))
        assert r.status_code in (403, 404), r.content
        assert not Bid.objects.exists()

    def test_a_missing_part_is_named(self, tender, bidder):
        blob = factories.seal_for(tender, bidder, b"x")
        error = _refused(_post(api_as(bidder), tender,
                               _parts(tender, bidder, blob, price_sheet=None)),
                         400, "invalid", "price_sheet")
        assert "envelope" not in error["fields"]
        _refused(_post(api_as(bidder), tender, _parts(tender, bidder, blob, envelope=None)),
                 400, "invalid", "envelope")
        assert _leftovers() == []

    def test_bytes_altered_on_the_way_are_refused(self, tender, bidder):
        blob = factories.seal_for(tender, bidder, b"altered")
        _refused(_post(api_as(bidder), tender,
                       _parts(tender, bidder, blob, sha256="0" * 64)),
                 400, "digest_mismatch", "envelope")
        _refused(_post(api_as(bidder), tender, _parts(tender, bidder, blob, sha256="xyz")),
                 400, "invalid", "sha256")
        assert not Bid.objects.exists() and _leftovers() == []

    def test_an_unsealed_file_is_refused(self, tender, bidder):
        _refused(_post(api_as(bidder), tender,
                       _parts(tender, bidder, b"%PDF-1.7 plaintext bid")), 400, "not_sealed")
        assert not Bid.objects.exists() and _leftovers() == []

    def test_an_unsealed_price_sheet_is_refused(self, tender, bidder):
        blob = factories.seal_for(tender, bidder, b"x")
        _refused(_post(api_as(bidder), tender, _parts(
            tender, bidder, blob,
            price_sheet=SimpleUploadedFile("p.json", b'{"total_price": "1.00"}'))),
            400, "not_sealed", "price_sheet")
        assert _leftovers() == []

    def test_an_envelope_over_one_chunk_is_refused_and_the_resumable_upload_named(
            self, settings, tender, bidder):
        settings.BID_UPLOAD_CHUNK_BYTES = 4096
        blob = factories.seal_for(tender, bidder, os.urandom(6000))
        error = _refused(_post(api_as(bidder), tender, _parts(tender, bidder, blob)),
                         400, "envelope_too_large", "envelope")
        assert "4096" in error["message"]  # the limit, in whichever language
        assert not Bid.objects.exists() and _leftovers() == []

    def test_an_unexpected_file_is_refused(self, tender, bidder):
        blob = factories.seal_for(tender, bidder, b"x")
        _refused(_post(api_as(bidder), tender, _parts(
            tender, bidder, blob, extra=SimpleUploadedFile("x.bin", b"x"))),
            400, "unexpected_file", "extra")
        assert _leftovers() == []

    def test_claims_must_be_a_json_object(self, tender, bidder):
        blob = factories.seal_for(tender, bidder, b"x")
        _refused(_post(api_as(bidder), tender, _parts(tender, bidder, blob, claims="[1, 2]")),
                 400, "invalid", "claims")
        assert _leftovers() == []


# --- the ASGI path: streamed ------------------------------------------------------------


class Body:
    """A fake ASGI ``receive()`` handing out ``data`` in 50,000-byte messages."""

    def __init__(self, data: bytes, *, endless: bool = False, cut: bool = False):
        self.pieces = [data[i:i + 50_000] for i in range(0, len(data), 50_000)]
        self.endless = endless
        self.cut = cut
        self.taken = 0

    async def __call__(self):
        if self.taken >= len(self.pieces):
            if self.endless:
                self.taken += 1
                return {"type": "http.request", "body": b"z" * 50_000, "more_body": True}
            if self.cut:
                return {"type": "http.disconnect"}
            await asyncio.Event().wait()
        body = self.pieces[self.taken]
        self.taken += 1
        return {"type": "http.request", "body": body,
                "more_body": self.endless or self.cut or self.taken < len(self.pieces)}


async def _asgi_post(path, body, headers, receive):
    from tradecentre.asgi import application

    headers = [(k.encode(), v.encode()) for k, v in headers.items()]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "headers": headers,
             "client": ("127.0.0.1", 5000), "server": ("testserver", 80)}
    sent = []

    async def send(message):
        sent.append(message)

    await asyncio.wait_for(application(scope, receive, send), 30)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    raw = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, json.loads(raw)


@sync_to_async
def _asgi_bidder(settings):
    settings.EMBEDDED_CLOCK = False
    settings.BID_UPLOAD_CHUNK_BYTES = 300_000
    tender = factories.published_tender()
    user = factories.bidder_with_key()
    services.document_obtain(user=user, tender=tender)
    blob = factories.seal_for(tender, user, os.urandom(200_000))
    body = encode_multipart(BOUNDARY, {
        "envelope": SimpleUploadedFile("bid.ggzy", blob),
        "price_sheet": SimpleUploadedFile("p.ggzy", factories.price_sheet_for(tender, user)),
        "sha256": hashlib.sha256(blob).hexdigest()})
    headers = {"authorization": f"Token {Token.objects.create(user=user).key}",
               "content-type": MULTIPART_CONTENT}
    return tender, blob, body, headers


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
class TestOneRequestStreamed:
    async def test_the_body_streams_to_the_submission(self, settings):
        tender, blob, body, headers = await _asgi_bidder(settings)
        receive = Body(body)
        status, out = await _asgi_post(f"/api/tenders/{tender.pk}/bids/", body,
                                       {**headers, "content-length": str(len(body))}, receive)
        assert status == 201, out
        assert out["receipt"]["sha256"] == hashlib.sha256(blob).hexdigest()
        assert receive.taken == len(receive.pieces)

    async def test_a_late_bid_is_refused_before_any_byte_is_read(self, settings):
        tender, blob, body, headers = await _asgi_bidder(settings)
        await sync_to_async(Tender.objects.filter(pk=tender.pk).update)(
            deadline=timezone.now() - timedelta(seconds=1))
        receive = Body(body)
        status, out = await _asgi_post(f"/api/tenders/{tender.pk}/bids/", body,
                                       {**headers, "content-length": str(len(body))}, receive)
        assert status == 400 and out["error"]["code"] == "deadline_passed", out
        assert receive.taken == 0

    async def test_a_declared_length_over_the_limit_is_refused_before_reading(self, settings):
        tender, blob, body, headers = await _asgi_bidder(settings)
        receive = Body(body)
        status, out = await _asgi_post(f"/api/tenders/{tender.pk}/bids/", body,
                                       {**headers, "content-length": str(10**9)}, receive)
        assert status == 413 and out["error"]["code"] == "request_too_large", out
        assert receive.taken == 0

    async def test_a_body_that_runs_over_is_refused_as_it_arrives(self, settings):
        tender, blob, body, headers = await _asgi_bidder(settings)
        receive = Body(body[:-200], endless=True)  # the envelope never ends
        status, out = await _asgi_post(f"/api/tenders/{tender.pk}/bids/", body,
                                       {**headers, "content-length": str(len(body))}, receive)
        assert status == 413 and out["error"]["code"] == "request_too_large", out
        assert receive.taken < 20
        assert not await sync_to_async(Bid.objects.exists)()
        assert _leftovers() == []

    async def test_a_body_cut_short_submits_nothing(self, settings):
        """The client goes away after the envelope and the price sheet, before the
        last field and the closing boundary: whatever the parts look like, no bid."""
        tender, blob, body, headers = await _asgi_bidder(settings)
        receive = Body(body[:-200], cut=True)
        status, out = await _asgi_post(f"/api/tenders/{tender.pk}/bids/", body,
                                       {**headers, "content-length": str(len(body))}, receive)
        assert status == 400 and out["error"]["code"] == "body_incomplete", out
        assert not await sync_to_async(Bid.objects.exists)()
        assert _leftovers() == []


@pytest.mark.django_db
def test_a_submission_that_fails_inside_its_transaction_keeps_nothing(tender, bidder,
                                                                       monkeypatch):
    """The envelope moved into place is moved back when the transaction fails, and the
    one-request submission's file is then deleted: no bid, no file."""
    from bidding.bids import services as bids

    def broken(**kwargs):
        raise RuntimeError("the audit log is unavailable")

    monkeypatch.setattr(bids, "audit_record", broken)
    blob = factories.seal_for(tender, bidder, b"x" * 1000)
    client = api_as(bidder)
    client.raise_request_exception = False
    r = _post(client, tender, _parts(tender, bidder, blob))
    assert r.status_code == 500
    assert not Bid.objects.exists() and _leftovers() == []
    kept = [name for folder, _dirs, files in os.walk(default_storage.path("bids"))
            for name in files]
    assert kept == []


@pytest.mark.django_db(transaction=True)
def test_when_the_commit_fails_the_upload_can_be_completed_again(monkeypatch):
    """The envelope moved into place inside the transaction goes back to the upload when
    the commit itself fails; the bidder's retry then completes it."""
    from django.db import connections

    from bidding.bids import services as bids

    tender = factories.published_tender()
    user = factories.bidder_with_key()
    services.document_obtain(user=user, tender=tender)
    blob = factories.seal_for(tender, user, b"x" * 1000)
    upload = bids.bid_upload_start(user=user, tender=tender, size=len(blob),
                                   price_sheet=factories.price_sheet_for(tender, user))
    bids.bid_upload_chunk(user=user, upload_id=upload.public_id, index=0,
                          stream=io.BytesIO(blob), length=len(blob), sha256=None)
    connection = connections["default"]
    real_commit = connection.commit
    failures = []

    def commit_fails_once():
        if not failures:
            failures.append(1)
            connection.rollback()
            raise OperationalError("the server closed the connection at commit")
        return real_commit()

    monkeypatch.setattr(connection, "commit", commit_fails_once)
    with pytest.raises(OperationalError):
        bids.bid_upload_complete(user=user, upload_id=upload.public_id)
    assert not Bid.objects.exists()
    assert os.path.exists(bids._path(upload.storage_name))
    bid = bids.bid_upload_complete(user=user, upload_id=upload.public_id)
    with default_storage.open(bid.envelope.name, "rb") as fh:
        assert fh.read() == blob


@pytest.mark.django_db
@pytest.mark.parametrize("claims, code", [
    ('{"tool": "a\\u0000b"}', "nul_byte"),
    ("[" * 5000 + "]" * 5000, "too_deep"),
    ("{not json", "parse_error"),
])
def test_hostile_claims_are_refused_as_json_bodies_are(tender, bidder, claims, code):
    blob = factories.seal_for(tender, bidder, b"x")
    _refused(_post(api_as(bidder), tender, _parts(tender, bidder, blob, claims=claims)),
             400, code, "claims")
    assert not Bid.objects.exists() and _leftovers() == []
