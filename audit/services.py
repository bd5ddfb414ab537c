"""Append to and verify the audit chain."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from crypto import chain

from .models import AuditCheckpoint, AuditEvent, AuditHead


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
) -> AuditEvent:
    """Append one event to the chain, inside the caller's transaction.

    ``actor`` is a user, a label such as ``"clock"``, or None for the system.
    ``sealed_tender_id`` marks a bidder's action that viewers hide until that
    tender's bidding has closed; the chain covers it like any other event. The
    payload itself is not stored, only its digest; keep it JSON-serialisable. The
    chain head is locked for the rest of the transaction, so appends are serialised
    and the chain never forks.
    """
    if obj is not None:
        object_type = object_type or audit_object_type(obj)
        object_id = obj.pk if object_id is None else object_id
    actor_id, actor_label = _actor_parts(actor)
    with transaction.atomic():
        head = AuditHead.objects.select_for_update(no_key=True).filter(pk=1).first()
        if head is None:
            AuditHead.objects.get_or_create(pk=1, defaults={"seq": 0, "hash": chain.GENESIS_HASH})
            head = AuditHead.objects.select_for_update(no_key=True).get(pk=1)
        event = AuditEvent(
            seq=head.seq + 1,
            time=timezone.now(),
            actor_id=actor_id,
            actor=actor_label,
            action=action,
            object_type=object_type or "",
            object_id=str(object_id if object_id is not None else ""),
            summary=summary[:300],
            sealed_tender_id=sealed_tender_id,
            payload_digest=chain.payload_digest(_jsonable(payload)),
            prev_hash=head.hash,
        )
        event.hash = chain.link_hash(head.hash, chain.event_digest(event.chain_fields()))
        event.save()
        AuditHead.objects.filter(pk=1).update(seq=event.seq, hash=event.hash)
    return event


def _jsonable(payload: Any) -> Any:
    """Dates, decimals and UUIDs as Django's JSON encoder writes them."""
    return json.loads(json.dumps(payload if payload is not None else {}, cls=DjangoJSONEncoder))


def audit_checkpoint() -> AuditCheckpoint | None:
    """Sign the current chain head with the platform key, if events came since the last
    checkpoint. Run by the clock; safe to run at any time."""
    from core import platform_keys
    from crypto import checkpoint

    with transaction.atomic():
        head = AuditHead.objects.select_for_update(no_key=True).filter(pk=1).first()
        if head is None or head.seq == 0:
            return None
        last = AuditCheckpoint.objects.order_by("-seq").first()
        if last and last.seq >= head.seq:
            return None
        now = timezone.now()
        statement = checkpoint.checkpoint_sign(
            platform_keys.signing_key(), index=head.seq - 1, head_hash=head.hash,
            time=now.isoformat(timespec="microseconds"))
        return AuditCheckpoint.objects.create(seq=head.seq, head_hash=head.hash, time=now,
                                              statement=statement)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    count: int
    head_hash: str
    bad_seq: int | None = None
    reason: str = ""
    checkpoints: int = 0

    def line(self) -> str:
        if self.ok:
            return (f"OK: {self.count} events, head {self.head_hash}, "
                    f"{self.checkpoints} signed checkpoints")
        return f"FAIL at event #{self.bad_seq}: {self.reason}"


def audit_verify() -> VerifyResult:
    """Recompute the whole chain; report the first event that breaks it and why.

    An edited event changes its own hash; a deleted, inserted or reordered event
    breaks the link of the event after it; a gap in the sequence numbers or a head
    that does not match the last event means events were removed.
    """
    from core import platform_keys
    from crypto import checkpoint as cp
    from crypto.errors import CryptoError

    signed = {}
    for item in AuditCheckpoint.objects.order_by("seq"):
        try:
            fields = cp.checkpoint_verify(item.statement, platform_keys.verify_key())
        except CryptoError as exc:
            return VerifyResult(False, 0, "", item.seq,
                                f"checkpoint at #{item.seq} is not signed by the platform: {exc}")
        if fields["index"] != item.seq - 1 or fields["head_hash"] != item.head_hash:
            return VerifyResult(False, 0, "", item.seq,
                                f"checkpoint at #{item.seq} does not match its signed statement")
        signed[item.seq] = item.head_hash
    events = AuditEvent.objects.order_by("seq").iterator(chunk_size=2000)
    prev = chain.GENESIS_HASH
    count = 0
    expected_seq = 1
    for event in events:
        if event.seq != expected_seq:
            return VerifyResult(
                False,
                count,
                prev,
                event.seq,
                f"sequence jumps from {expected_seq - 1} to {event.seq} (events deleted)",
            )
        try:
            prev = chain.verify_chain(
                [(event.chain_fields(), event.prev_hash, event.hash)],
                start_hash=prev,
                start_index=event.seq,
            )
        except chain.ChainBroken as exc:
            return VerifyResult(False, count, prev, exc.index, str(exc))
        if event.seq in signed and signed[event.seq] != prev:
            return VerifyResult(
                False, count, prev, event.seq,
                "the platform signed a different chain head here (the chain was rewritten)",
            )
        count += 1
        expected_seq += 1
    head = AuditHead.objects.filter(pk=1).first()
    head_seq, head_hash = (head.seq, head.hash) if head else (0, chain.GENESIS_HASH)
    if head_seq != count or head_hash != prev:
        return VerifyResult(
            False,
            count,
            prev,
            count + 1 if head_seq > count else head_seq,
            f"the chain head records {head_seq} events ending in {head_hash[:16]}…, "
            f"but the table holds {count} ending in {prev[:16]}… (events at the end "
            "were deleted or appended outside the platform)",
        )
    if signed and max(signed) > count:
        return VerifyResult(False, count, prev, count + 1,
                            f"a signed checkpoint covers event #{max(signed)}, but the chain ends "
                            f"at #{count} (events were deleted)")
    return VerifyResult(True, count, prev, checkpoints=len(signed))
