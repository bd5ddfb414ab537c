"""The online opening: start at the deadline, decryption by bidders, the custodians'
fallback, announcement, objections, confirmation, the signed record, Merkle proofs."""

import io
import subprocess
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from bidding.opening import services as opening
from bidding.opening.models import BidOpening, OpeningSession
from bidding.opening.selectors import open_bid_document
from bidding.tenders.models import Tender
from core import tasks
from crypto import envelope, merkle
from tests import factories

pytestmark = pytest.mark.django_db
S = Tender.Status
P = OpeningSession.Phase


def data_keys(bid, user):
    """What the bidder's own tool does at the opening: unwrap both data keys."""
    private = factories.PRIVATE_KEYS[user.username]
    with bid.envelope.open("rb") as fh:
        bid_key = envelope.unwrap_data_key(fh, private, label="bidder")
    sheet_key = envelope.unwrap_data_key(bytes(bid.price_sheet), private, label="bidder")
    return bid_key.hex(), sheet_key.hex()


def custodian_share(tender, custodian):
    """What the custodian's tool hands over: its shares of every pending bid."""
    return factories.custodian_share(tender, custodian)


@pytest.fixture
def opened_at_deadline(settings):
    """A tender with three sealed bids whose opening has just started."""
    tender = factories.published_tender(announce_mode="as_decrypted")
    users = [factories.bidder_with_key() for _ in range(3)]
    bids = [factories.submit_bid(tender, u, f"bid of {u.username}".encode() * 100)
            for u in users]
    traveller = time_machine.travel(tender.deadline, tick=False)
    traveller.start()
    tasks.clock_tick()
    tender.refresh_from_db()
    yield tender, users, bids
    traveller.stop()


def test_the_opening_starts_by_itself_at_the_deadline(opened_at_deadline):
    tender, users, bids = opened_at_deadline
    assert tender.status == S.OPENING
    session = tender.opening
    assert session.phase == P.DECRYPTING
    assert session.window_ends_at - session.started_at == timedelta(
        minutes=tender.decryption_window_minutes)
    assert session.merkle_root == merkle.root([b.sha256 for b in bids])
    tasks.clock_tick()
    assert OpeningSession.objects.count() == 1


def test_a_bidder_decrypts_and_its_price_is_announced_at_once(opened_at_deadline):
    tender, users, bids = opened_at_deadline
    bid_key, sheet_key = data_keys(bids[0], users[0])
    item = opening.opening_decrypt(user=users[0], tender=tender, bid_key=bid_key,
                                   price_sheet_key=sheet_key)
    assert item.status == "decrypted" and item.announce_order == 1
    assert item.price_sheet["total_price"] == "9500000.00"
    with open_bid_document(item, user=users[0], purpose="test") as fh:
        assert fh.read() == f"bid of {users[0].username}".encode() * 100


def test_a_wrong_key_is_refused_and_nothing_is_announced(opened_at_deadline):
    tender, users, bids = opened_at_deadline
    bid_key, sheet_key = data_keys(bids[1], users[1])
    with pytest.raises(ValidationError) as exc:
        opening.opening_decrypt(user=users[0], tender=tender, bid_key=bid_key,
                                price_sheet_key=sheet_key)
    assert exc.value.error_dict["__all__"][0].code == "wrong_key"
    assert not BidOpening.objects.filter(announced_at__isnull=False).exists()
    with pytest.raises(ValidationError):
        opening.opening_decrypt(user=users[0], tender=tender, bid_key="00", price_sheet_key="1")


def test_decrypting_twice_or_someone_elses_bid_is_refused(opened_at_deadline):
    tender, users, bids = opened_at_deadline
    keys0 = data_keys(bids[0], users[0])
    opening.opening_decrypt(user=users[0], tender=tender, bid_key=keys0[0],
                            price_sheet_key=keys0[1])
    with pytest.raises(ValidationError):
        opening.opening_decrypt(user=users[0], tender=tender, bid_key=keys0[0],
                                price_sheet_key=keys0[1])
    for user in (factories.bidder_with_key(), tender.created_by, factories.supervisor()):
        with pytest.raises(PermissionDenied):
            opening.opening_decrypt(user=user, tender=tender, bid_key=keys0[0],
                                    price_sheet_key=keys0[1])


@pytest.mark.parametrize("meanwhile", ["other_tab_decrypted", "window_closed"])
def test_a_hand_over_overtaken_while_it_decrypts_is_refused_and_leaves_no_file(
        opened_at_deadline, monkeypatch, meanwhile):
    # The first look is taken without locks, so the decryption holds none; what changed
    # meanwhile is seen under the locks, before anything is saved or announced.
    from django.core.files.storage import default_storage

    from audit.models import AuditEvent

    tender, users, bids = opened_at_deadline
    keys = data_keys(bids[0], users[0])
    real = opening._decrypt_into
    written = []

    def overtaken(item, bid_key, sheet_key):
        sheet = real(item, bid_key, sheet_key)
        written.append(item.document.name)
        if meanwhile == "other_tab_decrypted":
            BidOpening.objects.filter(pk=item.pk).update(status=BidOpening.Status.DECRYPTED)
        else:
            OpeningSession.objects.filter(tender=tender).update(phase=P.CONFIRMING)
        return sheet

    monkeypatch.setattr(opening, "_decrypt_into", overtaken)
    with pytest.raises(ValidationError) as exc:
        opening.opening_decrypt(user=users[0], tender=tender, bid_key=keys[0],
                                price_sheet_key=keys[1])
    code = "already_decrypted" if meanwhile == "other_tab_decrypted" else "window_closed"
    assert exc.value.error_dict["__all__"][0].code == code
    assert written and not default_storage.exists(written[0])
    item = BidOpening.objects.get(bid=bids[0])
    assert item.announce_order is None and not item.document
    assert not AuditEvent.objects.filter(action__in=["opening.decrypt",
                                                     "opening.announce"]).exists()


def test_after_the_window_custodians_open_what_bidders_did_not(opened_at_deadline):
    tender, users, bids = opened_at_deadline
    for bid, user in zip(bids[:2], users[:2], strict=True):
        k = data_keys(bid, user)
        opening.opening_decrypt(user=user, tender=tender, bid_key=k[0], price_sheet_key=k[1])
    session = tender.opening
    with time_machine.travel(session.window_ends_at, tick=False):
        k = data_keys(bids[2], users[2])
        with pytest.raises(ValidationError) as exc:
            opening.opening_decrypt(user=users[2], tender=tender, bid_key=k[0],
                                    price_sheet_key=k[1])
        assert exc.value.error_dict["__all__"][0].code == "window_closed"
        tasks.clock_tick()
        session.refresh_from_db()
        assert session.phase == P.CUSTODIANS
        custodians = [s.custodian for s in tender.key_shares.select_related("custodian")]
        with pytest.raises(PermissionDenied):
            opening.opening_custodian_share(user=factories.operator(), tender=tender,
                                            share=custodian_share(tender, custodians[0]))
        with pytest.raises(ValidationError):
            opening.opening_custodian_share(user=custodians[1], tender=tender,
                                            share=custodian_share(tender, custodians[0]))
        assert opening.opening_custodian_share(
            user=custodians[0], tender=tender, share=custodian_share(tender, custodians[0])) == 1
        session.refresh_from_db()
        assert session.phase == P.CUSTODIANS
        opening.opening_custodian_share(user=custodians[1], tender=tender,
                                        share=custodian_share(tender, custodians[1]))
    session.refresh_from_db()
    third = BidOpening.objects.get(bid=bids[2])
    assert third.status == "decrypted" and third.decrypted_by == "custodians"
    assert session.phase == P.CONFIRMING


def test_without_the_custodian_rule_an_undecrypted_bid_counts_as_revoked(settings):
    tender = factories.published_tender(decryption_fallback="not_opened")
    users = [factories.bidder_with_key() for _ in range(3)]
    bids = [factories.submit_bid(tender, u) for u in users]
    with time_machine.travel(tender.deadline, tick=False):
        tasks.clock_tick()
    tender.refresh_from_db()
    window_end = tender.opening.window_ends_at
    with time_machine.travel(window_end, tick=False):
        tasks.clock_tick()
    statuses = set(BidOpening.objects.values_list("status", flat=True))
    assert statuses == {"revoked"}
    assert tender.opening.__class__.objects.get(pk=tender.opening.pk).phase == P.CONFIRMING
    assert bids


def test_objections_answers_confirmation_and_the_signed_record(opened_at_deadline, tmp_path):
    tender, users, bids = opened_at_deadline
    for bid, user in zip(bids, users, strict=True):
        k = data_keys(bid, user)
        opening.opening_decrypt(user=user, tender=tender, bid_key=k[0], price_sheet_key=k[1])
    objection = opening.opening_objection_raise(user=users[0], tender=tender,
                                                text="第二名投标人的项目经理证书已过期")
    with pytest.raises(PermissionDenied):
        opening.opening_objection_answer(user=users[1], tender=tender,
                                         objection_id=objection.pk, answer="x")
    opening.opening_objection_answer(user=tender.created_by, tender=tender,
                                     objection_id=objection.pk, answer="已记录，提交评标委员会审查")
    session = tender.opening
    with time_machine.travel(session.window_ends_at, tick=False):
        tasks.clock_tick()
        opening.opening_confirm(user=users[0], tender=tender, remark="无异议")
    session.refresh_from_db()
    with time_machine.travel(session.confirm_until, tick=False):
        tasks.clock_tick()
    session.refresh_from_db()
    tender.refresh_from_db()
    assert session.phase == P.CLOSED and tender.status == S.OPENED
    confirmations = {c.bidder_id: c.deemed for c in session.confirmations.all()}
    assert confirmations[users[0].organisation_id] is False
    assert confirmations[users[1].organisation_id] is True
    with session.record.open("rb") as fh:
        pdf = fh.read()
    path = tmp_path / "record.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"],
                          capture_output=True, text=True, check=False).stdout
    if text:  # poppler-utils present (CI installs it)
        assert "开标记录" in text and tender.reference in text
        assert "第二名投标人的项目经理证书已过期" in text and "已记录" in text
        assert "逾期未确认，视为确认" in text
        assert session.merkle_root[:40] in text.replace("\n", "")
        for user in users:
            assert user.organisation.name in text
    from asn1crypto import x509 as asn1_x509
    from cryptography.hazmat.primitives import serialization
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    from core import platform_keys

    _key, cert = platform_keys.document_certificate()
    root = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    sig = PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0]
    status = validate_pdf_signature(sig, ValidationContext(trust_roots=[root],
                                                           allow_fetching=False))
    assert status.intact and status.valid and status.trusted
    assert status.coverage.name == "ENTIRE_FILE"
    tampered = bytearray(pdf)
    at = pdf.index(b"/Title") + 10
    tampered[at] ^= 0x01
    sig = PdfFileReader(io.BytesIO(bytes(tampered))).embedded_signatures[0]
    assert not validate_pdf_signature(sig, ValidationContext(trust_roots=[root],
                                                             allow_fetching=False)).intact


def test_each_bidder_proves_its_bid_is_in_the_record(opened_at_deadline):
    tender, users, bids = opened_at_deadline
    session = tender.opening
    for bid in bids:
        proof = opening.inclusion_proof_for(bid)
        assert merkle.verify_inclusion(proof, root_hex=session.merkle_root,
                                       size=session.merkle_size)


def test_sign_in_is_for_bidders_with_a_bid_and_closes_with_the_window():
    tender = factories.published_tender()
    user = factories.bidder_with_key()
    with pytest.raises(PermissionDenied):
        opening.opening_signin(user=user, tender=tender)
    factories.submit_bid(tender, user)
    assert opening.opening_signin(user=user, tender=tender).bidder_id == user.organisation_id
    with pytest.raises(PermissionDenied):
        opening.opening_signin(user=factories.supervisor(), tender=tender)


def test_too_few_bids_opened_fail_the_tender_through_the_same_minimum_rule():
    """Reg 44 again after decryption: one bid opened of three, the record is still
    written and signed, the tender fails with the guard's reason, everyone is told and
    the bonds still held become refundable."""
    from accounts.models import Notification
    from bidding.bids import services as bid_services
    from bidding.bids.models import BidBond

    tender = factories.published_tender(decryption_fallback="not_opened", bond_amount=1000)
    users = [factories.bidder_with_key() for _ in range(3)]
    bids = [factories.submit_bid(tender, u) for u in users]
    bid_services.bond_record(user=users[1], tender=tender, amount=tender.bond_amount,
                             kind="transfer", payer_account="6222", payer_name="x")
    with time_machine.travel(tender.deadline, tick=False):
        tasks.clock_tick()
    tender.refresh_from_db()
    session = tender.opening
    with time_machine.travel(session.window_ends_at - timedelta(seconds=1), tick=False):
        k = data_keys(bids[0], users[0])
        opening.opening_decrypt(user=users[0], tender=tender, bid_key=k[0], price_sheet_key=k[1])
    with time_machine.travel(session.window_ends_at, tick=False):
        tasks.clock_tick()
    session.refresh_from_db()
    with time_machine.travel(session.confirm_until, tick=False):
        tasks.clock_tick()
    session.refresh_from_db()
    tender.refresh_from_db()
    assert session.phase == P.CLOSED and session.record_sha256
    assert tender.status == S.FAILED
    told = Notification.objects.filter(organisation=users[2].organisation).get()
    assert "1 bids opened, fewer than the 3 required (Reg 44)" in told.body
    assert BidBond.objects.get().status == BidBond.Status.REFUND_DUE
