"""A tenderer publishes a tender in the browser; an anonymous visitor finds it by
search in Chinese and in English."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bidding.tenders.models import Tender
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_tenderer_publishes_and_visitor_finds_it_in_both_languages(browser, live_server, tmp_path):
    factories.ensure_custodians()
    factories.tenderer(username="wangfang")
    base = live_server.url

    page = browser.new_page(locale="zh-CN")
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", "wangfang")
    page.fill("#id_password", factories.PASSWORD)
    page.click("button[type=submit].btn")
    page.goto(f"{base}/tenders/new/")
    now = timezone.localtime()
    fmt = "%Y-%m-%dT%H:%M"
    page.fill("#id_project_code", "FZ-E2E-01")
    page.fill("#id_project_name", "浏览器测试项目")
    page.fill("#id_title", "马尾区滨江步道景观提升工程")
    page.fill("#id_title_en", "Mawei Riverside Promenade Landscaping")
    page.select_option("#id_region", "350105")
    page.select_option("#id_category", "works_municipal")
    page.fill("#id_estimate", "8000000")
    page.fill("#id_max_price", "7900000")
    page.fill("#id_bond_amount", "80000")
    page.fill("#id_docs_from", now.strftime(fmt))
    page.fill("#id_docs_until", (now + timedelta(days=7)).strftime(fmt))
    page.fill("#id_deadline", (now + timedelta(days=25)).strftime(fmt))
    page.select_option("#id_evaluation_method", "comprehensive")
    page.select_option("#id_price_formula", "benchmark_deviation")
    # Publication needs the declared criteria and, for comprehensive scoring, the price
    # score's full marks (Reg 49).
    page.fill("#id_price_full_score", "30")
    page.fill("#id_price_k_above", "1.2")
    page.fill("#id_price_k_below", "0.8")
    page.fill("#id_criteria_text", "资格 | 营业执照\n技术 | 施工组织设计 | 40 | Construction plan\n"
              "商务 | 类似业绩 | 30 | Similar projects")
    page.select_option("#id_award_method", "first_ranked")
    page.click("button:has-text('保存草稿')")
    page.wait_for_url(lambda url: "/tenders/new/" not in url)
    doc = tmp_path / "招标文件.pdf"
    doc.write_bytes(b"%PDF-1.4 e2e tender document\n%%EOF\n")
    page.set_input_files("#id_file", str(doc))
    page.click("button:has-text('上传')")
    page.wait_for_selector(".msg-success")
    page.check("input[name=confirm]")  # publishing asks for an explicit "I understand"
    page.click("button:has-text('发布')")
    page.wait_for_selector(".badge-published")
    tender = Tender.objects.get(project_code="FZ-E2E-01")
    assert tender.status == "published"
    assert tender.price_formula_params == {"full_score": "30", "k_above": "1.2",
                                           "k_below": "0.8"}
    assert [c.stage for c in tender.criteria.all()] == ["qualification", "technical",
                                                       "commercial"]

    visitor = browser.new_context(locale="zh-CN").new_page()
    visitor.goto(base + "/")
    visitor.fill("#id_q", "滨江步道")
    visitor.click("button[type=submit]:has-text('搜索')")
    visitor.wait_for_selector(f"text={tender.title}")
    assert visitor.locator("tbody tr").count() == 1

    visitor.click("button.lang[value=en]")
    visitor.wait_for_selector("text=Tender announcements")
    visitor.fill("#id_q", "Riverside Promenade")
    visitor.click("button[type=submit]:has-text('Search')")
    visitor.wait_for_selector("text=Mawei Riverside Promenade Landscaping")
    assert visitor.locator("tbody tr").count() == 1
    visitor.click("text=Mawei Riverside Promenade Landscaping")
    visitor.wait_for_selector(f"text={tender.documents.get().sha256}")
