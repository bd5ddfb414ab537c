"""The price round on the award page in a real browser at phone width: the live dot
connects to the hall's websocket, a candidate hands over its sheet's data key unwrapped
in the browser from its bid key file; screenshots /tmp/price-round-zh.png and -en.png."""

import pytest

from bidding.award import price_round
from bidding.award.models import PriceOffer
from core import clock
from crypto import keys
from tests import factories
from tests.bidding.award.test_price_round import _round, _seal
from tests.browser.conftest import in_thread

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSPHRASE = "price round pass"
PHONE = {"width": 390, "height": 844}


def _prepared():
    tender, users, bids, rnd, now = _round()
    price_round.price_offer_submit(user=users[0], tender=tender,
                                   sheet=_seal(tender, users[0], "9100000.00"), now=now)
    price_round.price_offer_submit(user=users[1], tender=tender,
                                   sheet=_seal(tender, users[1], "9200000.00"), now=now)
    clock.tick(now=rnd.deadline)
    pem = keys.private_key_to_pem(factories.PRIVATE_KEYS[users[0].username],
                                  PASSPHRASE.encode())
    return tender.pk, users[0].username, users[0].organisation_id, pem


def _login(page, base, username):
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", factories.PASSWORD)
    page.click("button[type=submit].btn")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def test_a_candidate_hands_over_its_key_in_the_browser_on_a_phone(
        browser, asgi_live_server, tmp_path):
    base = asgi_live_server.url
    tender_id, username, org_id, pem = in_thread(_prepared)
    key_path = tmp_path / "bid.key"
    key_path.write_bytes(pem)
    pages = {}
    for locale in ("zh-CN", "en-US"):
        page = browser.new_context(locale=locale, viewport=PHONE).new_page()
        errors = []
        page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
        _login(page, base, username)
        page.goto(f"{base}/award/{tender_id}/")
        page.wait_for_selector("#pr-conn.on")  # the hall's websocket is live
        assert page.locator("#pr-key-form").is_visible()
        assert "9100000" not in page.content()
        # Nothing wider than the phone.
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
        page.locator("#pr-key-form").scroll_into_view_if_needed()
        page.screenshot(path=f"/tmp/price-round-{locale[:2]}.png", full_page=True)
        assert not errors, errors
        pages[locale] = page
    page = pages["en-US"]
    page.set_input_files("#pr-keyfile", str(key_path))
    page.fill("#pr-pass", PASSPHRASE)
    page.click("#pr-decrypt")
    page.wait_for_selector("#pr-msg.msg-success", timeout=20000)
    offer = in_thread(lambda: PriceOffer.objects.get(bidder_id=org_id))
    assert (offer.status, offer.decrypted_by) == ("decrypted", "bidder")
    assert page.locator("#pr-key-form").count() == 0
    assert "9100000" not in page.content()  # still sealed to everyone until the close
