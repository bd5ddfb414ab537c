"""Writes for sealed bids: resumable uploads, submission, replacement, withdrawal,
and bonds. (What a failed tender means for bids and bonds is in ``rules``.)

The server never sees plaintext: it streams ciphertext chunks to storage, checks the
envelope's structure without any key (``bidding.bids.sealing.check_envelope``), and signs
a receipt for the SHA-256 of exactly the bytes it holds. The deadline is absolute:
every path re-checks it against the server clock, and submission locks the tender
row, so a request racing the clock either lands before the deadline or is refused.

Secrecy before the deadline: bid records are visible only to the bidding
organisation; their audit events are sealed (``sealed_tender_id``) so viewers
skip them until bidding has closed.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import io
import os
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from decimal import Decimal
from typing import BinaryIO

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_record, audit_tree_head_latest
from bidding.tenders.models import DocumentRegistration, Tender
from core import platform_keys, statutory
from core.refusals import refuse
from crypto import receipts
from crypto.errors import MalformedData

from . import sealing
from .models import Bid, BidBond, BidUpload
from .policies import access_upload, require_bidder, require_refund_recorder

S = Tender.Status
READ_BLOCK = 1024 * 1024
#: Chunks at least this large are written and synced in a helper thread while the
#: request's thread hashes them; below it the thread hand-off costs more than it saves.
OVERLAP_MIN_BYTES = 1024 * 1024


class UploadConflict(Exception):
    """A chunk or request that does not fit the upload's state (HTTP 409)."""

    def __init__(self, message: str, *, code: str, next_index: int | None = None):
        super().__init__(message)
        self.code = code
        self.next_index = next_index


def _deadline_passed() -> Exception:
    return refuse(
        "__all__",
        _("The bid deadline has passed: no bid can be submitted, replaced or withdrawn "
          "(E-Rules 27, Law 28)."),
        "deadline_passed",
    )


def _assert_open(tender: Tender, now: datetime) -> None:
    if tender.status != S.PUBLISHED or now >= tender.deadline:
        raise _deadline_passed()


# Refusals of a bidder decided elsewhere (supervision's debarments, Reg 67-68), registered
# at start-up: ``guard(organisation, tender, now)`` returns a refusal to raise, or None.
_bidder_guards: list = []


def register_bidder_guard(guard) -> None:
    """Add a check run when a bidder starts a bid (registering it again is a no-op)."""
    if guard not in _bidder_guards:
        _bidder_guards.append(guard)


def _path(name: str) -> str:
    return default_storage.path(name)


# --- uploads -----------------------------------------------------------------------


def bid_upload_start(
    *, user, tender: Tender, size: int, price_sheet: bytes, claims: dict | None = None,
    ip: str | None = None, user_agent: str = "", now: datetime | None = None,
) -> BidUpload:
    """Open a resumable upload of a sealed bid of ``size`` bytes.

    The sealed price sheet (a small envelope to the same recipients) comes with it
    and is checked now; the bid itself is checked when the last chunk is in.
    """
    require_bidder(user)
    now = now or timezone.now()
    org = user.organisation
    _assert_open(tender, now)
    for guard in _bidder_guards:
        if (refusal := guard(org, tender, now)) is not None:
            raise refusal
    if not DocumentRegistration.objects.filter(tender=tender, organisation=org).exists():
        raise PermissionDenied(_("Obtain the tender documents before bidding."))
    if not sealing.bidder_keys(org):
        raise refuse("__all__", _("Register your bid key before sealing a bid."),
                     "no_bid_key")
    if not 1 <= size <= settings.BID_MAX_BYTES:
        raise refuse("size", _("A sealed bid must be between 1 byte and %(max)s GB.")
                     % {"max": round(settings.BID_MAX_BYTES / 1024**3, 1)}, "size")
    if not price_sheet or len(price_sheet) > settings.PRICE_SHEET_MAX_BYTES:
        raise refuse("price_sheet", _("The sealed price sheet is missing or too large."),
                     "price_sheet_size")
    try:
        sealing.check_envelope(io.BytesIO(price_sheet), tender=tender, organisation=org)
    except MalformedData as exc:
        raise refuse(
            "price_sheet",
            _("The price sheet is not a sealed envelope for this tender and bidder: "
              "%(reason)s. Unencrypted files are refused (E-Rules 26).") % {"reason": exc},
            "not_sealed",
        ) from exc
    with transaction.atomic():
        upload = BidUpload(
            tender=tender, bidder=org, user=user, size=size,
            chunk_size=settings.BID_UPLOAD_CHUNK_BYTES, price_sheet=price_sheet,
            claims=_clean_claims(claims), upload_ip=ip, user_agent=(user_agent or "")[:400],
        )
        upload.storage_name = f"bids/uploads/{upload.public_id}.part"
        os.makedirs(os.path.dirname(_path(upload.storage_name)), exist_ok=True)
        open(_path(upload.storage_name), "wb").close()
        upload.save()
        audit_record(actor=user, action="bid.upload_start", obj=upload,
                     object_id=str(upload.public_id),
                     payload={"size": size, "price_sheet_sha256":
                              hashlib.sha256(price_sheet).hexdigest()},
                     sealed_tender_id=tender.pk)
    return upload


def _clean_claims(claims: dict | None) -> dict:
    """Keep the evidence a client reports, as short strings: they are claims."""
    allowed = ("machine_fingerprint", "file_author", "file_creator", "file_producer",
               "file_last_modified_by", "file_company", "tool", "mac", "disk_serial",
               "hostname")
    out = {}
    for key in allowed:
        value = (claims or {}).get(key)
        if value not in (None, ""):
            out[key] = str(value)[:300]
    return out


def bid_upload_chunk(
    *, user, upload_id, index: int, stream: BinaryIO, length: int | None,
    sha256: str | None, now: datetime | None = None,
) -> BidUpload:
    """Append chunk ``index`` to an upload, streaming it to storage.

    Chunks arrive in order; a duplicate or out-of-order chunk is refused with the
    index expected next, so a client resumes from there after a broken connection
    or a reload. ``sha256`` (hex of the chunk) is checked when given.
    """
    require_bidder(user)
    with transaction.atomic():
        upload = access_upload(user, upload_id, for_update=True)
        now = now or timezone.now()
        # The tender as read with the lock (same statement, so as fresh as a new query).
        _assert_open(upload.tender, now)
        if upload.status != BidUpload.Status.OPEN:
            raise UploadConflict(_("This upload is already %(status)s.")
                                 % {"status": upload.get_status_display()},
                                 code="upload_closed")
        if index >= upload.chunk_count:
            # All data is in (or the index is past the end): an empty chunk here would be
            # "accepted" and move next_index past chunk_count.
            raise UploadConflict(
                _("Chunk %(got)s does not exist: this upload has %(n)s chunks.")
                % {"got": index, "n": upload.chunk_count},
                code="no_such_chunk", next_index=upload.next_index,
            )
        if index != upload.next_index:
            code = "chunk_duplicate" if index < upload.next_index else "chunk_out_of_order"
            raise UploadConflict(
                _("Chunk %(got)s was not expected; send chunk %(want)s next.")
                % {"got": index, "want": upload.next_index},
                code=code, next_index=upload.next_index,
            )
        expected = min(upload.chunk_size, upload.size - upload.received_bytes)
        if length is not None and length != expected:
            raise refuse("chunk", _("Chunk %(i)s must be %(n)s bytes, not %(got)s.")
                         % {"i": index, "n": expected, "got": length}, "chunk_size")
        path = _path(upload.storage_name)
        accepted = False
        with open(path, "r+b") as fh:
            # Drop any tail a failed earlier attempt left behind, then append.
            fh.truncate(upload.received_bytes)
            fh.seek(upload.received_bytes)
            try:
                # The bytes are on disk when this returns (synced while being hashed):
                # a chunk is acknowledged only once it would survive a crash.
                written, digest = _copy_at_most(stream, fh, expected, sync=True)
                ok_digest = sha256 is None or hmac.compare_digest(digest, str(sha256).lower())
                if written != expected or not ok_digest:
                    raise refuse(
                        "chunk",
                        _("Chunk %(i)s arrived incomplete or altered (%(got)s of %(n)s bytes"
                          "%(digest)s); send it again.")
                        % {"i": index, "got": written, "n": expected,
                           "digest": "" if ok_digest else _(", digest mismatch")},
                        "chunk_incomplete",
                    )
                accepted = True
            finally:
                if not accepted:
                    fh.truncate(upload.received_bytes)
        upload.next_index += 1
        upload.received_bytes += expected
        upload.chunk_digests = [*upload.chunk_digests, digest]
        upload.save(update_fields=["next_index", "received_bytes", "chunk_digests",
                                   "updated_at"])
    return upload


def _copy_at_most(
    stream: BinaryIO, fh: BinaryIO, expected: int, *, sync: bool = False,
) -> tuple[int, str]:
    """Append up to ``expected`` bytes of ``stream`` to ``fh``; report how many came,
    counting one byte past ``expected`` if the client sent too much, and their SHA-256.
    With ``sync`` the bytes written are on disk (``fdatasync``) when it returns.

    Memory stays constant whatever the chunk's size (one ``READ_BLOCK`` buffer). Two
    fast paths avoid pushing the body through Python a second time:

    * a body Django's ASGI handler spooled to a temporary file (chunks over
      ``FILE_UPLOAD_MAX_MEMORY_SIZE``) is copied file to file in the kernel
      (``copy_file_range``) and synced by a helper thread while this thread hashes it,
      so the copy and the disk flush overlap the hashing (all release the GIL);
    * a body held in memory (small chunks, tests) is hashed and written from its
      buffer, the same way.

    Anything else (a WSGI stream, the test client) is copied in ``READ_BLOCK`` blocks.
    A body longer than ``expected`` is refused by the fast paths before anything is
    written; a short or altered one is written, and the caller truncates it away.
    """
    region = _file_region(stream)
    view = None if region is not None else _memory_view(stream)
    if region is None and view is None:
        return _copy_blocks(stream, fh, expected, sync=sync)
    try:
        n = region[2] if region is not None else len(view)
        if n > expected:
            return expected + 1, ""
        fh.flush()
        dst, at = fh.fileno(), fh.tell()
        if region is not None:
            src, offset, _ = region

            def write() -> None:
                _copy_region(src, offset, dst, at, n, sync)

            def digest() -> str:
                return _hash_region(src, offset, n)
        else:

            def write() -> None:
                _write_view(dst, view, at, sync)

            def digest() -> str:
                return hashlib.sha256(view).hexdigest()
        if n >= OVERLAP_MIN_BYTES:
            writing = _helper_pool().submit(write)
            try:
                hexdigest = digest()
            finally:
                writing.result()
        else:
            write()
            hexdigest = digest()
        fh.seek(at + n)
        return n, hexdigest
    finally:
        if view is not None:
            view.release()


def _copy_blocks(stream: BinaryIO, fh: BinaryIO, expected: int, *, sync: bool) -> tuple[int, str]:
    digest = hashlib.sha256()
    written = 0
    while written <= expected:
        block = stream.read(min(READ_BLOCK, expected + 1 - written))
        if not block:
            break
        written += len(block)
        if written > expected:
            break
        digest.update(block)
        fh.write(block)
    if sync:
        fh.flush()
        os.fdatasync(fh.fileno())
    return written, digest.hexdigest()


def _file_region(stream) -> tuple[int, int, int] | None:
    """(fd, offset, length) of the rest of ``stream`` when it is a spooled body that
    Django rolled over to a temporary file; None otherwise."""
    if not isinstance(stream, tempfile.SpooledTemporaryFile):
        return None
    if isinstance(getattr(stream, "_file", None), io.BytesIO):
        return None  # still in memory (see _memory_view)
    try:
        stream.flush()
        fd = stream.fileno()
        offset = stream.tell()
        size = os.fstat(fd).st_size
    except (OSError, ValueError, io.UnsupportedOperation):
        return None
    return (fd, offset, size - offset) if offset <= size else None


def _memory_view(stream) -> memoryview | None:
    """The rest of an in-memory body (a BytesIO, or a spooled body still in memory)."""
    if isinstance(stream, tempfile.SpooledTemporaryFile):
        stream = getattr(stream, "_file", None)
    if not isinstance(stream, io.BytesIO):
        return None
    # A copy-free view. BytesIO refuses to resize while it exists; _copy_at_most
    # releases it before returning.
    with stream.getbuffer() as whole:
        return whole[stream.tell():]


def _hash_region(fd: int, offset: int, n: int) -> str:
    digest = hashlib.sha256()
    buf = bytearray(min(READ_BLOCK, max(n, 1)))
    view = memoryview(buf)
    done = 0
    while done < n:
        got = os.preadv(fd, [view[:min(len(buf), n - done)]], offset + done)
        if not got:
            raise OSError("the spooled chunk ended early")
        digest.update(view[:got])
        done += got
    return digest.hexdigest()


def _copy_region(src: int, offset: int, dst: int, at: int, n: int, sync: bool) -> None:
    """Copy ``n`` bytes between files in the kernel where it can, else through a buffer;
    then, with ``sync``, ``fdatasync``: the data and the new file size reach the disk
    (only timestamps, which nothing reads back, may follow later)."""
    done = 0
    copy_file_range = getattr(os, "copy_file_range", None)
    try:
        while copy_file_range and done < n:
            got = copy_file_range(src, dst, n - done, offset + done, at + done)
            if not got:
                raise OSError("the spooled chunk ended early")
            done += got
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP,
                             errno.EPERM):
            raise
    if done < n:
        buf = bytearray(min(READ_BLOCK, n - done))
        view = memoryview(buf)
        while done < n:
            got = os.preadv(src, [view[:min(len(buf), n - done)]], offset + done)
            if not got:
                raise OSError("the spooled chunk ended early")
            _write_view(dst, view[:got], at + done, False)
            done += got
    if sync:
        os.fdatasync(dst)


def _write_view(fd: int, view: memoryview, at: int, sync: bool) -> None:
    done = 0
    while done < len(view):
        done += os.pwrite(fd, view[done:], at + done)
    if sync:
        os.fdatasync(fd)


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _helper_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="bid-upload-io")
        return _pool


def bid_upload_abort(*, user, upload_id) -> None:
    with transaction.atomic():
        upload = access_upload(user, upload_id, for_update=True)
        if upload.status != BidUpload.Status.OPEN:
            raise UploadConflict(_("This upload is already %(status)s.")
                                 % {"status": upload.get_status_display()},
                                 code="upload_closed")
        upload.status = BidUpload.Status.ABORTED
        upload.save(update_fields=["status", "updated_at"])
        name = upload.storage_name
        transaction.on_commit(lambda: default_storage.delete(name))


def bid_upload_complete(*, user, upload_id, now: datetime | None = None) -> Bid:
    """Finish an upload: check the whole envelope, then, under the tender's lock and
    before the deadline, make it the bidder's current bid and sign its receipt.

    The previous version, if any, is superseded: only the latest counts.
    """
    upload = access_upload(user, upload_id)
    _assert_open(upload.tender, now or timezone.now())
    if upload.status != BidUpload.Status.OPEN:
        raise UploadConflict(_("This upload was already %(status)s; its receipt stands.")
                             % {"status": upload.get_status_display()},
                             code="upload_closed")
    if upload.received_bytes != upload.size:
        raise refuse("__all__", _("The upload is incomplete: %(got)s of %(size)s bytes "
                                  "received; send chunk %(next)s next.")
                     % {"got": upload.received_bytes, "size": upload.size,
                        "next": upload.next_index}, "upload_incomplete")
    org = upload.bidder
    # The expensive check runs before any lock is taken.
    try:
        with open(_path(upload.storage_name), "rb") as fh:
            info = sealing.check_envelope(fh, tender=upload.tender, organisation=org,
                                          max_size=upload.size)
    except MalformedData as exc:
        raise refuse("__all__", _("The file is not a sealed bid for this tender and bidder: "
                                  "%(reason)s. Unencrypted files are refused (E-Rules 26).")
                     % {"reason": exc}, "not_sealed") from exc
    if info.size != upload.size:
        raise refuse("__all__", _("The envelope ends before the declared size."),
                      "upload_incomplete")
    with transaction.atomic():
        tender = Tender.objects.select_for_update(no_key=True).get(pk=upload.tender_id)
        upload = access_upload(user, upload_id, for_update=True)
        if upload.status != BidUpload.Status.OPEN:
            raise UploadConflict(_("This upload was already completed."),
                                 code="upload_closed")
        # The server clock at the moment the tender is locked decides (E-Rules 27).
        now = now or timezone.now()
        _assert_open(tender, now)
        previous = Bid.objects.select_for_update(no_key=True).filter(
            tender=tender, bidder=org, status=Bid.Status.SUBMITTED).first()
        version = (Bid.objects.filter(tender=tender, bidder=org)
                   .aggregate(v=Max("version"))["v"] or 0) + 1
        if previous:
            previous.status = Bid.Status.SUPERSEDED
            previous.save(update_fields=["status"])
        bid = Bid(
            tender=tender, bidder=org, submitted_by=user, version=version,
            sha256=info.sha256, size=info.size, price_sheet=bytes(upload.price_sheet),
            price_sheet_sha256=hashlib.sha256(bytes(upload.price_sheet)).hexdigest(),
            bidder_key_fingerprint=sealing.bidder_stanza_fingerprint(info, org),
            status=Bid.Status.SUBMITTED, submitted_at=now, upload_ip=upload.upload_ip,
            user_agent=upload.user_agent, claims=upload.claims, receipt={},
        )
        final_name = f"bids/{tender.public_id}/{bid.public_id}.ggzy"
        os.makedirs(os.path.dirname(_path(final_name)), exist_ok=True)
        os.replace(_path(upload.storage_name), _path(final_name))
        try:
            bid.envelope.name = final_name
            bid.receipt = receipts.receipt_issue(
                platform_keys.signing_key(),
                tender_id=tender.reference, bidder_id=sealing.bidder_id(org),
                sha256=info.sha256, size=info.size,
                server_time=now.isoformat(timespec="microseconds"),
                extra={"bid": str(bid.public_id), "version": version,
                       "price_sheet_sha256": bid.price_sheet_sha256},
                # The audit log's latest signed tree head: every bidder keeps a copy.
                tree_head=audit_tree_head_latest(),
            )
            bid.save()
            upload.status = BidUpload.Status.COMPLETED
            upload.bid = bid
            upload.save(update_fields=["status", "bid", "updated_at"])
            audit_record(actor=user, action="bid.submit", obj=bid, object_id=str(bid.public_id),
                         payload={"sha256": info.sha256, "size": info.size, "version": version,
                                  "price_sheet_sha256": bid.price_sheet_sha256},
                         sealed_tender_id=tender.pk)
        except BaseException:
            os.replace(_path(final_name), _path(upload.storage_name))
            raise
    return bid


# --- withdrawal and bonds ------------------------------------------------------------


def bid_withdraw(*, user, tender: Tender, now: datetime | None = None) -> Bid:
    """Withdraw the current bid before the deadline; a bond paid becomes refundable
    within 5 days (Reg 35)."""
    require_bidder(user)
    with transaction.atomic():
        locked = Tender.objects.select_for_update(no_key=True).get(pk=tender.pk)
        now = now or timezone.now()
        _assert_open(locked, now)
        bid = Bid.objects.select_for_update(no_key=True).filter(
            tender=locked, bidder_id=user.organisation_id, status=Bid.Status.SUBMITTED).first()
        if bid is None:
            raise refuse("__all__", _("Your organisation has no bid on this tender to "
                                      "withdraw."), "no_bid")
        bid.status = Bid.Status.WITHDRAWN
        bid.withdrawn_at = now
        bid.save(update_fields=["status", "withdrawn_at"])
        bonds_make_refundable(
            BidBond.objects.filter(tender=locked, bidder_id=user.organisation_id), now=now)
        audit_record(actor=user, action="bid.withdraw", obj=bid, object_id=str(bid.public_id),
                     payload={"version": bid.version, "sha256": bid.sha256},
                     sealed_tender_id=locked.pk)
    return bid


def bonds_make_refundable(bonds, *, now: datetime, rule: str = "BOND_REFUND_DAYS") -> int:
    """Of ``bonds``, those still held become due for refund within ``rule``'s days from
    ``now``: Reg 35's by default (a withdrawal, a failed tender, an unopenable bid whose
    documents return the bond); Reg 31's for a cancelled tender, Reg 57's after the
    contract. Inside the caller's transaction; returns how many."""
    return bonds.filter(status=BidBond.Status.HELD).update(
        status=BidBond.Status.REFUND_DUE,
        refund_due_by=now + statutory.days(rule),
    )


def bond_settle_unopenable(*, tender: Tender, bidder_id: int, now: datetime) -> BidBond | None:
    """The bond of a bid its bidder sealed so that nobody can open it (E-Rules 31): kept
    where the tender documents say so, else refundable like any other. Returns the bond,
    or None if the bidder recorded none."""
    bonds = BidBond.objects.filter(tender=tender, bidder_id=bidder_id)
    if tender.forfeit_bond_if_unopenable:
        bonds.filter(status=BidBond.Status.HELD).update(status=BidBond.Status.FORFEITED)
    else:
        bonds_make_refundable(bonds, now=now)
    return bonds.first()


def bond_record(
    *, user, tender: Tender, amount: Decimal, kind: str, payer_account: str,
    payer_name: str, reference: str = "", now: datetime | None = None,
) -> BidBond:
    """Record the bidder's bond. One not paid from the bidder's own basic account is
    flagged (Reg 26); the record stands, so supervision can see it."""
    require_bidder(user)
    org = user.organisation
    now = now or timezone.now()
    payer_account = "".join(str(payer_account).split())
    if amount < tender.bond_amount:
        raise refuse("amount", _("The bond required is %(req)s yuan.")
                     % {"req": f"{tender.bond_amount:,.2f}"}, "bond_short")
    with transaction.atomic():
        locked = Tender.objects.select_for_update(no_key=True).get(pk=tender.pk)
        _assert_open(locked, now)
        if BidBond.objects.filter(tender=locked, bidder=org).exists():
            raise refuse("__all__", _("Your bond for this tender is already recorded."),
                         "bond_exists")
        basic = "".join((org.basic_account or "").split())
        bond = BidBond.objects.create(
            tender=locked, bidder=org, amount=amount, kind=kind, payer_account=payer_account,
            payer_name=payer_name[:200], reference=reference[:100], paid_at=now,
            from_basic_account=bool(basic) and basic == payer_account,
        )
        audit_record(actor=user, action="bond.record", obj=bond,
                     object_id=str(bond.public_id),
                     payload={"amount": amount, "kind": kind, "payer_account": payer_account,
                              "from_basic_account": bond.from_basic_account},
                     sealed_tender_id=locked.pk)
    return bond


def bond_mark_refunded(*, user, bond: BidBond, now: datetime | None = None) -> BidBond:
    require_refund_recorder(user)
    with transaction.atomic():
        locked = BidBond.objects.select_for_update(no_key=True).get(pk=bond.pk)
        if locked.status != BidBond.Status.REFUND_DUE:
            raise refuse("__all__", _("This bond is not due for refund."), "not_due")
        locked.status = BidBond.Status.REFUNDED
        locked.refunded_at = now or timezone.now()
        locked.save(update_fields=["status", "refunded_at"])
        # Sealed like the withdrawal it follows: a refund before the deadline would
        # otherwise tell the audit viewer that someone withdrew from this tender.
        audit_record(actor=user, action="bond.refund", obj=locked,
                     object_id=str(locked.public_id), payload={"amount": locked.amount},
                     sealed_tender_id=locked.tender_id)
    return locked
