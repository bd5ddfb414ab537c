"""A bidder seals and submits a bid in headless Chromium: the key is made (or
imported) in the browser, the file is encrypted there, and the server receives only
a valid envelope that the bidder's backup key opens to exactly the original file.
An interrupted upload continues after a reload from the chunk the server expects."""

from __future__ import annotations

import hashlib
import io
import json
import os

import pytest

from bidding.bids.models import Bid, BidUpload
from bidding.tenders import custody, services
from core import timefmt
from crypto import custody as custody_wire
from crypto import envelope, keybackup, keys
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MARKER = b"PLAINTEXT-MARKER-7f3c9a: \xe6\x8a\x95\xe6\xa0\x87\xe6\x8a\xa5\xe4\xbb\xb7 9,876,543.21"
PASSPHRASE = "backup passphrase 口令 2025"
CHUNK = 256 * 1024


def make_bid_file(path, size: int = 3 * 1024 * 1024 + 12345) -> bytes:
    """A PDF-looking file with Info metadata and the marker planted many times."""
    head = (b"%PDF-1.7\n1 0 obj\n<< /Title (Bid) /Author (Zhang San \\(PM\\)) "
            b"/Creator <FEFF0057005000536587five> >>\nendobj\n").replace(b"five", b"5B57")
    body = bytearray(head)
    filler = os.urandom(4096)
    while len(body) < size - 200:
        body += MARKER + b"\n" + filler
    del body[size - 200:]
    body += b"\ntrailer\n<< /Info 1 0 R >>\n%%EOF\n"
    data = bytes(body)
    path.write_bytes(data)
    return data


def login(page, base, username):
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", factories.PASSWORD)
    page.click("button[type=submit].btn")
    page.wait_for_load_state()


def open_bid_page(page, base, tender):
    page.goto(f"{base}/tenders/{tender.pk}/bid/")
    page.wait_for_selector("#bid-app[data-ready='1']", state="attached")


def fill_price_sheet(page, tender):
    page.fill("#ps-total_price", "9,512,345.60")
    page.fill("#ps-duration_days", "330")
    page.fill("#ps-quality", "合格")
    page.fill("#ps-project_manager", "张三")
    page.fill("#ps-project_manager_id", "闽135000000001")
    for i, _ in enumerate(tender.price_sheet_items):
        page.fill(f"#ps-extra-{i}", f"值{i}")


def assert_sealed_bid(bid: Bid, tender, user, private_key, original: bytes) -> None:
    blob = bid.envelope.open("rb").read()
    info = envelope.check_structure(io.BytesIO(blob), tender_id=tender.reference,
                                    bidder_id=user.organisation.credit_code)
    assert info.size == bid.size == len(blob)
    assert hashlib.sha256(blob).hexdigest() == bid.sha256 == bid.receipt["sha256"] == info.sha256
    assert MARKER not in blob and MARKER[:16] not in blob
    data_key = envelope.unwrap_data_key(blob, private_key, label="bidder")
    assert envelope.open_bytes(blob, data_key, tender_id=tender.reference) == original
    # Format v2: no opening key; the data key split among the endorsed custodians.
    assert info.header.version == 2
    assert not [s for s in info.header.stanzas if s.label == "opening"]
    assert info.header.custodian_fingerprints == [
        s.custodian_key.fingerprint for s in custody.seats(tender)]
    shares = {}
    for seat in custody.seats(tender)[:info.header.threshold]:
        x, share = custody_wire.unwrap_share(info.header, factories.PRIVATE_KEYS[
            seat.custodian.username])
        shares[x] = share
    assert custody_wire.combine(info.header, shares) == data_key


def pin_custodians(page, tmp_path) -> None:
    """Import the trading centre's trust file, as a bidder does once per browser."""
    trust = tmp_path / "custodians.json"
    trust.write_bytes(factories.trust_file())
    page.set_input_files("#custodian-trust-file", str(trust))
    page.wait_for_selector("#custodian-trust-status.msg-success")


@pytest.fixture
def setup(settings, live_server):
    # Built before the browser fixture starts Playwright's event loop in this thread
    # (publishing broadcasts through async_to_sync).
    settings.BID_UPLOAD_CHUNK_BYTES = CHUNK
    factories.ensure_custodians()
    tender = factories.published_tender(price_sheet_items=["安全文明施工费", "暂列金额"])
    user = factories.bidder(username="lihua")
    services.document_obtain(user=user, tender=tender)
    return tender, user, live_server.url


def test_bidder_generates_key_seals_and_submits_in_browser(setup, browser, tmp_path):
    tender, user, base = setup
    original = make_bid_file(tmp_path / "投标文件.pdf")
    context = browser.new_context(locale="en-US", accept_downloads=True)
    page = context.new_page()
    login(page, base, "lihua")
    open_bid_page(page, base, tender)

    # Step 1: a key made in this browser, backed up, then registered.
    assert page.is_visible("#key-none")
    page.click("#key-generate")
    page.wait_for_selector("#key-backup", state="visible")
    assert page.is_hidden("#key-register")  # the backup comes first
    page.fill("#backup-pass", PASSPHRASE)
    page.fill("#backup-pass2", PASSPHRASE)
    with page.expect_download() as download:
        page.click("#key-download")
    key_path = tmp_path / "bid-key.json"
    download.value.save_as(key_path)
    # The backup file (crypto/keybackup.py's format), which the command-line tool reads too.
    assert download.value.suggested_filename.endswith(".json")
    private_key = keybackup.load(key_path.read_bytes(), PASSPHRASE.encode())
    fingerprint = keys.key_fingerprint(private_key)
    assert page.text_content("#key-fingerprint") == fingerprint
    page.click("#key-register-btn")
    page.wait_for_selector("#key-status.msg-success")
    assert user.public_keys.get(active=True).fingerprint == fingerprint
    assert page.text_content("#key-registered") == "Yes"

    # Step 2 and 3: the price sheet, the file, one chunk lost on the way (retried).
    fill_price_sheet(page, tender)
    page.set_input_files("#bid-file", str(tmp_path / "投标文件.pdf"))
    page.wait_for_selector("#claims", state="visible")
    failed = {"n": 0}
    puts = []

    def flaky(route):
        if failed["n"] == 0:
            failed["n"] += 1
            route.abort()
        else:
            route.continue_()

    page.route("**/chunks/2/", flaky)
    page.on("request", lambda r: r.method == "PUT" and puts.append(r.url))
    # Without the custodians' keys pinned in this browser, sealing is refused.
    page.click("#seal-submit")
    page.wait_for_selector("#upload-error.msg-error")
    assert "trust file" in page.text_content("#upload-error")
    assert not puts
    pin_custodians(page, tmp_path)
    page.click("#seal-submit")
    page.wait_for_selector("#receipt", state="visible", timeout=60_000)
    assert failed["n"] == 1

    bid = Bid.objects.get(tender=tender, bidder=user.organisation)
    upload = BidUpload.objects.get(bid=bid)
    assert upload.chunk_size == CHUNK and upload.chunk_count >= 12
    assert len(puts) == upload.chunk_count + 1  # one retry
    assert page.text_content("#rc-sha256") == bid.sha256
    assert page.text_content("#cur-sha256") == bid.sha256
    # The receipt's signed time, as people read it (core.timefmt, the page's language).
    assert page.text_content("#rc-time") == timefmt.human(
        bid.receipt["server_time"], seconds=True, lang="en")
    assert_sealed_bid(bid, tender, user, private_key, original)

    # The sealed price sheet opens with the same key.
    sheet_blob = bytes(bid.price_sheet)
    sheet = json.loads(envelope.open_bytes(
        sheet_blob, envelope.unwrap_data_key(sheet_blob, private_key, label="bidder")))
    assert sheet == {"total_price": "9512345.60", "duration_days": "330", "quality": "合格",
                     "project_manager": "张三", "project_manager_id": "闽135000000001",
                     "items": {"安全文明施工费": "值0", "暂列金额": "值1"}}
    # Evidence recorded as claims.
    assert bid.claims["tool"] == "browser"
    assert len(bid.claims["machine_fingerprint"]) == 64
    assert bid.claims["file_author"] == "Zhang San (PM)"
    assert bid.claims["file_creator"] == "WPS文字"
    # The receipt links work for the bidder.
    receipt = page.request.get(f"{base}/api/tenders/{tender.pk}/bids/mine/receipt/?format=json")
    assert receipt.ok and receipt.json()["sha256"] == bid.sha256
    pdf = page.request.get(f"{base}/api/tenders/{tender.pk}/bids/mine/receipt.pdf")
    assert pdf.ok and pdf.body().startswith(b"%PDF")

    # The page after a reload shows the current bid; withdrawing it works.
    open_bid_page(page, base, tender)
    assert page.text_content("#cur-sha256").strip() == bid.sha256
    # Without ticking "I understand" nothing is sent: the page explains and the bid stays.
    page.once("dialog", lambda d: d.accept())
    page.click("#withdraw")
    bid.refresh_from_db()
    assert bid.status == Bid.Status.SUBMITTED
    page.check("#withdraw-confirm")
    page.click("#withdraw")
    page.wait_for_selector("#current-none", state="visible")
    bid.refresh_from_db()
    assert bid.status == Bid.Status.WITHDRAWN
    context.close()


def test_interrupted_upload_resumes_after_reload(setup, browser, tmp_path):
    tender, user, base = setup
    # A key made with the command-line tool's format, imported into the browser.
    private_key = factories.register_key(user, "bid")
    key_file = tmp_path / "lihua.key"
    key_file.write_bytes(keys.private_key_to_pem(private_key, PASSPHRASE.encode()))
    original = make_bid_file(tmp_path / "bid.pdf", size=2 * 1024 * 1024 + 777)
    other = tmp_path / "other" / "bid.pdf"
    other.parent.mkdir()
    other.write_bytes(original[:-1] + b"X")  # same name and size, another file
    os.utime(other, (1_600_000_000, 1_600_000_000))

    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    login(page, base, "lihua")
    open_bid_page(page, base, tender)
    page.set_input_files("#key-file", str(key_file))
    page.fill("#key-import-pass", "wrong passphrase")
    page.click("#key-import")
    page.wait_for_selector("#key-status.msg-error")
    page.fill("#key-import-pass", PASSPHRASE)
    page.click("#key-import")
    page.wait_for_selector("#key-status.msg-success")
    fill_price_sheet(page, tender)
    page.set_input_files("#bid-file", str(tmp_path / "bid.pdf"))

    pin_custodians(page, tmp_path)

    # The connection breaks after the first chunk, and the tab is closed.
    page.route("**/chunks/1/", lambda route: route.abort())
    with page.expect_event("requestfailed", lambda r: "/chunks/1/" in r.url, timeout=60_000):
        page.click("#seal-submit")
    page.close()
    upload = BidUpload.objects.get(tender=tender, bidder=user.organisation)
    assert upload.status == BidUpload.Status.OPEN
    assert upload.next_index == 1 and upload.received_bytes == CHUNK
    assert not Bid.objects.filter(tender=tender).exists()

    # A new tab: the page finds the interrupted upload and asks for the same file.
    page = context.new_page()
    puts = []
    page.on("request", lambda r: r.method == "PUT"
            and puts.append(r.url.rstrip("/").rsplit("/", 1)[1]))
    open_bid_page(page, base, tender)
    page.wait_for_selector("#resume-panel", state="visible")
    assert page.is_hidden("#new-upload")
    page.set_input_files("#resume-file", str(other))
    page.click("#resume-go")
    page.wait_for_selector("#upload-error", state="visible")
    assert not puts
    page.set_input_files("#resume-file", str(tmp_path / "bid.pdf"))
    page.click("#resume-go")
    page.wait_for_selector("#receipt", state="visible", timeout=60_000)
    upload.refresh_from_db()
    assert upload.status == BidUpload.Status.COMPLETED
    assert puts == [str(i) for i in range(1, upload.chunk_count)]  # chunk 0 not sent again
    bid = upload.bid
    assert page.text_content("#rc-sha256") == bid.sha256
    assert_sealed_bid(bid, tender, user, private_key, original)
    # The stored upload state is gone: a reload offers a fresh upload.
    open_bid_page(page, base, tender)
    assert page.is_hidden("#resume-panel")
    assert page.is_visible("#new-upload")
    context.close()
