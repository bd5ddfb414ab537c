"""Pages: what each role sees, the forms' errors, and the refusals."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from bidding.tenders import services
from bidding.tenders.models import Tender
from tests import factories

pytestmark = pytest.mark.django_db


def client_as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_tender_list_is_public_and_searchable():
    factories.published_tender(title="凤坂路道路改造工程")
    factories.published_tender(title="智慧教室设备采购")
    r = Client().get("/", {"q": "凤坂路"})
    assert r.status_code == 200
    assert "凤坂路道路改造工程" in r.text and "智慧教室设备采购" not in r.text


def test_the_list_paginates():
    for i in range(17):
        factories.published_tender(title=f"分页测试{i:02d}")
    first = Client().get("/").text
    second = Client().get("/", {"page": 2}).text
    assert first.count("分页测试") == 15 and second.count("分页测试") == 2


def test_the_announcement_shows_documents_with_digests_and_amendments():
    user = factories.tenderer()
    tender = factories.published_tender(user=user)
    services.amendment_publish(user=user, tender=tender, text="补遗第一号内容")
    r = Client().get(f"/tenders/{tender.pk}/")
    assert r.status_code == 200
    assert tender.documents.get().sha256 in r.text
    assert "补遗第一号内容" in r.text


def test_the_page_says_when_an_amendment_moved_the_deadline():
    import time_machine

    with time_machine.travel(timezone.now(), tick=False):
        user = factories.tenderer()
        tender = factories.published_tender(user=user)
    with time_machine.travel(tender.deadline - timedelta(days=2), tick=False):
        services.amendment_publish(user=user, tender=tender, text="迟到的补遗")
    r = Client(HTTP_ACCEPT_LANGUAGE="en").get(f"/tenders/{tender.pk}/")
    assert "Law 23, Reg 21" in r.text


def test_a_draft_page_is_404_for_others():
    tender = factories.draft_tender()
    assert Client().get(f"/tenders/{tender.pk}/").status_code == 404
    assert client_as(factories.tenderer()).get(f"/tenders/{tender.pk}/").status_code == 404
    assert client_as(tender.created_by).get(f"/tenders/{tender.pk}/").status_code == 200


def test_an_unknown_tender_page_is_404():
    assert Client().get("/tenders/424242/").status_code == 404
    assert Client().get("/tenders/not-a-tender/").status_code == 404


def test_a_tenderer_creates_a_draft_through_the_form():
    user = factories.tenderer()
    now = timezone.localtime()
    fmt = "%Y-%m-%dT%H:%M"
    r = client_as(user).post("/tenders/new/", {
        "project_code": "P-1", "project_name": "表单项目", "title": "表单测试工程",
        "procedure_type": "open", "region": "350100", "category": "works_building",
        "estimate": "1000000", "max_price": "990000", "bond_amount": "20000",
        "docs_from": now.strftime(fmt), "docs_until": (now + timedelta(days=6)).strftime(fmt),
        "deadline": (now + timedelta(days=21)).strftime(fmt), "evaluation_method": "comprehensive",
        "price_formula": "benchmark_deviation", "award_method": "first_ranked",
        "lots_text": "一标段 | 600000\n二标段",
    })
    assert r.status_code == 302, [ln for ln in r.text.splitlines() if "error" in ln]
    tender = Tender.objects.get()
    assert [lot.name for lot in tender.lots.all()] == ["一标段", "二标段"]


def test_the_form_shows_the_bond_rule_beside_the_field():
    user = factories.tenderer()
    now = timezone.localtime()
    fmt = "%Y-%m-%dT%H:%M"
    r = client_as(user).post("/tenders/new/", {
        "project_code": "P-1", "project_name": "表单项目", "title": "表单测试工程",
        "procedure_type": "open", "region": "350100", "category": "works_building",
        "estimate": "1000000", "max_price": "990000", "bond_amount": "20001",
        "docs_from": now.strftime(fmt), "docs_until": (now + timedelta(days=6)).strftime(fmt),
        "deadline": (now + timedelta(days=21)).strftime(fmt), "evaluation_method": "comprehensive",
        "price_formula": "benchmark_deviation", "award_method": "first_ranked",
    }, HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 200
    assert "at most 20,000.00 yuan" in r.text
    assert not Tender.objects.exists()


def test_bidders_cannot_open_the_tender_form():
    assert client_as(factories.bidder()).get("/tenders/new/").status_code == 403


def test_publishing_too_soon_shows_the_reason_on_the_page():
    user = factories.tenderer()
    tender = factories.draft_tender(user=user, deadline=timezone.now() + timedelta(days=10),
                                    docs_until=timezone.now() + timedelta(days=6))
    client = client_as(user)
    r = client.post(f"/tenders/{tender.pk}/publish/", {"confirm": "yes"}, follow=True,
                    HTTP_ACCEPT_LANGUAGE="en")
    assert "at least 20 days" in r.text
    tender.refresh_from_db()
    assert tender.status == "draft"


def test_registration_page_shows_an_invalid_credit_code_error():
    r = Client().post("/accounts/register/", {
        "name": "某公司", "credit_code": "91350100M000100Y44", "kind": "bidder",
        "username": "newco", "password": "a-long-enough-password"}, HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 200
    assert "Invalid unified social credit code" in r.text


def test_the_register_page_is_confidential():
    owner = factories.tenderer()
    tender = factories.published_tender(user=owner)
    bidder = factories.bidder()
    services.document_obtain(user=bidder, tender=tender)
    url = f"/tenders/{tender.pk}/register/"
    assert bidder.organisation.name in client_as(owner).get(url).text
    assert client_as(factories.supervisor()).get(url).status_code == 200
    assert client_as(bidder).get(url).status_code == 403
    assert Client().get(url).status_code == 302  # to sign in


def test_the_public_page_never_shows_who_obtained_or_asked():
    owner = factories.tenderer()
    tender = factories.published_tender(user=owner)
    bidder = factories.bidder()
    services.document_obtain(user=bidder, tender=tender)
    q = services.clarification_ask(user=bidder, tender=tender, question="问题甲")
    services.clarification_answer(user=owner, tender=tender, clarification=q, answer="回答乙")
    for viewer in (Client(), client_as(factories.bidder()), client_as(owner)):
        text = viewer.get(f"/tenders/{tender.pk}/").text
        assert "回答乙" in text
        assert bidder.organisation.name not in text and bidder.username not in text


def test_the_interface_switches_between_chinese_and_english():
    factories.published_tender()
    zh = Client(HTTP_ACCEPT_LANGUAGE="zh-hans").get("/").text
    en = Client(HTTP_ACCEPT_LANGUAGE="en").get("/").text
    assert "招标公告" in zh and "Tender announcements" in en


def test_the_audit_page_is_for_oversight_roles():
    factories.published_tender()
    r = client_as(factories.supervisor()).get("/supervision/audit/", {"verify": 1},
                                              HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 200 and "OK: the audit chain is intact" in r.text
    assert client_as(factories.bidder()).get("/supervision/audit/").status_code == 403


def test_pages_reference_no_external_assets():
    tender = factories.published_tender()
    for path in ("/", f"/tenders/{tender.pk}/", "/accounts/login/", "/api/docs/"):
        text = Client().get(path).text
        for marker in ("https://", "http://cdn", "//cdn.", "googleapis", "jsdelivr", "unpkg"):
            assert marker not in text.replace("https://www.w3.org", ""), (path, marker)


def test_the_tender_page_offers_each_stages_link_to_whom_it_concerns():
    """The bid page and the hall come from their own stages (tenders.pages registry)."""
    from bidding.tenders import services as tender_services

    tender = factories.published_tender(public_opening=False)
    bidder = factories.bidder_with_key()
    client = Client()
    client.force_login(bidder)
    page = client.get(f"/tenders/{tender.pk}/").content.decode()
    assert f"/tenders/{tender.pk}/bid/" not in page
    assert f"/tenders/{tender.pk}/opening/" not in page
    tender_services.document_obtain(user=bidder, tender=tender)
    page = client.get(f"/tenders/{tender.pk}/").content.decode()
    assert f'class="btn btn-accent" href="/tenders/{tender.pk}/bid/"' in page
    # The hall (not public here) lets in bidders with a bid: no link before that.
    assert f"/tenders/{tender.pk}/opening/" not in page
    factories.submit_bid(tender, bidder)
    page = client.get(f"/tenders/{tender.pk}/").content.decode()
    assert f'href="/tenders/{tender.pk}/opening/"' in page
    assert client.get(f"/tenders/{tender.pk}/opening/").status_code == 200
    anonymous = Client().get(f"/tenders/{tender.pk}/").content.decode()
    assert "/bid/" not in anonymous and "/opening/" not in anonymous


def test_publishing_without_the_confirmation_is_refused_and_the_draft_stays():
    user = factories.tenderer()
    tender = factories.draft_tender(user=user)
    client = client_as(user)
    page = client.get(f"/tenders/{tender.pk}/", HTTP_ACCEPT_LANGUAGE="en").text
    assert 'name="confirm"' in page and "publishing cannot be undone" in page
    r = client.post(f"/tenders/{tender.pk}/publish/", follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert "Not published: tick the box" in r.text
    tender.refresh_from_db()
    assert tender.status == "draft" and tender.published_at is None


def test_publishing_with_the_confirmation_publishes():
    user = factories.tenderer()
    tender = factories.draft_tender(user=user)
    r = client_as(user).post(f"/tenders/{tender.pk}/publish/", {"confirm": "yes"}, follow=True,
                             HTTP_ACCEPT_LANGUAGE="en")
    assert "The tender is published" in r.text
    tender.refresh_from_db()
    assert tender.status == "published"


def test_a_draft_tender_page_offers_no_opening_hall():
    user = factories.tenderer()
    tender = factories.draft_tender(user=user)
    page = client_as(user).get(f"/tenders/{tender.pk}/", HTTP_ACCEPT_LANGUAGE="en").text
    assert f"/tenders/{tender.pk}/opening/" not in page and "Online opening hall" not in page


def test_a_published_tender_page_links_its_opening_hall_for_its_host():
    user = factories.tenderer()
    tender = factories.published_tender(user=user)
    page = client_as(user).get(f"/tenders/{tender.pk}/", HTTP_ACCEPT_LANGUAGE="en").text
    assert "Online opening hall" in page
    assert client_as(user).get(f"/tenders/{tender.pk}/opening/").status_code == 200


def test_a_bidder_without_a_bid_gets_no_hall_link_where_the_hall_would_refuse_it():
    tender = factories.published_tender(public_opening=False)
    bidder = factories.bidder()
    services.document_obtain(user=bidder, tender=tender)
    client = client_as(bidder)
    page = client.get(f"/tenders/{tender.pk}/", HTTP_ACCEPT_LANGUAGE="en").text
    assert "Online opening hall" not in page
    assert client.get(f"/tenders/{tender.pk}/opening/").status_code == 404
