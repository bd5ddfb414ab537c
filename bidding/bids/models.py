"""Sealed bids, their resumable uploads and their bonds. Only ciphertext is stored."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation
from bidding.tenders.models import Tender


def bid_upload_to(instance, filename: str) -> str:
    return f"bids/{instance.tender.public_id}/{instance.public_id}.ggzy"


class Bid(models.Model):
    """One version of one bidder's sealed bid. Only ciphertext is ever stored."""

    class Status(models.TextChoices):
        # The version that counts.
        SUBMITTED = "submitted", _("Submitted")
        # Replaced by a later version before the deadline.
        SUPERSEDED = "superseded", _("Replaced")
        # Withdrawn by the bidder before the deadline (bond refunded, Reg 35).
        WITHDRAWN = "withdrawn", _("Withdrawn")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tender = models.ForeignKey(Tender, on_delete=models.PROTECT, related_name="bids")
    bidder = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="bids")
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    version = models.PositiveIntegerField()
    envelope = models.FileField(upload_to=bid_upload_to, max_length=300)
    sha256 = models.CharField(max_length=64)
    size = models.BigIntegerField()
    price_sheet = models.BinaryField(max_length=65536)
    price_sheet_sha256 = models.CharField(max_length=64)
    bidder_key_fingerprint = models.CharField(max_length=64)
    status = models.CharField(max_length=20, choices=Status.choices, db_index=True)
    submitted_at = models.DateTimeField()
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    receipt = models.JSONField()
    # Evidence for supervision: what the client and the network said. Claims, not truths.
    upload_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    claims = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "bidding_bid"
        ordering = ["tender", "bidder", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["tender", "bidder", "version"], name="bid_version_unique"
            ),
            models.UniqueConstraint(
                fields=["tender", "bidder"], condition=models.Q(status="submitted"),
                name="one_current_bid",
            ),
        ]


class BidUpload(models.Model):
    """A resumable upload of a sealed bid, chunk by chunk, until it is completed."""

    class Status(models.TextChoices):
        OPEN = "open", _("Uploading")
        COMPLETED = "completed", _("Completed")
        ABORTED = "aborted", _("Aborted")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tender = models.ForeignKey(Tender, on_delete=models.PROTECT, related_name="+")
    bidder = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    size = models.BigIntegerField()
    chunk_size = models.PositiveIntegerField()
    next_index = models.PositiveIntegerField(default=0)
    received_bytes = models.BigIntegerField(default=0)
    chunk_digests = models.JSONField(default=list)
    storage_name = models.CharField(max_length=300)
    price_sheet = models.BinaryField(max_length=65536)
    claims = models.JSONField(default=dict, blank=True)
    upload_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    bid = models.OneToOneField(Bid, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="upload")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "bidding_bidupload"

    @property
    def chunk_count(self) -> int:
        return max(1, -(-self.size // self.chunk_size))


class BidBond(models.Model):
    """A bid bond (投标保证金) as recorded by the bidder or the bank interface."""

    class Kind(models.TextChoices):
        TRANSFER = "transfer", _("Bank transfer")
        BANK_GUARANTEE = "bank_guarantee", _("Bank guarantee")
        INSURANCE = "insurance", _("Guarantee insurance")

    class Status(models.TextChoices):
        HELD = "held", _("Held")
        REFUND_DUE = "refund_due", _("Refund due")
        REFUNDED = "refunded", _("Refunded")
        FORFEITED = "forfeited", _("Kept")

    # The id the API and URLs use: random, so bonds cannot be enumerated or counted.
    # The integer pk stays internal.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tender = models.ForeignKey(Tender, on_delete=models.PROTECT, related_name="bonds")
    bidder = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="bonds")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    payer_account = models.CharField(max_length=40)
    payer_name = models.CharField(max_length=200)
    reference = models.CharField(max_length=100, blank=True)
    paid_at = models.DateTimeField()
    from_basic_account = models.BooleanField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.HELD)
    refund_due_by = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "bidding_bidbond"
        constraints = [
            models.UniqueConstraint(fields=["tender", "bidder"], name="one_bond_per_bidder")
        ]
