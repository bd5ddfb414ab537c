"""The REST API: each endpoint's success, its refusals and its error shape."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from bidding.tenders import services
from bidding.tenders.models import Tender
from tests import factories
from tests.conftest import api_as

pytestmark = pytest.mark.django_db


def _error(response, status):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["status"] == status
    assert body["error"]["message"]
    return body["error"]


def _tender_body(**overrides):
    now = timezone.now()
    body = {
        "project_code": "FZ-API-1",
        "project_name": "接口测试项目",
        "title": "接口测试道路工程",
        "title_en": "API test road works",
        "region": "350100",
        "category": "works_municipal",
        "estimate": "5000000.00",
        "max_price": "4900000.00",
        "bond_amount": "50000.00",
        "docs_from": now.isoformat(),
        "docs_until": (now + timedelta(days=7)).isoformat(),
        "deadline": (now + timedelta(days=25)).isoformat(),
        "evaluation_method": "comprehensive",
        "price_formula": "benchmark_deviation",
        "price_formula_params": {"full_score": "30", "k_above": "1.2", "k_below": "0.8"},
        "award_method": "separate",
        "decision_method": "vote",
        "award_committee_mode": "drawn",
        "award_committee_size": 5,
        "vote_mode": "direct",
        "criteria": [
            {"stage": "qualification", "name": "资质证书"},
            {"stage": "technical", "name": "施工组织设计", "max_score": "40"},
            {"stage": "commercial", "name": "业绩", "max_score": "30"},
        ],
        "lots": [{"name": "第1标段", "estimate": "3000000.00"}, {"name": "第2标段"}],
    }
    body.update(overrides)
    return body


# --- auth --------------------------------------------------------------------------


def test_a_token_is_issued_for_the_right_password_and_works():
    user = factories.bidder()
    client = APIClient()
    r = client.post(
        "/api/auth/token/",
        {"username": user.username, "password": factories.PASSWORD},
        format="json",
    )
    assert r.status_code == 200
    token = r.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/me/").json()["role"] == "bidder"
    assert client.delete("/api/auth/token/revoke/").status_code == 204
    _error(client.get("/api/me/"), 401)


def test_a_wrong_password_gets_401():
    user = factories.bidder()
    err = _error(
        APIClient().post(
            "/api/auth/token/", {"username": user.username, "password": "nope"}, format="json"
        ),
        401,
    )
    assert err["code"] == "authentication_failed"


def test_registration_with_an_invalid_credit_code_gets_a_field_error():
    r = APIClient().post(
        "/api/auth/register/",
        {
            "name": "某公司",
            "credit_code": "91350100M000100Y44",
            "kind": "bidder",
            "username": "newco",
            "password": "a-long-enough-password",
        },
        format="json",
    )
    err = _error(r, 400)
    assert "expected 3" in err["fields"]["credit_code"][0]


def test_registration_with_a_valid_code_creates_organisation_and_user():
    r = APIClient().post(
        "/api/auth/register/",
        {
            "name": "某公司",
            "credit_code": "91350100M000100Y43",
            "kind": "bidder",
            "username": "newco",
            "password": "a-long-enough-password",
        },
        format="json",
    )
    assert r.status_code == 201 and r.json()["credit_code"] == "91350100M000100Y43"


def test_nobody_registers_a_supervision_department_themselves():
    r = APIClient().post(
        "/api/auth/register/",
        {
            "name": "某局",
            "credit_code": "91350100M000100Y43",
            "kind": "supervisor",
            "username": "boss",
            "password": "a-long-enough-password",
        },
        format="json",
    )
    _error(r, 403)


# --- tenders -----------------------------------------------------------------------


def test_a_tenderer_creates_publishes_and_anyone_finds_the_tender():
    factories.ensure_custodians()
    user = factories.tenderer()
    client = api_as(user)
    r = client.post("/api/tenders/", _tender_body(), format="json")
    assert r.status_code == 201, r.content
    tender_id = r.json()["id"]
    assert r.json()["status"] == "draft" and len(r.json()["lots"]) == 2
    r = client.post(
        f"/api/tenders/{tender_id}/documents/", {"file": factories.pdf_upload()}, format="multipart"
    )
    assert r.status_code == 201 and len(r.json()["sha256"]) == 64
    r = client.post(f"/api/tenders/{tender_id}/publish/")
    assert r.status_code == 200 and r.json()["status"] == "published"

    anon = APIClient()
    results = anon.get("/api/tenders/", {"q": "接口测试"}).json()["results"]
    assert [t["id"] for t in results] == [tender_id]
    results = anon.get("/api/tenders/", {"q": "API test road"}).json()["results"]
    assert [t["id"] for t in results] == [tender_id]
    detail = anon.get(f"/api/tenders/{r.json()['reference']}/").json()
    assert detail["documents"][0]["sha256"] and detail["opening_time"] == detail["deadline"]


def test_a_malformed_body_gets_400_not_500():
    client = api_as(factories.tenderer())
    r = client.generic("POST", "/api/tenders/", "{not json", content_type="application/json")
    err = _error(r, 400)
    assert err["code"] == "parse_error"
    err = _error(client.post("/api/tenders/", {"estimate": "lots"}, format="json"), 400)
    assert "estimate" in err["fields"] and "title" in err["fields"]


def test_a_bond_over_the_cap_gets_a_field_error():
    client = api_as(factories.tenderer())
    err = _error(
        client.post("/api/tenders/", _tender_body(bond_amount="100000.01"), format="json"), 400
    )
    assert err["code"] == "bond_over_cap" and "bond_amount" in err["fields"]
    assert not Tender.objects.exists()


def test_a_deadline_too_soon_gets_a_field_error_at_publication():
    user = factories.tenderer()
    tender = factories.draft_tender(
        user=user,
        deadline=timezone.now() + timedelta(days=10),
        docs_until=timezone.now() + timedelta(days=6),
    )
    err = _error(api_as(user).post(f"/api/tenders/{tender.pk}/publish/"), 400)
    assert err["code"] == "deadline_too_soon" and "deadline" in err["fields"]


def test_an_unknown_tender_id_gets_404():
    for path in (
        "/api/tenders/999999/",
        "/api/tenders/GGZY-0000-000000/",
        "/api/tenders/999999/documents/",
        "/api/tenders/999999/clarifications/",
    ):
        assert _error(APIClient().get(path), 404)["code"] == "not_found"


def test_a_draft_is_404_to_everyone_but_its_owner():
    tender = factories.draft_tender()
    for client in (APIClient(), api_as(factories.bidder()), api_as(factories.tenderer())):
        _error(client.get(f"/api/tenders/{tender.pk}/"), 404)
    assert api_as(tender.created_by).get(f"/api/tenders/{tender.pk}/").status_code == 200


def test_drafts_never_appear_in_the_public_list():
    factories.draft_tender(title="秘密草稿")
    assert APIClient().get("/api/tenders/", {"q": "秘密草稿"}).json()["count"] == 0


def test_search_filters_and_sorting():
    a = factories.published_tender(
        region="350102",
        category="goods",
        title="甲货物采购",
        estimate=factories.Decimal("1000000"),
        max_price=factories.Decimal("990000"),
        bond_amount=factories.Decimal("1000"),
    )
    b = factories.published_tender(region="350200", category="services", title="乙服务采购")
    client = APIClient()
    assert [
        t["id"] for t in client.get("/api/tenders/", {"region": "350102"}).json()["results"]
    ] == [a.pk]
    assert [
        t["id"] for t in client.get("/api/tenders/", {"category": "services"}).json()["results"]
    ] == [b.pk]
    ids = [t["id"] for t in client.get("/api/tenders/", {"sort": "estimate"}).json()["results"]]
    assert ids == [a.pk, b.pk]
    err = _error(client.get("/api/tenders/", {"region": "nowhere"}), 400)
    assert "region" in err["fields"]


def test_only_the_owner_can_put_publish_or_upload():
    tender = factories.draft_tender()
    for client in (api_as(factories.tenderer()), api_as(factories.bidder())):
        assert (
            client.put(f"/api/tenders/{tender.pk}/", _tender_body(), format="json").status_code
            == 404
        )
        assert client.post(f"/api/tenders/{tender.pk}/publish/").status_code == 404
    _error(APIClient().post(f"/api/tenders/{tender.pk}/publish/"), 401)
    published = factories.published_tender()
    _error(
        api_as(factories.tenderer()).post(
            f"/api/tenders/{published.pk}/documents/", {"file": factories.pdf_upload()}
        ),
        403,
    )


def test_changing_a_published_document_is_refused():
    user = factories.tenderer()
    tender = factories.published_tender(user=user)
    doc = tender.documents.get()
    client = api_as(user)
    err = _error(
        client.post(f"/api/tenders/{tender.pk}/documents/", {"file": factories.pdf_upload()}), 400
    )
    assert err["code"] == "document_immutable"
    _error(client.delete(f"/api/tenders/{tender.pk}/documents/{doc.pk}/"), 400)


def test_a_file_type_not_allowed_is_refused_by_the_api():
    user = factories.tenderer()
    tender = factories.draft_tender(user=user, with_document=False)
    from django.core.files.uploadedfile import SimpleUploadedFile

    err = _error(
        api_as(user).post(
            f"/api/tenders/{tender.pk}/documents/", {"file": SimpleUploadedFile("x.exe", b"MZ")}
        ),
        400,
    )
    assert err["code"] == "file_type"


def test_transitions_endpoint_lists_the_moves():
    tender = factories.published_tender()
    body = APIClient().get(f"/api/tenders/{tender.pk}/transitions/").json()
    assert body["status"] == "published"
    assert {t["target"] for t in body["available"]} == {"bidding_closed", "cancelled", "suspended"}


# --- documents, registration -------------------------------------------------------


def test_documents_download_after_obtaining_only():
    tender = factories.published_tender()
    doc = tender.documents.get()
    url = f"/api/tenders/{tender.pk}/documents/{doc.pk}/download/"
    bidder = api_as(factories.bidder())
    _error(bidder.get(url), 403)
    _error(APIClient().get(url), 403)
    assert bidder.post(f"/api/tenders/{tender.pk}/obtain/").status_code == 200
    r = bidder.get(url)
    assert r.status_code == 200 and r["X-Content-SHA256"] == doc.sha256


def test_obtain_is_refused_to_non_bidders():
    tender = factories.published_tender()
    _error(api_as(factories.supervisor()).post(f"/api/tenders/{tender.pk}/obtain/"), 403)
    _error(APIClient().post(f"/api/tenders/{tender.pk}/obtain/"), 401)


def test_the_register_is_visible_to_tenderer_operator_supervisor_only():
    owner = factories.tenderer()
    tender = factories.published_tender(user=owner)
    bidder = factories.bidder()
    services.document_obtain(user=bidder, tender=tender)
    url = f"/api/tenders/{tender.pk}/register/"
    for user in (owner, factories.operator(), factories.supervisor()):
        rows = api_as(user).get(url).json()
        assert [r["organisation"]["id"] for r in rows] == [bidder.organisation_id]
    for user in (bidder, factories.bidder(), factories.tenderer(), factories.expert()):
        _error(api_as(user).get(url), 403)
    _error(APIClient().get(url), 401)


def test_no_public_response_reveals_how_many_obtained_the_documents():
    tender = factories.published_tender()
    services.document_obtain(user=factories.bidder(), tender=tender)
    for path in (f"/api/tenders/{tender.pk}/", "/api/tenders/"):
        text = APIClient().get(path).content.decode()
        assert "registration" not in text and "obtained" not in text


# --- clarifications ----------------------------------------------------------------


def test_clarification_flow_never_names_the_asker():
    owner = factories.tenderer()
    tender = factories.published_tender(user=owner)
    bidder = factories.bidder()
    services.document_obtain(user=bidder, tender=tender)
    asker = api_as(bidder)
    r = asker.post(
        f"/api/tenders/{tender.pk}/clarifications/", {"question": "厚度以哪个为准？"}, format="json"
    )
    assert r.status_code == 201 and r.json()["mine"] is True
    qid = r.json()["id"]
    assert APIClient().get(f"/api/tenders/{tender.pk}/clarifications/").json() == []
    _error(
        asker.post(
            f"/api/tenders/{tender.pk}/clarifications/{qid}/answer/", {"answer": "x"}, format="json"
        ),
        403,
    )
    r = api_as(owner).post(
        f"/api/tenders/{tender.pk}/clarifications/{qid}/answer/",
        {"answer": "以图纸为准"},
        format="json",
    )
    assert r.status_code == 200
    public = APIClient().get(f"/api/tenders/{tender.pk}/clarifications/").json()
    assert public[0]["answer"] == "以图纸为准" and public[0]["mine"] is False
    text = APIClient().get(f"/api/tenders/{tender.pk}/clarifications/").content.decode()
    assert bidder.username not in text and str(bidder.organisation.name) not in text


def test_asking_without_obtaining_is_refused():
    tender = factories.published_tender()
    _error(
        api_as(factories.bidder()).post(
            f"/api/tenders/{tender.pk}/clarifications/", {"question": "q"}, format="json"
        ),
        403,
    )
    _error(
        APIClient().post(
            f"/api/tenders/{tender.pk}/clarifications/", {"question": "q"}, format="json"
        ),
        403,
    )


# --- amendments --------------------------------------------------------------------


def test_amendment_via_api_with_files():
    owner = factories.tenderer()
    tender = factories.published_tender(user=owner)
    r = api_as(owner).post(
        f"/api/tenders/{tender.pk}/amendments/",
        {"text": "清单更正", "files": [factories.pdf_upload("更正.pdf")]},
        format="multipart",
    )
    assert r.status_code == 201, r.content
    assert r.json()["documents"][0]["name"] == "更正.pdf"
    history = APIClient().get(f"/api/tenders/{tender.pk}/amendments/").json()
    assert [a["number"] for a in history] == [1]


def test_amendment_by_someone_else_is_refused():
    tender = factories.published_tender()
    for user in (factories.tenderer(), factories.bidder(), factories.supervisor()):
        assert (
            api_as(user)
            .post(f"/api/tenders/{tender.pk}/amendments/", {"text": "x"}, format="json")
            .status_code
            == 403
        )


def test_amendment_after_the_deadline_gets_400():
    import time_machine

    owner = factories.tenderer()
    with time_machine.travel(timezone.now(), tick=False):
        tender = factories.published_tender(user=owner)
    with time_machine.travel(tender.deadline + timedelta(seconds=1), tick=False):
        err = _error(
            api_as(owner).post(
                f"/api/tenders/{tender.pk}/amendments/", {"text": "late"}, format="json"
            ),
            400,
        )
    assert err["code"] == "amendment_after_deadline"


# --- audit -------------------------------------------------------------------------


def test_audit_endpoints_are_for_supervisors_and_operators():
    factories.published_tender()
    for user in (factories.supervisor(), factories.operator()):
        body = api_as(user).get("/api/audit/verify/").json()
        assert body["ok"] is True and "count" not in body
        assert api_as(user).get("/api/audit/events/").json()["count"] > 0
    for user in (factories.bidder(), factories.tenderer(), factories.expert()):
        _error(api_as(user).get("/api/audit/verify/"), 403)
        _error(api_as(user).get("/api/audit/events/"), 403)


def test_unknown_api_paths_answer_in_the_error_shape():
    assert _error(APIClient().get("/api/nothing-here/"), 404)["code"] == "not_found"


def test_the_openapi_schema_is_served_and_names_the_endpoints():
    r = APIClient().get("/api/schema/", {"format": "json"})
    assert r.status_code == 200
    paths = r.json()["paths"]
    for path in (
        "/api/tenders/",
        "/api/tenders/{tender_id}/publish/",
        "/api/tenders/{tender_id}/amendments/",
        "/api/auth/token/",
        "/api/audit/verify/",
    ):
        assert path in paths
