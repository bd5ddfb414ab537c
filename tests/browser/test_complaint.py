"""A complaint in a real browser, from filing to decision: a bidder whose objection to
the tender documents was answered files a complaint with evidence (Chinese, phone
width); the supervisor accepts it, pauses the clock for expert review, suspends and
resumes the tender, and decides; the bidder downloads the signed decision letter."""

import pytest
from django.utils import timezone

from accounts.models import User
from bidding.tenders.models import Tender
from supervision.complaints import services
from supervision.complaints.models import Complaint
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _login(page, base, user):
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", factories.PASSWORD)
    page.click("button[type=submit].btn")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def test_a_complaint_from_filing_to_decision(browser, asgi_live_server, tmp_path):
    tender = factories.published_tender(title="城区供水管网改造工程")
    bidder = factories.bidder()
    owner = User.objects.filter(organisation_id=tender.tenderer_id).first()
    objection = services.objection_raise(user=bidder, tender=tender, text="资格条件排斥本地企业")
    services.objection_answer(user=owner, objection=objection, answer="资格条件符合规定")
    supervisor = factories.supervisor()
    # Thirty working days may reach next year: an operator has defined it if the
    # chinesecalendar package does not know it yet.
    from core import workdays

    next_year = timezone.localdate().year + 1
    if next_year not in workdays.package_years():
        workdays.define_year(year=next_year, user=factories.operator())
    evidence = tmp_path / "证据.pdf"
    evidence.write_bytes(b"%PDF-1.4\n% evidence\n%%EOF\n")
    base = asgi_live_server.url

    # The bidder files at phone width, in Chinese.
    bctx = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    bpage = bctx.new_page()
    errors = []
    bpage.on("pageerror", lambda e: errors.append(str(e)))
    _login(bpage, base, bidder)
    bpage.goto(f"{base}/complaints/new/?tender={tender.reference}")
    assert bpage.locator("html").get_attribute("lang") == "zh-CN"
    bpage.select_option("#id_matter", "documents")
    bpage.fill("#id_knew_on", timezone.localdate().isoformat())
    bpage.fill("#id_text", '答复不能接受 <b>粗</b> & "引号"')
    bpage.fill("#id_requests", "责令修改招标文件")
    bpage.set_input_files("#id_evidence", str(evidence))
    bpage.click("#complaint-form button[type=submit]")
    bpage.wait_for_selector("#complaint-facts")
    c = Complaint.objects.get()
    assert c.document_objection_id == objection.pk
    assert bpage.locator("#complaint-text").inner_text() == '答复不能接受 <b>粗</b> & "引号"'
    assert bpage.locator("#complaint-text b").count() == 0
    assert bpage.locator("#evidence li").count() == 1
    assert bpage.evaluate("document.documentElement.scrollWidth") <= 390

    # The supervisor handles it.
    sctx = browser.new_context(locale="zh-CN")
    spage = sctx.new_page()
    spage.on("pageerror", lambda e: errors.append(str(e)))
    _login(spage, base, supervisor)
    spage.goto(f"{base}/complaints/")
    row = spage.locator("#complaint-queue tbody tr").first
    assert tender.reference in row.inner_text()
    row.locator("a").first.click()
    spage.wait_for_selector("#accept-form")
    spage.click("#accept-form button")
    spage.wait_for_selector("#pause-form")
    c.refresh_from_db()
    assert c.status == "accepted" and c.decide_due is not None
    spage.select_option("#id_pause_reason", "expert_review")
    spage.fill("#id_pause_note", "请专家复核")
    spage.click("#pause-form button")
    spage.wait_for_selector("#unpause-form")
    assert c.pauses.filter(ended_at__isnull=True).exists()
    spage.click("#unpause-form button")
    spage.wait_for_selector("#decide-form")
    spage.fill("#id_suspend_reason", "调查期间暂停")
    spage.click("#suspend-form button")
    spage.wait_for_selector("#resume-form")
    tender.refresh_from_db()
    assert tender.status == Tender.Status.SUSPENDED
    spage.click("#resume-form button")
    spage.wait_for_selector("#suspend-form")
    tender.refresh_from_db()
    assert tender.status == Tender.Status.PUBLISHED
    spage.select_option("#id_outcome", "upheld")
    spage.fill("#id_decision", "责令招标人修改资格条件 <i>x</i>")
    spage.screenshot(path="/tmp/complaint-zh-handling.png", full_page=True)
    spage.click("#decide-form button")
    spage.wait_for_selector("#letter-link")
    assert "<i>x</i>" in spage.locator("#decision-text").inner_text()
    spage.screenshot(path="/tmp/complaint-zh.png", full_page=True)

    # The complainant sees the decision and downloads the signed letter.
    bpage.reload()
    bpage.wait_for_selector("#letter-link")
    response = bpage.request.get(base + bpage.locator("#letter-link").get_attribute("href"))
    assert response.status == 200 and response.body().startswith(b"%PDF")
    assert bpage.evaluate("document.documentElement.scrollWidth") <= 390
    c.refresh_from_db()
    assert c.status == "decided" and c.outcome == "upheld"
    assert errors == []
