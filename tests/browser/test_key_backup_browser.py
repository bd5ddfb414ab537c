"""The bidder's key in the browser, in headless Chromium: the backup file saved when the
key is made loads back (after the browser lost the key) to the same key, a wrong
passphrase gets a plain error, a new key while a sealed bid exists is asked about first,
and the opening hall says in plain words when the browser holds the wrong key or none."""

from __future__ import annotations

import json
import os
from datetime import timedelta

import pytest
import time_machine
from cryptography.hazmat.primitives.asymmetric import ec

from bidding.tenders import services
from core import tasks
from crypto import keybackup, keys
from tests import factories
from tests.browser.conftest import in_thread
from tests.browser.test_bid_browser import login, open_bid_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSPHRASE = "备份口令 backup 2026"


@pytest.fixture
def setup(live_server):
    factories.ensure_custodians()
    tender = factories.published_tender()
    user = factories.bidder(username="wangwu")
    services.document_obtain(user=user, tender=tender)
    return tender, user, live_server.url


def shot(page, name):
    """Screenshots for people to look at, when GGZY_SCREENSHOTS names a folder."""
    folder = os.environ.get("GGZY_SCREENSHOTS")
    if folder:
        page.screenshot(path=os.path.join(folder, name), full_page=True)


def stored_key(page, bidder_id):
    """What the browser's key store holds for the bidder: fingerprint and extractability."""
    return page.evaluate("""async (id) => {
      const r = await GGZY.bidkeys.load(id);
      return r ? {fingerprint: r.fingerprint, extractable: r.privateKey.extractable} : null;
    }""", bidder_id)


def test_a_backup_file_brings_the_key_back_after_the_browser_lost_it(setup, browser, tmp_path):
    tender, user, base = setup
    bidder_id = user.organisation.credit_code
    context = browser.new_context(locale="en-US", accept_downloads=True)
    page = context.new_page()
    login(page, base, "wangwu")
    open_bid_page(page, base, tender)

    page.click("#key-generate")
    page.wait_for_selector("#key-backup", state="visible")
    made = page.text_content("#key-fingerprint")
    assert "only moment the backup can be made" in page.text_content("#key-backup")
    page.fill("#backup-pass", PASSPHRASE)
    page.fill("#backup-pass2", PASSPHRASE)
    with page.expect_download() as download:
        page.click("#key-download")
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    assert path.suffix == ".json"
    doc = json.loads(path.read_text())
    assert doc["format"] == "ggzy-bid-key-backup" and doc["version"] == 1
    assert doc["iterations"] >= 600_000 and doc["cipher"] == "AES-256-GCM"
    assert doc["fingerprint"] == made and doc["bidder_id"] == bidder_id
    # The same file opens in Python (the command-line tool) to the same key.
    assert keys.key_fingerprint(keybackup.load(path.read_bytes(), PASSPHRASE.encode())) == made
    # Once backed up, the browser keeps the key non-extractable.
    assert stored_key(page, bidder_id) == {"fingerprint": made, "extractable": False}
    page.click("#key-register-btn")
    page.wait_for_selector("#key-status.msg-success")
    assert page.get_attribute("#check-key", "data-state") == "done"

    # At sealing the page says which key the bid is sealed to and checks a backup file.
    page.wait_for_selector("#seal-backup", state="visible")
    assert "saved on" in page.text_content("#seal-backup-when")
    page.set_input_files("#seal-backup-file", str(path))
    page.wait_for_selector("#seal-backup-check.msg-success")
    other = tmp_path / "other.json"
    other.write_bytes(keybackup.dump(ec.generate_private_key(ec.SECP256R1()), b"x" * 12))
    page.set_input_files("#seal-backup-file", str(other))
    page.wait_for_selector("#seal-backup-check.msg-error")
    assert "another key" in page.text_content("#seal-backup-check")
    shot(page, "bid-page-key-ready-en.png")

    # The browser loses the key (cleared site data, another computer...).
    page.evaluate("(id) => GGZY.bidkeys.remove(id)", bidder_id)
    open_bid_page(page, base, tender)
    assert stored_key(page, bidder_id) is None
    assert "does not hold it" in page.text_content("#key-status")
    # The checklist says what is missing for sealing: the key in this browser.
    assert page.get_attribute("#check-key", "data-state") == "missing"
    assert "this browser does not hold the key" in page.text_content("#check-key")

    # A wrong passphrase: a plain error, nothing stored.
    page.set_input_files("#key-file", str(path))
    page.fill("#key-import-pass", "not the passphrase")
    page.click("#key-import")
    page.wait_for_selector("#key-status.msg-error")
    assert page.text_content("#key-status") == (
        "The passphrase does not open this backup file. Check it and try again: nobody, not "
        "even the trading centre, can recover a lost passphrase.")
    assert stored_key(page, bidder_id) is None

    # The right passphrase: the same key is back, still non-extractable, and registered.
    page.fill("#key-import-pass", PASSPHRASE)
    page.click("#key-import")
    page.wait_for_selector("#key-status.msg-success")
    assert page.text_content("#key-fingerprint") == made
    assert stored_key(page, bidder_id) == {"fingerprint": made, "extractable": False}
    assert page.text_content("#key-registered") == "Yes"
    assert page.get_attribute("#check-key", "data-state") == "done"
    context.close()


def test_making_a_key_while_a_sealed_bid_exists_asks_first(setup, browser):
    tender, user, base = setup
    factories.register_key(user, "bid")
    bid = factories.submit_bid(tender, user)
    page = browser.new_context(locale="en-US").new_page()
    login(page, base, "wangwu")
    open_bid_page(page, base, tender)

    page.click("#key-generate")
    page.wait_for_selector("#key-new-warning", state="visible")
    text = page.text_content("#key-new-warning")
    assert "a new key cannot open the bid you already sealed" in text
    assert tender.reference in text and bid.bidder_key_fingerprint[:4].upper() in text
    assert "custodians open it for you" in text  # this tender's fallback
    assert page.is_hidden("#key-backup")  # nothing made yet
    shot(page, "bid-key-new-warning-en.png")
    page.click("#key-new-cancel")
    assert page.is_hidden("#key-new-warning")
    assert stored_key(page, user.organisation.credit_code) is None

    page.click("#key-generate")
    page.click("#key-new-anyway")
    page.wait_for_selector("#key-backup", state="visible")
    assert stored_key(page, user.organisation.credit_code)["fingerprint"] != \
        bid.bidder_key_fingerprint


def test_the_hall_says_plainly_when_the_browser_lacks_the_bids_key(browser, asgi_live_server,
                                                                   tmp_path):
    tender = factories.published_tender(announce_mode="as_decrypted")
    users = [factories.bidder_with_key() for _ in range(3)]
    for user in users:
        factories.submit_bid(tender, user)
    bidder = users[0]
    right = tmp_path / "right.json"
    right.write_bytes(keybackup.dump(factories.PRIVATE_KEYS[bidder.username],
                                     PASSPHRASE.encode()))
    wrong = tmp_path / "wrong.json"
    wrong.write_bytes(keybackup.dump(ec.generate_private_key(ec.SECP256R1()),
                                     PASSPHRASE.encode()))
    traveller = time_machine.travel(tender.deadline + timedelta(seconds=1), tick=True)
    traveller.start()
    try:
        in_thread(tasks.clock_tick)
        base = asgi_live_server.url
        page = browser.new_context(locale="en-US").new_page()
        login(page, base, bidder.username)
        page.goto(f"{base}/tenders/{tender.pk}/opening/")
        page.wait_for_selector("#decrypt-box:not([hidden])", timeout=8000)
        page.wait_for_selector("#key-check[data-state='no-key']", timeout=8000)
        text = page.text_content("#key-check")
        assert "This browser does not hold the key your bid was sealed with" in text
        assert "choose the backup file of that key below" in text
        assert "the tender's custodians open it with their shares" in text
        assert "fingerprint" not in text.lower()
        shot(page, "hall-no-key-en.png")

        # A browser holding another key (made after sealing, say) is told so in words.
        page.evaluate("""async (id) => {
          await GGZY.bidkeys.store(id, await GGZY.bidkeys.generate(), {backedUp: true});
        }""", bidder.organisation.credit_code)
        page.reload()
        page.wait_for_selector("#key-check[data-state='other-key']", timeout=8000)
        text = page.text_content("#key-check")
        assert "is not the one your bid was sealed with" in text
        assert "choose the backup file of that key below" in text

        page.set_input_files("#keyfile", str(wrong))
        page.wait_for_selector("#key-check[data-state='other-file']")
        assert "backup of another key" in page.text_content("#key-check")
        page.fill("#passphrase", PASSPHRASE)
        page.click("#btn-decrypt")
        page.wait_for_selector("#you-msg.msg-error")
        assert "backup of another key" in page.text_content("#you-msg")

        page.set_input_files("#keyfile", str(right))
        page.wait_for_selector("#key-check[data-state='ok']")
        page.fill("#passphrase", "not the passphrase")
        page.click("#btn-decrypt")
        page.wait_for_selector("#you-msg:has-text('The passphrase does not open this file')")
        page.fill("#passphrase", PASSPHRASE)
        page.click("#btn-decrypt")
        page.wait_for_selector(f"#announced td:has-text('{bidder.organisation.name}')",
                               timeout=15000)
    finally:
        traveller.stop()
