"""The shared registers and plans through the API and the supervisors' pages: matters with
their checklists, the inspector register, supervised parties and new plans. Refusals come
back as HTTP 400 with the field (API) or beside the field (pages); other roles get 403."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from supervision.inspections.models import (
    InspectionPlan,
    Inspector,
    SupervisedParty,
    SupervisionMatter,
)
from tests import factories

from .helpers import department, inspector_in, matter, setup_two_departments, supervisor_of

pytestmark = pytest.mark.django_db


def api_as(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def field_error(resp, field: str) -> list[str]:
    assert resp.status_code == 400, resp.content
    return resp.json()["error"]["fields"][field]


# ---------------------------------------------------------------- API: matters


def test_api_creates_a_matter_with_its_checklist_and_lists_it():
    a = department("住建局")
    api = api_as(supervisor_of(a))
    resp = api.post("/api/inspections/matters/", {
        "code": "ZJ-009", "name": "招标文件备案", "legal_basis": "招标投标法第12条",
        "departments": [a.pk],
        "items": [{"text": "是否按期备案"}, {"text": "资格条件是否合法", "text_en": "lawful"}]},
        format="json")
    assert resp.status_code == 201, resp.content
    m = SupervisionMatter.objects.get(code="ZJ-009")
    assert [i.text for i in m.items.all()] == ["是否按期备案", "资格条件是否合法"]
    rows = api.get("/api/inspections/matters/").json()
    assert rows[0]["code"] == "ZJ-009" and rows[0]["items"][1]["text_en"] == "lawful"


def test_api_matter_refusals_name_the_field():
    a = department("住建局")
    api = api_as(supervisor_of(a))
    body = {"code": "ZJ-1", "name": "n", "legal_basis": "l", "departments": [a.pk],
            "items": []}
    assert field_error(api.post("/api/inspections/matters/", body, format="json"), "items")
    bidder_org = factories.bidder().organisation
    body.update(items=[{"text": "x"}], departments=[bidder_org.pk])
    assert field_error(api.post("/api/inspections/matters/", body, format="json"),
                       "departments")
    assert not SupervisionMatter.objects.exists()


def test_api_registers_are_closed_to_a_bidder():
    api = api_as(factories.bidder())
    for url in ("/api/inspections/matters/", "/api/inspections/inspectors/",
                "/api/inspections/parties/"):
        assert api.get(url).status_code == 403
        assert api.post(url, {}, format="json").status_code == 403
    assert api.post("/api/inspections/parties/sync/").status_code == 403
    assert api.post("/api/inspections/plans/", {}, format="json").status_code == 403
    assert APIClient().get("/api/inspections/matters/").status_code in (401, 403)


# ---------------------------------------------------------------- API: inspectors


def test_api_registers_an_inspector_by_username_and_deactivates_them():
    a = department("住建局")
    boss, person = supervisor_of(a), supervisor_of(a)
    api = api_as(boss)
    resp = api.post("/api/inspections/inspectors/",
                    {"username": person.username, "specialties": "房建"}, format="json")
    assert resp.status_code == 201, resp.content
    ins = Inspector.objects.get(user=person)
    assert ins.department == a and resp.json()["code"] == ins.code
    assert api.get("/api/inspections/inspectors/").json()[0]["username"] == person.username
    resp = api.post(f"/api/inspections/inspectors/{ins.pk}/active/", {"active": False},
                    format="json")
    assert resp.status_code == 200 and resp.json()["active"] is False
    ins.refresh_from_db()
    assert ins.active is False


def test_api_inspector_refusals_name_the_field():
    a = department("住建局")
    boss = supervisor_of(a)
    api = api_as(boss)
    bidder = factories.bidder()
    assert field_error(api.post("/api/inspections/inspectors/",
                                {"username": bidder.username}, format="json"), "department")
    assert field_error(api.post("/api/inspections/inspectors/",
                                {"username": "nobody-here"}, format="json"), "username")
    ins = inspector_in(a, by=boss)
    assert field_error(api.post("/api/inspections/inspectors/",
                                {"username": ins.user.username}, format="json"), "person")
    resp = api_as(factories.bidder()).post(f"/api/inspections/inspectors/{ins.pk}/active/",
                                           {"active": False}, format="json")
    assert resp.status_code == 403
    ins.refresh_from_db()
    assert ins.active is True


# ---------------------------------------------------------------- API: parties


def test_api_adds_a_party_syncs_the_platform_and_lists_them():
    api = api_as(supervisor_of(department("住建局")))
    resp = api.post("/api/inspections/parties/", {
        "kind": "agency", "name": "某代理公司", "identifier": "91110000MA00000001"},
        format="json")
    assert resp.status_code == 201, resp.content
    assert resp.json()["source"] == "manual"
    bidder_org = factories.bidder().organisation
    resp = api.post("/api/inspections/parties/sync/")
    assert resp.status_code == 200 and resp.json()["added"] >= 1
    rows = api.get("/api/inspections/parties/").json()
    assert {r["identifier"] for r in rows} >= {"91110000MA00000001", bidder_org.credit_code}


def test_api_party_refusals_name_the_field():
    api = api_as(supervisor_of(department("住建局")))
    assert field_error(api.post("/api/inspections/parties/", {
        "kind": "martian", "name": "x", "identifier": "1"}, format="json"), "kind")
    body = {"kind": "bidder", "name": "某公司", "identifier": "X1"}
    assert api.post("/api/inspections/parties/", body, format="json").status_code == 201
    assert field_error(api.post("/api/inspections/parties/", body, format="json"),
                       "identifier")
    assert SupervisedParty.objects.count() == 1


# ---------------------------------------------------------------- API: plans


def plan_body(depts, matters, **kw):
    today = timezone.localdate()
    body = {"name": "2026年度联合抽查", "period_start": str(today - timedelta(days=30)),
            "period_end": str(today + timedelta(days=30)),
            "departments": [d.pk for d in depts], "matters": [m.pk for m in matters],
            "sample_count": 2, "population": {"statuses": ["awarded"], "date": "published"}}
    body.update(kw)
    return body


def test_api_creates_a_plan_and_it_is_listed_once_drawn_only():
    a, b, boss, ins, matters = setup_two_departments()
    api = api_as(boss)
    resp = api.post("/api/inspections/plans/", plan_body([a, b], matters), format="json")
    assert resp.status_code == 201, resp.content
    plan = InspectionPlan.objects.get(pk=resp.json()["id"])
    assert plan.inspectors_per_inspection == 2 and plan.distinct_departments
    assert sorted(resp.json()["matters"]) == sorted(m.code for m in matters)
    # The public list shows plans with a drawn round only (一公开).
    assert APIClient().get("/api/inspections/plans/").json() == []


def test_api_plan_refusals_name_the_field():
    a, b, boss, ins, matters = setup_two_departments()
    api = api_as(boss)
    few = api.post("/api/inspections/plans/",
                   plan_body([a, b], matters, inspectors_per_inspection=1), format="json")
    assert field_error(few, "inspectors_per_inspection")
    assert few.json()["error"]["code"] == "too_few_inspectors"
    both = api.post("/api/inspections/plans/",
                    plan_body([a, b], matters, sample_ratio="0.5"), format="json")
    assert field_error(both, "sample_count")
    other = department("市场监管局")
    mine_missing = api.post("/api/inspections/plans/", plan_body([b, other], matters[1:]),
                            format="json")
    assert field_error(mine_missing, "departments")
    assert not InspectionPlan.objects.exists()


# ---------------------------------------------------------------- pages

PAGES = ("/inspections/manage/matters/", "/inspections/manage/inspectors/",
         "/inspections/manage/parties/", "/inspections/manage/plans/new/")


def test_register_pages_open_for_a_supervisor_and_are_linked_from_manage(client):
    client.force_login(supervisor_of(department("住建局")))
    manage = client.get("/inspections/manage/").content.decode()
    for url in PAGES:
        assert client.get(url).status_code == 200
        assert f'href="{url}"' in manage


def test_register_pages_are_forbidden_to_a_bidder(client):
    client.force_login(factories.bidder())
    for url in PAGES:
        assert client.get(url).status_code == 403
        assert client.post(url, {}).status_code == 403


def test_matter_page_creates_a_matter_one_checklist_item_per_line(client):
    a = department("住建局")
    client.force_login(supervisor_of(a))
    resp = client.post("/inspections/manage/matters/", {
        "code": "ZJ-010", "name": "开标监督", "legal_basis": "条例第44条",
        "departments": [a.pk], "items": "开标时间是否准时\n\n  唱标是否完整 | bids read out\n"})
    assert resp.status_code == 302
    m = SupervisionMatter.objects.get(code="ZJ-010")
    assert [(i.number, i.text, i.text_en) for i in m.items.all()] == [
        (1, "开标时间是否准时", ""), (2, "唱标是否完整", "bids read out")]
    assert "ZJ-010" in client.get("/inspections/manage/matters/").content.decode()


def test_matter_page_shows_a_refusal_beside_the_field(client):
    a = department("住建局")
    matter([a], "ZJ-001")
    client.force_login(supervisor_of(a))
    resp = client.post("/inspections/manage/matters/", {
        "code": "ZJ-001", "name": "重复", "legal_basis": "x", "departments": [a.pk],
        "items": "一项"})
    assert resp.status_code == 200
    assert resp.context["matter_form"].errors["code"]
    assert 'class="error"' in resp.content.decode()


def test_inspector_page_registers_and_deactivates(client):
    a = department("住建局")
    person = supervisor_of(a)
    client.force_login(supervisor_of(a))
    resp = client.post("/inspections/manage/inspectors/",
                       {"username": person.username, "specialties": "水利"})
    assert resp.status_code == 302
    ins = Inspector.objects.get(user=person)
    resp = client.post("/inspections/manage/inspectors/",
                       {"inspector": ins.pk, "active": "0"})
    assert resp.status_code == 302
    ins.refresh_from_db()
    assert ins.active is False
    resp = client.post("/inspections/manage/inspectors/", {"username": "no-such-user"})
    assert resp.status_code == 200 and resp.context["form"].errors["username"]


def test_parties_page_syncs_and_adds(client):
    org = factories.bidder().organisation
    client.force_login(supervisor_of(department("住建局")))
    assert client.post("/inspections/manage/parties/", {"sync": "1"}).status_code == 302
    assert SupervisedParty.objects.filter(identifier=org.credit_code).exists()
    resp = client.post("/inspections/manage/parties/", {
        "kind": "expert", "name": "外省专家", "identifier": "EXT-1"})
    assert resp.status_code == 302
    assert SupervisedParty.objects.get(identifier="EXT-1").source == "manual"
    page = client.get("/inspections/manage/parties/").content.decode()
    assert "外省专家" in page and org.name in page


def test_plan_page_creates_a_plan(client):
    a, b, boss, ins, matters = setup_two_departments()
    client.force_login(boss)
    today = timezone.localdate()
    data = {"name": "联合抽查", "period_start": today - timedelta(days=10),
            "period_end": today + timedelta(days=10), "departments": [a.pk, b.pk],
            "matters": [m.pk for m in matters], "sample_ratio": "0.2",
            "inspectors_per_inspection": 2, "distinct_departments": "on",
            "statuses": ["awarded"], "categories": "", "regions": "",
            "date_basis": "published"}
    resp = client.post("/inspections/manage/plans/new/", data)
    assert resp.status_code == 302, resp.context and resp.context["form"].errors
    plan = InspectionPlan.objects.get(name="联合抽查")
    assert plan.sample_ratio == Decimal("0.2") and plan.sample_count is None
    assert plan.population["date"] == "published"
    assert set(plan.departments.all()) == {a, b}
    data.update(name="少人", inspectors_per_inspection=1)
    resp = client.post("/inspections/manage/plans/new/", data)
    assert resp.status_code == 200
    assert resp.context["form"].errors["inspectors_per_inspection"]
    assert not InspectionPlan.objects.filter(name="少人").exists()
