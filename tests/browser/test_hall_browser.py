"""The opening hall page in a real browser: a bidder decrypts with its key file and
every watcher sees the price announced live."""

from datetime import timedelta

import pytest
import time_machine

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


def test_a_bidder_decrypts_in_the_hall_and_the_public_sees_it_live(browser, asgi_live_server,
                                                                 tmp_path):
    live_server = asgi_live_server
    # Announced as decrypted (the default is now at_close): the watcher sees it live.
    tender = factories.published_tender(title="排涝泵站改造工程", announce_mode="as_decrypted")
    users = [factories.bidder_with_key() for _ in range(3)]
    for user in users:
        factories.submit_bid(tender, user)
    traveller = time_machine.travel(tender.deadline + timedelta(seconds=1), tick=True)
    traveller.start()
    try:
        in_thread(tasks.clock_tick)
        base = live_server.url
        watcher = browser.new_context(locale="zh-CN").new_page()
        logs = []
        watcher.on("console", lambda m: logs.append(m.text))
        watcher.on("pageerror", lambda e: logs.append(str(e)))
        watcher.goto(f"{base}/tenders/{tender.pk}/opening/")
        try:
            watcher.wait_for_selector("#hall-phase.badge-opening", timeout=8000)
        except Exception:
            watcher.screenshot(path="/tmp/shots/debug.png", full_page=True)
            raise AssertionError(logs)
        assert watcher.locator("#c-bids").inner_text() == "3"

        bidder = users[0]
        key_file = tmp_path / "bid.key"
        key_file.write_bytes(keys.private_key_to_pem(factories.PRIVATE_KEYS[bidder.username],
                                                     b"my passphrase"))
        page = browser.new_context(locale="en-US").new_page()
        _login(page, base, bidder.username)
        page.goto(f"{base}/tenders/{tender.pk}/opening/")
        page.wait_for_selector("#decrypt-box:not([hidden])", timeout=8000)
        page.set_input_files("#keyfile", str(key_file))
        page.fill("#passphrase", "my passphrase")
        page.click("#btn-decrypt")
        page.wait_for_selector(f"#announced td:has-text('{bidder.organisation.name}')")
        watcher.wait_for_selector(f"#announced td:has-text('{bidder.organisation.name}')")
        assert "9,500,000.00" in watcher.locator("#announced").inner_text()
        assert watcher.locator("#c-decrypted").inner_text() == "1"
        page.screenshot(path=str(tmp_path / "hall-bidder-en.png"), full_page=True)
        watcher.screenshot(path=str(tmp_path / "hall-public-zh.png"), full_page=True)
        import os
        import shutil

        if os.environ.get("GGZY_SCREENSHOTS"):
            for name in ("hall-bidder-en.png", "hall-public-zh.png"):
                shutil.copy(tmp_path / name, os.path.join(os.environ["GGZY_SCREENSHOTS"], name))
    finally:
        traveller.stop()


def test_the_hall_verifies_a_bidders_inclusion_proof(browser, asgi_live_server):
    tender = factories.published_tender()
    users = [factories.bidder_with_key() for _ in range(4)]
    for user in users:
        factories.submit_bid(tender, user)
    traveller = time_machine.travel(tender.deadline + timedelta(seconds=1), tick=True)
    traveller.start()
    try:
        in_thread(tasks.clock_tick)
        page = browser.new_context(locale="en-US").new_page()
        _login(page, asgi_live_server.url, users[2].username)
        page.goto(f"{asgi_live_server.url}/tenders/{tender.pk}/opening/")
        page.wait_for_selector("#proof-link:not([hidden])", timeout=8000)
        page.click("#proof-link")
        page.wait_for_selector("#you-msg.msg-success", timeout=8000)
        # A forged proof (another digest) is refused by the same code.
        from bidding.opening.services import inclusion_proof_for
        from crypto import merkle

        proof = in_thread(lambda: inclusion_proof_for(users[2].organisation.bids.get()))
        state = tender.opening.__class__.objects.get(tender=tender)
        forged = dict(proof, digest="00" * 32)
        assert page.evaluate("([p, r, n]) => GGZY.merkle.verifyInclusion(p, r, n)",
                             [proof, state.merkle_root, state.merkle_size]) is True
        assert page.evaluate("([p, r, n]) => GGZY.merkle.verifyInclusion(p, r, n)",
                             [forged, state.merkle_root, state.merkle_size]) is False
        assert merkle.verify_inclusion(proof, root_hex=state.merkle_root, size=state.merkle_size)
    finally:
        traveller.stop()


def test_the_signin_button_hides_once_signed_in_and_the_page_says_so(browser, asgi_live_server):
    """[hidden] must win over .btn's display: after 签到 the button is gone (computed
    style), and a text says the bidder has signed in."""
    tender = factories.published_tender(title="签到按钮测试")
    bidder = factories.bidder_with_key()
    factories.submit_bid(tender, bidder)
    base = asgi_live_server.url
    page = browser.new_context(locale="en-US").new_page()
    _login(page, base, bidder.username)
    page.goto(f"{base}/tenders/{tender.pk}/opening/")
    page.wait_for_selector("#hall-phase.badge", timeout=8000)
    display = "el => getComputedStyle(el).display"
    assert page.eval_on_selector("#btn-signin", display) != "none"
    assert page.eval_on_selector("#signed-in", display) == "none"
    page.click("#btn-signin")
    page.wait_for_selector("#signed-in:not([hidden])", timeout=8000)
    assert page.eval_on_selector("#btn-signin", display) == "none"
    assert page.eval_on_selector("#signed-in", display) != "none"
    assert "You have signed in" in page.locator("#signed-in").inner_text()
    page.reload()
    page.wait_for_selector("#signed-in:not([hidden])", timeout=8000)
    assert page.eval_on_selector("#btn-signin", display) == "none"
