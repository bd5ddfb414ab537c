"""Reads of the audit log as a Merkle tree (crypto.log): tree heads and proofs.

Everything here exposes hashes, sizes and signatures only, never an event's contents, so
it may be public even while some events are sealed (``AuditEvent.sealed_tender_id``).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from crypto import log

from .models import AuditCheckpoint, AuditEvent


def audit_leaves(size: int | None = None) -> list[bytes]:
    """The tree's leaves: the events' chain hashes in sequence order (the first ``size``).

    The leaves are taken as stored; the verifier recomputes each hash from its event."""
    qs = AuditEvent.objects.order_by("seq").values_list("hash", flat=True)
    if size is not None:
        qs = qs[:size]
    return [bytes.fromhex(h) for h in qs.iterator(chunk_size=5000)]


def prefix_roots(leaves: Iterable[bytes], sizes: Iterable[int]) -> dict[int, bytes]:
    """Root hashes of the trees over the first ``s`` leaves for every ``s`` in ``sizes``,
    in one pass (a compact range of perfect subtrees, as CT logs keep it)."""
    wanted = {s for s in sizes if s > 0}
    roots: dict[int, bytes] = {}
    if 0 in set(sizes):
        roots[0] = log.AUDIT.empty_root()
    stack: list[tuple[int, bytes]] = []  # (leaf count, subtree root), strictly decreasing
    for n, leaf in enumerate(leaves, start=1):
        node = (1, log.AUDIT.leaf_hash(leaf))
        while stack and stack[-1][0] == node[0]:
            left = stack.pop()
            node = (left[0] * 2, log.AUDIT.node_hash(left[1], node[1]))
        stack.append(node)
        if n in wanted:
            root = stack[-1][1]
            for _count, h in reversed(stack[:-1]):
                root = log.AUDIT.node_hash(h, root)
            roots[n] = root
    return roots


def tree_heads() -> QuerySet[AuditCheckpoint]:
    """The checkpoints that carry a signed tree head, oldest first."""
    return AuditCheckpoint.objects.filter(sth__isnull=False).order_by("seq")


def tree_head_latest() -> AuditCheckpoint | None:
    return tree_heads().order_by("-seq").first()


def tree_head_item(checkpoint: AuditCheckpoint) -> dict:
    """One entry of the public feed and of a kept file: the STH and its cosignature."""
    return {"sth": checkpoint.sth, "cosignature": checkpoint.cosignature}


def latest_signed_size() -> int:
    latest = tree_head_latest()
    return latest.seq if latest else 0


def consistency(first: int, second: int) -> dict:
    """The consistency proof between tree sizes ``first <= second`` (RFC 9162 2.1.4.1),
    recomputed from the events, with both roots."""
    leaves = audit_leaves(second)
    if len(leaves) < second:
        raise ValueError(f"the log has only {len(leaves)} events")
    proof = log.consistency_proof(leaves, first)
    return {"first": first, "second": second,
            "first_root": log.tree_root(leaves[:first]).hex(),
            "second_root": log.tree_root(leaves).hex(),
            "proof": [p.hex() for p in proof]}


def inclusion(seq: int, size: int) -> dict:
    """The inclusion proof of event ``#seq`` (leaf ``seq - 1``) in the tree of ``size``."""
    leaves = audit_leaves(size)
    if len(leaves) < size or not 1 <= seq <= size:
        raise ValueError("no such event in a tree of that size")
    return {"seq": seq, "leaf_index": seq - 1, "size": size,
            "leaf": leaves[seq - 1].hex(), "root": log.tree_root(leaves).hex(),
            "path": [p.hex() for p in log.inclusion_path(leaves, seq - 1)]}
