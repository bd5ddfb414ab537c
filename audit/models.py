"""The append-only audit chain every app's services write to.

Rows are only ever inserted, by ``audit.services.audit_record``. The model refuses
updates and deletes from Django, and on PostgreSQL a trigger refuses them from SQL
too; the hash chain (``crypto.chain``) catches whatever gets past both.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditImmutable(Exception):
    pass


class AuditEvent(models.Model):
    seq = models.BigIntegerField(_("sequence"), unique=True)
    time = models.DateTimeField(_("server time"))
    actor_id = models.BigIntegerField(_("actor id"), null=True, blank=True)
    actor = models.CharField(_("actor"), max_length=150)
    action = models.CharField(_("action"), max_length=80, db_index=True)
    object_type = models.CharField(_("object type"), max_length=80)
    object_id = models.CharField(_("object id"), max_length=64, db_index=True)
    summary = models.CharField(_("summary"), max_length=300, blank=True)
    # Bidders' actions on a tender stay sealed until its bidding closes: viewers
    # do not show them before then (who bid, and how many, is secret).
    sealed_tender_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    payload_digest = models.CharField(_("payload digest"), max_length=64)
    prev_hash = models.CharField(_("previous hash"), max_length=64)
    hash = models.CharField(_("hash"), max_length=64, unique=True)

    class Meta:
        ordering = ["seq"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AuditImmutable("audit events cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditImmutable("audit events cannot be deleted")

    def chain_fields(self) -> dict:
        """The fields covered by the event digest (everything but the two hashes)."""
        return {
            "seq": self.seq,
            "time": self.time.isoformat(timespec="microseconds"),
            "actor_id": self.actor_id,
            "actor": self.actor,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "summary": self.summary,
            "sealed_tender_id": self.sealed_tender_id,
            "payload_digest": self.payload_digest,
        }


class AuditHead(models.Model):
    """One row: the last event's sequence number and hash (and, so that one ``UPDATE
    ... RETURNING`` can both move the head and hand the appender its link, the hash
    before it and the last event's time).

    Appending moves it, which row-locks it until the transaction ends, so concurrent
    writers line up and the chain never forks; the verifier compares it with the last
    event so a deleted tail is found.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64)
    prev_hash = models.CharField(max_length=64, blank=True, default="")
    time = models.DateTimeField(null=True, blank=True)


class AuditCheckpoint(models.Model):
    """The platform's signatures at some event: over the chain head (crypto.checkpoint,
    ``statement``) and, since tree heads exist, over the Merkle tree of the first ``seq``
    events (a signed tree head, crypto.log, ``sth``), with the witness's cosignature.

    The rows are only the platform's copy. Tree heads also leave the database (the public
    feed, bid receipts, the witness), so deleting or re-signing rows here is caught by
    anyone who kept one (``verify_audit --against``). Rows written before tree heads
    existed have no ``sth`` and are checked as chain checkpoints only."""

    seq = models.BigIntegerField(unique=True)
    head_hash = models.CharField(max_length=64)
    time = models.DateTimeField()
    statement = models.JSONField()
    # The signed tree head over events #1..#seq (tree size == seq) and its root.
    root_hash = models.CharField(max_length=64, blank=True, default="")
    sth = models.JSONField(null=True, blank=True)
    # The witness's cosignature of ``sth`` (crypto.log.cosign), once it gave one.
    cosignature = models.JSONField(null=True, blank=True)
    witness_error = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"checkpoint at #{self.seq}"


class AuditPending(models.Model):
    """An event recorded with ``audit_record(..., at_commit=True)`` on PostgreSQL, until
    its transaction commits.

    A deferred constraint trigger (migration 0007) appends it to the chain during the
    commit, as :func:`audit.services.audit_record` would (same fields, same hashes),
    and deletes this row: the head is locked only for the last moment of the commit,
    not from the append to the commit. Rolled back, the row and the event never
    existed. The table is empty whenever no transaction is in flight."""

    time = models.DateTimeField()
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor = models.CharField(max_length=150)
    action = models.CharField(max_length=80)
    object_type = models.CharField(max_length=80)
    object_id = models.CharField(max_length=64)
    summary = models.CharField(max_length=300, blank=True)
    sealed_tender_id = models.BigIntegerField(null=True, blank=True)
    payload_digest = models.CharField(max_length=64)
    # crypto.chain.event_template(fields): the canonical JSON around seq and time.
    template_head = models.BinaryField()
    template_middle = models.BinaryField()
    template_tail = models.BinaryField()
