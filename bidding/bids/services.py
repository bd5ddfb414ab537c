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

import fcntl
import hashlib
import hmac
import io
import os
import queue
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import BinaryIO

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_record, audit_tree_head_latest
from bidding.tenders import custody
from bidding.tenders.models import DocumentRegistration, Tender
from core import platform_keys, statutory
from core.prepared import Prepared, PreparedInsert, PreparedUpdate
from core.refusals import refuse
from crypto import envelope, receipts
from crypto.errors import MalformedData

from . import sealing
from .models import Bid, BidBond, BidUpload
from .policies import access_upload, require_bidder, require_refund_recorder

S = Tender.Status
READ_BLOCK = 1024 * 1024


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


def _documents_not_obtained() -> Exception:
    return PermissionDenied(_("Obtain the tender documents before bidding."))


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


# The queries every bid makes, compiled once (``core.prepared``): at the deadline the
# ORM's building and compiling of them cost more than running them.
_REGISTRATION = Prepared(
    lambda tender_id, organisation_id: DocumentRegistration.objects.filter(
        tender_id=tender_id, organisation_id=organisation_id).values_list("pk")[:1],
    tender_id=int, organisation_id=int)
# Every earlier version of a bidder's bid, locked. Only these rows: the model's
# ordering would join, and lock, the tender's and the organisation's rows too.
_EARLIER_VERSIONS = Prepared(
    lambda tender_id, bidder_id: Bid.objects.select_for_update(no_key=True, of=("self",))
    .filter(tender_id=tender_id, bidder_id=bidder_id).order_by()
    .only("pk", "version", "status"),
    tender_id=int, bidder_id=int)
_SUPERSEDE = PreparedUpdate(
    lambda pk: (Bid.objects.filter(pk=pk), {"status": Bid.Status.SUPERSEDED}), pk=int)
_BID_INSERT = PreparedInsert(Bid)


def _check_may_bid(user, tender: Tender, now: datetime) -> frozenset[str]:
    """The checks made before a bidder sends any byte of a bid: a bidder, bidding open,
    no guard refusing it, the documents obtained, a bid key registered. Returns the
    organisation's registered key fingerprints."""
    require_bidder(user)
    org = user.organisation
    _assert_open(tender, now)
    for guard in _bidder_guards:
        if (refusal := guard(org, tender, now)) is not None:
            raise refusal
    if not _REGISTRATION.rows(tender_id=tender.pk, organisation_id=org.pk):
        raise _documents_not_obtained()
    registered = sealing.registered_fingerprints(org)
    if not registered:
        raise refuse("__all__", _("Register your bid key before sealing a bid."),
                     "no_bid_key")
    return registered


def _check_price_sheet(price_sheet: bytes, tender: Tender, org,
                       registered: frozenset[str], seats=None) -> None:
    if not price_sheet or len(price_sheet) > settings.PRICE_SHEET_MAX_BYTES:
        raise refuse("price_sheet", _("The sealed price sheet is missing or too large."),
                     "price_sheet_size")
    try:
        sealing.check_envelope(io.BytesIO(price_sheet), tender=tender, organisation=org,
                               registered=registered, seats=seats)
    except MalformedData as exc:
        raise refuse(
            "price_sheet",
            _("The price sheet is not a sealed envelope for this tender and bidder: "
              "%(reason)s. Unencrypted files are refused (E-Rules 26).") % {"reason": exc},
            "not_sealed",
        ) from exc


def bid_upload_start(
    *, user, tender: Tender, size: int, price_sheet: bytes, claims: dict | None = None,
    ip: str | None = None, user_agent: str = "", now: datetime | None = None,
) -> BidUpload:
    """Open a resumable upload of a sealed bid of ``size`` bytes.

    The sealed price sheet (a small envelope to the same recipients) comes with it
    and is checked now; the bid itself is checked when the last chunk is in.
    """
    now = now or timezone.now()
    registered = _check_may_bid(user, tender, now)
    org = user.organisation
    if not 1 <= size <= settings.BID_MAX_BYTES:
        raise refuse("size", _("A sealed bid must be between 1 byte and %(max)s GB.")
                     % {"max": round(settings.BID_MAX_BYTES / 1024**3, 1)}, "size")
    _check_price_sheet(price_sheet, tender, org, registered)
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
                     sealed_tender_id=tender.pk, at_commit=True)
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

    No transaction is held while the bytes arrive (a slow client must hold neither a
    database connection nor SQLite's write lock). The request is checked before
    anything is read; then the upload's file is locked (``flock``: one writer per
    upload, whichever process or thread, so two attempts at a chunk, e.g. a client
    retrying through another process, cannot mix their bytes), the checks are
    repeated, and the bytes are written after the ones received while they are hashed.
    Under the upload's row lock, with the checks repeated once more, they are synced
    and counted, and only then is the file unlocked. A refused chunk is cut off again.

    On the way the bytes feed the upload's running whole-envelope SHA-256
    (``upload_digests``), so ``bid_upload_complete`` need not read the file again.
    """
    require_bidder(user)
    upload = _chunk_admissible(user, upload_id, index, now)
    _check_chunk_length(upload, index, length)
    path = _path(upload.storage_name)
    with open(path, "r+b", buffering=0) as fh:
        fd = fh.fileno()
        fcntl.flock(fd, fcntl.LOCK_EX)  # released when the file is closed
        # Another attempt may have committed this chunk while this one waited.
        upload = _chunk_admissible(user, upload_id, index, now)
        expected = _check_chunk_length(upload, index, length)
        offset = upload.received_bytes
        running = upload_digests.running(upload.public_id, path, offset)
        committed = False
        try:
            # Drop any tail a failed earlier attempt left behind, then append.
            os.ftruncate(fd, offset)
            written, digest = _receive_chunk(stream, fd, offset, expected, running)
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
            # On disk before it is counted and acknowledged.
            os.fdatasync(fd)
            with transaction.atomic():
                upload = _chunk_admissible(user, upload_id, index, now, for_update=True)
                upload.next_index += 1
                upload.received_bytes += expected
                upload.chunk_digests = [*upload.chunk_digests, digest]
                upload.save(update_fields=["next_index", "received_bytes", "chunk_digests",
                                           "updated_at"])
                state = running.result()
            committed = True
            if state is not None:
                upload_digests.keep(upload.public_id, offset + expected, state)
        finally:
            if not committed:
                running.cancel()
                if running.before[0]:
                    upload_digests.keep(upload.public_id, *running.before)
                os.ftruncate(fd, offset)
    return upload


def _check_chunk_length(upload: BidUpload, index: int, length: int | None) -> int:
    """The bytes chunk ``index`` must have; a declared ``length`` other than that is
    refused before anything is read."""
    expected = min(upload.chunk_size, upload.size - upload.received_bytes)
    if length is not None and length != expected:
        raise refuse("chunk", _("Chunk %(i)s must be %(n)s bytes, not %(got)s.")
                     % {"i": index, "n": expected, "got": length}, "chunk_size")
    return expected


def _chunk_admissible(user, upload_id, index: int, now: datetime | None, *,
                      for_update: bool = False) -> BidUpload:
    """The upload, if chunk ``index`` may be sent to it now; else the refusal. Run
    before the bytes are read (no lock) and again under the row lock before they
    are counted."""
    upload = access_upload(user, upload_id, for_update=for_update)
    # The tender as read with the upload (same statement, so as fresh as a new query).
    _assert_open(upload.tender, now or timezone.now())
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
    return upload


def _receive_chunk(stream: BinaryIO, fd: int, at: int, expected: int,
                   running: _RunningDigest) -> tuple[int, str]:
    """Write up to ``expected`` bytes of ``stream`` to ``fd`` at ``at``; report how many
    came, counting one byte past ``expected`` if the client sent too much (nothing of
    it is kept), and the chunk's hex SHA-256.

    Three things happen to each block at once: this thread hashes it for the chunk's
    digest and reads the next one, a helper thread writes it, and ``running``'s thread
    feeds it to the envelope's digest (hashing and writing release the GIL). At most
    one chunk's blocks are in flight."""
    digest = hashlib.sha256()
    position = at

    def write(block: bytes) -> None:
        nonlocal position
        view = memoryview(block)
        done = 0
        while done < len(view):
            done += os.pwrite(fd, view[done:], position + done)
        _start_writeback(fd, position, len(view))
        position += len(view)

    writer = _BlockWorker(write, "bid-upload-write")
    written = 0
    whole = False
    try:
        while written <= expected:
            block = stream.read(min(READ_BLOCK, expected + 1 - written))
            if not block:
                break
            if written + len(block) > expected:
                return expected + 1, ""
            writer.feed(block)
            running.feed(block)
            digest.update(block)
            written += len(block)
        whole = True
    finally:
        if not whole:
            writer.cancel()
        error = writer.finish()
    if error is not None:
        raise error
    return written, digest.hexdigest()


def _start_writeback(fd: int, offset: int, length: int) -> None:
    """Ask the kernel to start writing ``[offset, offset + length)`` to disk now,
    without waiting: the chunk's ``fdatasync`` then finds most of it written while the
    rest of the chunk was still arriving. (On Linux ``POSIX_FADV_DONTNEED`` starts the
    writeback of dirty pages and drops only pages already clean.)"""
    advise = getattr(os, "posix_fadvise", None)
    if advise is not None:
        try:
            advise(fd, offset, length, os.POSIX_FADV_DONTNEED)
        except OSError:  # advice only: the fdatasync before the answer is what counts
            pass


class _BlockWorker:
    """A helper thread that applies ``step`` to each block it is fed, in order, after
    running ``first``. An error stops the work and is returned by ``finish()``."""

    def __init__(self, step, name: str, first=None):
        self.error: BaseException | None = None
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._cancelled = False
        self._thread = threading.Thread(target=self._run, args=(step, first), daemon=True,
                                        name=name)
        self._thread.start()

    def _run(self, step, first) -> None:
        try:
            if first is not None:
                first()
        except BaseException as exc:  # handed to finish()
            self.error = exc
        while (block := self._queue.get()) is not None:
            if self.error is None and not self._cancelled:
                try:
                    step(block)
                except BaseException as exc:  # handed to finish()
                    self.error = exc

    def feed(self, block: bytes) -> None:
        self._queue.put(block)

    def finish(self) -> BaseException | None:
        """Wait until every block fed is done; the first error, if any."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        return self.error

    def cancel(self) -> None:
        """Drop the blocks not done yet; ``finish()`` still waits for the thread."""
        if self.error is None and self._thread.is_alive():
            self._cancelled = True


# --- the running whole-envelope digest ------------------------------------------------


def _hash_file(fd: int, digest, start: int, end: int) -> None:
    """Feed bytes ``[start, end)`` of ``fd`` to ``digest``."""
    buf = bytearray(READ_BLOCK)
    view = memoryview(buf)
    at = start
    while at < end:
        got = os.preadv(fd, [view[:min(len(buf), end - at)]], at)
        if not got:
            raise OSError("the upload's file is shorter than its bytes received")
        digest.update(view[:got])
        at += got


class _RunningDigest:
    """The envelope's SHA-256, fed in a helper thread while a chunk streams in.

    Starts from the cached state at ``cached_offset`` (or from nothing), first catches
    up by hashing the committed bytes ``[cached_offset, offset)`` from the upload's file
    (another process took the chunks in between), then hashes the chunk's blocks as
    they are fed. ``result()`` is the state after the chunk, ``None`` if anything went
    wrong (the digest is then computed at completion)."""

    def __init__(self, path: str, digest, cached_offset: int, offset: int):
        #: The cached state this started from, to put back if the chunk is refused.
        self.before = (cached_offset, digest.copy())
        self._digest = digest

        def catch_up() -> None:
            if cached_offset < offset:
                with open(path, "rb", buffering=0) as fh:
                    _hash_file(fh.fileno(), digest, cached_offset, offset)

        self._worker = _BlockWorker(digest.update, "bid-upload-digest", catch_up)

    def feed(self, block: bytes) -> None:
        self._worker.feed(block)

    def result(self):
        return None if self._worker.finish() is not None else self._digest

    def cancel(self) -> None:
        self._worker.cancel()
        self._worker.finish()


class UploadDigests:
    """Per process: the running SHA-256 of each open upload's received bytes, with the
    offset it has reached, for the last ``size`` uploads this process saw (LRU).

    Only a shortcut: web processes share nothing, and a chunk may arrive at a process
    whose state is behind (or that has none); it then hashes the missing bytes from the
    upload's file first, so with chunks spread over ``p`` processes every byte is hashed
    at most ``p`` times, never once per chunk. Completion uses the state when it
    reached the end and otherwise finishes it from the file the same way."""

    def __init__(self, size: int = 256):
        self.size = size
        self._states: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key) -> tuple[int, object] | None:
        with self._lock:
            return self._states.pop(str(key), None)

    def keep(self, key, offset: int, digest) -> None:
        with self._lock:
            current = self._states.get(str(key))
            if current is not None and current[0] > offset:
                return  # a later state is already here
            self._states[str(key)] = (offset, digest)
            self._states.move_to_end(str(key))
            while len(self._states) > self.size:
                self._states.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._states.clear()

    def _start(self, key, offset: int) -> tuple[int, object]:
        state = self.take(key)
        if state is None or state[0] > offset:
            return 0, hashlib.sha256()
        return state

    def running(self, key, path: str, offset: int) -> _RunningDigest:
        """A digest to feed the chunk starting at ``offset`` to."""
        cached_offset, digest = self._start(key, offset)
        return _RunningDigest(path, digest, cached_offset, offset)

    def final(self, key, path: str, size: int) -> str:
        """The hex SHA-256 of the upload's ``size`` bytes: from the running state,
        finished from the file when it is behind. The state stays for a retry."""
        cached_offset, digest = self._start(key, size)
        with open(path, "rb", buffering=0) as fh:
            _hash_file(fh.fileno(), digest, cached_offset, size)
        self.keep(key, size, digest)
        return digest.hexdigest()


upload_digests = UploadDigests()


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


#: What a submission reads of its tender under the lock: the state the deadline check
#: needs, and what the bid, its storage name and its receipt name the tender by.
_LOCKED_TENDER_FIELDS = ("id", "status", "deadline", "reference", "public_id")


def _lock_tender_for_submission(tender_id: int, organisation_id: int) -> Tender:
    """The tender, read under a lock that lets bidders submit side by side but not
    across a change of the tender; then this bidder's lock on it.

    On PostgreSQL the tender row is locked ``FOR SHARE``: submissions do not wait for
    each other, but closing bidding, an amendment or a withdrawal (``FOR NO KEY
    UPDATE`` or an ``UPDATE``) waits until every submission in progress has committed,
    and a submission that comes after reads the tender as they left it (a status
    that is no longer open is refused). Two submissions of the same bidder are
    serialised on its document registration (``one_current_bid`` backs that up), so
    the older version is superseded before the newer is made current. Both locks are
    taken by one statement, which reads only ``_LOCKED_TENDER_FIELDS`` (the other
    fields of the Tender returned are deferred). Elsewhere (SQLite, which serialises
    writers anyway) it is the plain row lock."""
    connection = transaction.get_connection()
    if connection.vendor != "postgresql":
        return Tender.objects.select_for_update(no_key=True).get(pk=tender_id)
    tenders, registrations = Tender._meta.db_table, DocumentRegistration._meta.db_table
    # In the model's field order, as ``Model.from_db`` expects the values.
    fields = [f for f in Tender._meta.concrete_fields if f.attname in _LOCKED_TENDER_FIELDS]
    columns = ", ".join(f't."{f.column}"' for f in fields)
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT {columns} FROM "{tenders}" t JOIN "{registrations}" r '
            f'ON r."tender_id" = t."id" AND r."organisation_id" = %s WHERE t."id" = %s '
            f'FOR SHARE OF t FOR NO KEY UPDATE OF r', [organisation_id, tender_id])
        row = cursor.fetchone()
    if row is None:
        # Checked before the bytes were read; a tender or registration gone since then.
        raise _documents_not_obtained()
    return Tender.from_db(connection.alias, [f.attname for f in fields], row)


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
    registered = sealing.registered_fingerprints(org)
    # The expensive check runs before any lock is taken.
    try:
        info = _check_received_envelope(upload, org, registered)
    except MalformedData as exc:
        raise _not_sealed(exc) from exc
    if info.size != upload.size:
        raise refuse("__all__", _("The envelope ends before the declared size."),
                      "upload_incomplete")

    bid = _submit_bid(
        user=user, org=org, tender_id=upload.tender_id, info=info, registered=registered,
        part_name=upload.storage_name, price_sheet=bytes(upload.price_sheet),
        claims=upload.claims, ip=upload.upload_ip, user_agent=upload.user_agent,
        now=now, upload_id=upload_id,
    )
    upload_digests.take(upload.public_id)
    return bid


def _not_sealed(exc: MalformedData) -> Exception:
    return refuse("__all__", _("The file is not a sealed bid for this tender and bidder: "
                               "%(reason)s. Unencrypted files are refused (E-Rules 26).")
                  % {"reason": exc}, "not_sealed")


def _submit_bid(*, user, org, tender_id: int, info: envelope.EnvelopeInfo,
                registered: frozenset[str], part_name: str, price_sheet: bytes,
                claims: dict, ip: str | None, user_agent: str, now: datetime | None,
                upload_id=None) -> Bid:
    """Make the checked envelope in storage at ``part_name`` the bidder's current bid:
    under the tender's lock and before the deadline, supersede the previous version,
    move the file to its place, sign the receipt, record the event. The one place a
    bid becomes submitted, whichever way its bytes came. With ``upload_id`` (a
    resumable upload), the upload is locked and must still be open; it is closed
    with the bid."""
    # Read before the transaction, to keep it short: the key the bid is sealed to, and
    # the latest signed tree head for the receipt (every bidder keeps a copy).
    key_fingerprint = sealing.bidder_stanza_fingerprint(info, org, registered)
    tree_head = audit_tree_head_latest()
    price_sheet_sha256 = hashlib.sha256(price_sheet).hexdigest()
    # The file moves into place inside the transaction, and back if anything fails, the
    # commit included: a refused or failed submission leaves it where it was.
    moved_to = None
    try:
        with transaction.atomic():
            tender = _lock_tender_for_submission(tender_id, org.pk)
            upload = None
            if upload_id is not None:
                upload = access_upload(user, upload_id, for_update=True)
                if upload.status != BidUpload.Status.OPEN:
                    raise UploadConflict(_("This upload was already completed."),
                                         code="upload_closed")
            # The server clock at the moment the tender is locked decides (E-Rules 27).
            now = now or timezone.now()
            _assert_open(tender, now)
            # Every earlier version of this bidder's bid, locked: the submitted one is
            # superseded, and the new version follows the highest.
            earlier = _EARLIER_VERSIONS.rows(tender_id=tender.pk, bidder_id=org.pk)
            version = max((b.version for b in earlier), default=0) + 1
            previous = next((b for b in earlier if b.status == Bid.Status.SUBMITTED), None)
            if previous:
                previous.status = Bid.Status.SUPERSEDED
                _SUPERSEDE.run(pk=previous.pk)  # locked above: it is there
            bid = Bid(
                tender=tender, bidder=org, submitted_by=user, version=version,
                sha256=info.sha256, size=info.size, price_sheet=price_sheet,
                price_sheet_sha256=price_sheet_sha256,
                bidder_key_fingerprint=key_fingerprint, status=Bid.Status.SUBMITTED,
                submitted_at=now, upload_ip=ip, user_agent=user_agent, claims=claims,
                receipt={},
            )
            final_name = f"bids/{tender.public_id}/{bid.public_id}.ggzy"
            os.makedirs(os.path.dirname(_path(final_name)), exist_ok=True)
            os.replace(_path(part_name), _path(final_name))
            moved_to = final_name
            bid.envelope.name = final_name
            bid.receipt = receipts.receipt_issue(
                platform_keys.signing_key(),
                tender_id=tender.reference, bidder_id=sealing.bidder_id(org),
                sha256=info.sha256, size=info.size,
                server_time=now.isoformat(timespec="microseconds"),
                extra={"bid": str(bid.public_id), "version": version,
                       "price_sheet_sha256": price_sheet_sha256},
                tree_head=tree_head,
            )
            _BID_INSERT.insert(bid)
            if upload is not None:
                upload.status = BidUpload.Status.COMPLETED
                upload.bid = bid
                upload.save(update_fields=["status", "bid", "updated_at"])
            audit_record(actor=user, action="bid.submit", obj=bid,
                         object_id=str(bid.public_id),
                         payload={"sha256": info.sha256, "size": info.size,
                                  "version": version,
                                  "price_sheet_sha256": price_sheet_sha256},
                         sealed_tender_id=tender.pk, at_commit=True)
    except BaseException:
        if moved_to is not None:
            os.replace(_path(moved_to), _path(part_name))
        raise
    return bid


# --- one-request submission ------------------------------------------------------------


@dataclass(frozen=True)
class BidAdmission:
    """What ``bid_submit_check`` found for a bidder and a tender (the registered bid
    keys), so that ``bid_submit`` need not ask again within the same request."""

    user_id: int
    tender_id: int
    registered: frozenset[str]


def bid_submit_check(*, user, tender: Tender, now: datetime | None = None) -> BidAdmission:
    """Refuse a one-request submission before any of its bytes are read: the checks
    ``bid_upload_start`` makes first (bidder, bidding open, guards, documents, key)."""
    registered = _check_may_bid(user, tender, now or timezone.now())
    return BidAdmission(user.pk, tender.pk, registered)


def bid_single_limit() -> int:
    """The largest envelope sent in one request: one upload chunk
    (``BID_UPLOAD_CHUNK_BYTES``); a larger one uses the resumable upload."""
    return int(settings.BID_UPLOAD_CHUNK_BYTES)


class EnvelopeSink:
    """Where the envelope of a one-request submission goes as it arrives: a new file
    under ``bids/uploads/`` (the same place as a resumable upload's), hashed while it
    is written. At most ``bid_single_limit()`` bytes are taken; one more is refused.
    ``bid_submit`` takes the file over; ``discard()`` deletes it otherwise (idempotent)."""

    def __init__(self):
        self.limit = bid_single_limit()
        self.storage_name = f"bids/uploads/single-{uuid.uuid4()}.part"
        path = _path(self.storage_name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self._fh = open(path, "xb", buffering=0)
        self._digest = hashlib.sha256()
        self.size = 0
        self.finished = False
        self.taken = False

    def write(self, block: bytes) -> None:
        if self.size + len(block) > self.limit:
            raise refuse(
                "envelope",
                _("A sealed bid sent in one request may have at most %(n)s bytes; use the "
                  "resumable upload for a larger one.") % {"n": self.limit},
                "envelope_too_large")
        view = memoryview(block)
        done = 0
        while done < len(view):
            done += self._fh.write(view[done:])
        self._digest.update(block)
        self.size += len(block)

    def finish(self) -> tuple[int, str]:
        """Synced to disk: ``(size, hex SHA-256)`` of the bytes written."""
        if not self.finished:
            os.fdatasync(self._fh.fileno())
            self._fh.close()
            self.finished = True
        return self.size, self._digest.hexdigest()

    def discard(self) -> None:
        if not self._fh.closed:
            self._fh.close()
        if not self.taken:
            try:
                os.unlink(_path(self.storage_name))
            except FileNotFoundError:
                pass


def bid_submit(
    *, user, tender: Tender, sink: EnvelopeSink, price_sheet: bytes,
    claims: dict | None = None, sha256: str | None = None, ip: str | None = None,
    user_agent: str = "", now: datetime | None = None,
    admission: BidAdmission | None = None,
) -> Bid:
    """Submit a sealed bid sent in one request (an envelope of at most one chunk),
    with its sealed price sheet: the same checks as the resumable upload's start and
    completion, the same submission (``_submit_bid``), one request instead of three.
    ``sha256`` (hex of the envelope), when given, must match the bytes received. The
    sink's file is moved into place, or deleted when the bid is refused.
    ``admission``: ``bid_submit_check``'s answer for this user and tender, made before
    the bytes were read in the same request (the checks run again without it; the
    deadline is checked again in any case, under the tender's lock)."""
    try:
        if admission is None or (admission.user_id, admission.tender_id) != (
                user.pk, tender.pk):
            admission = bid_submit_check(user=user, tender=tender, now=now)
        registered = admission.registered
        org = user.organisation
        # Read once for both envelopes' headers.
        seats = custody.seat_fingerprints(tender)
        _check_price_sheet(price_sheet, tender, org, registered, seats)
        size, digest = sink.finish()
        if size < 1:
            raise refuse("envelope", _("The sealed bid is empty."), "size")
        if sha256 is not None and not hmac.compare_digest(digest, str(sha256).lower()):
            raise refuse("envelope", _("The sealed bid arrived altered (its SHA-256 is not "
                                       "the one sent with it); send it again."),
                         "digest_mismatch")
        try:
            with open(_path(sink.storage_name), "rb") as fh:
                info = sealing.check_envelope(fh, tender=tender, organisation=org,
                                              max_size=size, registered=registered,
                                              received=(size, digest), seats=seats)
        except MalformedData as exc:
            raise _not_sealed(exc) from exc
        bid = _submit_bid(
            user=user, org=org, tender_id=tender.pk, info=info, registered=registered,
            part_name=sink.storage_name, price_sheet=price_sheet,
            claims=_clean_claims(claims), ip=ip, user_agent=(user_agent or "")[:400],
            now=now,
        )
        sink.taken = True
        return bid
    finally:
        sink.discard()


def _check_received_envelope(upload: BidUpload, org,
                             registered: frozenset[str]) -> envelope.EnvelopeInfo:
    """``sealing.check_envelope`` of the upload's file, without reading it all again:
    its SHA-256 comes from ``upload_digests`` (computed while the chunks streamed, or
    finished from the file), so only the header is read."""
    path = _path(upload.storage_name)
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > upload.size:
            raise MalformedData(f"envelope is larger than {upload.size} bytes")
        sha256 = upload_digests.final(upload.public_id, path, size)
        return sealing.check_envelope(fh, tender=upload.tender, organisation=org,
                                      max_size=upload.size, registered=registered,
                                      received=(size, sha256))


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
