"""Price competition (竞价): the second sealed price round among the candidates."""

import base64
import json
import subprocess
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from audit.models import AuditEvent
from bidding.award import decision, price_round
from bidding.award.models import AwardDecision, Notice, PriceOffer, PriceRound
from bidding.tenders import custody as tender_custody
from bidding.tenders.models import Tender
from core import clock
from crypto import custody, envelope
from tests import factories
from tests.bidding.award.helpers import code, separate_tender

pytestmark = pytest.mark.django_db
S = Tender.Status
Phase = PriceRound.Phase
OS = PriceOffer.Status


def _ids(bids):
    return [str(b.public_id) for b in bids]


def _seal(tender, user, total="9000000.00", **kw) -> bytes:
    """As a candidate's tool seals its second-round sheet: the first round's envelope
    (v2, the tender's custodian set) under the round's envelope id."""
    sheet = {"total_price": str(total), "duration_days": 300, "quality": "合格"}
    return factories.seal_for(tender, user, json.dumps(sheet, ensure_ascii=False).encode(),
                              tender_id=kw.pop("tender_id", price_round.envelope_id(tender)),
                              **kw)


def _data_key(user, sheet: bytes) -> str:
    """The candidate unwraps its own data key on its machine; only the key goes up."""
    key = envelope.unwrap_data_key(sheet, factories.PRIVATE_KEYS[user.username],
                                   label="bidder")
    return base64.b64encode(key).decode()


def _custodian_share(tender, custodian) -> dict:
    """What a custodian's tool hands over: its share of every pending sheet."""
    work = price_round.custodian_work(user=custodian, tender=tender)
    private = factories.PRIVATE_KEYS[custodian.username]
    out = {}
    for item in work["pending"]:
        x, share = custody.unwrap_share(base64.b64decode(item["price_sheet"]), private)
        out[item["sha256"]] = {"x": x, "price_sheet": base64.b64encode(share).decode()}
    return {"v": 2, "offers": out}


def _round(**kw):
    tender, users, bids, members, now = separate_tender("price_competition", **kw)
    deadline = now + timedelta(days=2)
    rnd = decision.price_competition_start(user=tender.created_by, tender=tender,
                                           deadline=deadline, window_minutes=30, now=now)
    return tender, users, bids, rnd, now


def _pdf_text(field) -> str:
    field.open("rb")
    data = field.read()
    field.close()
    assert b"/Sig" in data
    return subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True,
                          check=True).stdout.decode()


# ---------------------------------------------------------------- the whole path


def test_whole_price_competition_path_lowest_second_round_price_wins_and_notices_go_out():
    tender, users, bids, rnd, now = _round()
    assert rnd.phase == Phase.SEALING and rnd.candidates == _ids(bids[:3])
    prices = ["9400000.00", "9300000.00", "9350000.00"]  # first round 9.50/9.49/9.48 m
    sheets = [_seal(tender, u, p) for u, p in zip(users, prices, strict=True)]
    for user, sheet in zip(users, sheets, strict=True):
        price_round.price_offer_submit(user=user, tender=tender, sheet=sheet,
                                       now=now + timedelta(hours=1))
    # The platform holds ciphertext only: nothing announced, no price stored.
    assert not PriceOffer.objects.filter(total_price__isnull=False).exists()

    clock.tick(now=rnd.deadline)  # the deadline passes: the round's hall opens
    rnd.refresh_from_db()
    assert rnd.phase == Phase.DECRYPTING
    in_window = rnd.deadline + timedelta(minutes=5)
    for user, sheet in zip(users[:2], sheets[:2], strict=True):
        price_round.price_offer_decrypt(user=user, tender=tender,
                                        price_sheet_key=_data_key(user, sheet), now=in_window)
    assert not AuditEvent.objects.filter(action="award.price_round_announced").exists()

    clock.tick(now=rnd.window_ends_at)  # users[2] never handed over its key
    rnd.refresh_from_db()
    assert rnd.phase == Phase.CUSTODIANS
    seats = tender_custody.seats(tender)
    for seat in seats[: tender.opening_threshold]:
        price_round.price_round_custodian_share(
            user=seat.custodian, tender=tender, share=_custodian_share(tender, seat.custodian),
            now=rnd.window_ends_at + timedelta(minutes=5))
    rnd.refresh_from_db()
    assert rnd.phase == Phase.CLOSED
    third = PriceOffer.objects.get(round=rnd, bidder=users[2].organisation)
    assert (third.status, third.decrypted_by) == (OS.DECRYPTED, "custodians")
    assert [e["price"] for e in rnd.result["entries"]] == prices
    assert all(e["valid"] for e in rnd.result["entries"])

    d = AwardDecision.objects.get(tender=tender)
    assert str(d.winner.public_id) == str(bids[1].public_id)
    assert d.method == "price_competition" and d.record["award_price"] == "9300000.00"
    assert d.record["price_round"]["winner"] == str(bids[1].public_id)
    text = _pdf_text(d.report)
    assert "二次竞价" in text and "9,300,000.00" in text and users[1].organisation.name in text

    decision.notices_issue(user=tender.created_by, tender=tender,
                           now=rnd.window_ends_at + timedelta(hours=1))
    tender.refresh_from_db()
    assert tender.status == S.AWARDED
    notices = Notice.objects.filter(tender=tender)
    assert notices.count() == len(bids)
    assert {n.kind for n in notices if n.organisation == users[1].organisation} == {"award"}
    assert "9,300,000.00" in _pdf_text(notices.get(organisation=users[1].organisation).pdf)


# ---------------------------------------------------------------- the rules at the close


def _cands(*prices):
    return [{"bid": f"b{i}", "price": Decimal(p)} for i, p in enumerate(prices)]


def _offer(total, status=OS.DECRYPTED):
    return {"status": status, "total_price": None if total is None else Decimal(total)}


def test_lowest_valid_second_round_price_wins():
    r = price_round.judge(_cands("100", "100", "100"),
                          {"b0": _offer("90"), "b1": _offer("80"), "b2": _offer("85")},
                          max_price=Decimal("100"))
    assert (r["winner"], r["price"], r["tie_broken"]) == ("b1", "80", False)


def test_a_tie_goes_to_the_candidate_earlier_in_the_report_and_is_recorded():
    r = price_round.judge(_cands("100", "100", "100"),
                          {"b0": _offer("90"), "b1": _offer("80"), "b2": _offer("80")},
                          max_price=Decimal("100"))
    assert (r["winner"], r["tie_broken"], r["tie_rule"]) == ("b1", True, "report_order")


def test_a_price_above_the_maximum_price_is_invalid():
    r = price_round.judge(_cands("100", "120"), {"b0": _offer("99"), "b1": _offer("101")},
                          max_price=Decimal("100"))
    assert r["entries"][1]["reason"] == "above_max_price" and not r["entries"][1]["valid"]


def test_a_price_above_the_candidates_own_first_round_price_is_invalid():
    r = price_round.judge(_cands("90", "100"), {"b0": _offer("91"), "b1": _offer("95")},
                          max_price=Decimal("100"))
    assert r["entries"][0]["reason"] == "above_first_round"
    assert r["winner"] == "b1"


def test_no_offer_or_a_custodian_failure_keeps_the_first_round_price():
    r = price_round.judge(_cands("80", "90", "100"),
                          {"b1": _offer(None, OS.WITHDRAWN), "b2": _offer("85")},
                          max_price=Decimal("100"))
    assert [e["reason"] for e in r["entries"]][:2] == ["first_round_price_stands"] * 2
    assert (r["winner"], r["price"]) == ("b0", "80")


def test_unopenable_or_priceless_offers_are_out_and_none_valid_means_no_winner():
    r = price_round.judge(_cands("80", "90"), {"b0": _offer(None, OS.REJECTED),
                                               "b1": _offer(None)},
                          max_price=Decimal("100"))
    assert [e["reason"] for e in r["entries"]] == ["not_opened", "no_total_price"]
    assert (r["outcome"], r["winner"]) == ("no_valid_offer", None)


def test_an_offer_above_the_maximum_price_loses_in_the_real_round():
    tender, users, bids, rnd, now = _round()
    too_high = str(tender.max_price + 1)
    sheets = {0: _seal(tender, users[0], too_high), 1: _seal(tender, users[1], "9400000")}
    for i, sheet in sheets.items():
        price_round.price_offer_submit(user=users[i], tender=tender, sheet=sheet, now=now)
    clock.tick(now=rnd.deadline)
    rnd.refresh_from_db()
    for i, sheet in sheets.items():
        price_round.price_offer_decrypt(user=users[i], tender=tender,
                                        price_sheet_key=_data_key(users[i], sheet),
                                        now=rnd.deadline)
    clock.tick(now=rnd.window_ends_at)
    rnd.refresh_from_db()
    assert rnd.phase == Phase.CLOSED
    assert rnd.result["entries"][0]["reason"] == "above_max_price"
    # users[2] submitted nothing: its first-round price (9,480,000) stands; 9,400,000 wins.
    assert rnd.result["entries"][2]["reason"] == "first_round_price_stands"
    assert AwardDecision.objects.get(tender=tender).winner == bids[1]


# ---------------------------------------------------------------- refusals


def test_opening_the_round_under_another_decision_method_is_refused():
    tender, users, bids, members, now = separate_tender("lottery")
    with pytest.raises(ValidationError) as exc:
        decision.price_competition_start(user=tender.created_by, tender=tender,
                                         deadline=now + timedelta(days=2), now=now)
    assert code(exc) == "wrong_method"


def test_opening_the_round_twice_is_refused():
    tender, users, bids, rnd, now = _round()
    with pytest.raises(ValidationError) as exc:
        decision.price_competition_start(user=tender.created_by, tender=tender,
                                         deadline=now + timedelta(days=3), now=now)
    assert code(exc) == "round_exists"


def test_a_deadline_less_than_a_day_ahead_or_a_bad_window_is_refused():
    tender, users, bids, members, now = separate_tender("price_competition")
    with pytest.raises(ValidationError) as exc:
        decision.price_competition_start(user=tender.created_by, tender=tender,
                                         deadline=now + timedelta(hours=23), now=now)
    assert code(exc) == "deadline_too_soon"
    with pytest.raises(ValidationError) as exc:
        decision.price_competition_start(user=tender.created_by, tender=tender,
                                         deadline=now + timedelta(days=2), window_minutes=1,
                                         now=now)
    assert code(exc) == "decryption_window"


def test_only_the_tenderer_or_the_trading_centre_opens_the_round():
    tender, users, bids, members, now = separate_tender("price_competition")
    with pytest.raises(PermissionDenied):
        decision.price_competition_start(user=users[0], tender=tender,
                                         deadline=now + timedelta(days=2), now=now)
    rnd = decision.price_competition_start(user=factories.operator(), tender=tender,
                                           deadline=now + timedelta(days=2), now=now)
    assert rnd.phase == Phase.SEALING


def test_a_bidder_that_is_not_a_candidate_cannot_submit():
    tender, users, bids, rnd, now = _round(n_candidates=2)
    with pytest.raises(ValidationError) as exc:
        price_round.price_offer_submit(user=users[2], tender=tender,
                                       sheet=_seal(tender, users[2]), now=now)
    assert code(exc) == "not_a_candidate"


def test_an_offer_after_the_round_deadline_is_refused():
    tender, users, bids, rnd, now = _round()
    with pytest.raises(ValidationError) as exc:
        price_round.price_offer_submit(user=users[0], tender=tender,
                                       sheet=_seal(tender, users[0]), now=rnd.deadline)
    assert code(exc) == "round_closed"


def test_a_second_offer_from_the_same_candidate_is_refused():
    tender, users, bids, rnd, now = _round()
    price_round.price_offer_submit(user=users[0], tender=tender,
                                   sheet=_seal(tender, users[0]), now=now)
    with pytest.raises(ValidationError) as exc:
        price_round.price_offer_submit(user=users[0], tender=tender,
                                       sheet=_seal(tender, users[0], "8000000"), now=now)
    assert code(exc) == "already_submitted"


def test_a_price_sheet_the_custodian_set_cannot_open_is_refused():
    tender, users, bids, rnd, now = _round()
    own = factories.PRIVATE_KEYS[users[0].username]
    strangers = envelope.Custody(2, tuple(factories.crypto_keys.generate_private_key()
                                          .public_key() for _ in range(3)))
    out = __import__("io").BytesIO()
    envelope.seal(__import__("io").BytesIO(b'{"total_price": "1"}'), out,
                  tender_id=rnd.envelope_id, bidder_id=users[0].organisation.credit_code,
                  recipients=[envelope.Recipient("bidder", own.public_key())],
                  chunk_size=64 * 1024, custody=strangers)
    with pytest.raises(ValidationError) as exc:
        price_round.price_offer_submit(user=users[0], tender=tender, sheet=out.getvalue(),
                                       now=now)
    assert code(exc) == "bad_price_sheet"


def test_a_first_round_price_sheet_cannot_stand_for_a_second_round_one():
    tender, users, bids, rnd, now = _round()
    with pytest.raises(ValidationError) as exc:
        price_round.price_offer_submit(user=users[0], tender=tender,
                                       sheet=bytes(bids[0].price_sheet), now=now)
    assert code(exc) == "bad_price_sheet"


def test_a_wrong_data_key_is_refused_and_recorded_and_the_window_is_enforced():
    tender, users, bids, rnd, now = _round()
    sheet = _seal(tender, users[0])
    price_round.price_offer_submit(user=users[0], tender=tender, sheet=sheet, now=now)
    with pytest.raises(ValidationError) as exc:  # before the deadline: not yet
        price_round.price_offer_decrypt(user=users[0], tender=tender,
                                        price_sheet_key=_data_key(users[0], sheet), now=now)
    assert code(exc) == "window_closed"
    clock.tick(now=rnd.deadline)
    with pytest.raises(ValidationError) as exc:
        price_round.price_offer_decrypt(user=users[0], tender=tender,
                                        price_sheet_key=base64.b64encode(b"k" * 32).decode(),
                                        now=rnd.deadline)
    assert code(exc) == "wrong_key"
    assert AuditEvent.objects.filter(action="award.price_offer_decrypt_failed").exists()
    rnd.refresh_from_db()
    with pytest.raises(ValidationError) as exc:
        price_round.price_offer_decrypt(user=users[0], tender=tender,
                                        price_sheet_key=_data_key(users[0], sheet),
                                        now=rnd.window_ends_at)
    assert code(exc) == "window_closed"


def test_a_sheet_whose_committed_shares_do_not_open_it_is_rejected_with_the_proof():
    tender, users, bids, rnd, now = _round()
    # A candidate whose tool commits the custodians to junk shares (a forged header is
    # refused by the MAC, so the fault must be in what the bidder committed to).
    import io

    from crypto import shamir

    own = factories.PRIVATE_KEYS[users[0].username]
    seats = tender_custody.seats(tender)
    plan = envelope.Custody(tender.opening_threshold, tuple(
        factories.crypto_keys.public_key_from_bytes(bytes(s.custodian_key.point))
        for s in seats))
    real_split = shamir.split

    def bad_split(secret, k, n, *a, **kw):  # shares of another key
        return real_split(b"\x01" * len(secret), k, n, *a, **kw)

    shamir.split = bad_split
    try:
        out = io.BytesIO()
        envelope.seal(io.BytesIO(b'{"total_price": "9000000"}'), out,
                      tender_id=rnd.envelope_id, bidder_id=users[0].organisation.credit_code,
                      recipients=[envelope.Recipient("bidder", own.public_key())],
                      chunk_size=64 * 1024, custody=plan)
    finally:
        shamir.split = real_split
    price_round.price_offer_submit(user=users[0], tender=tender, sheet=out.getvalue(),
                                   now=now)
    clock.tick(now=rnd.deadline)
    rnd.refresh_from_db()
    clock.tick(now=rnd.window_ends_at)
    for seat in seats[: tender.opening_threshold]:
        price_round.price_round_custodian_share(
            user=seat.custodian, tender=tender,
            share=_custodian_share(tender, seat.custodian), now=rnd.window_ends_at)
    offer = PriceOffer.objects.get(round=rnd)
    assert offer.status == OS.REJECTED
    assert offer.proof["kind"] == "custodian_shares_do_not_open"
    custody.verify_fault_proof(offer.proof["fault_proof"])
    rnd.refresh_from_db()
    assert rnd.result["entries"][0]["reason"] == "not_opened"


def test_only_a_custodian_of_the_tender_hands_over_shares_and_only_in_its_phase():
    tender, users, bids, rnd, now = _round()
    seat = tender_custody.seats(tender)[0]
    with pytest.raises(ValidationError) as exc:
        price_round.price_round_custodian_share(user=seat.custodian, tender=tender,
                                                share={"v": 2, "offers": {}}, now=now)
    assert code(exc) == "not_custodian_phase"
    price_round.price_offer_submit(user=users[0], tender=tender,
                                   sheet=_seal(tender, users[0]), now=now)
    clock.tick(now=rnd.deadline)
    rnd.refresh_from_db()
    clock.tick(now=rnd.window_ends_at)
    with pytest.raises(PermissionDenied):
        price_round.price_round_custodian_share(user=users[0], tender=tender,
                                                share={"v": 2, "offers": {}}, now=now)


def test_undecrypted_sheets_nobody_opens_are_withdrawn_when_the_custodians_time_ends():
    tender, users, bids, rnd, now = _round()
    price_round.price_offer_submit(user=users[0], tender=tender,
                                   sheet=_seal(tender, users[0], "9000000"), now=now)
    clock.tick(now=rnd.deadline)
    rnd.refresh_from_db()
    clock.tick(now=rnd.window_ends_at)
    rnd.refresh_from_db()
    clock.tick(now=rnd.custodians_until)
    rnd.refresh_from_db()
    assert rnd.phase == Phase.CLOSED
    assert rnd.result["entries"][0]["reason"] == "first_round_price_stands"
    assert AwardDecision.objects.get(tender=tender).winner == bids[2]  # lowest first round


def test_the_round_speaks_on_the_opening_halls_websocket_group_and_prices_only_at_close(
        django_capture_on_commit_callbacks, settings):
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    from bidding.opening.realtime import opening_group

    # The events are what this test reads, from a listener in this process: the in-memory
    # layer (a Redis layer binds channels to the event loop that made them, and
    # async_to_sync makes a new loop per call). The real stack's fan-out is tested in
    # tests/stack and measured by bench_hall_fanout.
    # (channels resets its layers when the setting changes, and again when it is restored.)
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    tender, users, bids, rnd, now = _round()
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(opening_group(tender.pk), channel)
    sheet = _seal(tender, users[0], "9100000.00")
    with django_capture_on_commit_callbacks(execute=True):
        price_round.price_offer_submit(user=users[0], tender=tender, sheet=sheet, now=now)
    event = async_to_sync(layer.receive)(channel)["event"]
    assert event["type"] == "price_round.counters" and "9100000" not in json.dumps(event)
    with django_capture_on_commit_callbacks(execute=True):
        clock.tick(now=rnd.deadline)
        rnd.refresh_from_db()
        price_round.price_offer_decrypt(user=users[0], tender=tender,
                                        price_sheet_key=_data_key(users[0], sheet),
                                        now=rnd.deadline)
        clock.tick(now=rnd.window_ends_at)
    events = [async_to_sync(layer.receive)(channel)["event"] for _ in range(3)]
    assert [e["type"] for e in events] == ["price_round.phase", "price_round.counters",
                                           "price_round.closed"]
    assert all("9100000" not in json.dumps(e) for e in events[:-1])
    closed = events[-1]
    assert closed["type"] == "price_round.closed"
    assert closed["winner"] == str(bids[0].public_id) and closed["price"] == "9100000.00"


def test_no_valid_price_and_nobody_on_a_first_round_price_fails_the_tender():
    """Every candidate offered and every offer is invalid (above the maximum price, above
    its own first-round price): nobody is left, so the tender fails (award -> failed by
    the platform) with the reason, everyone is told, and no decision is made."""
    from accounts.models import Notification

    tender, users, bids, rnd, now = _round()
    too_high = str(tender.max_price + 1)
    above_own = str(Decimal(str(tender.max_price)) - 1)  # above every first-round price
    sheets = {0: _seal(tender, users[0], too_high), 1: _seal(tender, users[1], above_own),
              2: _seal(tender, users[2], too_high)}
    for i, sheet in sheets.items():
        price_round.price_offer_submit(user=users[i], tender=tender, sheet=sheet, now=now)
    clock.tick(now=rnd.deadline)
    rnd.refresh_from_db()
    for i, sheet in sheets.items():
        price_round.price_offer_decrypt(user=users[i], tender=tender,
                                        price_sheet_key=_data_key(users[i], sheet),
                                        now=rnd.deadline)
    clock.tick(now=rnd.window_ends_at)
    rnd.refresh_from_db()
    tender.refresh_from_db()
    assert rnd.phase == Phase.CLOSED and rnd.result["outcome"] == "no_valid_offer"
    assert {e["reason"] for e in rnd.result["entries"]} == {"above_max_price",
                                                            "above_first_round"}
    assert tender.status == S.FAILED
    assert not AwardDecision.objects.filter(tender=tender).exists()
    event = AuditEvent.objects.filter(action="tender.transition",
                                      object_id=str(tender.pk)).order_by("-seq").first()
    assert event.summary.endswith("award -> failed") and event.actor == "system"
    told = Notification.objects.filter(organisation=bids[0].bidder,
                                       subject__contains=tender.reference,
                                       body__contains="price competition")
    assert told.exists()


def test_one_candidate_keeping_its_first_round_price_is_enough_to_avoid_failure():
    tender, users, bids, rnd, now = _round()
    too_high = str(tender.max_price + 1)
    sheets = {0: _seal(tender, users[0], too_high), 1: _seal(tender, users[1], too_high)}
    for i, sheet in sheets.items():
        price_round.price_offer_submit(user=users[i], tender=tender, sheet=sheet, now=now)
    clock.tick(now=rnd.deadline)
    for i, sheet in sheets.items():
        price_round.price_offer_decrypt(user=users[i], tender=tender,
                                        price_sheet_key=_data_key(users[i], sheet),
                                        now=rnd.deadline)
    clock.tick(now=rnd.deadline + timedelta(minutes=30))
    tender.refresh_from_db()
    assert tender.status == S.AWARD
    assert AwardDecision.objects.get(tender=tender).winner == bids[2]


def test_a_second_round_offer_gets_the_first_rounds_signed_receipt_as_json_and_signed_pdf(
        client):
    from audit.services import audit_tree_head_latest
    from core import platform_keys
    from crypto import receipts
    from crypto.errors import CryptoError

    tender, users, bids, rnd, now = _round()
    head_before = audit_tree_head_latest()
    sheet = _seal(tender, users[0], "9100000.00")
    offer = price_round.price_offer_submit(user=users[0], tender=tender, sheet=sheet,
                                           now=now)
    r = offer.receipt
    body = receipts.receipt_verify(r, platform_keys.verify_key())
    assert body["sha256"] == __import__("hashlib").sha256(sheet).hexdigest()
    assert body["size"] == len(sheet)
    assert body["tender_id"] == f"{tender.reference}/price-round"
    assert body["extra"]["round"] == "price"
    assert body["extra"]["first_round_bid"] == str(bids[0].public_id)
    assert receipts.receipt_tree_head(r) == head_before
    tampered = {**r, "sha256": "0" * 64}
    with pytest.raises(CryptoError):
        receipts.receipt_verify(tampered, platform_keys.verify_key())

    client.force_login(users[0])
    got = client.get(f"/api/tenders/{tender.pk}/award/price-round/receipt/")
    assert got.status_code == 200 and got.json() == r
    pdf = client.get(f"/api/tenders/{tender.pk}/award/price-round/receipt.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert b"/Sig" in pdf.content
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf.content, capture_output=True,
                          check=True).stdout.decode()
    assert "Price Round Offer Receipt" in text and tender.reference in text
    assert offer.sha256[:32] in text.replace("\n", "")
    # Another candidate has no receipt of its own; nobody sees someone else's.
    client.force_login(users[1])
    assert client.get(f"/api/tenders/{tender.pk}/award/price-round/receipt/").status_code \
        == 404
