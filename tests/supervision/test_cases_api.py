"""The cases API: a supervisor lists, opens and decides cases through the same services
as the drill-down; every refusal answers in the API's error shape."""

import pytest
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from supervision.models import Case, RiskScore
from tests import factories

pytestmark = pytest.mark.django_db


def _risk(tender_id=1, reference="T-1"):
    return RiskScore.objects.create(tender_id=tender_id, tender_reference=reference,
                                    score=0.5, features={"cv": 0.1}, prices=[1.0],
                                    computed_at=timezone.now())


def _client(user=None):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user or factories.supervisor())
    return client


def _open(client, tender_id=1, note="prices too close"):
    return client.post("/api/supervision/cases/", {"tender_id": tender_id, "note": note},
                       content_type="application/json")


def _decide(client, case_id, outcome="confirmed", reasons="identical prices and one author"):
    return client.post(f"/api/supervision/cases/{case_id}/decide/",
                       {"outcome": outcome, "reasons": reasons},
                       content_type="application/json")


def _error(response, status):
    assert response.status_code == status, response.content
    return response.json()["error"]


def test_a_supervisor_opens_lists_and_decides_a_case():
    _risk()
    client = _client()
    opened = _open(client)
    assert opened.status_code == 201
    case = opened.json()
    assert case["tender_reference"] == "T-1" and case["outcome"] == ""
    listed = client.get("/api/supervision/cases/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [r["id"] for r in rows] == [case["id"]]
    decided = _decide(client, case["id"])
    assert decided.status_code == 200 and decided.json()["outcome"] == "confirmed"
    assert Case.objects.get().decided_by is not None
    assert AuditEvent.objects.filter(action="supervision.case_decide").count() == 1


def test_an_operator_may_list_cases_but_not_open_them():
    _risk()
    client = _client(factories.operator())
    assert client.get("/api/supervision/cases/").status_code == 200
    assert _error(_open(client), 403)["message"]
    assert not Case.objects.exists()


def test_a_bidder_may_neither_list_nor_open_nor_decide():
    _risk()
    case = Case.objects.create(tender_id=1, tender_reference="T-1",
                               opened_by=factories.supervisor(), opened_at=timezone.now())
    client = _client(factories.bidder())
    _error(client.get("/api/supervision/cases/"), 403)
    _error(_open(client), 403)
    _error(_decide(client, case.pk), 403)
    assert Case.objects.get().outcome == ""


def test_a_case_on_a_tender_never_screened_is_refused():
    assert _error(_open(_client(), tender_id=99), 400)["code"] == "not_screened"


def test_a_second_case_on_the_same_tender_is_refused():
    _risk()
    client = _client()
    _open(client)
    assert _error(_open(client), 400)["code"] == "case_exists"


def test_an_open_without_a_tender_is_refused():
    err = _error(_client().post("/api/supervision/cases/", {}, content_type="application/json"),
                 400)
    assert "tender_id" in err["fields"]


def test_an_unknown_outcome_is_refused():
    _risk()
    client = _client()
    case = _open(client).json()
    err = _error(_decide(client, case["id"], outcome="maybe"), 400)
    assert err["code"] == "bad_outcome" and "outcome" in err["fields"]


def test_an_outcome_without_reasons_is_refused():
    _risk()
    client = _client()
    case = _open(client).json()
    assert _error(_decide(client, case["id"], reasons="no"), 400)["code"] == "reasons_missing"


def test_a_decided_case_cannot_be_decided_again():
    _risk()
    client = _client()
    case = _open(client).json()
    _decide(client, case["id"])
    err = _error(_decide(client, case["id"], outcome="dismissed"), 400)
    assert err["code"] == "case_decided" and Case.objects.get().outcome == "confirmed"


def test_deciding_a_case_that_does_not_exist_is_not_found():
    _error(_decide(_client(), 12345), 404)


def test_the_api_schema_documents_the_cases_endpoints():
    schema = _client().get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    assert "/api/supervision/cases/{case_id}/decide/" in schema
    assert "CaseDecide" in schema and "SupervisionError" in schema
