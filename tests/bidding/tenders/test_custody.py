"""Custody without a trusted dealer, on the platform: one active key per purpose, the
custodian set and its endorsements, the upload check of format v2, and the custodians'
opening of v2 bids (a bad share names its custodian; unopenable bids are proved the
bidder's fault)."""

from __future__ import annotations

import base64
import io

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from rest_framework.test import APIClient

from accounts.models import PublicKey
from accounts.services import public_key_register
from bidding.opening import services as opening
from bidding.opening.models import BidOpening, OpeningSession
from bidding.opening.selectors import open_bid_document
from bidding.tenders import custody
from bidding.tenders.models import CustodianEndorsement
from core import tasks
from crypto import custody as wire
from crypto import envelope, keys, shamir
from crypto.errors import MalformedData
from tests import factories

pytestmark = pytest.mark.django_db


def _point():
    return keys.public_key_bytes(keys.generate_private_key().public_key())


# -- one active key per purpose -------------------------------------------------------------


def test_two_active_custodian_keys_for_one_person_are_impossible_in_the_database():
    user = factories.operator()
    first = public_key_register(user=user, point=_point(), purpose="custodian")
    with pytest.raises(IntegrityError), transaction.atomic():
        PublicKey.objects.create(user=user, purpose="custodian", point=_point(),
                                 fingerprint="ff" * 32, active=True)
    assert PublicKey.objects.filter(user=user, active=True).get() == first


def test_a_new_custodian_key_retires_the_old_one_and_publication_still_works():
    custodians = factories.ensure_custodians()
    old = PublicKey.objects.get(user=custodians[0], purpose="custodian", active=True)
    factories.register_key(custodians[0], "custodian")
    old.refresh_from_db()
    assert not old.active and old.revoked_at is not None
    assert PublicKey.objects.filter(user=custodians[0], purpose="custodian",
                                    active=True).count() == 1
    tender = factories.published_tender()
    assert len(custody.seats(tender)) == len({s.custodian_id for s in custody.seats(tender)})


def test_signing_and_encryption_keys_are_separate_purposes():
    user = factories.supervisor()
    public_key_register(user=user, point=_point(), purpose="custodian")
    public_key_register(user=user, point=_point(), purpose="custodian_signing")
    assert PublicKey.objects.filter(user=user, active=True).count() == 2


def test_a_bidder_cannot_register_a_custodian_signing_key():
    with pytest.raises(PermissionDenied):
        public_key_register(user=factories.bidder(), point=_point(),
                            purpose="custodian_signing")


# -- the custodian set and its endorsements -------------------------------------------------


def test_publication_seats_the_custodians_in_order_and_all_endorse():
    tender = factories.published_tender()
    stmt = custody.statement(tender)
    seats = custody.seats(tender)
    assert [c["x"] for c in stmt["custodians"]] == [1, 2, 3] == [s.x for s in seats]
    assert [c["key"] for c in stmt["custodians"]] == [s.custodian_key.fingerprint for s in seats]
    assert stmt["threshold"] == tender.opening_threshold == 2
    assert custody.fully_endorsed(tender)
    info = custody.custody_info(tender)
    pinned = {n: k.public_key() for n, k in factories.SIGNING_KEYS.items()}
    assert [s.id for s in wire.verify_endorsements(info["statement"], info["endorsements"],
                                                   pinned)] == [s.custodian.username
                                                                for s in seats]


def _sign(tender, user):
    stmt = custody.statement(tender)
    return base64.b64encode(wire.endorse(factories.SIGNING_KEYS[user.username], stmt)).decode()


def test_an_endorsement_that_does_not_verify_is_refused():
    tender = factories.published_tender()
    seat = custody.seats(tender)[0]
    other = custody.seats(tender)[1].custodian
    with pytest.raises(ValidationError) as exc:
        custody.endorsement_add(user=seat.custodian, tender=tender,
                                signature=_sign(tender, other))
    assert exc.value.error_dict["signature"][0].code == "bad_endorsement"
    with pytest.raises(ValidationError):
        custody.endorsement_add(user=seat.custodian, tender=tender, signature="not base64!")


def test_a_custodian_without_a_signing_key_cannot_endorse():
    tender = factories.published_tender()
    seat = custody.seats(tender)[0]
    PublicKey.objects.filter(user=seat.custodian, purpose="custodian_signing").update(
        active=False)
    with pytest.raises(ValidationError) as exc:
        custody.endorsement_add(user=seat.custodian, tender=tender, signature="AA==")
    assert exc.value.error_dict["signature"][0].code == "no_signing_key"


def test_someone_without_a_seat_cannot_endorse():
    tender = factories.published_tender()
    with pytest.raises(PermissionDenied):
        custody.endorsement_add(user=factories.operator(), tender=tender, signature="AA==")


def test_a_draft_cannot_be_endorsed():
    tender = factories.published_tender()
    seat = custody.seats(tender)[0]
    type(tender).objects.filter(pk=tender.pk).update(status="bidding_closed")
    tender.refresh_from_db()
    with pytest.raises(ValidationError) as exc:
        custody.endorsement_add(user=seat.custodian, tender=tender,
                                signature=_sign(tender, seat.custodian))
    assert exc.value.error_dict["__all__"][0].code == "not_endorsable"


def test_a_moved_deadline_makes_endorsements_stale_until_renewed():
    from datetime import timedelta

    tender = factories.published_tender()
    type(tender).objects.filter(pk=tender.pk).update(deadline=tender.deadline + timedelta(days=3))
    tender.refresh_from_db()
    assert not custody.fully_endorsed(tender)
    assert custody.custody_info(tender)["endorsements"] == []
    factories.endorse_all(tender)
    assert custody.fully_endorsed(tender)
    assert CustodianEndorsement.objects.filter(tender=tender).count() == 3


def test_the_custody_api_serves_the_set_and_takes_endorsements():
    tender = factories.published_tender()
    seat = custody.seats(tender)[0]
    CustodianEndorsement.objects.filter(tender=tender, custodian=seat.custodian).delete()
    answer = APIClient().get(f"/api/tenders/{tender.pk}/custody/").json()
    assert answer["complete"] is False and len(answer["endorsements"]) == 2
    assert [c["fingerprint"] for c in answer["custodians"]] == [
        c["key"] for c in answer["statement"]["custodians"]]
    api = APIClient()
    api.force_authenticate(seat.custodian)
    resp = api.post(f"/api/tenders/{tender.pk}/custody/",
                    {"signature": _sign(tender, seat.custodian)}, format="json")
    assert resp.status_code == 201, resp.content
    assert resp.json()["complete"] is True
    resp = api.post(f"/api/tenders/{tender.pk}/custody/", {"signature": "AAAA"}, format="json")
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "bad_endorsement"


def test_a_draft_has_no_custodian_set_to_serve():
    draft = factories.draft_tender()
    api = APIClient()
    api.force_authenticate(draft.created_by)
    assert api.get(f"/api/tenders/{draft.pk}/custody/").status_code == 404


# -- the upload check ------------------------------------------------------------------------


def _check(tender, user, blob):
    from bidding.bids import sealing

    return sealing.check_envelope(io.BytesIO(blob), tender=tender,
                                  organisation=user.organisation)


def _seal(tender, user, plan):
    return envelope.seal_bytes(
        b"bid", tender_id=tender.reference, bidder_id=user.organisation.credit_code,
        recipients=[envelope.Recipient("bidder", factories.PRIVATE_KEYS[user.username]
                                       .public_key())], custody=plan)


def _plan(tender, order=None, k=None):
    seats = custody.seats(tender)
    points = [keys.public_key_from_bytes(bytes(s.custodian_key.point)) for s in seats]
    if order:
        points = [points[i] for i in order]
    return envelope.Custody(k or tender.opening_threshold, tuple(points))


def test_a_v2_envelope_split_among_the_endorsed_set_is_accepted():
    tender = factories.published_tender()
    user = factories.bidder_with_key()
    info = _check(tender, user, _seal(tender, user, _plan(tender)))
    assert info.header.version == 2


def test_an_envelope_split_among_another_set_or_order_is_refused():
    tender = factories.published_tender()
    user = factories.bidder_with_key()
    with pytest.raises(MalformedData, match="custodian set"):
        _check(tender, user, _seal(tender, user, _plan(tender, order=[1, 0, 2])))
    rogue = envelope.Custody(2, (*_plan(tender).custodians[:2],
                                 keys.generate_private_key().public_key()))
    with pytest.raises(MalformedData, match="custodian set"):
        _check(tender, user, _seal(tender, user, rogue))


def test_an_envelope_with_another_threshold_is_refused():
    tender = factories.published_tender()
    user = factories.bidder_with_key()
    with pytest.raises(MalformedData, match="threshold is 1"):
        _check(tender, user, _seal(tender, user, _plan(tender, k=1)))


def test_an_envelope_before_every_custodian_endorsed_is_refused():
    tender = factories.published_tender()
    user = factories.bidder_with_key()
    CustodianEndorsement.objects.filter(tender=tender).first().delete()
    with pytest.raises(MalformedData, match="not all endorsed"):
        _check(tender, user, _seal(tender, user, _plan(tender)))


def test_a_new_tender_has_no_opening_key_and_refuses_v1_envelopes():
    tender = factories.published_tender()
    assert tender.opening_public_key is None and tender.opening_key_fingerprint == ""
    assert all(s.encrypted_share == {} for s in custody.seats(tender))
    user = factories.bidder_with_key()
    stray = keys.generate_private_key()
    blob = envelope.seal_bytes(
        b"bid", tender_id=tender.reference, bidder_id=user.organisation.credit_code,
        recipients=[envelope.Recipient("bidder", factories.PRIVATE_KEYS[user.username]
                                       .public_key()),
                    envelope.Recipient("opening", stray.public_key())])
    with pytest.raises(MalformedData, match="no opening key"):
        _check(tender, user, blob)


def test_v1_envelopes_are_refused_once_the_setting_turns_them_off(settings):
    settings.LEGACY_OPENING_KEY = True
    tender = factories.published_tender()
    user = factories.bidder_with_key()
    blob = factories.seal_for(tender, user, b"bid", version=1)
    assert _check(tender, user, blob).header.version == 1
    settings.ACCEPT_V1_ENVELOPES = False
    with pytest.raises(MalformedData, match="v1 is no longer accepted"):
        _check(tender, user, blob)


# -- the custodians' opening of v2 bids -----------------------------------------------------


@pytest.fixture
def custodians_phase():
    """Three v2 bids nobody decrypted: the window has closed, the custodians' turn."""
    tender = factories.published_tender()
    users = [factories.bidder_with_key() for _ in range(3)]
    bids = [factories.submit_bid(tender, u, f"bid of {u.username}".encode()) for u in users]
    with time_machine.travel(tender.deadline, tick=False):
        tasks.clock_tick()
    tender.refresh_from_db()
    traveller = time_machine.travel(tender.opening.window_ends_at, tick=False)
    traveller.start()
    tasks.clock_tick()
    tender.opening.refresh_from_db()
    assert tender.opening.phase == OpeningSession.Phase.CUSTODIANS
    yield tender, users, bids
    traveller.stop()


def test_k_custodians_open_every_pending_v2_bid(custodians_phase):
    tender, users, bids = custodians_phase
    seats = custody.seats(tender)
    for seat in seats[:2]:
        opening.opening_custodian_share(user=seat.custodian, tender=tender,
                                        share=factories.custodian_share(tender, seat.custodian))
    for bid, user in zip(bids, users, strict=True):
        item = BidOpening.objects.get(bid=bid)
        assert (item.status, item.decrypted_by) == ("decrypted", "custodians")
        with open_bid_document(item, user=user, purpose="test") as fh:
            assert fh.read() == f"bid of {user.username}".encode()
    tender.opening.refresh_from_db()
    assert tender.opening.phase == OpeningSession.Phase.CONFIRMING


def test_a_bad_share_is_refused_at_once_naming_the_custodian(custodians_phase):
    tender, users, bids = custodians_phase
    seat = custody.seats(tender)[1]
    share = factories.custodian_share(tender, seat.custodian)
    entry = share["bids"][bids[0].sha256]
    raw = bytearray(base64.b64decode(entry["envelope"]))
    raw[-1] ^= 1
    entry["envelope"] = base64.b64encode(bytes(raw)).decode()
    with pytest.raises(ValidationError) as exc:
        opening.opening_custodian_share(user=seat.custodian, tender=tender, share=share)
    message = exc.value.error_dict["share"][0]
    assert message.code == "bad_share"
    assert seat.custodian.username in str(message.message % message.params
                                          if message.params else message.message)
    assert not tender.opening.shares.exists()


def test_another_custodians_shares_are_refused(custodians_phase):
    tender, users, bids = custodians_phase
    first, second = custody.seats(tender)[:2]
    with pytest.raises(ValidationError):
        opening.opening_custodian_share(
            user=second.custodian, tender=tender,
            share=factories.custodian_share(tender, first.custodian))


def test_a_bid_whose_committed_shares_do_not_open_is_rejected_with_proof(monkeypatch):
    """The bidder's tool commits to shares of another key: the bidder could open its bid
    itself, but the custodians cannot, and that is proved against the bidder."""
    tender = factories.published_tender()
    for _ in range(2):  # an opening needs three bids (Law 28)
        factories.submit_bid(tender, factories.bidder_with_key())
    rogue = factories.bidder_with_key()
    real_split = shamir.split
    monkeypatch.setattr(shamir, "split", lambda secret, k, n, *, randbelow: real_split(
        bytes(32), k, n, randbelow=randbelow))
    bad = factories.submit_bid(tender, rogue)
    monkeypatch.setattr(shamir, "split", real_split)
    with time_machine.travel(tender.deadline, tick=False):
        tasks.clock_tick()
    tender.refresh_from_db()
    with time_machine.travel(tender.opening.window_ends_at, tick=False):
        tasks.clock_tick()
        for seat in custody.seats(tender)[:2]:
            opening.opening_custodian_share(
                user=seat.custodian, tender=tender,
                share=factories.custodian_share(tender, seat.custodian))
    item = BidOpening.objects.get(bid=bad)
    assert item.status == BidOpening.Status.REJECTED
    assert item.proof["kind"] == "custodian_shares_do_not_open"
    proved = wire.verify_fault_proof(item.proof["fault_proof"])
    with bad.envelope.open("rb") as fh:
        assert fh.read(proved.size) == proved.raw
    assert {o.status for o in BidOpening.objects.exclude(pk=item.pk)} == {"decrypted"}


def test_a_v1_bid_of_a_legacy_tender_is_still_opened_by_the_custodians(settings):
    settings.LEGACY_OPENING_KEY = True
    tender = factories.published_tender()
    for _ in range(2):  # an opening needs three bids (Law 28)
        factories.submit_bid(tender, factories.bidder_with_key())
    user = factories.bidder_with_key()
    bid = factories.submit_bid(tender, user, b"browser bid", version=1)
    with time_machine.travel(tender.deadline, tick=False):
        tasks.clock_tick()
    tender.refresh_from_db()
    with time_machine.travel(tender.opening.window_ends_at, tick=False):
        tasks.clock_tick()
        for seat in custody.seats(tender)[:2]:
            share = factories.custodian_share(tender, seat.custodian)
            assert len(share["bids"]) == 2 and "opening_key_share" in share
            opening.opening_custodian_share(user=seat.custodian, tender=tender, share=share)
    assert BidOpening.objects.get(bid=bid).status == "decrypted"


# -- the demo -------------------------------------------------------------------------------


def test_the_demo_seals_v2_bids_to_endorsed_custodians(settings, tmp_path):
    from bidding import demo
    from bidding.bids.models import Bid

    settings.VAR_DIR = tmp_path
    settings.MEDIA_ROOT = tmp_path / "media"
    demo.load_demo()
    bids = list(Bid.objects.filter(status="submitted"))
    assert bids
    pinned = wire.load_trust_file((tmp_path / "demo-keys" / "custodians.json").read_bytes())
    for bid in bids:
        with bid.envelope.open("rb") as fh:
            assert envelope.read_header(fh).version == 2
        info = custody.custody_info(bid.tender)
        wire.verify_endorsements(info["statement"], info["endorsements"], pinned)


def test_bids_short_of_k_shares_are_withdrawn_once_every_custodian_has_had_its_turn(
        custodians_phase):
    """A custodian that could decrypt nothing still takes its turn; when all have and a
    bid has fewer than k shares, it is settled (withdrawn) instead of waiting forever."""
    tender, users, bids = custodians_phase
    seats = custody.seats(tender)
    first = factories.custodian_share(tender, seats[0].custodian)
    opening.opening_custodian_share(user=seats[0].custodian, tender=tender, share=first)
    for seat in seats[1:]:
        opening.opening_custodian_share(user=seat.custodian, tender=tender,
                                        share={"v": 2, "bids": {}})
    assert {o.status for o in BidOpening.objects.filter(bid__in=bids)} == {"withdrawn"}
    tender.opening.refresh_from_db()
    assert tender.opening.phase == OpeningSession.Phase.CONFIRMING


def test_a_hand_over_that_is_not_a_set_of_shares_is_refused(custodians_phase):
    tender, users, bids = custodians_phase
    seat = custody.seats(tender)[0]
    for junk in ({"v": 2, "bids": []}, {"nothing": 1}, []):
        with pytest.raises(ValidationError) as exc:
            opening.opening_custodian_share(user=seat.custodian, tender=tender, share=junk)
        assert exc.value.error_dict["share"][0].code == "bad_share"


def test_a_registration_racing_another_is_refused_not_doubled(monkeypatch):
    """If another write slips past the lock, the partial unique index refuses it and the
    service says so in one clear message."""
    user = factories.supervisor()
    public_key_register(user=user, point=_point(), purpose="custodian")

    def racing(**kw):
        raise IntegrityError("UNIQUE constraint failed: one_active_key_per_purpose")

    monkeypatch.setattr(PublicKey.objects, "create", racing)
    with pytest.raises(ValidationError) as exc:
        public_key_register(user=user, point=_point(), purpose="custodian")
    assert exc.value.error_dict["public_key"][0].code == "key_conflict"
    assert PublicKey.objects.filter(user=user, purpose="custodian", active=True).count() == 1


def test_more_custodians_than_an_envelope_can_name_is_refused_at_publication():
    from bidding.tenders import services
    from crypto.envelope import MAX_CUSTODIANS

    factories.ensure_custodians()
    while PublicKey.objects.filter(purpose="custodian", active=True).count() <= MAX_CUSTODIANS:
        factories.register_key(factories.supervisor(), "custodian")
    draft = factories.draft_tender()
    with pytest.raises(ValidationError) as exc:
        services.tender_publish(user=draft.created_by, tender=draft)
    assert exc.value.error_dict["__all__"][0].code == "too_many_custodians"
