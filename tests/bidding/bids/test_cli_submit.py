"""The bidder's command-line tool against a live server: the full submission flow.

Every command runs as a subprocess (``python -m ggzy_bid ...`` from the repository
root) against ``live_server``, as a bidder would run it on their own machine.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from bidding.bids.models import Bid, BidUpload
from bidding.tenders import services
from bidding.tenders.models import Tender
from core import platform_keys
from crypto import envelope, keys, receipts
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[3]
PASSPHRASE = "bidder key passphrase"
CHUNK = 64 * 1024


def _pdf(size: int, author: str = "Zhang San") -> bytes:
    """A PDF-looking bid of about ``size`` bytes with an Info dictionary."""
    head = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
    info = (
        b"7 0 obj\n<< /Author (" + author.encode() + b") /Creator (Microsoft Word)"
        b" /Producer <FEFF005700500053> >>\nendobj\n"
    )
    filler = hashlib.sha256(b"bid").digest() * (size // 32)
    tail = b"trailer\n<< /Root 1 0 R /Info 7 0 R >>\n%%EOF\n"
    return head + filler + info + tail


class Tool:
    """Runs ``python -m ggzy_bid`` in a subprocess as one bidder on one machine."""

    def __init__(self, home: Path, server: str):
        self.home = home
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("GGZY_") and k not in ("XDG_CONFIG_HOME",)
        }
        self.env.update(
            HOME=str(home), GGZY_SERVER=server, GGZY_PASSPHRASE=PASSPHRASE,
            LANG="C.UTF-8", PYTHONPATH=str(ROOT),
        )

    def __call__(self, *argv: str, env: dict | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "ggzy_bid", *argv],
            cwd=ROOT, env={**self.env, **(env or {})}, capture_output=True, text=True,
            timeout=300,
        )

    def ok(self, *argv: str, **kw) -> str:
        proc = self(*argv, **kw)
        assert proc.returncode == 0, proc.stderr + proc.stdout
        assert "Traceback" not in proc.stderr
        return proc.stdout


def refused(proc: subprocess.CompletedProcess, contains: str) -> str:
    """Exactly one ``error:`` line on stderr, a non-zero status, no traceback."""
    assert proc.returncode != 0, proc.stdout
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: "), proc.stderr
    assert contains in lines[0], proc.stderr
    return lines[0]


@pytest.fixture(autouse=True)
def _fresh_login_throttle():
    """Every test logs in from 127.0.0.1 and the login throttle (30 a minute) counts per
    address across tests: each test starts with a fresh count."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def small_chunks(settings):
    settings.BID_UPLOAD_CHUNK_BYTES = CHUNK


@pytest.fixture
def tender():
    factories.ensure_custodians()
    return factories.published_tender(price_sheet_items=["warranty_years"])


@pytest.fixture
def user(tender):
    user = factories.bidder()
    services.document_obtain(user=user, tender=tender)
    return user


@pytest.fixture
def work(tmp_path, live_server, user, small_chunks):
    """A bidder's machine: logged in, a bid key made and registered, a bid file."""
    home = tmp_path / "home"
    home.mkdir()
    tool = Tool(home, live_server.url)
    (tmp_path / "password").write_text(factories.PASSWORD + "\n")
    out = tool.ok("login", "--username", user.username, "--password-file",
                  str(tmp_path / "password"))
    assert "token saved to" in out
    token_file = home / ".config" / "ggzy" / "token"
    assert token_file.read_text().strip()
    assert token_file.stat().st_mode & 0o077 == 0
    tool.ok("keygen", str(tmp_path / "mykey"))
    out = tool.ok("register-key", str(tmp_path / "mykey.pub"), "--purpose", "bid")
    assert "registered bid key" in out
    (tmp_path / "custodians.json").write_bytes(factories.trust_file())
    out = tool.ok("pin-custodians", str(tmp_path / "custodians.json"))
    assert "custodian signing key(s)" in out
    (tmp_path / "bid.pdf").write_bytes(_pdf(300 * 1024))
    (tmp_path / "sheet.json").write_text(json.dumps({
        "total_price": "9500000.00", "duration_days": 365, "quality": "合格",
        "project_manager": "张三", "project_manager_id": "闽135000000001",
        "items": {"warranty_years": "2"},
    }, ensure_ascii=False))
    tool.tmp = tmp_path
    return tool


def _my_key(tmp_path: Path):
    return keys.private_key_from_pem((tmp_path / "mykey.key").read_bytes(),
                                     PASSPHRASE.encode())


def _submit(tool: Tool, tender: Tender, *extra: str, bid: str = "bid.pdf"):
    return tool("submit", "--tender", str(tender.pk), "--key", str(tool.tmp / "mykey.key"),
                "--price-sheet", str(tool.tmp / "sheet.json"), str(tool.tmp / bid), *extra)


def test_submit_seals_uploads_in_chunks_and_verifies_the_receipt(work, tender, user):
    tmp = work.tmp
    shown = work.ok("tender", tender.reference)
    assert tender.reference in shown and "custodians:   2 of 3" in shown
    assert "warranty_years" in shown

    proc = _submit(work, tender)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert "signature OK" in proc.stdout

    sealed = tmp / "bid.pdf.ggzy"
    receipt = json.loads((tmp / "bid.pdf.receipt.json").read_text())
    assert not (tmp / "bid.pdf.ggzy.upload.json").exists()
    body = receipts.receipt_verify(receipt, platform_keys.verify_key())
    digest = hashlib.sha256(sealed.read_bytes()).hexdigest()
    assert body["sha256"] == digest
    assert body["tender_id"] == tender.reference
    assert body["bidder_id"] == user.organisation.credit_code

    bid = Bid.objects.get(tender=tender, bidder=user.organisation, status=Bid.Status.SUBMITTED)
    upload = BidUpload.objects.get(bid=bid)
    assert upload.chunk_count >= 4  # several 64 KiB chunks went
    assert bid.sha256 == digest
    with bid.envelope.open("rb") as fh:
        stored = fh.read()
    assert stored == sealed.read_bytes()
    header = envelope.read_header(io.BytesIO(stored))
    assert header.version == 2 and header.threshold == 2
    assert not [s for s in header.stanzas if s.label == "opening"]  # no opening key
    plain = envelope.open_bytes_with_key(stored, _my_key(tmp), label="bidder")
    assert plain == (tmp / "bid.pdf").read_bytes()
    sheet = json.loads(envelope.open_bytes_with_key(bytes(bid.price_sheet), _my_key(tmp)))
    assert sheet["items"] == {"warranty_years": "2"}
    # Claims read from the file before sealing, and the machine fingerprint.
    assert bid.claims["file_author"] == "Zhang San"
    assert bid.claims["file_creator"] == "Microsoft Word"
    assert bid.claims["file_producer"] == "WPS"
    assert len(bid.claims["machine_fingerprint"]) == 64
    assert bid.user_agent.startswith("ggzy-bid/")

    # The receipt again, from the platform, as JSON and PDF; then withdraw.
    out = work.ok("receipt", "--tender", tender.reference, "-o", str(tmp / "again.json"))
    assert "receipt OK" in out
    assert json.loads((tmp / "again.json").read_text()) == receipt
    work.ok("receipt", "--tender", tender.reference, "--pdf", "-o", str(tmp / "r.pdf"))
    assert (tmp / "r.pdf").read_bytes().startswith(b"%PDF-")
    work.ok("platform-key", "-o", str(tmp / "platform.pub"))
    out = work.ok("verify-receipt", str(tmp / "bid.pdf.receipt.json"), "--platform-key",
                  str(tmp / "platform.pub"), "--file", str(sealed))
    assert "matches" in out
    out = work.ok("withdraw", "--tender", tender.reference, "--yes")
    assert "withdrawn" in out
    bid.refresh_from_db()
    assert bid.status == Bid.Status.WITHDRAWN


def test_submitting_again_needs_force_and_replaces_the_bid(work, tender, user):
    assert _submit(work, tender).returncode == 0
    refused(_submit(work, tender), "use --force")
    proc = _submit(work, tender, "--force")
    assert proc.returncode == 0, proc.stderr
    assert "version 2" in proc.stdout
    current = Bid.objects.get(tender=tender, status=Bid.Status.SUBMITTED)
    assert current.version == 2
    assert current.sha256 == hashlib.sha256(
        (work.tmp / "bid.pdf.ggzy").read_bytes()).hexdigest()


def _custody_file(tmp: Path, tender: Tender) -> None:
    """The tender's custodian set as the platform serves it, saved for offline sealing."""
    from bidding.tenders import custody

    (tmp / "custody.json").write_text(json.dumps(custody.custody_info(tender)))


def test_without_pinned_custodian_keys_sealing_is_refused(work, tender, user):
    (work.home / ".config" / "ggzy" / "custodians.json").unlink()
    refused(_submit(work, tender), "pin-custodians")
    assert not Bid.objects.filter(tender=tender).exists()


def test_a_custodian_that_has_not_endorsed_stops_sealing(work, tender, user):
    from bidding.tenders.models import CustodianEndorsement

    CustodianEndorsement.objects.filter(tender=tender).first().delete()
    refused(_submit(work, tender), "has not endorsed")
    assert not (work.tmp / "bid.pdf.ggzy").exists()


def test_an_endorsement_by_a_key_other_than_the_pinned_one_is_refused(work, tender, user):
    """The platform swaps a custodian's key and signs with a key of its own: the
    bidder's tool checks the pinned key and refuses."""
    from crypto import custody as wire

    trust = json.loads((work.tmp / "custodians.json").read_text())
    seated = tender.key_shares.first().custodian.username
    for entry in trust["custodians"]:
        if entry["id"] == seated:
            entry["signing_key"] = base64.b64encode(
                keys.public_key_bytes(keys.generate_private_key().public_key())).decode()
    (work.tmp / "other.json").write_text(json.dumps(trust))
    work.ok("pin-custodians", str(work.tmp / "other.json"))
    refused(_submit(work, tender), "does not verify with its pinned key")
    assert wire.load_trust_file((work.tmp / "other.json").read_bytes())


def test_a_custodian_key_not_the_endorsed_one_is_refused_offline(work, tender, user):
    from bidding.tenders import custody

    info = custody.custody_info(tender)
    info["custodians"][0]["encryption_key"] = base64.b64encode(
        keys.public_key_bytes(keys.generate_private_key().public_key())).decode()
    (work.tmp / "custody.json").write_text(json.dumps(info))
    refused(work("seal", "--tender", tender.reference, "--bidder",
                 user.organisation.credit_code, "--custody", str(work.tmp / "custody.json"),
                 "--my-key", str(work.tmp / "mykey.pub"), str(work.tmp / "bid.pdf"),
                 str(work.tmp / "x.ggzy")), "is not the one it endorsed")


def _start_by_hand(work: Tool, tender: Tender, user, chunks: int) -> dict:
    """Seal with the offline tool, open the upload and send ``chunks`` chunks through
    the API, and leave the state file a broken ``submit`` would have left."""
    from rest_framework.test import APIClient

    tmp = work.tmp
    _custody_file(tmp, tender)
    work.ok("seal", "--tender", tender.reference, "--bidder", user.organisation.credit_code,
            "--custody", str(tmp / "custody.json"), "--my-key", str(tmp / "mykey.pub"),
            str(tmp / "bid.pdf"), str(tmp / "bid.pdf.ggzy"))
    blob = (tmp / "bid.pdf.ggzy").read_bytes()
    sheet = factories.seal_for(tender, user, b'{"total_price": "1"}', bidder_key=_my_key(tmp))
    api = APIClient()
    api.force_authenticate(user)
    resp = api.post(f"/api/tenders/{tender.pk}/bids/uploads/", {
        "size": len(blob), "price_sheet": base64.b64encode(sheet).decode()}, format="json")
    assert resp.status_code == 201, resp.content
    state = resp.json()
    for index in range(chunks):
        piece = blob[index * CHUNK:(index + 1) * CHUNK]
        resp = api.generic("PUT", f"/api/bids/uploads/{state['upload_id']}/chunks/{index}/",
                           piece, content_type="application/octet-stream",
                           HTTP_X_CHUNK_SHA256=hashlib.sha256(piece).hexdigest())
        assert resp.status_code == 200, resp.content
    assert resp.json()["next_index"] == chunks
    (tmp / "bid.pdf.ggzy.upload.json").write_text(json.dumps({
        "v": 1, "server": work.env["GGZY_SERVER"], "tender": tender.reference,
        "tender_arg": str(tender.pk), "bidder_id": user.organisation.credit_code,
        "upload_id": state["upload_id"], "envelope": "bid.pdf.ggzy", "size": len(blob),
    }))
    return state


@pytest.mark.parametrize("how", ["rerun", "resume"])
def test_an_interrupted_upload_resumes_from_next_index(work, tender, user, how):
    state = _start_by_hand(work, tender, user, chunks=2)
    before = (work.tmp / "bid.pdf.ggzy").read_bytes()
    if how == "resume":
        proc = work("submit", "--resume", str(work.tmp / "bid.pdf"))
    else:
        proc = _submit(work, tender)
    assert proc.returncode == 0, proc.stderr
    assert f"resuming upload {state['upload_id']}" in proc.stdout
    assert "at chunk 2 of" in proc.stdout
    assert (work.tmp / "bid.pdf.ggzy").read_bytes() == before  # the SAME sealed file
    bid = Bid.objects.get(tender=tender, status=Bid.Status.SUBMITTED)
    assert bid.sha256 == hashlib.sha256(before).hexdigest()
    upload = BidUpload.objects.get(public_id=state["upload_id"])
    assert upload.status == BidUpload.Status.COMPLETED
    assert upload.chunk_count == len(upload.chunk_digests) > 2
    assert not (work.tmp / "bid.pdf.ggzy.upload.json").exists()
    receipt = json.loads((work.tmp / "bid.pdf.receipt.json").read_text())
    assert receipts.receipt_verify(receipt, platform_keys.verify_key())["sha256"] == bid.sha256


def test_a_completed_upload_whose_answer_was_lost_fetches_the_receipt(work, tender, user):
    from rest_framework.test import APIClient

    size = len(_sealed_size_probe(work, tender, user))
    state = _start_by_hand(work, tender, user, chunks=-(-size // CHUNK))
    api = APIClient()
    api.force_authenticate(user)
    resp = api.post(f"/api/bids/uploads/{state['upload_id']}/complete/")
    assert resp.status_code == 201, resp.content
    proc = work("submit", "--resume", str(work.tmp / "bid.pdf"))
    assert proc.returncode == 0, proc.stderr
    assert "was completed; fetching the receipt" in proc.stdout
    assert "signature OK" in proc.stdout
    assert not (work.tmp / "bid.pdf.ggzy.upload.json").exists()
    receipt = json.loads((work.tmp / "bid.pdf.receipt.json").read_text())
    assert receipt["sha256"] == hashlib.sha256((work.tmp / "bid.pdf.ggzy").read_bytes()).hexdigest()


def _sealed_size_probe(work: Tool, tender: Tender, user) -> bytes:
    """An envelope of bid.pdf as the offline tool makes it (same size as any other)."""
    tmp = work.tmp
    _custody_file(tmp, tender)
    work.ok("seal", "--tender", tender.reference, "--bidder", user.organisation.credit_code,
            "--custody", str(tmp / "custody.json"), "--my-key", str(tmp / "mykey.pub"),
            str(tmp / "bid.pdf"), str(tmp / "probe.ggzy"))
    return (tmp / "probe.ggzy").read_bytes()


def test_resuming_with_another_sealed_file_is_refused(work, tender, user):
    _start_by_hand(work, tender, user, chunks=1)
    sealed = work.tmp / "bid.pdf.ggzy"
    data = bytearray(sealed.read_bytes())
    data[100] ^= 1
    sealed.write_bytes(bytes(data))
    refused(work("submit", "--resume", str(work.tmp / "bid.pdf")),
            "not the file this upload started with")
    assert not Bid.objects.filter(tender=tender).exists()


def test_resuming_for_another_tender_is_refused(work, tender, user):
    _start_by_hand(work, tender, user, chunks=1)
    other = factories.published_tender()
    refused(_submit(work, other), f"is for tender {tender.reference}")


def test_a_tender_the_bidder_did_not_obtain_is_refused(work):
    other = factories.published_tender()
    line = refused(_submit(work, other), "Obtain the tender documents")
    assert "Traceback" not in line
    assert not (work.tmp / "bid.pdf.ggzy").exists()
    assert not (work.tmp / "bid.pdf.ggzy.part").exists()
    assert not (work.tmp / "bid.pdf.ggzy.upload.json").exists()


def test_an_unknown_tender_is_refused(work):
    refused(work("submit", "--tender", "999999", "--key", str(work.tmp / "mykey.key"),
                 "--price-sheet", str(work.tmp / "sheet.json"), str(work.tmp / "bid.pdf")),
            "No such tender")
    refused(work("tender", "NO-SUCH-TENDER"), "No such tender")


def test_a_file_that_is_not_a_key_is_refused(work, tender):
    refused(work("submit", "--tender", str(tender.pk), "--key", str(work.tmp / "bid.pdf"),
                 "--price-sheet", str(work.tmp / "sheet.json"), str(work.tmp / "bid.pdf")),
            "is not a private key file")
    refused(work("register-key", str(work.tmp / "sheet.json"), "--purpose", "bid"),
            "public_key")


def test_a_price_sheet_without_the_tenders_items_is_refused(work, tender):
    (work.tmp / "sheet.json").write_text(json.dumps({"total_price": "1"}))
    refused(_submit(work, tender), "the price sheet lacks duration_days")


def test_an_unreachable_server_is_one_line(work, tender):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    line = refused(_submit(work, tender, "--server", f"http://127.0.0.1:{port}"),
                   "connection refused")
    assert f"127.0.0.1:{port}" in line


def test_a_wrong_password_is_one_line(work, user, tmp_path):
    (tmp_path / "wrong").write_text("not the password")
    refused(work("login", "--username", user.username, "--password-file",
                 str(tmp_path / "wrong")), "Wrong username or password")


def test_after_the_deadline_submit_is_refused(work, tender):
    Tender.objects.filter(pk=tender.pk).update(deadline=timezone.now() - timedelta(minutes=1))
    refused(_submit(work, tender), "deadline has passed")
    assert not Bid.objects.filter(tender=tender).exists()
    assert not (work.tmp / "bid.pdf.ggzy").exists()


def test_after_the_deadline_a_resumed_upload_is_refused(work, tender, user):
    _start_by_hand(work, tender, user, chunks=1)
    Tender.objects.filter(pk=tender.pk).update(deadline=timezone.now() - timedelta(minutes=1))
    refused(work("submit", "--resume", str(work.tmp / "bid.pdf")), "deadline has passed")
    assert not Bid.objects.filter(tender=tender).exists()


def test_the_sealed_file_holds_no_plaintext(work, tender):
    assert _submit(work, tender).returncode == 0
    stored = Bid.objects.get(tender=tender).envelope
    with stored.open("rb") as fh:
        data = fh.read()
    assert b"Zhang San" not in data
    assert hashlib.sha256(b"bid").digest() not in data  # the filler of the bid file
    assert envelope.check_structure(io.BytesIO(data)).header.tender_id == tender.reference


def test_a_custodian_endorses_from_the_command_line(tmp_path, live_server, tender):
    from bidding.tenders import custody
    from bidding.tenders.models import CustodianEndorsement

    seat = custody.seats(tender)[0]
    CustodianEndorsement.objects.filter(tender=tender, custodian=seat.custodian).delete()
    home = tmp_path / "custodian"
    home.mkdir()
    tool = Tool(home, live_server.url)
    (tmp_path / "pw").write_text(factories.PASSWORD + "\n")
    tool.ok("login", "--username", seat.custodian.username, "--password-file",
            str(tmp_path / "pw"))
    tool.ok("keygen", str(tmp_path / "signing"))
    assert "registered custodian_signing key" in tool.ok(
        "register-key", str(tmp_path / "signing.pub"), "--purpose", "custodian_signing")
    out = tool.ok("custodian-endorse", "--tender", tender.reference, "--key",
                  str(tmp_path / "signing.key"))
    assert f"endorsed tender {tender.reference}: 2 of 3" in out
    assert "(3 of 3 endorsements in)" in out
    assert custody.fully_endorsed(tender)
    # The endorsed deadline is kept on the custodian's machine: hall-share checks it.
    endorsed = json.loads((home / ".config" / "ggzy" / "endorsed.json").read_text())
    assert endorsed == {tender.reference: custody.statement(tender)["deadline"]}
    # Signing with a key other than the registered one is refused by the platform.
    tool.ok("keygen", str(tmp_path / "other"))
    refused(tool("custodian-endorse", "--tender", tender.reference, "--key",
                 str(tmp_path / "other.key")), "does not verify")


def test_a_bidder_has_no_seat_to_endorse(work, tender):
    refused(work("custodian-endorse", "--tender", tender.reference, "--key",
                 str(work.tmp / "mykey.key")), "hold no seat")


def test_a_junk_trust_file_is_refused(work):
    (work.tmp / "junk.json").write_text('{"v": 1, "custodians": []}')
    refused(work("pin-custodians", str(work.tmp / "junk.json")), "names no custodian")


def test_show_lists_the_custodians_of_a_v2_envelope(work, tender, user):
    _custody_file(work.tmp, tender)
    work.ok("seal", "--tender", tender.reference, "--bidder", user.organisation.credit_code,
            "--custody", str(work.tmp / "custody.json"), "--my-key", str(work.tmp / "mykey.pub"),
            str(work.tmp / "bid.pdf"), str(work.tmp / "bid.ggzy"))
    out = work.ok("show", str(work.tmp / "bid.ggzy"))
    assert "format v2" in out and "data key split 2 of 3" in out
    assert out.count("custodian: ") == 3


def test_a_small_bid_goes_in_one_request(work, tender, user, settings):
    """Sealed, it fits in one chunk of the server's: one POST, no upload opened, and
    the same receipt checks as the chunked path."""
    settings.BID_UPLOAD_CHUNK_BYTES = 32 * 1024 * 1024
    proc = _submit(work, tender)
    assert proc.returncode == 0, proc.stderr
    assert "in one request" in proc.stdout and "signature OK" in proc.stdout
    sealed = work.tmp / "bid.pdf.ggzy"
    assert not (work.tmp / "bid.pdf.ggzy.part").exists()
    bid = Bid.objects.get(tender=tender, bidder=user.organisation, status=Bid.Status.SUBMITTED)
    assert not BidUpload.objects.exists()
    assert bid.sha256 == hashlib.sha256(sealed.read_bytes()).hexdigest()
    assert bid.claims["file_author"] == "Zhang San"
    assert bid.user_agent.startswith("ggzy-bid/")

