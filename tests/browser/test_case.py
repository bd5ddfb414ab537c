"""A case in a real browser (Chinese), from a flag to a penalty decision: the supervisor
opens the case on a flagged tender, attaches the flag as evidence, records an interview,
confirms the findings and issues the decision; the signed letter prints hostile markup in
the reasons literally (pdftotext) and the bidder is debarred."""

import subprocess

import pytest
from django.utils import timezone

from supervision.models import Case, Flag, RiskScore, Sanction
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _login(page, base, user):
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", factories.PASSWORD)
    page.click("button[type=submit].btn")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def test_a_case_from_a_flag_to_a_penalty_decision(browser, asgi_live_server, tmp_path):
    bidder = factories.bidder()
    org = bidder.organisation
    RiskScore.objects.create(tender_id=41, tender_reference="T-41", tender_title="供水工程",
                             score=0.9, computed_at=timezone.now())
    flag = Flag.objects.create(kind=Flag.Kind.SCREEN, screen="cv", severity="high",
                               tender_id=41, tender_reference="T-41", subjects=[org.credit_code],
                               evidence={"cv": 0.004}, explanation_zh="报价过于接近",
                               explanation_en="prices too close", raised_at=timezone.now())
    supervisor = factories.supervisor()
    base = asgi_live_server.url
    ctx = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    _login(page, base, supervisor)

    page.goto(f"{base}/supervision/flags/41/")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.fill("#note", "报价离散度异常")
    page.click("#open-case")
    page.click("#case-link")
    page.wait_for_selector("#case-facts")
    case = Case.objects.get()
    assert case.subjects[0]["code"] == org.credit_code

    page.select_option("#evidence-kind", "flag")
    page.fill("#evidence-record", str(flag.pk))
    page.click("#evidence form button[type=submit]")
    page.wait_for_selector("#evidence tbody td details")
    page.select_option("#step-kind", "interview")
    page.fill("#step-text", "询问投标人项目经理")
    page.click("#steps form button[type=submit]")
    page.wait_for_selector("#steps tbody td:has-text('询问投标人项目经理')")
    page.check("#findings input[value=confirmed]")
    page.fill("#findings-reasons", "三家投标文件由同一人编制")
    page.click("#findings form button[type=submit]")
    page.wait_for_selector("#issue-decision")

    hostile = '<img src="/etc/passwd"/> <b>串通</b> & "引号"'
    page.fill("#legal-basis", "《招标投标法实施条例》第六十七条")
    page.fill("#decision-reasons-input", hostile)
    page.select_option("#s0-subject", org.credit_code)
    page.select_option("#s0-kind", "debarment")
    page.fill("#s0-months", "12")
    page.select_option("#s1-subject", org.credit_code)
    page.select_option("#s1-kind", "fine")
    page.fill("#s1-amount", "80000")
    page.click("#issue-decision")
    page.wait_for_selector("#decision-pdf")
    assert page.inner_text("#decision-reasons").strip() == hostile
    page.screenshot(path="/tmp/case-zh.png", full_page=True)

    href = page.locator("#decision-pdf").get_attribute("href")
    assert href == f"/supervision/cases/{case.pk}/decision.pdf"
    pdf = page.request.get(f"{base}{href}")
    assert pdf.headers["content-type"] == "application/pdf"
    path = tmp_path / "decision.pdf"
    path.write_bytes(pdf.body())
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert hostile in text and "80,000.00" in text and "行政处罚决定书" in text
    assert {s.kind for s in Sanction.objects.all()} == {"debarment", "fine"}
    assert errors == []
    ctx.close()
