"""The hall's custodian panel in a real browser: each custodian decrypts its shares of
the undecrypted v2 bids in its own browser and hands over only the shares; with k of
them the platform opens the bids."""

from datetime import timedelta

import pytest
import time_machine

from bidding.tenders import custody
from core import tasks
from crypto import keys
from tests import factories
from tests.browser.conftest import in_thread

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _login(page, base, username):
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", factories.PASSWORD)
    page.click("button[type=submit].btn")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def test_custodians_hand_over_their_shares_from_the_hall_page(browser, asgi_live_server,
                                                              tmp_path):
    from bidding.opening.models import BidOpening

    base = asgi_live_server.url
    tender = factories.published_tender()
    for _ in range(3):
        factories.submit_bid(tender, factories.bidder_with_key())
    seats = custody.seats(tender)
    traveller = time_machine.travel(tender.deadline + timedelta(seconds=1), tick=True)
    traveller.start()
    try:
        in_thread(tasks.clock_tick)
        tender.refresh_from_db()
        window_end = in_thread(lambda: type(tender).objects.get(pk=tender.pk)
                               .opening.window_ends_at)
        traveller.stop()
        traveller = time_machine.travel(window_end + timedelta(seconds=1), tick=True)
        traveller.start()
        in_thread(tasks.clock_tick)
        for seat in seats[:2]:
            name = seat.custodian.username
            key_file = tmp_path / f"{name}.key"
            key_file.write_bytes(keys.private_key_to_pem(factories.PRIVATE_KEYS[name],
                                                         b"custodian pass"))
            page = browser.new_context(locale="en-US").new_page()
            errors = []
            page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
            _login(page, base, name)
            page.goto(f"{base}/tenders/{tender.pk}/opening/")
            page.wait_for_selector("#btn-custodian-shares", timeout=8000)
            page.set_input_files("#custodian-key", str(key_file))
            page.fill("#custodian-pass", "custodian pass")
            page.click("#btn-custodian-shares")
            for _ in range(200):  # the page's CSP forbids wait_for_function's eval
                if "bids" in page.input_value("#share"):
                    break
                page.wait_for_timeout(100)
            assert '"bids"' in page.input_value("#share"), errors
            # The hall answers the hand-over after its transaction has committed; only
            # then is the database read (SQLite's shared in-memory test database refuses
            # a read of a table another connection is still writing, at once).
            answer = page.wait_for_selector("#you-msg.msg-success, #you-msg.msg-error",
                                            timeout=20000)
            assert "msg-success" in answer.get_attribute("class"), answer.text_content()
            assert not errors
            shares = in_thread(lambda: list(
                type(tender).objects.get(pk=tender.pk).opening.shares.values_list(
                    "custodian__username", flat=True)))
            assert name in shares
        statuses = in_thread(lambda: set(BidOpening.objects.filter(
            session__tender_id=tender.pk).values_list("status", "decrypted_by")))
        assert statuses == {("decrypted", "custodians")}
    finally:
        traveller.stop()
