"""The opening cannot be steered or stuck: no price before the window and the custodians'
time are over, arrival time decides, failures stay on record, the record comes as soon
as everyone confirmed, and hostile text cannot break a signed PDF or the clock."""

import subprocess
from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.core.exceptions import ValidationError

from audit.models import AuditEvent
from bidding.opening import services as opening
from bidding.opening.models import BidOpening, OpeningSession
from bidding.opening.selectors import hall_state
from bidding.tenders.models import Tender
from core import statutory, tasks
from tests import factories
from tests.bidding.opening.test_services import data_keys

pytestmark = pytest.mark.django_db
S = Tender.Status
P = OpeningSession.Phase


def _opened(**overrides):
    tender = factories.published_tender(**overrides)
    users = [factories.bidder_with_key() for _ in range(3)]
    bids = [factories.submit_bid(tender, u) for u in users]
    with time_machine.travel(tender.deadline, tick=False):
        tasks.clock_tick()
    tender.refresh_from_db()
    return tender, users, bids


def _decrypt(tender, bid, user, **kw):
    k = data_keys(bid, user)
    return opening.opening_decrypt(user=user, tender=tender, bid_key=k[0], price_sheet_key=k[1],
                                   **kw)


def test_by_default_no_price_is_shown_before_the_window_and_the_custodians_time_end():
    tender, users, bids = _opened()
    assert tender.announce_mode == "at_close"
    session = tender.opening
    with time_machine.travel(session.window_ends_at - timedelta(seconds=5), tick=False):
        _decrypt(tender, bids[0], users[0])
        _decrypt(tender, bids[1], users[1])
    with time_machine.travel(session.window_ends_at, tick=False):
        tasks.clock_tick()
        session.refresh_from_db()
        assert session.phase == P.CUSTODIANS
        state = hall_state(tender, tender.created_by, "host")
        assert state["announced"] == [] and "9500000" not in str(state)
        assert not BidOpening.objects.filter(announced_at__isnull=False).exists()
    # The custodians never come: their time runs out, the bid is withdrawn (not the
    # bidder's fault), and only then are all prices announced, together.
    assert session.custodians_until == session.window_ends_at + timedelta(
        minutes=statutory.value("CUSTODIAN_WINDOW_MINUTES"))
    with time_machine.travel(session.custodians_until - timedelta(seconds=1), tick=False):
        tasks.clock_tick()
        assert not BidOpening.objects.filter(announced_at__isnull=False).exists()
    with time_machine.travel(session.custodians_until, tick=False):
        tasks.clock_tick()
    session.refresh_from_db()
    assert session.phase == P.CONFIRMING
    withheld = BidOpening.objects.get(bid=bids[2])
    assert withheld.status == "withdrawn" and "custodians did not open it" in withheld.reason
    announced = BidOpening.objects.filter(announced_at__isnull=False)
    assert announced.count() == 2
    assert {a.announced_at for a in announced} == {session.custodians_until}


def test_a_hand_over_is_judged_by_its_arrival_time_not_by_when_it_is_processed():
    tender, users, bids = _opened()
    session = tender.opening
    arrived = session.window_ends_at - timedelta(milliseconds=1)
    with time_machine.travel(session.window_ends_at + timedelta(seconds=2), tick=False):
        item = _decrypt(tender, bids[0], users[0], now=arrived)
        assert item.status == "decrypted"
        with pytest.raises(ValidationError) as late:
            _decrypt(tender, bids[1], users[1])
    assert late.value.error_dict["__all__"][0].code == "window_closed"


def test_a_failed_decryption_stays_in_the_audit_log():
    tender, users, bids = _opened()
    wrong = data_keys(bids[1], users[1])
    with time_machine.travel(tender.opening.window_ends_at - timedelta(minutes=1), tick=False):
        with pytest.raises(ValidationError):
            opening.opening_decrypt(user=users[0], tender=tender, bid_key=wrong[0],
                                    price_sheet_key=wrong[1])
    failed = AuditEvent.objects.filter(action="opening.decrypt_failed")
    assert failed.count() == 1 and failed.get().actor == users[0].get_username()


def test_the_record_is_made_as_soon_as_every_bidder_has_confirmed():
    tender, users, bids = _opened(decryption_fallback="not_opened")
    session = tender.opening
    with time_machine.travel(session.window_ends_at - timedelta(minutes=1), tick=False):
        for bid, user in zip(bids, users, strict=True):
            _decrypt(tender, bid, user)
    with time_machine.travel(session.window_ends_at, tick=False):
        tasks.clock_tick()
    session.refresh_from_db()
    early = session.confirm_until - timedelta(minutes=10)
    with time_machine.travel(early, tick=False):
        for user in users[:2]:
            opening.opening_confirm(user=user, tender=tender)
        session.refresh_from_db()
        assert session.phase == P.CONFIRMING
        with django_capture_on_commit():
            opening.opening_confirm(user=users[2], tender=tender)
    session.refresh_from_db()
    tender.refresh_from_db()
    assert session.phase == P.CLOSED and session.record_sha256
    assert session.closed_at == early and tender.status == S.OPENED
    assert not session.confirmations.filter(deemed=True).exists()


def django_capture_on_commit():
    """Run on_commit callbacks at the end of the block, as a real commit would."""
    from django.test import TestCase

    return TestCase.captureOnCommitCallbacks(execute=True)


HOSTILE = 'A<B & <img src="/etc/hostname"/> <font name="x">'


def _pdftotext(pdf: bytes, tmp_path) -> str:
    import shutil

    from tests.conftest import require

    require(shutil.which("pdftotext") is not None, "pdftotext (poppler-utils) is not installed")
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def test_markup_in_a_title_is_printed_literally_in_the_signed_receipt(tmp_path):
    from bidding.bids.pdf.receipt import receipt_pdf

    tender = factories.published_tender(title=f"道路工程 {HOSTILE}")
    bid = factories.submit_bid(tender, factories.bidder_with_key())
    pdf = receipt_pdf(bid)
    assert b"/Subtype /Image" not in pdf
    text = _pdftotext(pdf, tmp_path)
    assert "A<B &" in text and '<img src="/etc/hostname"/>' in text


def test_an_objection_with_markup_is_recorded_literally_and_the_opening_closes(tmp_path):
    tender, users, bids = _opened(decryption_fallback="not_opened")
    session = tender.opening
    with time_machine.travel(session.window_ends_at - timedelta(minutes=1), tick=False):
        with pytest.raises(ValidationError) as nul:
            opening.opening_objection_raise(user=users[0], tender=tender, text=HOSTILE + "\x00")
        assert nul.value.error_dict["text"][0].code == "nul_byte"
        opening.opening_objection_raise(user=users[0], tender=tender, text=HOSTILE + "\x1b")
    with time_machine.travel(session.window_ends_at, tick=False):
        tasks.clock_tick()
    session.refresh_from_db()
    with time_machine.travel(session.confirm_until, tick=False):
        tasks.clock_tick()
    session.refresh_from_db()
    assert session.phase == P.CLOSED
    with session.record.open("rb") as fh:
        pdf = fh.read()
    assert b"/Subtype /Image" not in pdf
    assert '<img src="/etc/hostname"/>' in _pdftotext(pdf, tmp_path)


def test_one_openings_failure_does_not_hold_up_another_in_the_same_tick():
    from bidding.opening.pdf import record

    first = _opened(decryption_fallback="not_opened")[0]
    second = _opened(decryption_fallback="not_opened")[0]
    end = max(first.opening.window_ends_at, second.opening.window_ends_at)
    with time_machine.travel(end, tick=False):
        tasks.clock_tick()
    later = max(OpeningSession.objects.values_list("confirm_until", flat=True))
    real = record.opening_record_pdf

    def crashes_for_the_first(session):
        if session.tender_id == first.pk:
            raise RuntimeError("renderer crashed")
        return real(session)

    with mock.patch.object(record, "opening_record_pdf", crashes_for_the_first):
        with time_machine.travel(later, tick=False):
            tasks.clock_tick()
    first.opening.refresh_from_db()
    second.opening.refresh_from_db()
    assert (first.opening.phase, second.opening.phase) == (P.CONFIRMING, P.CLOSED)
    with time_machine.travel(later + timedelta(seconds=5), tick=False):
        tasks.clock_tick()
    first.opening.refresh_from_db()
    assert first.opening.phase == P.CLOSED


@pytest.mark.parametrize("forfeit", [True, False])
def test_a_bidder_that_withholds_its_key_from_an_unopenable_envelope_gains_nothing(
        monkeypatch, tmp_path, forfeit):
    """Selective opening: the rogue seals shares of another key for the custodians and
    keeps its own key back. No price is shown while it could still decide; then its bid
    is rejected with the proof, its bond kept, the record says why, and supervision has
    a flag."""
    from bidding.bids import services as bid_services
    from bidding.bids.models import BidBond
    from bidding.tenders import custody
    from crypto import shamir
    from supervision.models import Flag

    tender = factories.published_tender(bond_amount=1000, forfeit_bond_if_unopenable=forfeit)
    honest = [factories.bidder_with_key() for _ in range(2)]
    honest_bids = [factories.submit_bid(tender, u) for u in honest]
    rogue = factories.bidder_with_key()
    real_split = shamir.split
    monkeypatch.setattr(shamir, "split", lambda secret, k, n, *, randbelow: real_split(
        bytes(32), k, n, randbelow=randbelow))
    bad = factories.submit_bid(tender, rogue)
    monkeypatch.setattr(shamir, "split", real_split)
    bid_services.bond_record(user=rogue, tender=tender, amount=tender.bond_amount,
                             kind="transfer", payer_account="6222", payer_name="x")
    with time_machine.travel(tender.deadline, tick=False):
        tasks.clock_tick()
    tender.refresh_from_db()
    session = tender.opening
    with time_machine.travel(session.window_ends_at - timedelta(seconds=5), tick=False):
        for bid, user in zip(honest_bids, honest, strict=True):
            _decrypt(tender, bid, user)
        assert hall_state(tender, rogue, "bidder")["announced"] == []
    with time_machine.travel(session.window_ends_at, tick=False):
        tasks.clock_tick()
        assert hall_state(tender, rogue, "bidder")["announced"] == []
        assert not Flag.objects.exists()
        for seat in custody.seats(tender)[:2]:
            opening.opening_custodian_share(
                user=seat.custodian, tender=tender,
                share=factories.custodian_share(tender, seat.custodian))
    item = BidOpening.objects.get(bid=bad)
    assert item.status == BidOpening.Status.REJECTED and item.announced_at is None
    bond = BidBond.objects.get(bidder=rogue.organisation)
    assert bond.status == (BidBond.Status.FORFEITED if forfeit else BidBond.Status.REFUND_DUE)
    flag = Flag.objects.get()
    assert (flag.kind, flag.severity, flag.subjects) == (
        "unopenable_bid", "high", [rogue.organisation.credit_code])
    assert flag.evidence["proof"]["kind"] == "custodian_shares_do_not_open"
    assert AuditEvent.objects.filter(action="opening.reject").count() == 1
    announced = BidOpening.objects.filter(announced_at__isnull=False)
    assert {a.bid_id for a in announced} == {b.pk for b in honest_bids}
    assert len({a.announced_at for a in announced}) == 1
    session.refresh_from_db()
    with time_machine.travel(session.confirm_until, tick=False):
        tasks.clock_tick()
    session.refresh_from_db()
    with session.record.open("rb") as fh:
        text = "".join(_pdftotext(fh.read(), tmp_path).split())  # cells wrap lines
    assert "拒绝：投标人加密所致，托管人亦无法解密" in text


def test_the_hall_state_takes_as_many_queries_for_twenty_bids_as_for_three():
    # Every watcher's connect and every hand-over's answer builds it: the sign-in
    # list is read once, not once per bid, and no column left out is read row by row.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from bidding.opening.models import OpeningSignin
    from bidding.opening.selectors import hall_state

    counts = []
    for n in (3, 20):
        tender, users = factories.opened_tender(
            prices=[f"{9_000_000 + i}.00" for i in range(n)])
        for user in users[:2]:
            OpeningSignin.objects.create(tender=tender, bidder=user.organisation,
                                         user=user, signed_in_at=tender.deadline)
        with CaptureQueriesContext(connection) as queries:
            state = hall_state(tender, tender.created_by, "host")
        assert [b["signed_in"] for b in state["bidders"]].count(True) == 2
        counts.append(len(queries))
        with CaptureQueriesContext(connection) as queries:
            yours = [hall_state(tender, user, "bidder")["you"] for user in users[1:3]]
        assert [(y["signed_in"], y["confirmed"]) for y in yours] == [(True, False),
                                                                     (False, False)]
        counts.append(len(queries) / 2)
    assert counts[0] == counts[2] and counts[1] == counts[3], counts
