"""Hostile input gets a 4xx in the API's error shape (an HTML 4xx on pages), never a 500:
NUL characters, deeply nested JSON, over-long file names, malformed hall messages,
unknown API paths with any method, oversized bodies, chunks past the end."""

from __future__ import annotations

import hashlib
import json
import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from bidding.tenders import services
from tests import factories
from tests.conftest import api_as

pytestmark = pytest.mark.django_db


def _api_error(response, status, code=None):
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    error = response.json()["error"]
    assert error["status"] == status and error["message"]
    if code:
        assert error["code"] == code, error
    return error


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- NUL -------------------------------------------------------------------------------


def _nul_requests():
    supervisor = factories.supervisor()
    tender = factories.published_tender()
    return [
        (Client(), "/api/tenders/GGZY%00/"),
        (_signed_in(supervisor), "/api/audit/events/?object_id=%00"),
        (Client(), f"/api/tenders/{tender.pk}/opening/proof/?sha256=%00"),
        (Client(), "/api/tenders/?q=a%00b"),
    ]


def test_a_nul_in_an_api_id_or_query_parameter_is_refused_with_400():
    for client, url in _nul_requests():
        _api_error(client.get(url), 400, "nul_byte")


def test_a_nul_in_a_page_path_is_refused_with_a_plain_400():
    tender = factories.published_tender()
    for url in ("/tenders/GGZY%00/", f"/tenders/{tender.pk}/?q=%00", "/?region=%00"):
        response = Client().get(url)
        assert response.status_code == 400, url
        assert response["Content-Type"].startswith("text/plain")


def test_a_nul_in_a_url_encoded_form_field_is_refused():
    response = Client().post("/accounts/login/", "username=a%00&password=x",
                             content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400


def test_a_nul_in_a_json_string_is_refused():
    r = APIClient().post("/api/auth/token/", {"username": "admin\x00", "password": "x"},
                         format="json")
    _api_error(r, 400, "nul_byte")


@pytest.mark.services
def test_a_nul_never_reaches_postgresql():
    """The same requests against PostgreSQL, which refuses NUL in text (500 before)."""
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        pytest.skip("needs DATABASE_URL pointing at PostgreSQL")
    for client, url in _nul_requests():
        _api_error(client.get(url), 400, "nul_byte")
    assert Client().get("/tenders/GGZY%00/").status_code == 400


# --- deeply nested JSON ----------------------------------------------------------------


@pytest.mark.parametrize("url", ["/api/auth/token/", "/api/auth/register/"])
def test_deeply_nested_json_is_refused_with_400(url):
    body = "[" * 50_000 + "]" * 50_000
    r = APIClient().post(url, body, content_type="application/json")
    _api_error(r, 400, "too_deep")


def test_json_a_little_too_deep_is_refused_but_normal_nesting_passes():
    deep = {"username": "x", "password": "y", "extra": [[[[[[[[[[]]]]]]]]]]}
    r = APIClient().post("/api/auth/token/", deep, format="json")
    assert r.status_code == 401  # parsed fine; just a wrong password
    r = APIClient().post("/api/auth/token/", "[" * 65 + "]" * 65,
                         content_type="application/json")
    _api_error(r, 400, "too_deep")


def test_malformed_json_gets_the_error_shape():
    r = APIClient().post("/api/auth/token/", "{nope", content_type="application/json")
    _api_error(r, 400, "parse_error")


# --- tender document names -------------------------------------------------------------


def test_a_document_name_of_251_cjk_characters_is_a_field_error():
    user = factories.tenderer()
    tender = factories.draft_tender(user=user, with_document=False)
    upload = SimpleUploadedFile("标" * 247 + ".pdf", b"%PDF-1.4\n%%EOF\n",
                                content_type="application/pdf")
    r = api_as(user).post(f"/api/tenders/{tender.pk}/documents/", {"file": upload},
                          format="multipart")
    error = _api_error(r, 400, "file_name_too_long")
    assert "file" in error["fields"]
    assert not tender.documents.exists()


def test_a_long_but_acceptable_cjk_document_name_is_stored():
    user = factories.tenderer()
    tender = factories.draft_tender(user=user, with_document=False)
    name = "标" * 60 + ".pdf"
    doc = services.document_add(user=user, tender=tender,
                                upload=factories.pdf_upload(name=name))
    assert doc.name == name


# --- hall messages over REST -----------------------------------------------------------


@pytest.fixture
def opening_hall(settings):
    import time_machine

    from core import tasks

    tender = factories.published_tender(announce_mode="as_decrypted")
    users = [factories.bidder_with_key() for _ in range(3)]
    for user in users:
        factories.submit_bid(tender, user)
    traveller = time_machine.travel(tender.deadline, tick=False)
    traveller.start()
    tasks.clock_tick()
    tender.refresh_from_db()
    yield tender, users
    traveller.stop()


ENDPOINT = {"objection": "objections", "answer": "answers", "decrypt": "decrypt",
            "share": "shares", "confirm": "confirm"}


@pytest.mark.parametrize("action, body, field", [
    ("objection", {"text": 123}, "text"),
    ("objection", {}, "text"),
    ("objection", {"text": ["a"]}, "text"),
    ("answer", {"objection": "abc", "answer": "x"}, "objection"),
    ("answer", {"objection": 1}, "answer"),
    ("decrypt", {"bid_key": {"a": 1}, "price_sheet_key": "00"}, "bid_key"),
    ("decrypt", {}, "bid_key"),
    ("share", {"share": "not a dict"}, "share"),
    ("confirm", {"remark": 5}, "remark"),
])
def test_a_malformed_hall_action_over_rest_is_a_400_field_error(opening_hall, action, body,
                                                                  field):
    tender, users = opening_hall
    client = api_as(tender.created_by if action == "answer" else users[0])
    r = client.post(f"/api/tenders/{tender.pk}/opening/{ENDPOINT[action]}/", body,
                    format="json")
    error = _api_error(r, 400, "invalid")
    assert field in error["fields"]


def test_a_hall_action_that_is_not_an_object_is_a_400(opening_hall):
    tender, users = opening_hall
    for body in ('["not", "an", "object"]', '"text"', "42"):
        r = api_as(users[0]).post(f"/api/tenders/{tender.pk}/opening/objections/", body,
                                  content_type="application/json")
        _api_error(r, 400, "invalid")


# --- unknown API paths -----------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_an_unknown_api_path_is_a_json_404_for_every_method(method):
    client = Client(enforce_csrf_checks=True)
    client.force_login(factories.bidder())
    response = client.generic(method, "/api/no/such/thing/", b"{}",
                              content_type="application/json")
    _api_error(response, 404, "not_found")
    response = Client(enforce_csrf_checks=True).generic(method, "/api/nothing-here")
    _api_error(response, 404, "not_found")


# --- request body caps -----------------------------------------------------------------


def test_an_anonymous_huge_post_is_refused_with_413_before_it_is_read():
    r = Client().generic("POST", "/api/tenders/", b"x", content_type="text/plain",
                         CONTENT_LENGTH=str(300 * 1024 * 1024))
    error = _api_error(r, 413, "request_too_large")
    assert "10485760" in error["message"]


def test_a_page_post_over_the_cap_gets_a_plain_413(settings):
    settings.MAX_REQUEST_BODY_BYTES = 1000
    r = Client().generic("POST", "/accounts/login/", b"x" * 1001,
                         content_type="application/x-www-form-urlencoded")
    assert r.status_code == 413 and r["Content-Type"].startswith("text/plain")


def test_a_signed_in_document_upload_may_be_larger_than_the_general_cap(settings):
    settings.MAX_REQUEST_BODY_BYTES = 1000
    user = factories.tenderer()
    tender = factories.draft_tender(user=user, with_document=False)
    upload = factories.pdf_upload(content=b"%PDF-1.4\n" + b"x" * 5000 + b"\n%%EOF\n")
    r = _signed_in(user).post(f"/api/tenders/{tender.pk}/documents/", {"file": upload})
    assert r.status_code == 201, r.content
    settings.TENDER_DOCUMENT_MAX_BYTES = 10
    r = _signed_in(user).generic("POST", f"/api/tenders/{tender.pk}/documents/", b"x",
                                 CONTENT_LENGTH=str(2 * 1024 * 1024))
    _api_error(r, 413, "request_too_large")


def _open_upload(client, tender, user, blob):
    import base64

    r = client.post(f"/api/tenders/{tender.pk}/bids/uploads/", {
        "size": len(blob),
        "price_sheet": base64.b64encode(factories.price_sheet_for(tender, user)).decode(),
        "claims": {"tool": "test"},
    }, content_type="application/json")
    assert r.status_code == 201, r.content
    return r.json()


@pytest.fixture
def bidder_on_tender():
    tender = factories.published_tender()
    user = factories.bidder_with_key()
    services.document_obtain(user=user, tender=tender)
    return tender, user


def test_a_chunk_over_the_chunk_size_and_overhead_is_refused_with_413(settings,
                                                                     bidder_on_tender):
    tender, user = bidder_on_tender
    settings.BID_UPLOAD_CHUNK_BYTES = 4096
    client = _signed_in(user)
    state = _open_upload(client, tender, user, factories.seal_for(tender, user, b"B" * 9000))
    url = f"/api/bids/uploads/{state['upload_id']}/chunks/0/"
    r = client.generic("PUT", url, b"x", content_type="application/octet-stream",
                       CONTENT_LENGTH=str(4096 + 64 * 1024 + 1))
    _api_error(r, 413, "request_too_large")


def test_an_empty_chunk_past_the_last_one_is_refused_with_409(settings, bidder_on_tender):
    tender, user = bidder_on_tender
    settings.BID_UPLOAD_CHUNK_BYTES = 4096
    client = _signed_in(user)
    blob = factories.seal_for(tender, user, b"B" * 5000)
    state = _open_upload(client, tender, user, blob)
    url = f"/api/bids/uploads/{state['upload_id']}/chunks/"
    for i in range(state["chunk_count"]):
        piece = blob[i * 4096:(i + 1) * 4096]
        r = client.generic("PUT", f"{url}{i}/", piece, content_type="application/octet-stream",
                           HTTP_X_CHUNK_SHA256=hashlib.sha256(piece).hexdigest())
        assert r.status_code == 200, r.content
    for extra in (state["chunk_count"], state["chunk_count"] + 5):
        r = client.generic("PUT", f"{url}{extra}/", b"", content_type="application/octet-stream",
                           CONTENT_LENGTH="0",
                           HTTP_X_CHUNK_SHA256=hashlib.sha256(b"").hexdigest())
        error = _api_error(r, 409, "no_such_chunk")
        assert error["fields"]["next_index"] == [state["chunk_count"]]
    r = client.post(f"/api/bids/uploads/{state['upload_id']}/complete/")
    assert r.status_code == 201, r.content


# --- body caps in front of Django's ASGI handler ----------------------------------------


class _Inner:
    """A stand-in for Django's ASGI handler that reads the whole body, like Django."""

    def __init__(self):
        self.called = False

    async def __call__(self, scope, receive, send):
        self.called = True
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # Django stops here (RequestAborted) and answers nothing
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(len(body)).encode()})


async def _call(app, path, headers, chunks):
    sent = []
    received = {"count": 0}

    async def receive():
        received["count"] += 1
        if received["count"] <= len(chunks):
            i = received["count"] - 1
            return {"type": "http.request", "body": chunks[i],
                    "more_body": i < len(chunks) - 1}
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": path, "headers": headers,
             "query_string": b""}
    await app(scope, receive, send)
    return sent, received["count"]


@pytest.mark.asyncio
async def test_asgi_refuses_a_declared_oversized_body_without_reading_it():
    from core.middleware import BodyCapASGI

    inner = _Inner()
    sent, reads = await _call(BodyCapASGI(inner), "/api/tenders/",
                              [(b"content-length", str(300 * 1024 * 1024).encode())],
                              [b"x"])
    assert not inner.called and reads == 0
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["error"]["code"] == "request_too_large"


@pytest.mark.asyncio
async def test_asgi_stops_a_streamed_body_without_length_at_the_cap(settings):
    from core.middleware import BodyCapASGI

    settings.MAX_REQUEST_BODY_BYTES = 1000
    inner = _Inner()
    sent, reads = await _call(BodyCapASGI(inner), "/accounts/register/", [],
                              [b"x" * 600, b"x" * 600, b"x" * 600, b"x" * 600])
    assert inner.called and reads == 2  # stopped reading after the chunk that passed
    assert [m["status"] for m in sent if m["type"] == "http.response.start"] == [413]
    assert sent[-1]["body"].startswith(b"The request body is too large")


@pytest.mark.asyncio
async def test_asgi_lets_a_body_within_the_cap_through(settings):
    from core.middleware import BodyCapASGI

    settings.MAX_REQUEST_BODY_BYTES = 1000
    inner = _Inner()
    sent, _ = await _call(BodyCapASGI(inner), "/api/tenders/",
                          [(b"content-length", b"900")], [b"x" * 900])
    assert sent[0]["status"] == 200 and sent[1]["body"] == b"900"


def test_the_asgi_application_wraps_django_with_the_body_cap(settings):
    from core.middleware import BodyCapASGI

    settings.EMBEDDED_CLOCK = False  # importing the application must not start the clock
    from tradecentre.asgi import application

    assert isinstance(application.application_mapping["http"], BodyCapASGI)


def test_deeply_nested_json_to_an_endpoint_with_its_own_parsers_is_refused():
    user = factories.tenderer()
    tender = factories.published_tender(user=user)
    r = api_as(user).post(f"/api/tenders/{tender.pk}/amendments/", "[" * 50_000,
                          content_type="application/json")
    _api_error(r, 400, "too_deep")


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_asgi_gives_the_document_cap_only_to_real_credentials():
    from asgiref.sync import sync_to_async

    from core.middleware import BodyCapASGI

    path = "/api/tenders/1/documents/"
    big = [(b"content-length", str(50 * 1024 * 1024).encode())]
    for forged in ([(b"cookie", b"sessionid=madeup")], [(b"authorization", b"Token nope")]):
        inner = _Inner()
        sent, reads = await _call(BodyCapASGI(inner), path, big + forged, [b"x"])
        assert not inner.called and reads == 0 and sent[0]["status"] == 413, forged

    @sync_to_async
    def credentials():
        from rest_framework.authtoken.models import Token

        user = factories.tenderer()
        client = Client()
        client.force_login(user)
        return client.cookies["sessionid"].value, Token.objects.create(user=user).key

    session, token = await credentials()
    for real in ([(b"cookie", f"sessionid={session}".encode())],
                 [(b"authorization", f"Token {token}".encode())]):
        inner = _Inner()
        await _call(BodyCapASGI(inner), path, big + real, [b"x"])
        assert inner.called, real


def test_a_forged_session_cookie_does_not_raise_the_cap(settings):
    settings.MAX_REQUEST_BODY_BYTES = 1000
    client = Client()
    client.cookies["sessionid"] = "madeup"
    r = client.generic("POST", "/api/tenders/1/documents/", b"x",
                       CONTENT_LENGTH=str(2 * 1024 * 1024))
    _api_error(r, 413, "request_too_large")
