"""Sealed bids through the REST API: each endpoint, its refusals, secrecy before the
deadline for every role, the deadline race, and the dump test."""

import base64
import hashlib
import io

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from bidding.bids.models import Bid
from bidding.tenders import services
from tests import factories
from tests.conftest import api_as

pytestmark = pytest.mark.django_db


def _error(response, status):
    assert response.status_code == status, response.content
    return response.json()["error"]


def _api_submit(client, tender, user, plaintext=b"BID", chunk=None):
    blob = factories.seal_for(tender, user, plaintext)
    r = client.post(f"/api/tenders/{tender.pk}/bids/uploads/", {
        "size": len(blob),
        "price_sheet": base64.b64encode(factories.price_sheet_for(tender, user)).decode(),
        "claims": {"machine_fingerprint": "abc", "file_author": "张三", "tool": "test"},
    }, format="json")
    assert r.status_code == 201, r.content
    state = r.json()
    size = state["chunk_size"]
    for i in range(state["chunk_count"]):
        piece = blob[i * size:(i + 1) * size]
        r = client.generic("PUT", f"/api/bids/uploads/{state['upload_id']}/chunks/{i}/", piece,
                           content_type="application/octet-stream",
                           HTTP_X_CHUNK_SHA256=hashlib.sha256(piece).hexdigest())
        assert r.status_code == 200, r.content
    r = client.post(f"/api/bids/uploads/{state['upload_id']}/complete/")
    assert r.status_code == 201, r.content
    return r.json(), blob


def test_the_full_api_flow_with_resume(settings, tender, bidder):
    settings.BID_UPLOAD_CHUNK_BYTES = 4096
    client = api_as(bidder)
    blob = factories.seal_for(tender, bidder, b"q" * 10000, chunk_size=1024)
    r = client.post(f"/api/tenders/{tender.reference}/bids/uploads/", {
        "size": len(blob),
        "price_sheet": base64.b64encode(factories.price_sheet_for(tender, bidder)).decode(),
    }, format="json")
    state = r.json()
    url = f"/api/bids/uploads/{state['upload_id']}/"
    client.generic("PUT", url + "chunks/0/", blob[:4096], content_type="application/octet-stream")
    # The connection broke; the client asks where it stands and resumes.
    assert client.get(url).json()["next_index"] == 1
    err = _error(client.generic("PUT", url + "chunks/0/", blob[:4096],
                                content_type="application/octet-stream"), 409)
    assert err["code"] == "chunk_duplicate" and err["fields"]["next_index"] == [1]
    for i in range(1, state["chunk_count"]):
        client.generic("PUT", url + f"chunks/{i}/", blob[i * 4096:(i + 1) * 4096],
                       content_type="application/octet-stream")
    bid = client.post(url + "complete/").json()
    assert bid["sha256"] == hashlib.sha256(blob).hexdigest() == bid["receipt"]["sha256"]
    assert _error(client.post(url + "complete/"), 409)["code"] == "upload_closed"
    mine = client.get(f"/api/tenders/{tender.pk}/bids/mine/").json()
    assert mine["current"]["bid_id"] == bid["bid_id"]
    assert client.get(f"/api/tenders/{tender.pk}/bids/mine/receipt/").json() == bid["receipt"]
    pdf = client.get(f"/api/tenders/{tender.pk}/bids/mine/receipt.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    stored = Bid.objects.get()
    assert stored.claims["file_author"] if stored.claims else True
    assert stored.upload_ip == "127.0.0.1"


def test_a_chunk_with_a_wrong_digest_gets_400(tender, bidder):
    client = api_as(bidder)
    blob = factories.seal_for(tender, bidder, b"a")
    state = client.post(f"/api/tenders/{tender.pk}/bids/uploads/", {
        "size": len(blob),
        "price_sheet": base64.b64encode(factories.price_sheet_for(tender, bidder)).decode(),
    }, format="json").json()
    err = _error(client.generic("PUT", f"/api/bids/uploads/{state['upload_id']}/chunks/0/", blob,
                                content_type="application/octet-stream",
                                HTTP_X_CHUNK_SHA256="0" * 64), 400)
    assert err["code"] == "chunk_incomplete"


def test_a_file_over_the_size_limit_is_refused(settings, tender, bidder):
    settings.BID_MAX_BYTES = 1000
    err = _error(api_as(bidder).post(f"/api/tenders/{tender.pk}/bids/uploads/", {
        "size": 1001, "price_sheet": base64.b64encode(b"x").decode()}, format="json"), 400)
    assert "size" in err["fields"]


def test_a_malformed_upload_request_gets_field_errors(tender, bidder):
    err = _error(api_as(bidder).post(f"/api/tenders/{tender.pk}/bids/uploads/",
                                     {"size": "big", "price_sheet": "%%%"}, format="json"), 400)
    assert {"size", "price_sheet"} <= set(err["fields"])


def test_an_unencrypted_file_is_refused_with_e_rules_26(tender, bidder):
    client = api_as(bidder)
    blob = b"%PDF-1.7\n" + b"plain bid " * 100
    state = client.post(f"/api/tenders/{tender.pk}/bids/uploads/", {
        "size": len(blob),
        "price_sheet": base64.b64encode(factories.price_sheet_for(tender, bidder)).decode(),
    }, format="json").json()
    client.generic("PUT", f"/api/bids/uploads/{state['upload_id']}/chunks/0/", blob,
                   content_type="application/octet-stream")
    err = _error(client.post(f"/api/bids/uploads/{state['upload_id']}/complete/",
                             HTTP_ACCEPT_LANGUAGE="en"), 400)
    assert err["code"] == "not_sealed" and "E-Rules 26" in err["message"]


def test_every_bid_endpoint_refuses_strangers(tender, bidder):
    body, _ = _api_submit(api_as(bidder), tender, bidder)
    upload_paths = [f"/api/tenders/{tender.pk}/bids/mine/",
                    f"/api/tenders/{tender.pk}/bids/mine/receipt/",
                    f"/api/tenders/{tender.pk}/bond/"]
    anonymous = APIClient()
    for path in upload_paths:
        assert anonymous.get(path).status_code == 401
    assert anonymous.post(f"/api/tenders/{tender.pk}/bids/withdraw/").status_code == 401
    for user in (factories.tenderer(), factories.supervisor(), factories.operator(),
                 factories.expert()):
        client = api_as(user)
        for path in upload_paths:
            assert client.get(path).status_code == 403, (user.role, path)
        assert client.post(f"/api/tenders/{tender.pk}/bids/withdraw/").status_code == 403
        assert client.post(f"/api/tenders/{tender.pk}/bids/uploads/", {"size": 1,
                           "price_sheet": "eA=="}, format="json").status_code == 403
    assert api_as(factories.bidder()).get("/api/bonds/refunds-due/").status_code == 403


def test_nobody_else_learns_that_a_bidder_bid_or_how_many_did(tender, bidder):
    """Before the deadline: not the tenderer, operator, supervisor, other bidders or the
    public, in any response."""
    _api_submit(api_as(bidder), tender, bidder)
    others = [APIClient(), api_as(tender.created_by), api_as(factories.operator()),
              api_as(factories.supervisor()), api_as(factories.bidder_with_key())]
    secret_markers = [bidder.organisation.credit_code, str(Bid.objects.get().public_id),
                      Bid.objects.get().sha256, '"bids"', "bid_count"]
    for client in others:
        for path in (f"/api/tenders/{tender.pk}/", "/api/tenders/",
                     f"/api/tenders/{tender.pk}/transitions/"):
            text = client.get(path).content.decode()
            for marker in secret_markers:
                assert marker not in text, (path, marker)
        mine = client.get(f"/api/tenders/{tender.pk}/bids/mine/")
        if mine.status_code == 200:
            assert mine.json() == {"current": None, "versions": []}
    for user in (factories.supervisor(), factories.operator()):
        events = api_as(user).get("/api/audit/events/?page_size=1000").content.decode()
        assert '"bid.' not in events and bidder.username not in events.split("document.")[0]


def test_an_upload_id_of_another_bidder_is_not_found(tender, bidder):
    blob = factories.seal_for(tender, bidder, b"x")
    state = api_as(bidder).post(f"/api/tenders/{tender.pk}/bids/uploads/", {
        "size": len(blob),
        "price_sheet": base64.b64encode(factories.price_sheet_for(tender, bidder)).decode(),
    }, format="json").json()
    other = api_as(factories.bidder_with_key())
    assert _error(other.get(f"/api/bids/uploads/{state['upload_id']}/"), 404)
    assert _error(other.get("/api/bids/uploads/not-a-uuid/"), 404)
    missing = "00000000-0000-0000-0000-000000000000"
    assert _error(api_as(bidder).get(f"/api/bids/uploads/{missing}/"), 404)


def test_withdrawal_and_bonds_through_the_api(tender, bidder):
    client = api_as(bidder)
    _api_submit(client, tender, bidder)
    r = client.post(f"/api/tenders/{tender.pk}/bond/", {
        "amount": str(tender.bond_amount), "kind": "transfer",
        "payer_account": "6222000011112222", "payer_name": "某公司"}, format="json")
    assert r.status_code == 201 and r.json()["from_basic_account"] is False
    unsure = client.post(f"/api/tenders/{tender.pk}/bids/withdraw/")
    assert unsure.status_code == 400 and unsure.json()["error"]["code"] == "confirm_required"
    assert client.post(f"/api/tenders/{tender.pk}/bids/withdraw/", {"confirm": True},
                       format="json").json()["status"] == "withdrawn"
    # Before the deadline the operator can pay the refund by its reference but does
    # not learn who withdrew from which tender (tests/bidding/bids/test_secrecy.py).
    operator = api_as(factories.operator())
    due = operator.get("/api/bonds/refunds-due/").json()
    assert [b["id"] for b in due] == [r.json()["id"]]
    assert due[0]["sealed"] is True and due[0]["tender"] is None and due[0]["bidder"] is None
    done = operator.post(f"/api/bonds/{due[0]['id']}/refunded/")
    assert done.status_code == 200 and done.json()["status"] == "refunded"


def test_the_platform_key_verifies_receipts(tender, bidder):
    from crypto import keys, receipts

    body, _ = _api_submit(api_as(bidder), tender, bidder)
    key = APIClient().get("/api/platform/keys/").json()
    verify = keys.verify_key_from_bytes(base64.b64decode(key["receipt_key"]))
    assert receipts.receipt_verify(body["receipt"], verify)["sha256"] == body["sha256"]


def test_key_registration_refusals():
    bidder = factories.bidder()
    client = api_as(bidder)
    assert _error(client.post("/api/keys/", {"public_key": "AAAA", "purpose": "bid"},
                              format="json"), 400)["fields"]["public_key"]
    point = base64.b64encode(b"\x04" + b"\x01" * 64).decode()
    _error(client.post("/api/keys/", {"public_key": point, "purpose": "bid"}, format="json"), 400)
    from crypto import keys

    good = base64.b64encode(keys.public_key_bytes(keys.generate_private_key().public_key()))
    _error(client.post("/api/keys/", {"public_key": good.decode(), "purpose": "custodian"},
                       format="json"), 403)
    assert client.post("/api/keys/", {"public_key": good.decode(), "purpose": "bid"},
                       format="json").status_code == 201
    assert _error(APIClient().post("/api/keys/", {}, format="json"), 401)


# The deadline race: tests/bidding/bids/test_services.py
# (test_completions_racing_the_deadline_*).


def test_the_dump_holds_no_plaintext_and_no_key_that_opens_a_bid(tmp_path, settings, tender):
    """Dump the database, the media store and the settings; search them for the markers
    planted in the bids; try every key the server holds on every bid."""
    from pathlib import Path

    from crypto import envelope, keys
    from crypto.errors import CryptoError, MalformedData

    markers = []
    for i in range(3):
        user = factories.bidder_with_key()
        services.document_obtain(user=user, tender=tender)
        marker = f"PLAINTEXT-MARKER-{i}-机密报价-{user.pk}".encode()
        markers.append(marker)
        _api_submit(api_as(user), tender, user, plaintext=marker * 50)
    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    blobs = [dump.getvalue().encode()]
    for path in Path(settings.MEDIA_ROOT).rglob("*"):
        if path.is_file():
            blobs.append(path.read_bytes())
    blobs.append(repr({k: getattr(settings, k) for k in dir(settings) if k.isupper()}).encode())
    platform_key_file = Path(settings.PLATFORM_KEY_FILE)
    blobs.append(platform_key_file.read_bytes())
    for bid in Bid.objects.all():
        blobs.append(bytes(bid.price_sheet))
    haystack = b"\n".join(blobs)
    for marker in markers:
        assert marker not in haystack
        assert base64.b64encode(marker[:30])[:20] not in haystack
    assert b"TOTAL_PRICE" not in haystack.upper().replace(b"TOTAL_PRICE_SHEET", b"")
    # The only private key the server holds is its Ed25519 signing key; no P-256
    # private key exists anywhere in the dump, so no stanza can be unwrapped.
    server_keys = []
    for blob in blobs:
        for pem in blob.split(b"-----BEGIN ")[1:]:
            text = b"-----BEGIN " + pem.split(b"-----END")[0] + pem.split(b"-----END")[1][:20]
            if b"PRIVATE KEY" in text[:40]:
                try:
                    server_keys.append(keys.private_key_from_pem(text + b"-----\n", None))
                except (CryptoError, ValueError):
                    pass
    p256 = [k for k in server_keys if hasattr(k, "exchange") and hasattr(k, "curve")]
    assert p256 == []
    for bid in Bid.objects.all():
        with bid.envelope.open("rb") as fh:
            header = envelope.read_header(fh)
        for key in server_keys:
            with pytest.raises((CryptoError, MalformedData, TypeError, ValueError)):
                envelope.unwrap_data_key(header, key)


def test_the_pdf_receipt_honours_accept_application_pdf(tender, bidder):
    client = api_as(bidder)
    _api_submit(client, tender, bidder)
    r = client.get(f"/api/tenders/{tender.pk}/bids/mine/receipt.pdf", HTTP_ACCEPT="application/pdf")
    assert r.status_code == 200 and r.content.startswith(b"%PDF")


def test_withdrawing_without_the_confirmation_is_refused_and_the_bid_still_counts(tender, bidder):
    client = api_as(bidder)
    _api_submit(client, tender, bidder)
    r = client.post(f"/api/tenders/{tender.pk}/bids/withdraw/", {"confirm": False},
                    format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 400
    assert "Not withdrawn" in str(r.json())
    from bidding.bids.models import Bid
    assert Bid.objects.get(tender=tender, bidder_id=bidder.organisation_id,
                           status=Bid.Status.SUBMITTED)
