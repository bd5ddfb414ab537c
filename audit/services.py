"""Append to and verify the audit chain."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from core.prepared import Prepared, PreparedInsert
from crypto import chain

from .models import AuditCheckpoint, AuditEvent, AuditHead, AuditPending


def _actor_parts(actor) -> tuple[int | None, str]:
    if actor is None:
        return None, "system"
    if isinstance(actor, str):
        return None, actor
    if getattr(actor, "is_authenticated", False):
        return actor.pk, actor.get_username()
    return None, "anonymous"


def audit_object_type(obj) -> str:
    """The name events give a model's objects: ``<app label>.<model>``, or the app's
    ``audit_namespace`` instead of its label where the app declares one (models that
    moved between apps keep the name their earlier events used)."""
    meta = obj._meta
    namespace = getattr(meta.app_config, "audit_namespace", None) or meta.app_label
    return f"{namespace}.{meta.model_name}"


def audit_record(
    *,
    actor,
    action: str,
    obj=None,
    object_type: str | None = None,
    object_id: str | int | None = None,
    payload: Any = None,
    summary: str = "",
    sealed_tender_id: int | None = None,
    at_commit: bool = False,
) -> AuditEvent:
    """Append one event to the chain, inside the caller's transaction.

    ``actor`` is a user, a label such as ``"clock"``, or None for the system.
    ``sealed_tender_id`` marks a bidder's action that viewers hide until that
    tender's bidding has closed; the chain covers it like any other event. The
    payload itself is not stored, only its digest; keep it JSON-serialisable.

    Appending moves the chain head, which row-locks it for the rest of the transaction:
    appends are serialised and the chain never forks, and an event exists if and only
    if the transaction that recorded it committed. So the lock is held as briefly as
    possible: everything but the sequence number, the time and the two hashes is
    prepared before it, and on PostgreSQL the append is one statement (the head moves
    and the event is inserted together, the hashes computed by the database), so no
    round trip to this process happens while the head is held except the commit. Call
    it last in a transaction where you can: the head stays locked until the commit.

    With ``at_commit`` (for hot paths such as a bid submission), on PostgreSQL the
    event is linked during the commit instead (``AuditPending``, a deferred trigger):
    the head is then held only for the last moment of the commit, however long the
    transaction goes on. Still in the same transaction, so still there if and only if
    it committed. The event returned then has no ``seq`` or hashes yet: use it only
    where nothing reads them. Elsewhere (SQLite; a test's transaction, which never
    commits) it is appended at once.

    The event's time is this server's clock when called, or the previous event's time
    if that is later (a writer that waited for the head), so times never go backwards
    along the chain.
    """
    if obj is not None:
        object_type = object_type or audit_object_type(obj)
        object_id = obj.pk if object_id is None else object_id
    actor_id, actor_label = _actor_parts(actor)
    event = AuditEvent(
        seq=0,
        time=timezone.now(),
        actor_id=actor_id,
        actor=actor_label,
        action=action,
        object_type=object_type or "",
        object_id=str(object_id if object_id is not None else ""),
        summary=summary[:300],
        sealed_tender_id=sealed_tender_id,
        payload_digest=chain.payload_digest(_jsonable(payload)),
    )
    connection = transaction.get_connection()
    if connection.vendor != "postgresql":
        return _append_locked(event)
    if at_commit and not any(getattr(block, "_from_testcase", False)
                             for block in connection.atomic_blocks):
        return _append_at_commit(event)
    return _append_postgresql(connection, event)


_PENDING_INSERT = PreparedInsert(AuditPending)


def _append_at_commit(event: AuditEvent) -> AuditEvent:
    """Record the event for the commit to append (migration 0007's trigger)."""
    head, middle, tail = chain.event_template(event.chain_fields())
    _PENDING_INSERT.insert(AuditPending(
        time=event.time, actor_id=event.actor_id, actor=event.actor, action=event.action,
        object_type=event.object_type, object_id=event.object_id, summary=event.summary,
        sealed_tender_id=event.sealed_tender_id, payload_digest=event.payload_digest,
        template_head=head, template_middle=middle, template_tail=tail))
    event.seq = None
    return event


def _ensure_head() -> None:
    AuditHead.objects.get_or_create(pk=1, defaults={"seq": 0, "hash": chain.GENESIS_HASH})


def _append_locked(event: AuditEvent) -> AuditEvent:
    """Any database: lock the head, link the event in Python, insert it, move the head
    (SQLite serialises writers anyway)."""
    with transaction.atomic():
        head = AuditHead.objects.select_for_update(no_key=True).filter(pk=1).first()
        if head is None:
            _ensure_head()
            head = AuditHead.objects.select_for_update(no_key=True).get(pk=1)
        event.seq = head.seq + 1
        if head.time is not None and head.time > event.time:
            event.time = head.time
        event.prev_hash = head.hash
        event.hash = chain.link_hash(head.hash, chain.event_digest(event.chain_fields()))
        event.save()
        AuditHead.objects.filter(pk=1).update(seq=event.seq, hash=event.hash,
                                              prev_hash=event.prev_hash, time=event.time)
    return event


# One statement: move the head (its row lock serialises appenders; under READ COMMITTED
# a writer that waited re-reads the committed head and computes from it) and insert the
# event from what the UPDATE returned. The event's digest is
# SHA-256(LABEL_EVENT || canonical JSON), the JSON assembled from the template
# crypto.chain.event_template made (seq and time filled in here), and its hash is
# SHA-256(LABEL_LINK || prev || digest) as crypto.chain.link_hash computes it; the
# verifier recomputes both in Python. ``time`` is the caller's clock, or the previous
# event's time if later, written as datetime.isoformat(timespec="microseconds") writes
# UTC.
_TIME_SQL = "GREATEST(%(time)s::timestamptz, time)"
_APPEND_SQL = f"""
WITH moved AS (
    UPDATE audit_audithead
       SET prev_hash = hash,
           seq = seq + 1,
           time = {_TIME_SQL},
           hash = encode(sha256(%(link)s::bytea || decode(hash, 'hex') || sha256(
               %(label)s::bytea || %(head)s::bytea || convert_to((seq + 1)::text, 'UTF8')
               || %(middle)s::bytea
               || convert_to(to_char({_TIME_SQL} AT TIME ZONE 'UTC',
                                     'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00:00', 'UTF8')
               || %(tail)s::bytea)), 'hex')
     WHERE id = 1
 RETURNING seq, prev_hash, hash, time
)
INSERT INTO audit_auditevent (seq, time, actor_id, actor, action, object_type, object_id,
                              summary, sealed_tender_id, payload_digest, prev_hash, hash)
SELECT seq, time, %(actor_id)s::bigint, %(actor)s::text, %(action)s::text,
       %(object_type)s::text, %(object_id)s::text, %(summary)s::text,
       %(sealed_tender_id)s::bigint, %(payload_digest)s::text, prev_hash, hash
  FROM moved
RETURNING id, seq, time, prev_hash, hash
"""


def _append_postgresql(connection, event: AuditEvent) -> AuditEvent:
    head, middle, tail = chain.event_template(event.chain_fields())
    params = {
        "time": event.time, "link": chain.LABEL_LINK, "label": chain.LABEL_EVENT,
        "head": head, "middle": middle, "tail": tail,
        "actor_id": event.actor_id, "actor": event.actor, "action": event.action,
        "object_type": event.object_type, "object_id": event.object_id,
        "summary": event.summary, "sealed_tender_id": event.sealed_tender_id,
        "payload_digest": event.payload_digest,
    }
    with connection.cursor() as cursor:
        cursor.execute(_APPEND_SQL, params)
        row = cursor.fetchone()
        if row is None:  # the very first event: no head row yet
            _ensure_head()
            cursor.execute(_APPEND_SQL, params)
            row = cursor.fetchone()
    event.pk, event.seq, event.time, event.prev_hash, event.hash = row
    event._state.adding = False
    event._state.db = connection.alias
    return event


def _jsonable(payload: Any) -> Any:
    """Dates, decimals and UUIDs as Django's JSON encoder writes them."""
    return json.loads(json.dumps(payload if payload is not None else {}, cls=DjangoJSONEncoder))


def _setting(name: str):
    """A setting, or the environment variable of that name until settings define it."""
    import os

    from django.conf import settings

    return getattr(settings, name, None) or os.environ.get(name) or None


def audit_checkpoint() -> AuditCheckpoint | None:
    """Sign the current chain head and the tree head (STH) of the log with the platform
    key, if events came since the last checkpoint; then ask the witness
    (``AUDIT_WITNESS_URL``) to cosign it. Run by the clock; safe to run at any time.

    A witness that is down or refuses is logged and recorded on the row, never raised:
    the tick goes on, and the next tick tries the latest tree head again."""
    from core import platform_keys
    from crypto import checkpoint, log

    from .selectors import audit_leaves

    created = None
    with transaction.atomic():
        # Checkpointers take turns; appenders never wait for one. The head needs no lock:
        # as committed it is a consistent (seq, hash), and events 1..seq committed with
        # it, so the tree over them can be computed while the chain goes on growing.
        _checkpoint_turn()
        head = AuditHead.objects.filter(pk=1).first()
        if head is not None and head.seq > 0:
            last = AuditCheckpoint.objects.order_by("-seq").first()
            if not (last and last.seq >= head.seq):
                now = timezone.now()
                stamp = now.isoformat(timespec="microseconds")
                key = platform_keys.signing_key()
                statement = checkpoint.checkpoint_sign(
                    key, index=head.seq - 1, head_hash=head.hash, time=stamp)
                root = log.tree_root(audit_leaves(head.seq)).hex()
                sth = log.sth_sign(key, size=head.seq, root=root, timestamp=stamp)
                created = AuditCheckpoint.objects.create(
                    seq=head.seq, head_hash=head.hash, time=now, statement=statement,
                    root_hash=root, sth=sth)
    latest = created or AuditCheckpoint.objects.filter(sth__isnull=False).order_by("-seq").first()
    if latest is not None and latest.cosignature is None and _setting("AUDIT_WITNESS_URL"):
        audit_witness_cosign(checkpoint=latest)
    return created


#: The PostgreSQL advisory lock checkpointers take turns on (any constant; "ggzy" + 1).
_CHECKPOINT_LOCK = 0x67677A7901


def _checkpoint_turn() -> None:
    """Wait for any other checkpointer to commit (until this transaction ends)."""
    connection = transaction.get_connection()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHECKPOINT_LOCK])


def audit_witness_cosign(*, checkpoint: AuditCheckpoint) -> dict | None:
    """Send a tree head to the witness with the consistency proof from the head the
    witness cosigned last; store and return its cosignature (None on failure, logged)."""
    import logging

    from core import platform_keys
    from crypto import log

    from . import witness_client
    from .selectors import consistency

    logger = logging.getLogger(__name__)
    url = _setting("AUDIT_WITNESS_URL")
    if not url or not checkpoint.sth:
        return None
    try:
        latest = witness_client.witness_latest(url)
        last = (latest or {}).get("sth") or None
        first = int(last["size"]) if last else 0
        if first > checkpoint.seq:
            raise witness_client.WitnessError(
                f"the witness already cosigned a larger tree ({first} events)")
        proof = consistency(first, checkpoint.seq)["proof"] if first else []
        cosignature = witness_client.witness_submit(
            url, sth=checkpoint.sth, first=first, proof=proof,
            platform_key_pem=platform_keys.verify_key_pem())
        log.cosignature_verify(cosignature, checkpoint.sth, _pinned_witness_key()
                               or _witness_key_from(cosignature, url))
    except Exception as exc:  # noqa: BLE001 - a witness failure must never break the tick
        logger.warning("audit: the witness did not cosign the tree head at #%s: %s",
                       checkpoint.seq, exc)
        AuditCheckpoint.objects.filter(pk=checkpoint.pk).update(witness_error=str(exc)[:300])
        return None
    AuditCheckpoint.objects.filter(pk=checkpoint.pk).update(cosignature=cosignature,
                                                            witness_error="")
    checkpoint.cosignature = cosignature
    return cosignature


def _pinned_witness_key(path=None):
    from pathlib import Path

    from crypto import keys

    path = path or _setting("AUDIT_WITNESS_KEY_FILE")
    return keys.verify_key_from_pem(Path(path).read_bytes()) if path else None


def _witness_key_from(cosignature: dict, url: str):
    """Without a pinned witness key, the platform checks the cosignature against the key
    the witness publishes (``GET {url}/key``): enough to catch a garbled answer. Verifiers
    pin the key instead."""
    from crypto import keys

    from . import witness_client

    data = witness_client._call(url.rstrip("/") + "/key")
    return keys.verify_key_from_pem(data["public_key"].encode("ascii"))


def audit_witness_head(url: str | None = None) -> tuple[list[dict], str | None]:
    """The witness's last cosigned tree head as a kept head for :func:`audit_verify`
    (its own storage, outside this database), and None; or ``[]`` and why it could not
    be had. ``url`` defaults to ``AUDIT_WITNESS_URL``; ``([], None)`` when there is none."""
    from . import witness_client

    url = url or _setting("AUDIT_WITNESS_URL")
    if not url:
        return [], None
    try:
        latest = witness_client.witness_latest(url)
    except witness_client.WitnessError as exc:
        return [], f"the witness's tree head was not checked: {exc}"
    if not isinstance(latest, dict) or not isinstance(latest.get("sth"), dict):
        return [], None
    return [{"sth": latest["sth"], "cosignature": latest.get("cosignature"),
             "source": "the witness's last cosigned tree head"}], None


_LATEST_TREE_HEAD = Prepared(
    lambda: AuditCheckpoint.objects.filter(sth__isnull=False).order_by("-seq")
    .values_list("sth")[:1])


def audit_tree_head_latest() -> dict | None:
    """The latest signed tree head (the JSON statement), for receipts; None before the
    first one. (Every bid's receipt asks: compiled once, ``core.prepared``.)"""
    latest = _LATEST_TREE_HEAD.first()
    return latest[0] if latest else None


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    count: int
    head_hash: str
    bad_seq: int | None = None
    reason: str = ""
    checkpoints: int = 0
    # Every problem found, one readable line each (the first is ``reason``).
    problems: tuple[str, ...] = ()
    # What was not checked and why (no pinned key, no witness key).
    notes: tuple[str, ...] = ()
    tree_heads: int = 0
    cosigned: int = 0
    kept: int = 0

    def line(self) -> str:
        if self.ok:
            extra = ""
            if self.tree_heads:
                extra += f", {self.tree_heads} tree heads ({self.cosigned} witness-cosigned)"
            if self.kept:
                extra += f", consistent with {self.kept} kept tree heads"
            return (f"OK: {self.count} events, head {self.head_hash}, "
                    f"{self.checkpoints} signed checkpoints{extra}")
        if self.bad_seq is None:
            return f"FAIL: {self.reason}"
        return f"FAIL at event #{self.bad_seq}: {self.reason}"

    def lines(self) -> list[str]:
        """The summary line, then every further problem, then the notes."""
        out = [self.line()]
        out += [f"FAIL: {p}" for p in self.problems[1:]]
        out += [f"note: {n}" for n in self.notes]
        return out


def _leaf(stored_hash: str) -> bytes:
    try:
        leaf = bytes.fromhex(stored_hash)
    except ValueError:
        leaf = b""
    return leaf if len(leaf) == 32 else stored_hash.encode("utf-8", "replace")


def kept_tree_heads(data: Any) -> list[dict]:
    """Tree heads kept outside the database, as a list of ``{"sth", "cosignature"}``.

    Accepts what the public feed serves (a page ``{"results": [...]}`` or its list), a
    list of bare STHs, or one STH or item. ``ValueError`` when it is none of these."""
    if isinstance(data, dict) and isinstance(data.get("results"), list):
        data = data["results"]
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise ValueError("kept tree heads are a JSON list")
    items = []
    for entry in data:
        if not isinstance(entry, dict):
            raise ValueError("each kept tree head is a JSON object")
        if isinstance(entry.get("sth"), dict):
            items.append({"sth": entry["sth"], "cosignature": entry.get("cosignature")})
        elif entry.get("type") == "ggzy-tree-head":
            items.append({"sth": entry, "cosignature": None})
        else:
            raise ValueError("an entry is neither a tree head nor a feed item")
    return items


def audit_verify(*, kept: list[dict] | None = None, platform_key=None,
                 witness_key=None) -> VerifyResult:
    """Recompute the whole chain and the Merkle tree; report every problem.

    * the chain: an edited event changes its own hash; a deleted, inserted or reordered
      event breaks the link of the event after it; a gap in the sequence numbers or a
      head that does not match the last event means events were removed;
    * the platform's checkpoints and tree heads, against ``platform_key`` (the pinned
      key; else ``AUDIT_PINNED_KEY_FILE``; else, noted as unpinned, the key the platform
      holds now): a rewritten chain no longer matches what was signed;
    * ``kept`` tree heads (kept outside the database by bidders, the witness, an
      auditor): each must be signed by the pinned key and the log must still be
      consistent with it (a consistency proof recomputed from the events), which
      catches a cut tail and a rewrite even when the checkpoint rows were deleted or
      re-signed;
    * with a witness key (``witness_key`` or ``AUDIT_WITNESS_KEY_FILE``): every tree
      head the witness never cosigned, and every cosignature that does not verify.
    """
    from core import platform_keys
    from crypto import checkpoint as cp
    from crypto import log
    from crypto.errors import CryptoError

    from .selectors import prefix_roots

    problems: list[tuple[int | None, str]] = []
    notes: list[str] = []
    pinned = platform_key or platform_keys.pinned_verify_key()
    if pinned is None:
        pinned = platform_keys.verify_key()
        notes.append("the platform key is not pinned (AUDIT_PINNED_KEY_FILE or "
                     "--platform-key): signatures were checked against the key this "
                     "server holds now, which whoever controls the server can replace")
    witness_key = witness_key or _pinned_witness_key()

    rows = list(AuditCheckpoint.objects.order_by("seq"))
    signed = {}
    for item in rows:
        try:
            fields = cp.checkpoint_verify(item.statement, pinned)
        except CryptoError as exc:
            problems.append((item.seq, f"checkpoint at #{item.seq} is not signed by the "
                                       f"platform key: {exc}"))
            continue
        if fields["index"] != item.seq - 1 or fields["head_hash"] != item.head_hash:
            problems.append((item.seq, f"checkpoint at #{item.seq} does not match its "
                                       "signed statement"))
            continue
        signed[item.seq] = item.head_hash

    # The chain, event by event. The leaves are the recomputed hashes; after a break the
    # walk goes on collecting the stored ones, so the tree checks below still say which
    # signed heads the log matches.
    leaves: list[bytes] = []
    prev = chain.GENESIS_HASH
    count = 0
    broken = False
    for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=2000):
        if broken:
            leaves.append(_leaf(event.hash))
            continue
        if event.seq != count + 1:
            problems.append((event.seq, f"sequence jumps from {count} to {event.seq} "
                                        "(events deleted)"))
            broken = True
            leaves.append(_leaf(event.hash))
            continue
        try:
            prev = chain.verify_chain([(event.chain_fields(), event.prev_hash, event.hash)],
                                      start_hash=prev, start_index=event.seq)
        except chain.ChainBroken as exc:
            problems.append((exc.index, str(exc)))
            broken = True
            leaves.append(_leaf(event.hash))
            continue
        if event.seq in signed and signed[event.seq] != prev:
            problems.append((event.seq, "the platform signed a different chain head here "
                                        "(the chain was rewritten)"))
        leaves.append(bytes.fromhex(prev))
        count += 1
    head = AuditHead.objects.filter(pk=1).first()
    head_seq, head_hash = (head.seq, head.hash) if head else (0, chain.GENESIS_HASH)
    if not broken and (head_seq != count or head_hash != prev):
        problems.append((
            count + 1 if head_seq > count else head_seq,
            f"the chain head records {head_seq} events ending in {head_hash[:16]}…, "
            f"but the table holds {count} ending in {prev[:16]}… (events at the end "
            "were deleted or appended outside the platform)"))
    if not broken and signed and max(signed) > count:
        problems.append((count + 1, f"a signed checkpoint covers event #{max(signed)}, but "
                                    f"the chain ends at #{count} (events were deleted)"))
    size_now = len(leaves)

    # Tree heads: the platform's copies, then the kept ones.
    rows_sth = [r for r in rows if r.sth]
    kept = list(kept or [])
    kept_sizes = []
    for item in kept:
        try:
            kept_sizes.append(log.sth_parse(item["sth"])["size"])
        except CryptoError:
            pass
    roots = prefix_roots(leaves, [r.seq for r in rows_sth] + kept_sizes + [size_now])
    current_root = roots.get(size_now, log.AUDIT.empty_root())
    matching: list[int] = [0]  # sizes of verified heads the log still matches

    def check_head(sth: dict, where: str) -> int | None:
        """Check one STH against the pinned key and the log; return its size if it
        matches the log."""
        try:
            body = log.sth_verify(sth, pinned)
        except CryptoError as exc:
            problems.append((None, f"{where} is not signed by the pinned platform key "
                                   f"({exc}): it was forged or re-signed"))
            return None
        size, stamp = body["size"], body["timestamp"]
        if size > size_now:
            problems.append((size_now + 1, f"TRUNCATED: {where} (size {size}, signed {stamp}) "
                                           f"covers {size} events but the log now has "
                                           f"{size_now}: events #{size_now + 1}…#{size} "
                                           "were deleted"))
            return None
        proof = log.consistency_proof(leaves, size)
        try:
            log.verify_consistency(size, size_now, bytes.fromhex(body["root"]), current_root,
                                   proof)
        except CryptoError:
            lower = max(s for s in matching if s < size) if size else 0
            problems.append((size, f"MISMATCH: the log is no longer consistent with {where} "
                                   f"(size {size}, signed {stamp}): an event between "
                                   f"#{lower + 1} and #{size} was rewritten, reordered, "
                                   "inserted or removed"))
            return None
        matching.append(size)
        return size

    db_heads = {}
    cosigned = 0
    for row in rows_sth:
        where = f"the tree head at #{row.seq}"
        ok_size = check_head(row.sth, where)
        if ok_size is not None and (row.sth.get("size") != row.seq
                                    or row.sth.get("root") != row.root_hash):
            problems.append((row.seq, f"{where} does not match its checkpoint row"))
        db_heads[(row.sth.get("size"), row.sth.get("root"))] = row
        if witness_key is not None:
            if not row.cosignature:
                problems.append((row.seq, f"UNWITNESSED: {where} (signed "
                                          f"{row.sth.get('timestamp')}) was never cosigned "
                                          "by the witness"))
            else:
                try:
                    log.cosignature_verify(row.cosignature, row.sth, witness_key)
                    cosigned += 1
                except CryptoError as exc:
                    problems.append((row.seq, f"{where}: the witness cosignature does not "
                                              f"verify against the pinned witness key ({exc})"))
        elif row.cosignature:
            cosigned += 1
    if witness_key is None and rows_sth:
        notes.append("witness cosignatures were not checked: no witness key is pinned "
                     "(AUDIT_WITNESS_KEY_FILE or --witness-key)")

    for n, item in enumerate(sorted(kept, key=lambda i: i["sth"].get("size", 0)
                                    if isinstance(i.get("sth"), dict) else 0), start=1):
        sth = item["sth"]
        where = item.get("source") or f"kept tree head {n}"
        if check_head(sth, where) is None:
            continue
        if (sth.get("size"), sth.get("root")) not in db_heads:
            problems.append((sth.get("size"), f"{where} (size {sth.get('size')}) is missing "
                                              "from the platform's tree heads (its checkpoint "
                                              "row was deleted or replaced)"))
        if witness_key is not None and item.get("cosignature"):
            try:
                log.cosignature_verify(item["cosignature"], sth, witness_key)
            except CryptoError as exc:
                problems.append((sth.get("size"), f"{where}: its witness cosignature does "
                                                  f"not verify ({exc})"))

    if problems:
        bad_seq, reason = problems[0]
        return VerifyResult(False, count, prev, bad_seq, reason, len(signed),
                            tuple(p for _, p in problems), tuple(notes), len(rows_sth),
                            cosigned, len(kept))
    return VerifyResult(True, count, prev, checkpoints=len(signed), notes=tuple(notes),
                        tree_heads=len(rows_sth), cosigned=cosigned, kept=len(kept))
