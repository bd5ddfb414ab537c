"""The award page: public publicity, objection and committee forms, own notice link."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client

from bidding.award import decision
from bidding.award.models import Objection, Opinion
from tests import factories
from tests.bidding.award.helpers import separate_tender

pytestmark = pytest.mark.django_db


def _client(user=None) -> Client:
    """A client reading the pages in English (the pages' default is Chinese)."""
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        c.force_login(user)
    return c


def test_publicity_page_is_public_and_escapes_names():
    tender, users, bids = factories.candidates_tender()
    org = bids[0].bidder
    org.name = "<script>alert(1)</script>公司"
    org.save()
    from bidding.award.models import Publicity
    Publicity.objects.filter(tender=tender).delete()
    from bidding.award.publicity import publicity_open
    publicity_open(tender=tender)
    r = _client().get(f"/award/{tender.pk}/")
    assert r.status_code == 200
    html = r.content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;公司" in html and "<script>alert(1)" not in html
    assert "9500000.00" in html


def test_a_bidder_objects_and_the_tenderer_answers_through_the_page():
    tender, users, bids = factories.candidates_tender()
    r = _client(users[1]).post(f"/award/{tender.pk}/objections/", {"text": "页面异议"})
    assert r.status_code == 302
    o = Objection.objects.get(tender=tender)
    assert "页面异议" in _client(tender.created_by).get(f"/award/{tender.pk}/").content.decode()
    # Another bidder does not see it; an outsider's objection is refused with a message.
    assert "页面异议" not in _client(users[0]).get(f"/award/{tender.pk}/").content.decode()
    r = _client(factories.bidder()).post(f"/award/{tender.pk}/objections/", {"text": "x"},
                                         follow=True)
    assert Objection.objects.count() == 1 and "Only a bidder" in r.content.decode()
    _client(tender.created_by).post(f"/award/{tender.pk}/objections/{o.public_id}/answer/",
                                    {"answer": "已答复"})
    o.refresh_from_db()
    assert o.answer == "已答复"


def test_members_record_opinions_and_the_chair_decides_on_the_page():
    tender, users, bids, members, now = separate_tender("deliberation")
    ids = [str(b.public_id) for b in bids]
    with time_machine.travel(now + timedelta(minutes=1), tick=False):
        page = _client(members[0]).get(f"/award/{tender.pk}/").content.decode()
        assert "Record opinion" in page and "Decide" in page
        assert "Record opinion" not in _client(users[0]).get(
            f"/award/{tender.pk}/").content.decode()
        for m in members:
            _client(m).post(f"/award/{tender.pk}/opinion/", {"text": "同意",
                                                              "preferred": ids[0]})
        assert Opinion.objects.filter(tender=tender).count() == 3
        _client(members[0]).post(f"/award/{tender.pk}/decide/", {"winner": ids[0],
                                                                 "reason": "一致同意"})
        decision.notices_issue(user=tender.created_by, tender=tender)
    page = _client(users[0]).get(f"/award/{tender.pk}/").content.decode()
    assert "Your award notice (PDF)" in page
    page = _client(users[1]).get(f"/award/{tender.pk}/").content.decode()
    assert "Your result notice (PDF)" in page


def test_the_tender_page_links_to_the_award_once_candidates_are_published():
    tender, users, bids = factories.candidates_tender()
    page = _client().get(f"/tenders/{tender.pk}/").content.decode()
    assert f"/award/{tender.pk}/" in page
