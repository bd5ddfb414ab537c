"""The supervisor suspends and resumes a tender (Reg 62) from the API and the page."""

import pytest
from django.test import Client

from audit.models import AuditEvent
from bidding.tenders.models import Tender
from tests import factories

pytestmark = pytest.mark.django_db

S = Tender.Status


def as_user(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def post(client, tender, action, **body):
    return client.post(f"/api/tenders/{tender.pk}/{action}/", body,
                       content_type="application/json")


@pytest.fixture
def tender():
    return factories.published_tender()


def test_the_supervisor_suspends_and_resumes_where_the_tender_was(tender):
    client = as_user(factories.supervisor())
    r = post(client, tender, "suspend", reason="投诉处理中")
    assert r.status_code == 200 and r.json()["status"] == "suspended"
    r = post(client, tender, "resume")
    assert r.status_code == 200 and r.json()["status"] == "published"
    assert AuditEvent.objects.filter(action="tender.suspend").count() == 1
    assert AuditEvent.objects.filter(action="tender.resume").count() == 1


def test_suspending_without_a_reason_is_refused(tender):
    r = post(as_user(factories.supervisor()), tender, "suspend", reason="")
    assert r.status_code == 400 and r.json()["error"]["code"] == "reason_required"


@pytest.mark.parametrize("role", ["tenderer", "bidder", "operator"])
def test_only_the_supervisor_suspends(tender, role):
    user = getattr(factories, role)()
    assert post(as_user(user), tender, "suspend", reason="x").status_code == 403
    tender.refresh_from_db()
    assert tender.status == S.PUBLISHED


def test_only_the_supervisor_resumes(tender):
    post(as_user(factories.supervisor()), tender, "suspend", reason="x")
    assert post(as_user(factories.operator()), tender, "resume").status_code == 403


def test_resuming_a_tender_not_suspended_is_a_conflict(tender):
    assert post(as_user(factories.supervisor()), tender, "resume").status_code == 409


def test_suspending_twice_is_a_conflict(tender):
    client = as_user(factories.supervisor())
    post(client, tender, "suspend", reason="x")
    assert post(client, tender, "suspend", reason="y").status_code == 409


def test_a_cancelled_tender_cannot_be_suspended(tender):
    Tender.objects.filter(pk=tender.pk).update(status=S.CANCELLED)
    assert post(as_user(factories.supervisor()), tender, "suspend",
                reason="x").status_code == 409


def test_suspend_and_resume_buttons_are_for_the_supervisor_only(tender):
    url = f"/tenders/{tender.pk}/"
    page = as_user(factories.supervisor()).get(url).text
    assert 'id="suspend-form"' in page and f"/tenders/{tender.pk}/suspend/" in page
    assert 'name="csrfmiddlewaretoken"' in page
    for user in (factories.operator(), factories.bidder(), tender.created_by):
        assert 'id="suspend-form"' not in as_user(user).get(url).text
    assert 'id="suspend-form"' not in Client().get(url).text


def test_the_page_buttons_suspend_and_resume(tender):
    supervisor = as_user(factories.supervisor())
    r = supervisor.post(f"/tenders/{tender.pk}/suspend/", {"reason": "投诉处理中"})
    assert r.status_code == 302
    tender.refresh_from_db()
    assert tender.status == S.SUSPENDED
    page = supervisor.get(f"/tenders/{tender.pk}/").text
    assert 'id="resume-form"' in page and 'id="suspend-form"' not in page
    assert 'id="resume-form"' not in as_user(factories.operator()).get(
        f"/tenders/{tender.pk}/").text
    supervisor.post(f"/tenders/{tender.pk}/resume/", {})
    tender.refresh_from_db()
    assert tender.status == S.PUBLISHED


def test_a_page_suspend_without_reason_says_why(tender):
    supervisor = as_user(factories.supervisor())
    r = supervisor.post(f"/tenders/{tender.pk}/suspend/", {"reason": ""}, follow=True)
    assert "Give the reason for the suspension." in r.text
    tender.refresh_from_db()
    assert tender.status == S.PUBLISHED
