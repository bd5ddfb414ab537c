"""The announcement shows what a bidder needs to decide whether to bid."""

import pytest
from django.test import Client

from bidding.tenders import services
from bidding.tenders.services import CriterionInput
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def page():
    owner = factories.tenderer()
    org = owner.organisation
    org.address = "福州市鼓楼区五四路1号"
    org.save()
    criteria = [
        CriterionInput(stage="qualification", name="市政公用工程施工总承包二级以上资质",
                       name_en="Municipal works general contracting, grade 2 or above"),
        *factories.default_criteria(),
    ]
    tender = factories.published_tender(
        user=owner, criteria=criteria, tenderer_contact="林工", tenderer_phone="0591-88880000",
        tenderer_email="bid@example.cn", public_opening=True,
    )
    return tender, Client(HTTP_ACCEPT_LANGUAGE="en").get(f"/tenders/{tender.pk}/").text


def test_it_shows_the_tenderers_contact_details(page):
    tender, text = page
    for expected in (tender.tenderer.name, "福州市鼓楼区五四路1号", "林工", "0591-88880000",
                     "mailto:bid@example.cn"):
        assert expected in text


def test_it_shows_the_qualification_requirements(page):
    _tender, text = page
    assert "Qualification requirements" in text
    assert "Municipal works general contracting, grade 2 or above" in text


def test_it_shows_the_bond_and_its_refund_rules(page):
    _tender, text = page
    assert "100,000.00" in text and "Reg 57" in text


def test_it_shows_the_place_and_manner_of_opening(page):
    tender, text = page
    assert "不见面开标" in text and f"/tenders/{tender.pk}/opening/" in text
    assert "The public may watch." in text


def test_it_shows_each_documents_digest(page):
    tender, text = page
    assert tender.documents.get().sha256 in text


def test_a_draft_links_to_no_opening_hall():
    owner = factories.tenderer()
    tender = factories.draft_tender(user=owner)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(owner)
    assert f"/tenders/{tender.pk}/opening/" not in client.get(f"/tenders/{tender.pk}/").text


def test_the_contacts_are_saved_through_the_api_and_returned():
    owner = factories.tenderer()
    client = Client()
    client.force_login(owner)
    body = {
        "project_code": "FZ-1", "project_name": "P", "title": "T", "region": "350100",
        "category": "works_municipal", "estimate": "1000000", "max_price": "900000",
        "bond_amount": "10000", "docs_from": "2030-01-01T09:00:00+08:00",
        "docs_until": "2030-01-08T09:00:00+08:00", "deadline": "2030-02-01T09:00:00+08:00",
        "evaluation_method": "lowest_price", "price_formula": "lowest_full_marks",
        "award_method": "first_ranked", "agency_contact": "",
        "tenderer_contact": "王工", "tenderer_phone": "123", "tenderer_email": "a@b.cn",
    }
    r = client.post("/api/tenders/", body, content_type="application/json")
    assert r.status_code == 201, r.content
    assert r.json()["tenderer_contact"] == "王工" and r.json()["tenderer_email"] == "a@b.cn"
    r = client.post("/api/tenders/", {**body, "tenderer_email": "not-an-email"},
                    content_type="application/json")
    assert r.status_code == 400


def test_the_tender_form_offers_the_contact_fields():
    owner = factories.tenderer()
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(owner)
    text = client.get("/tenders/new/").text
    for name in ("tenderer_contact", "tenderer_phone", "tenderer_email", "agency_contact"):
        assert f'name="{name}"' in text
    assert services.ANNOUNCEMENT_FIELDS[0] == "tenderer_contact"
