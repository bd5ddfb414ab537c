"""The ``signing`` key purpose: tenderers, bidders and experts register a P-256 signing
key themselves (service, API, keys page); contracts are signed only with it."""

import base64

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts import selectors, services
from accounts.models import PublicKey
from bidding.award import contract as contracts
from bidding.award import decision
from crypto import keys as crypto_keys
from crypto import signing
from tests import factories
from tests.bidding.award.helpers import after_publicity, code
from tests.conftest import api_as

pytestmark = pytest.mark.django_db

TERMS = {"price": "9500000.00", "performance_bond": "950000.00", "payment_schedule": []}


def _point(private=None):
    private = private or crypto_keys.generate_private_key()
    return private, crypto_keys.public_key_bytes(private.public_key())


@pytest.mark.parametrize("make", [factories.tenderer, factories.bidder, factories.expert])
def test_tenderers_bidders_and_experts_register_a_signing_key(make):
    user = make()
    _private, point = _point()
    key = services.public_key_register(user=user, point=point, purpose="signing")
    assert key.purpose == PublicKey.Purpose.SIGNING
    assert list(selectors.signing_keys(user)) == [key]


@pytest.mark.parametrize("make", [factories.supervisor, factories.operator])
def test_other_roles_cannot_register_a_signing_key(make):
    with pytest.raises(PermissionDenied):
        services.public_key_register(user=make(), point=_point()[1], purpose="signing")


def test_a_new_signing_key_retires_the_previous_one():
    user = factories.tenderer()
    first = services.public_key_register(user=user, point=_point()[1], purpose="signing")
    second = services.public_key_register(user=user, point=_point()[1], purpose="signing")
    first.refresh_from_db()
    assert not first.active and first.revoked_at is not None
    assert list(selectors.signing_keys(user)) == [second]


def test_a_signing_key_lives_beside_the_bid_key():
    user = factories.bidder()
    factories.register_key(user, "bid")
    services.public_key_register(user=user, point=_point()[1], purpose="signing")
    assert set(PublicKey.objects.filter(user=user, active=True)
               .values_list("purpose", flat=True)) == {"bid", "signing"}


def test_the_api_registers_a_signing_key_and_refuses_a_supervisor():
    private, point = _point()
    body = {"public_key": base64.b64encode(point).decode(), "purpose": "signing"}
    r = api_as(factories.expert()).post("/api/keys/", body, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["purpose"] == "signing"
    assert r.json()["fingerprint"] == crypto_keys.key_fingerprint(private.public_key())
    body["public_key"] = base64.b64encode(_point()[1]).decode()
    assert api_as(factories.supervisor()).post("/api/keys/", body,
                                               format="json").status_code == 403


def test_the_api_refuses_an_unknown_purpose_and_garbage():
    client = api_as(factories.bidder())
    r = client.post("/api/keys/", {"public_key": base64.b64encode(_point()[1]).decode(),
                                   "purpose": "everything"}, format="json")
    assert r.status_code == 400
    r = client.post("/api/keys/", {"public_key": "not base64!", "purpose": "signing"},
                    format="json")
    assert r.status_code == 400 and "public_key" in r.json()["error"]["fields"]


# --- the keys page ------------------------------------------------------------------


def test_the_keys_page_registers_a_pasted_pem_signing_key(client):
    from cryptography.hazmat.primitives import serialization

    user = factories.tenderer()
    client.force_login(user)
    page = client.get("/accounts/keys/")
    assert page.status_code == 200
    assert b'id="btn-make-key"' in page.content and b"js/signing.js" in page.content
    private = crypto_keys.generate_private_key()
    pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    r = client.post("/accounts/keys/", {"purpose": "signing", "public_key": pem,
                                        "label": "laptop"})
    assert r.status_code == 302
    key = selectors.signing_keys(user).get()
    assert key.fingerprint == crypto_keys.key_fingerprint(private.public_key())
    assert key.label == "laptop"
    listing = client.get("/accounts/keys/")
    assert key.fingerprint.encode() in listing.content


def test_the_keys_page_shows_a_refusal_beside_the_key(client):
    user = factories.bidder()
    client.force_login(user)
    r = client.post("/accounts/keys/", {"purpose": "signing", "public_key": "AAAA"})
    assert r.status_code == 200
    assert b"has-error" in r.content
    assert not selectors.signing_keys(user).exists()


def test_the_keys_page_offers_only_the_purposes_of_the_role(client):
    client.force_login(factories.supervisor())
    page = client.get("/accounts/keys/")
    assert page.status_code == 200
    assert b'value="custodian_signing"' in page.content
    assert b'value="signing"' not in page.content and b"btn-make-key" not in page.content
    r = client.post("/accounts/keys/", {"purpose": "signing",
                                        "public_key": base64.b64encode(_point()[1]).decode()})
    assert r.status_code == 200 and not PublicKey.objects.filter(purpose="signing").exists()


def test_the_keys_page_needs_a_role_with_keys_and_a_login(client):
    assert client.get("/accounts/keys/").status_code == 302
    from accounts.models import Role

    client.force_login(factories.UserFactory(role=Role.NOTARY))
    assert client.get("/accounts/keys/").status_code == 200


# --- contracts are signed with a signing key only -------------------------------------


def _contract():
    tender, users, _bids = factories.candidates_tender()
    decision.award_direct(user=tender.created_by, tender=tender, now=after_publicity(tender))
    tender.refresh_from_db()
    version = contracts.contract_prepare(user=tender.created_by, tender=tender,
                                         document=b"%PDF-1.4 c", document_name="c.pdf",
                                         terms=TERMS)
    return tender, users[0], version


def _sig(private, version) -> str:
    return base64.b64encode(signing.sign(private, contracts.CONTRACT_LABEL,
                                         contracts.signing_message(version))).decode()


def test_a_contract_signed_with_the_bid_key_is_refused():
    tender, winner, version = _contract()
    bid_key = factories.PRIVATE_KEYS[winner.username]  # the winner's registered bid key
    assert PublicKey.objects.filter(user=winner, purpose="bid", active=True).exists()
    with pytest.raises(ValidationError) as exc:
        contracts.contract_sign(user=winner, tender=tender, number=0,
                                signature_b64=_sig(bid_key, version))
    assert code(exc) == "no_signing_key"
    factories.signing_key_for(winner)
    with pytest.raises(ValidationError) as exc:
        contracts.contract_sign(user=winner, tender=tender, number=0,
                                signature_b64=_sig(bid_key, version))
    assert code(exc) == "bad_signature"


def test_a_contract_signed_with_a_custodian_signing_key_is_refused():
    tender, _winner, version = _contract()
    owner = tender.created_by
    private = crypto_keys.generate_private_key()
    # A key of another purpose written directly (no tenderer may register one).
    PublicKey.objects.create(user=owner, organisation=owner.organisation,
                             purpose="custodian_signing",
                             point=crypto_keys.public_key_bytes(private.public_key()),
                             fingerprint=crypto_keys.key_fingerprint(private.public_key()))
    factories.signing_key_for(owner)
    with pytest.raises(ValidationError) as exc:
        contracts.contract_sign(user=owner, tender=tender, number=0,
                                signature_b64=_sig(private, version))
    assert code(exc) == "bad_signature"


def test_a_contract_signed_with_a_retired_signing_key_is_refused():
    tender, winner, version = _contract()
    old = factories.signing_key_for(winner)
    services.public_key_register(user=winner, point=_point()[1], purpose="signing")
    with pytest.raises(ValidationError) as exc:
        contracts.contract_sign(user=winner, tender=tender, number=0,
                                signature_b64=_sig(old, version))
    assert code(exc) == "bad_signature"


def test_a_contract_signed_with_the_signing_key_records_that_key():
    tender, winner, version = _contract()
    private = factories.signing_key_for(winner)
    signed = contracts.contract_sign(user=winner, tender=tender, number=0,
                                     signature_b64=_sig(private, version))
    assert signed.winner_key.purpose == PublicKey.Purpose.SIGNING
    assert signed.winner_key.fingerprint == crypto_keys.key_fingerprint(private.public_key())
