"""The bid page covers the whole submission: the checklist of what is done and what is
missing, the bid bond step (recorded once, before the deadline, by a bidder only), and
the data the page's script needs to warn before a new key orphans a sealed bid."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from bidding.bids.models import BidBond
from bidding.tenders import services
from bidding.tenders.models import Tender
from core import timefmt
from tests import factories

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def url(tender) -> str:
    return f"/tenders/{tender.pk}/bid/"


def bond_post(client, tender, **changes):
    data = {"amount": "100000.00", "kind": "transfer", "payer_account": "6222 0000 1111",
            "payer_name": "某某建设有限公司", "reference": "TR-2026-001"} | changes
    return client.post(url(tender) + "bond/", data)


def checklist(html: str) -> dict[str, str]:
    """{item key: state} as the page shows it."""
    return dict(re.findall(r'id="check-(\w+)" data-state="(\w+)"', html))


def test_a_fresh_bidder_sees_what_is_missing_before_the_deadline(tender):
    user = factories.bidder()  # no documents, no key
    html = client_for(user).get(url(tender)).content.decode()
    assert checklist(html) == {"documents": "missing", "key": "missing", "price_sheet": "missing",
                               "bid": "missing", "receipt": "missing", "bond": "missing"}
    assert "6 items still missing before the deadline." in html
    assert f'href="/tenders/{tender.pk}/"' in html  # obtain the documents there


def test_the_checklist_ticks_each_step_done(tender, bidder):
    factories.submit_bid(tender, bidder)
    client = client_for(bidder)
    assert checklist(client.get(url(tender)).content.decode())["bond"] == "missing"
    assert bond_post(client, tender).status_code == 302
    html = client.get(url(tender)).content.decode()
    assert set(checklist(html).values()) == {"done"}
    assert "Everything is done." in html
    assert "Recorded: Held" in html and "TR-2026-001" in html


def test_a_tender_without_a_bond_says_none_is_needed(bidder):
    tender = factories.published_tender(bond_amount=Decimal("0"))
    services.document_obtain(user=bidder, tender=tender)
    html = client_for(bidder).get(url(tender)).content.decode()
    assert checklist(html)["bond"] == "not_needed"
    assert "This tender requires no bid bond." in html and 'id="bond-form"' not in html


def test_the_bond_is_recorded_from_the_page_with_its_status(tender, bidder):
    client = client_for(bidder)
    html = client.get(url(tender)).content.decode()
    assert 'id="bond-form"' in html and 'name="reference"' in html
    r = bond_post(client, tender)
    assert r.status_code == 302 and r["Location"].endswith("#step-bond")
    bond = BidBond.objects.get(tender=tender, bidder=bidder.organisation)
    assert bond.amount == Decimal("100000.00") and bond.reference == "TR-2026-001"
    assert bond.payer_account == "622200001111"
    html = client.get(url(tender)).content.decode()
    assert "Your bond is recorded. Status: Held." in html and 'id="bond-form"' not in html
    # Not the organisation's basic account: flagged, as the API does (Reg 26).
    assert "not paid from your organisation's basic account" in html


def test_recording_the_bond_twice_is_refused(tender, bidder):
    client = client_for(bidder)
    bond_post(client, tender)
    r = bond_post(client, tender, amount="200000.00")
    assert r.status_code == 400
    assert "Your bond for this tender is already recorded." in r.content.decode()
    assert BidBond.objects.get(tender=tender).amount == Decimal("100000.00")


def test_a_bond_short_of_the_tender_amount_is_refused_next_to_the_field(tender, bidder):
    r = bond_post(client_for(bidder), tender, amount="99999.99")
    assert r.status_code == 400
    html = r.content.decode()
    assert "The bond required is 100,000.00 yuan." in html and "has-error" in html
    assert not BidBond.objects.exists()


def test_a_bond_form_with_bad_input_is_refused(tender, bidder):
    r = bond_post(client_for(bidder), tender, amount="lots", kind="cash", payer_account="")
    assert r.status_code == 400
    assert r.content.decode().count('class="error"') >= 3
    assert not BidBond.objects.exists()


def test_recording_the_bond_after_the_deadline_is_refused(tender, bidder):
    Tender.objects.filter(pk=tender.pk).update(deadline=timezone.now() - timedelta(minutes=1))
    r = bond_post(client_for(bidder), tender)
    assert r.status_code == 400
    assert "The bid deadline has passed" in r.content.decode()
    assert not BidBond.objects.exists()


def test_only_a_bidder_records_a_bond(tender):
    for user in (factories.tenderer(), factories.operator(), factories.supervisor()):
        r = bond_post(client_for(user), tender)
        assert r.status_code == 403
    assert not BidBond.objects.exists()


def test_recording_a_bond_needs_a_sign_in_and_a_post(tender, bidder):
    r = Client().post(url(tender) + "bond/", {"amount": "100000.00"})
    assert r.status_code == 302 and "/accounts/login/" in r["Location"]
    assert client_for(bidder).get(url(tender) + "bond/").status_code == 405
    assert not BidBond.objects.exists()


def test_the_page_knows_which_key_each_unopened_bid_was_sealed_to(tender, bidder):
    bid = factories.submit_bid(tender, bidder)
    other = factories.published_tender()  # a tender this bidder did not bid on (yet)
    services.document_obtain(user=bidder, tender=other)
    html = client_for(bidder).get(url(other)).content.decode()
    data = json.loads(re.search(
        r'<script id="sealed-bids" type="application/json">(.*?)</script>', html, re.S).group(1))
    assert data == [{"tender": tender.reference, "title": tender.title,
                     "fingerprint": bid.bidder_key_fingerprint,
                     "opening": tender.deadline.isoformat(),
                     "opening_text": timefmt.human(tender.deadline),
                     "fallback": tender.decryption_fallback, "url": url(tender)}]
    assert bid.bidder_key_fingerprint == bidder.public_keys.get(active=True).fingerprint
    # The page carries the plain warning the script shows before a new key is made.
    assert "Wait: a new key cannot open the bid you already sealed." in html
    assert 'id="key-new-anyway"' in html


def test_a_withdrawn_bid_needs_no_warning(tender, bidder):
    from bidding.bids import services as bids

    factories.submit_bid(tender, bidder)
    bids.bid_withdraw(user=bidder, tender=tender)
    html = client_for(bidder).get(url(tender)).content.decode()
    assert '<script id="sealed-bids" type="application/json">[]</script>' in html
