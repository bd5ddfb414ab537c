"""The tender page states the evaluation criteria (Reg 49) and, for 暗标 tenders, how to
package a bid so that its technical part can be evaluated anonymously."""

import pytest
from django.test import Client

from tests import factories

pytestmark = pytest.mark.django_db


def _page(tender) -> str:
    return Client().get(f"/tenders/{tender.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_the_tender_page_lists_every_declared_criterion_and_the_price_score():
    tender = factories.published_tender()
    html = _page(tender)
    assert "Evaluation criteria" in html
    for criterion in tender.criteria.all():
        assert criterion.name_en in html
    assert "pass / fail" in html and ">30<" in html  # the price score's full marks


def test_only_an_anonymous_tender_tells_bidders_how_to_package_the_technical_part():
    assert 'id="anonymous-technical"' not in _page(factories.published_tender())
    html = _page(factories.published_tender(anonymous_technical=True))
    assert 'id="anonymous-technical"' in html and "technical/" in html
