"""Pages and API: published results and draw proofs are visible to anyone (一公开), open
inspections are not; the API's refusals come back in core.api_errors' shape."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from supervision.inspections import selectors, services
from supervision.inspections.models import Filing, Inspection
from tests import factories

from .helpers import awarded_tender, department, plan, setup_two_departments, supervisor_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def drawn():
    a, b, boss, ins, matters = setup_two_departments()
    awarded_tender()
    p = plan(boss, [a, b], matters, sample_count=1)
    r = services.round_draw(user=boss, round=services.round_commit(
        user=boss, plan=p, round_name="福彩3D 2026001"), value="731")
    return p, r, boss, Inspection.objects.get(round=r)


def publish(inspection):
    user = inspection.inspectors.first().user
    for item in selectors.checklist(inspection.plan):
        services.finding_record(user=user, inspection=inspection, item=item,
                                result="compliant")
    return services.inspection_conclude(user=user, inspection=inspection, text="未发现问题")


def test_published_result_and_draw_proof_are_visible_to_anyone(client, drawn):
    p, r, boss, inspection = drawn
    publish(inspection)
    page = client.get("/inspections/").content.decode()
    assert p.name in page and inspection.tender.reference in page
    plan_page = client.get(f"/inspections/plans/{p.pk}/").content.decode()
    assert r.commitment in plan_page and r.public_input in plan_page
    assert "msg-success" in plan_page
    detail = client.get(f"/inspections/inspection/{inspection.pk}/").content.decode()
    assert "未发现问题" in detail
    api = APIClient().get("/api/inspections/results/").json()
    assert api[0]["tender"] == inspection.tender.reference
    assert api[0]["findings"][0]["result"] == "compliant"
    plans = APIClient().get("/api/inspections/plans/").json()
    assert plans[0]["rounds"][0]["verified"] is True
    assert APIClient().get(f"/api/inspections/rounds/{r.pk}/verify/").json()["ok"] is True


def test_an_open_inspection_is_not_public(client, drawn):
    p, r, boss, inspection = drawn
    assert client.get(f"/inspections/inspection/{inspection.pk}/").status_code == 404
    client.force_login(inspection.inspectors.first().user)
    assert client.get(f"/inspections/inspection/{inspection.pk}/").status_code == 200


def test_inspector_records_findings_and_publishes_on_the_page(client, drawn):
    p, r, boss, inspection = drawn
    client.force_login(inspection.inspectors.first().user)
    for item in selectors.checklist(p):
        client.post(f"/inspections/inspection/{inspection.pk}/",
                    {"item": item.pk, "result": "na"})
    resp = client.post(f"/inspections/inspection/{inspection.pk}/",
                       {"conclude": "1", "text": "结论"})
    assert resp.status_code == 302
    inspection.refresh_from_db()
    assert inspection.status == "published"


def test_api_refusals_carry_codes(drawn):
    p, r, boss, inspection = drawn
    api = APIClient()
    api.force_authenticate(boss)
    resp = api.post(f"/api/inspections/rounds/{r.pk}/draw/", {"value": "1"}, format="json")
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "draw_rerun"
    api.force_authenticate(factories.bidder())
    resp = api.post(f"/api/inspections/plans/{p.pk}/rounds/", {"round_name": "x"},
                    format="json")
    assert resp.status_code == 403
    outsider = supervisor_of(department("x"))
    api.force_authenticate(outsider)
    item = selectors.checklist(p)[0]
    resp = api.post(f"/api/inspections/{inspection.pk}/findings/",
                    {"item": item.pk, "result": "compliant"}, format="json")
    assert resp.status_code == 400


def test_filing_through_the_api_and_the_supervisors_page(client):
    tender = awarded_tender()
    owner = factories.UserFactory(role="tenderer", organisation=tender.tenderer)
    api = APIClient()
    api.force_authenticate(owner)
    resp = api.post(f"/api/filings/tenders/{tender.pk}/", {"stage": "documents"},
                    format="json")
    assert resp.status_code == 201
    filing = Filing.objects.get(pk=resp.json()["id"])
    boss = supervisor_of(department("住建局"))
    client.force_login(boss)
    assert tender.reference in client.get("/filings/").content.decode()
    client.post("/filings/", {"filing": filing.pk, "action": "acknowledge"})
    filing.refresh_from_db()
    assert filing.status == "acknowledged"
    assert services.filing_receipt_verify(filing)["tender_id"] == tender.reference
    client.force_login(owner)
    assert client.get("/filings/").status_code == 403


def test_spot_check_through_the_api():
    from .test_spot_checks import evaluated_tender

    tender, experts = evaluated_tender()
    boss = supervisor_of(department("住建局"))
    api = APIClient()
    api.force_authenticate(boss)
    from django.utils import timezone

    today = str(timezone.localdate())
    resp = api.post("/api/inspections/spot-checks/", {
        "period_start": today, "period_end": today, "sample_size": 1, "round_name": "r"},
        format="json")
    assert resp.status_code == 201
    sid = resp.json()["id"]
    resp = api.post(f"/api/inspections/spot-checks/{sid}/draw/", {"value": "9"},
                    format="json")
    assert resp.json()["drawn"] == [tender.reference] and resp.json()["verified"]
    resp = api.post(f"/api/inspections/spot-checks/{sid}/ratings/", {
        "tender": tender.reference, "expert": experts[0].code, "score": 1,
        "comment": "未按评分标准"}, format="json")
    assert resp.status_code == 201
    experts[0].refresh_from_db()
    assert experts[0].ratings.count() == 1
