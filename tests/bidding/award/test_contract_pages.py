"""The contract page: terms, digest, both parties' status, amendments and payments; the
parties sign there (the signature made on their side), oversight reads only."""

import base64

import pytest

from bidding.award import contract as contracts
from bidding.award import decision
from bidding.tenders.models import Tender
from crypto import keys as crypto_keys
from crypto import signing
from tests import factories
from tests.bidding.award.helpers import after_publicity

pytestmark = pytest.mark.django_db
TERMS = {"price": "9500000.00", "performance_bond": "950000.00",
         "payment_schedule": [{"description": "预付款<b>", "amount": "1900000",
                               "due_on": "2027-01-31"}]}


@pytest.fixture(autouse=True)
def _english_pages(client, settings):
    """The pages in English (the texts asserted below)."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def _awarded():
    tender, users, _bids = factories.candidates_tender()
    decision.award_direct(user=tender.created_by, tender=tender, now=after_publicity(tender))
    tender.refresh_from_db()
    return tender, users[0], users[1]


def _prepared():
    tender, winner, loser = _awarded()
    version = contracts.contract_prepare(user=tender.created_by, tender=tender,
                                         document=b"%PDF-1.4 contract", document_name="合同.pdf",
                                         terms=TERMS)
    return tender, winner, loser, version


def _signature(user, version) -> str:
    key = factories.signing_key_for(user)
    return base64.b64encode(signing.sign(key, contracts.CONTRACT_LABEL,
                                         contracts.signing_message(version))).decode()


def _url(tender, tail=""):
    return f"/award/{tender.pk}/contract/{tail}"


def test_the_winner_sees_terms_digest_status_and_a_sign_form(client):
    tender, winner, _loser, version = _prepared()
    factories.signing_key_for(winner)
    client.force_login(winner)
    html = client.get(_url(tender)).content.decode()
    assert version.document_sha256 in html
    assert "9500000.00" in html and "950000.00" in html
    assert "预付款&lt;b&gt;" in html and "预付款<b>" not in html
    message = base64.b64encode(contracts.signing_message(version)).decode()
    assert f'data-message="{message}"' in html
    assert 'data-label="ggzy-contract-v1"' in html
    key = factories.PERSONAL_SIGNING_KEYS[winner.username]
    assert f'data-fingerprint="{crypto_keys.key_fingerprint(key.public_key())}"' in html
    assert "js/signing.js" in html and "js/contract.js" in html
    assert "<script>" not in html  # CSP: no inline script


def test_a_party_without_a_signing_key_is_sent_to_the_keys_page(client):
    tender, winner, _loser, _version = _prepared()
    client.force_login(winner)
    html = client.get(_url(tender)).content.decode()
    assert "/accounts/keys/" in html


def test_both_parties_sign_on_the_page_and_the_tender_is_contracted(client):
    tender, winner, _loser, version = _prepared()
    client.force_login(tender.created_by)
    r = client.post(_url(tender, "0/sign/"), {"signature": _signature(tender.created_by,
                                                                      version)})
    assert r.status_code == 302 and r["Location"] == _url(tender)
    page = client.get(_url(tender)).content.decode()
    assert 'id="btn-sign-0"' not in page  # signed: no second signature offered
    client.force_login(winner)
    assert 'id="btn-sign-0"' in client.get(_url(tender)).content.decode()
    client.post(_url(tender, "0/sign/"), {"signature": _signature(winner, version)})
    tender.refresh_from_db()
    assert tender.status == Tender.Status.CONTRACTED
    version.refresh_from_db()
    html = client.get(_url(tender)).content.decode()
    assert version.winner_key.fingerprint[:14] in html
    assert version.tenderer_key.fingerprint[:14] in html


def test_a_bad_signature_is_refused_with_its_reason_on_the_page(client):
    tender, winner, _loser, _version = _prepared()
    factories.signing_key_for(winner)
    client.force_login(winner)
    r = client.post(_url(tender, "0/sign/"), {"signature": base64.b64encode(bytes(64)).decode()},
                    follow=True)
    assert "does not verify" in r.content.decode()
    tender.refresh_from_db()
    assert tender.status == Tender.Status.AWARDED


def test_amendments_and_payments_are_shown(client):
    tender, winner, _loser, version = _prepared()
    contracts.contract_sign(user=tender.created_by, tender=tender, number=0,
                            signature_b64=_signature(tender.created_by, version))
    contracts.contract_sign(user=winner, tender=tender, number=0,
                            signature_b64=_signature(winner, version))
    amendment = contracts.contract_amend(
        user=tender.created_by, tender=tender, document=b"%PDF-1.4 amendment",
        document_name="补充协议.pdf", terms={**TERMS, "price": "9600000.00"})
    contracts.payment_record(user=tender.created_by, tender=tender, amount="1900000",
                             description="预付款已付")
    client.force_login(winner)
    html = client.get(_url(tender)).content.decode()
    assert "Amendment 1" in html and amendment.document_sha256 in html
    assert "9600000.00" in html
    assert "预付款已付" in html and "1900000.00" in html
    assert 'id="btn-sign-1"' in html and 'id="btn-sign-0"' not in html


def test_a_supervisor_reads_the_contract_without_a_sign_form(client):
    tender, _winner, _loser, version = _prepared()
    client.force_login(factories.supervisor())
    r = client.get(_url(tender))
    html = r.content.decode()
    assert r.status_code == 200 and version.document_sha256 in html
    assert "sign-form" not in html and "js/contract.js" not in html
    r = client.post(_url(tender, "0/sign/"), {"signature": "AAAA"}, follow=True)
    assert "Only the tenderer and the winner sign the contract." in r.content.decode()


def test_a_losing_bidder_and_a_visitor_cannot_see_the_contract(client):
    tender, _winner, loser, _version = _prepared()
    client.force_login(loser)
    assert client.get(_url(tender)).status_code == 404
    assert client.post(_url(tender, "0/sign/"), {"signature": "AAAA"}).status_code == 404
    client.logout()
    assert client.get(_url(tender)).status_code == 302  # to the login page


def test_the_page_before_the_contract_is_drawn_up(client):
    tender, winner, _loser = _awarded()
    client.force_login(winner)
    html = client.get(_url(tender)).content.decode()
    assert "The contract has not been drawn up yet." in html
