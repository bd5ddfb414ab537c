"""The pages: expert's own page, pool page with CSV import, draw page, gateway, PDF."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from expert_pool.models import Draw, Expert, ImportBatch
from tests import factories

from .conftest import expert_user, make_pool, request, run_beacon

pytestmark = pytest.mark.django_db


def client_for(user):
    """Signed in, asking for English (the tests read the pages' English texts)."""
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    c.force_login(user)
    return c


def test_an_expert_applies_and_the_operator_admits(operator):
    user = factories.expert()
    r = client_for(user).post("/experts/me/", {
        "action": "apply", "name": "林工", "title": "senior", "years_experience": "10",
        "region": "350102", "specialties": "A0201 D0101"}, follow=True)
    assert r.status_code == 200
    expert = Expert.objects.get(user=user)
    assert expert.status == Expert.Status.PENDING
    client_for(operator).post("/experts/pool/", {"action": "admit", "expert": expert.pk})
    expert.refresh_from_db()
    assert expert.status == Expert.Status.ACTIVE


def test_an_unqualified_application_is_refused_with_the_reason():
    user = factories.expert()
    r = client_for(user).post("/experts/me/", {
        "action": "apply", "name": "新人", "title": "intermediate", "years_experience": "3",
        "region": "350102", "specialties": "A0201"}, follow=True)
    assert "senior title" in r.content.decode()
    assert not Expert.objects.exists()


def test_csv_import_reports_each_bad_row_with_its_line(operator):
    csv = ("code,name,title,years_experience,region,specialties\n"
           "X1,张三,senior,10,350102,A0201\n"
           "X2,李四,intermediate,10,350102,A0201\n"
           "X3,王五,senior,ten,350102,A0201\n"
           "X4,赵六,senior,12,3501,ZZZ\n"
           "X1,重复,senior,10,350102,A0201\n")
    upload = SimpleUploadedFile("experts.csv", csv.encode("utf-8"), content_type="text/csv")
    r = client_for(operator).post("/experts/pool/", {"action": "import", "file": upload},
                                  follow=True)
    page = r.content.decode()
    batch = ImportBatch.objects.get()
    assert batch.finished and batch.total_rows == 5 and batch.imported_rows == 1
    assert [e["line"] for e in batch.errors] == [3, 4, 5, 6]
    assert "<progress" in page and "ZZZ" in page
    assert Expert.objects.filter(code="X1").count() == 1


def test_the_pool_page_is_for_the_trading_centre_only():
    for user in (factories.bidder(), factories.supervisor(), factories.expert()):
        assert client_for(user).get("/experts/pool/").status_code == 403


def test_the_operator_requests_a_draw_from_the_page(tender, operator):
    make_pool(5, specialties=("A0201",))
    make_pool(4, specialties=("D0101",))
    with time_machine.travel(tender.opening_time - timedelta(hours=24), tick=False):
        r = client_for(operator).post(f"/tenders/{tender.pk}/experts/", {
            "action": "request", "committee_size": "5", "tenderer_reps": "0", "backups": "1",
            "region_mode": "local", "specialty": ["A0201", "D01", ""],
            "count": ["3", "2", "0"]}, follow=True)
    assert r.status_code == 200
    draw = Draw.objects.get()
    assert draw.commitment in r.content.decode()


def test_the_draw_page_shows_the_refusal(tender, operator):
    make_pool(2, specialties=("A0201",))
    with time_machine.travel(tender.opening_time - timedelta(hours=24), tick=False):
        r = client_for(operator).post(f"/tenders/{tender.pk}/experts/", {
            "action": "request", "committee_size": "5", "backups": "0",
            "specialty": ["A0201", "D01"], "count": ["3", "2"]}, follow=True)
    assert "A0201" in r.content.decode() and "missing" in r.content.decode()
    assert not Draw.objects.exists()


def test_the_supervisor_verifies_on_the_page_and_sees_no_names(tender, operator):
    people = [expert_user(specialties=("A0201",)) for _ in range(3)]
    make_pool(2, specialties=("D0101",))
    draw = run_beacon(request(tender, operator, backups=0))
    page = client_for(factories.supervisor()).get(
        f"/tenders/{tender.pk}/experts/?verify=1").content.decode()
    assert "OK" in page
    for expert, _user in people:
        assert expert.name not in page
    op_page = client_for(operator).get(f"/tenders/{tender.pk}/experts/").content.decode()
    assert all(e.name not in op_page for e, _u in people)
    assert draw.commitment in op_page


def test_bidders_and_tenderers_cannot_open_the_draw_page(tender):
    for user in (factories.bidder(), tender.created_by):
        assert client_for(user).get(f"/tenders/{tender.pk}/experts/").status_code == 403


def test_the_drawn_expert_confirms_on_their_page(tender, operator):
    people = [expert_user(specialties=("A0201",)) for _ in range(3)]
    make_pool(2, specialties=("D0101",))
    draw = run_beacon(request(tender, operator, backups=0))
    expert, user = people[0]
    c = client_for(user)
    assert tender.reference in c.get("/experts/me/").content.decode()
    seat = draw.members.get(expert=expert)
    c.post(f"/experts/seats/{seat.pk}/", {"action": "confirm"})
    seat.refresh_from_db()
    assert seat.status == "confirmed"
    other = client_for(factories.expert())
    assert other.post(f"/experts/seats/{seat.pk}/", {"action": "decline"}).status_code == 404


def test_the_gateway_page_is_for_administrators_only(operator):
    assert client_for(operator).get("/experts/gateway/").status_code == 403
    admin = factories.operator(is_superuser=True)
    assert client_for(admin).get("/experts/gateway/").status_code == 200


def test_the_gateway_page_presses_a_key_on_an_automatic_call(tender, operator, settings,
                                                             django_capture_on_commit_callbacks):
    from expert_pool.models import GatewayMessage

    settings.EXPERT_NOTIFY_CHANNELS = ["sms", "voice"]
    make_pool(3, specialties=("A0201",))
    make_pool(2, specialties=("D0101",))
    with django_capture_on_commit_callbacks(execute=True):
        draw = run_beacon(request(tender, operator, backups=0))
    call = GatewayMessage.objects.filter(channel="voice").first()
    admin = factories.operator(is_superuser=True)
    page = client_for(admin).get("/experts/gateway/").content.decode()
    assert "Press 1" in page
    client_for(admin).post("/experts/gateway/", {"message": call.pk, "key": "1"})
    assert draw.members.get(expert=call.expert).status == "confirmed"


def test_the_draw_record_pdf_is_signed_and_names_nobody(tender, operator):
    make_pool(3, specialties=("A0201",))
    make_pool(2, specialties=("D0101",))
    draw = run_beacon(request(tender, operator, backups=0))
    r = client_for(factories.supervisor()).get(f"/experts/draws/{draw.pk}/record.pdf")
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert b"/ByteRange" in r.content
    assert client_for(factories.bidder()).get(
        f"/experts/draws/{draw.pk}/record.pdf").status_code == 404


def test_the_tender_page_links_the_draw_for_the_operator(tender, operator):
    page = client_for(operator).get(f"/tenders/{tender.pk}/").content.decode()
    assert f"/tenders/{tender.pk}/experts/" in page
    bidder_page = client_for(factories.bidder()).get(f"/tenders/{tender.pk}/").content.decode()
    assert f"/tenders/{tender.pk}/experts/" not in bidder_page


def test_markup_in_a_tender_title_is_printed_literally_in_the_record(operator):
    tender = factories.published_tender(title="道路<b>工程</b> & <img src='/etc/passwd'/>")
    make_pool(3, specialties=("A0201",))
    make_pool(2, specialties=("D0101",))
    draw = run_beacon(request(tender, operator, backups=0))
    from expert_pool.pdf.record import draw_record_pdf

    pdf = draw_record_pdf(draw)
    assert pdf.startswith(b"%PDF") and b"/etc/passwd" not in pdf.split(b"stream")[0]


def test_the_navigation_links_experts_and_operators_to_their_pages(operator):
    assert "/experts/me/" in client_for(factories.expert()).get("/").content.decode()
    assert "/experts/pool/" in client_for(operator).get("/").content.decode()
    assert "/experts/pool/" not in client_for(factories.bidder()).get("/").content.decode()
