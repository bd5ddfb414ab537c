"""The complaint pages and the REST API, and the operators' calendar editor."""

from datetime import date

import pytest
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from core import workdays
from core.models import CalendarYear
from supervision.complaints import services
from supervision.complaints.models import Complaint
from tests import factories
from tests.conftest import api_as
from tests.supervision.complaints.helpers import at, evidence_pdf, other_complaint

pytestmark = pytest.mark.django_db


def _client(user):
    c = Client()
    c.force_login(user)
    return c


def test_a_bidder_files_a_complaint_with_evidence_through_the_api():
    tender = factories.published_tender()
    bidder = factories.bidder()
    r = api_as(bidder).post("/api/complaints/", {
        "tender": tender.reference, "matter": "other", "text": "专家回避问题",
        "knew_on": timezone.localdate().isoformat(), "evidence": [evidence_pdf()]},
        format="multipart")
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["status"] == "received" and len(body["evidence"]) == 1
    assert body["accept_due"] == workdays.add_working_days(timezone.localdate(), 3).isoformat()


def test_the_api_refuses_a_complaint_without_the_objection_with_the_code_and_article():
    tender = factories.published_tender()
    r = api_as(factories.bidder()).post("/api/complaints/", {
        "tender": tender.reference, "matter": "documents", "text": "x",
        "knew_on": timezone.localdate().isoformat()}, format="multipart")
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"] == "objection_required" and "Reg 22" in err["message"]


def test_the_supervisor_acts_through_the_api_and_others_are_refused():
    supervisor = factories.supervisor()
    c = other_complaint(now=timezone.now())
    r = api_as(factories.bidder()).post(f"/api/complaints/{c.pk}/accept/")
    assert r.status_code == 404  # another bidder does not even see it
    r = api_as(c.filed_by).post(f"/api/complaints/{c.pk}/accept/")
    assert r.status_code == 403
    api = api_as(supervisor)
    assert api.post(f"/api/complaints/{c.pk}/accept/").json()["status"] == "accepted"
    assert api.post(f"/api/complaints/{c.pk}/pause/", {"reason": "testing"},
                    format="json").json()["paused"] is True
    assert api.post(f"/api/complaints/{c.pk}/unpause/").json()["paused"] is False
    r = api.post(f"/api/complaints/{c.pk}/suspend/", {"reason": "核查"}, format="json")
    assert r.json()["tender_status"] == "suspended"
    assert api.post(f"/api/complaints/{c.pk}/resume/").json()["tender_status"] == "published"
    r = api.post(f"/api/complaints/{c.pk}/decide/", {"outcome": "dismissed",
                                                     "decision": "缺乏依据"}, format="json")
    assert r.json()["status"] == "decided" and r.json()["letter_sha256"]
    r = api_as(c.filed_by).get(f"/api/complaints/{c.pk}/letter.pdf")
    assert r.status_code == 200 and b"".join(r.streaming_content).startswith(b"%PDF")


def test_the_api_refuses_an_unknown_action_and_an_empty_rejection():
    supervisor = factories.supervisor()
    c = other_complaint(now=timezone.now())
    assert api_as(supervisor).post(f"/api/complaints/{c.pk}/bribe/").status_code == 404
    r = api_as(supervisor).post(f"/api/complaints/{c.pk}/reject/", {"reason": ""},
                                format="json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "required"


def test_objections_to_documents_through_the_api():
    tender = factories.published_tender()
    bidder = factories.bidder()
    r = api_as(bidder).post("/api/objections/", {"tender": tender.reference, "text": "x"},
                            format="json")
    assert r.status_code == 201
    from accounts.models import User

    owner = User.objects.filter(organisation_id=tender.tenderer_id).first()
    r2 = api_as(owner).post(f"/api/objections/{r.json()['id']}/answer/", {"answer": "y"},
                            format="json")
    assert r2.status_code == 200 and r2.json()["answer"] == "y"


def test_the_supervisors_list_highlights_overdue_complaints():
    supervisor = factories.supervisor()
    late = other_complaint(now=at(2025, 9, 30), text="逾期的投诉")
    fresh = other_complaint(now=timezone.now(), text="新投诉")
    page = _client(supervisor).get("/complaints/").content.decode()
    assert page.count('class="overdue"') == 1
    row = page.split('class="overdue"')[1].split("</tr>")[0]
    assert late.tender.reference in row and fresh.tender.reference not in row
    assert 'id="overdue-count"' in page


def test_the_list_is_for_oversight_only():
    assert _client(factories.bidder()).get("/complaints/").status_code == 403


def test_filing_on_the_page_shows_the_refusal_beside_the_field():
    tender = factories.published_tender()
    bidder = factories.bidder()
    r = _client(bidder).post("/complaints/new/", {
        "tender": tender.reference, "matter": "opening", "text": "x",
        "knew_on": timezone.localdate().isoformat()})
    assert r.status_code == 400
    assert "Reg 44" in r.content.decode() and 'id="err-matter"' in r.content.decode()
    assert not Complaint.objects.exists()


def test_filing_on_the_page_with_evidence_and_hostile_text_shows_it_as_text():
    tender = factories.published_tender()
    bidder = factories.bidder()
    client = _client(bidder)
    r = client.post("/complaints/new/", {
        "tender": tender.reference, "matter": "other", "text": "<script>alert(1)</script>",
        "knew_on": timezone.localdate().isoformat(), "evidence": evidence_pdf()})
    assert r.status_code == 302
    c = Complaint.objects.get()
    page = client.get(r["Location"]).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    assert c.evidence.count() == 1
    assert client.get(f"/complaints/{c.pk}/evidence/{c.evidence.get().pk}/").status_code == 200
    assert tender.reference in client.get("/complaints/mine/").content.decode()


def test_the_operator_defines_an_unknown_year_on_the_calendar_page():
    operator = factories.operator()
    year = max(workdays.package_years()) + 1
    client = _client(operator)
    page = client.get(f"/complaints/calendar/{year}/").content.decode()
    assert 'id="define-form"' in page
    client.post(f"/complaints/calendar/{year}/", {"date": f"{year}-01-01",
                                                    "is_working_day": "0", "note": "元旦"})
    client.post(f"/complaints/calendar/{year}/", {"do": "define"})
    assert CalendarYear.objects.get(year=year).source == "operator"
    assert not workdays.is_working_day(date(year, 1, 1))
    assert AuditEvent.objects.filter(action="calendar.year_defined").exists()
    assert AuditEvent.objects.filter(action="calendar.day_set").exists()


def test_only_operators_edit_the_calendar():
    assert _client(factories.supervisor()).get("/complaints/calendar/").status_code == 403
    r = api_as(factories.supervisor()).post("/api/calendar/days/", {
        "date": "2031-01-01", "is_working_day": False}, format="json")
    assert r.status_code == 403


def test_the_calendar_api_sets_a_day_and_refuses_defining_a_year_twice():
    operator = factories.operator()
    api = api_as(operator)
    r = api.post("/api/calendar/days/", {"date": "2031-02-10", "is_working_day": False,
                                         "note": "春节"}, format="json")
    assert r.status_code == 201
    assert api.get("/api/calendar/2031/").json()["defined"] is False
    assert api.post("/api/calendar/2031/define/").status_code == 201
    r = api.post("/api/calendar/2031/define/")
    assert r.status_code == 400 and r.json()["error"]["code"] == "already_defined"
    assert api.delete("/api/calendar/days/2031-02-10/").status_code == 204
    assert api.delete("/api/calendar/days/2031-02-10/").json()["error"]["code"] == "not_found"


def test_a_deadline_reaching_an_undefined_year_is_reported_by_the_api():
    last = max(workdays.package_years())
    c = other_complaint(now=at(last, 12, 30))
    body = api_as(factories.supervisor()).get(f"/api/complaints/{c.pk}/").json()
    assert body["accept_due"] is None and body["calendar_gap"] == last + 1


def test_the_complaint_page_shows_the_supervisors_acts():
    supervisor = factories.supervisor()
    c = other_complaint(now=timezone.now())
    page = _client(supervisor).get(f"/complaints/{c.pk}/").content.decode()
    assert 'id="accept-form"' in page and 'id="suspend-form"' in page
    services.complaint_accept(user=supervisor, complaint=c)
    page = _client(supervisor).get(f"/complaints/{c.pk}/").content.decode()
    assert 'id="pause-form"' in page and 'id="decide-form"' in page
    assert 'id="accept-form"' not in _client(c.filed_by).get(
        f"/complaints/{c.pk}/").content.decode()
