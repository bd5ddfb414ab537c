"""The price round on the award page: state, who has offered (never a price before the
close), the candidate's sealing commands and key hand-over, the custodian's command, the
announced prices and the winner; no inline script; both languages."""

import re

import pytest
from django.conf import settings
from django.test import Client

from bidding.award import price_round
from bidding.award.models import PriceRound
from bidding.tenders import custody as tender_custody
from core import clock
from tests.bidding.award.test_price_round import _data_key, _round, _seal

pytestmark = pytest.mark.django_db


def _page(tender, user=None, lang="en") -> str:
    c = Client()
    c.cookies[settings.LANGUAGE_COOKIE_NAME] = lang
    if user is not None:
        c.force_login(user)
    r = c.get(f"/award/{tender.pk}/")
    assert r.status_code == 200
    return r.content.decode()


def _no_inline_script(html: str) -> None:
    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag


def test_before_the_close_the_page_shows_who_offered_but_no_price():
    tender, users, bids, rnd, now = _round()
    price_round.price_offer_submit(user=users[0], tender=tender,
                                   sheet=_seal(tender, users[0], "9123456.00"), now=now)
    for viewer in (users[0], users[1], None):
        html = _page(tender, viewer)
        assert 'id="price-round"' in html and "Sealing" in html
        assert "9123456" not in html and "9,123,456" not in html
        assert 'id="pr-offers">1<' in html
        assert html.count("Received") >= 1 and "Not yet" in html
        assert "data-countdown=" in html
        _no_inline_script(html)
        assert "js/priceround.js" in html
    mine = _page(tender, users[0])
    assert "Your offer" in mine and rnd.offers.get().sha256 in mine
    assert "price-round/receipt.pdf" in mine
    other = _page(tender, users[1])  # a candidate that has not offered: how to seal
    assert (f"python -m ggzy_bid price-round --tender {tender.reference} --key bid.key "
            "--price-sheet sheet.json") in other
    assert "receipt.pdf" not in other
    public = _page(tender)
    assert "python -m ggzy_bid price-round" not in public and "Your offer" not in public


def test_in_the_window_a_candidate_sees_the_key_handover_in_browser_and_cli():
    tender, users, bids, rnd, now = _round()
    sheet = _seal(tender, users[0], "9100000.00")
    price_round.price_offer_submit(user=users[0], tender=tender, sheet=sheet, now=now)
    clock.tick(now=rnd.deadline)
    html = _page(tender, users[0])
    assert "Decryption window" in html and 'id="pr-key-form"' in html
    assert "csrfmiddlewaretoken" in html and 'for="pr-keyfile"' in html
    assert f"python -m ggzy_bid price-round-decrypt --tender {tender.reference}" in html
    assert 'id="pr-key-form"' not in _page(tender, users[1])  # no offer, nothing to open
    price_round.price_offer_decrypt(user=users[0], tender=tender,
                                    price_sheet_key=_data_key(users[0], sheet),
                                    now=rnd.deadline)
    html = _page(tender, users[0])
    assert 'id="pr-key-form"' not in html and "9100000" not in html


def test_in_the_custodians_phase_a_custodian_sees_its_command():
    tender, users, bids, rnd, now = _round()
    price_round.price_offer_submit(user=users[0], tender=tender,
                                   sheet=_seal(tender, users[0], "9100000.00"), now=now)
    clock.tick(now=rnd.deadline)
    rnd.refresh_from_db()
    clock.tick(now=rnd.window_ends_at)
    rnd.refresh_from_db()
    assert rnd.phase == PriceRound.Phase.CUSTODIANS
    custodian = tender_custody.seats(tender)[0].custodian
    html = _page(tender, custodian)
    assert f"python -m ggzy_bid price-round-share --tender {tender.reference}" in html
    assert "price-round-share" not in _page(tender, users[1])


def test_after_the_close_the_prices_and_the_winner_are_announced_in_both_languages():
    tender, users, bids, rnd, now = _round()
    sheets = {0: _seal(tender, users[0], "9100000.00"), 1: _seal(tender, users[1], "9050000.00")}
    for i, sheet in sheets.items():
        price_round.price_offer_submit(user=users[i], tender=tender, sheet=sheet, now=now)
    clock.tick(now=rnd.deadline)
    rnd.refresh_from_db()
    for i, sheet in sheets.items():
        price_round.price_offer_decrypt(user=users[i], tender=tender,
                                        price_sheet_key=_data_key(users[i], sheet),
                                        now=rnd.deadline)
    clock.tick(now=rnd.window_ends_at)
    en = _page(tender)
    assert 'id="pr-result"' in en and "9100000.00" in en and "9050000.00" in en
    winner_row = re.search(r'<tr class="winner"><td>(.*?)</td>', en).group(1)
    assert bids[1].bidder.name in winner_row and "winner" in winner_row
    assert "Lowest valid price: 9050000.00 yuan." in en
    assert "No second-round price: the first-round price stands" in en  # users[2]
    zh = _page(tender, lang="zh-hans")
    assert 'lang="zh-CN"' in zh and 'lang="en"' in en
    assert 'id="pr-result"' in zh and "9050000.00" in zh


def test_no_valid_price_shows_the_failure():
    tender, users, bids, rnd, now = _round()
    too_high = str(tender.max_price + 1)
    sheets = {i: _seal(tender, users[i], too_high) for i in range(3)}
    for i, sheet in sheets.items():
        price_round.price_offer_submit(user=users[i], tender=tender, sheet=sheet, now=now)
    clock.tick(now=rnd.deadline)
    rnd.refresh_from_db()
    for i, sheet in sheets.items():
        price_round.price_offer_decrypt(user=users[i], tender=tender,
                                        price_sheet_key=_data_key(users[i], sheet),
                                        now=rnd.deadline)
    clock.tick(now=rnd.window_ends_at)
    html = _page(tender)
    assert "No valid price: the tender has failed" in html and "Above the maximum price" in html


def test_before_the_round_is_opened_the_page_says_so():
    from tests.bidding.award.helpers import separate_tender

    tender, users, bids, members, now = separate_tender("price_competition")
    html = _page(tender, users[0])
    assert "The price round has not been opened yet." in html
    assert "priceround.js" not in html
