"""The online opening (不见面开标): the session, each bid's fate, sign-ins, custodians'
shares, objections and confirmations. State lives here, not in sockets."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation
from bidding.bids.models import Bid
from bidding.tenders.models import Tender


class OpeningSession(models.Model):
    """The online opening of one tender (不见面开标). State lives here, not in sockets."""

    class Phase(models.TextChoices):
        # Bidders hand over their data keys; the countdown runs.
        DECRYPTING = "decrypting", _("Decryption window open")
        # Window closed; custodians open what bidders did not.
        CUSTODIANS = "custodians", _("Custodians opening undecrypted bids")
        # Prices announced; bidders confirm the record.
        CONFIRMING = "confirming", _("Bidders confirming the record")
        # Record signed and published.
        CLOSED = "closed", _("Closed")

    tender = models.OneToOneField(Tender, on_delete=models.PROTECT, related_name="opening")
    phase = models.CharField(max_length=20, choices=Phase.choices, default=Phase.DECRYPTING)
    started_at = models.DateTimeField()
    window_ends_at = models.DateTimeField()
    # When the window closed with bids nobody decrypted: the custodians have until then.
    custodians_until = models.DateTimeField(null=True, blank=True)
    confirm_until = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    merkle_root = models.CharField(max_length=64)
    merkle_size = models.PositiveIntegerField()
    record = models.FileField(upload_to="records/", max_length=300, blank=True)
    record_sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        db_table = "bidding_openingsession"

    def __str__(self) -> str:
        return f"opening of {self.tender.reference}"


class BidOpening(models.Model):
    """How one bid fared at the opening."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting decryption")
        DECRYPTED = "decrypted", _("Decrypted")
        # E-Rules 31: not decrypted by the bidder's fault: revoked (bond may be kept).
        REVOKED = "revoked", _("Not decrypted: bidder's fault (revoked)")
        # E-Rules 31: not decrypted through no fault of the bidder: withdrawn (bond back).
        WITHDRAWN = "withdrawn", _("Not decrypted: not the bidder's fault (withdrawn)")
        # Sealed so that the custodians' key cannot open it either, which only the bidder
        # can cause (E-Rules 31: revoked): rejected, the proof kept, the bond kept where
        # the tender documents say so.
        REJECTED = "rejected", _("Rejected: sealed so that it cannot be opened")

    session = models.ForeignKey(OpeningSession, on_delete=models.PROTECT, related_name="bids")
    bid = models.OneToOneField(Bid, on_delete=models.PROTECT, related_name="opening")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    decrypted_by = models.CharField(max_length=20, blank=True)  # "bidder" or "custodians"
    decrypted_at = models.DateTimeField(null=True, blank=True)
    price_sheet = models.JSONField(null=True, blank=True)
    announced_at = models.DateTimeField(null=True, blank=True)
    announce_order = models.PositiveIntegerField(null=True, blank=True)
    # The decrypted bid document, never stored as plaintext: an at-rest file
    # (``crypto.atrest``) under its own data key, which the platform's current at-rest
    # KEK wraps (``bidding.opening.at_rest``). Read it with
    # ``bidding.opening.selectors.open_bid_document`` (audited).
    document = models.FileField(upload_to="opened/", max_length=300, blank=True)
    document_key_id = models.CharField(max_length=64, blank=True)  # which KEK wraps it
    document_wrapped_key = models.CharField(max_length=200, blank=True)  # base64
    # SHA-256 of the at-rest file's header (salt, nonce prefix, context): binds the file.
    document_header_sha256 = models.CharField(max_length=64, blank=True)
    # Recorded at decryption, of the plaintext: its SHA-256, size and sniffed type.
    document_sha256 = models.CharField(max_length=64, blank=True)
    document_size = models.BigIntegerField(null=True, blank=True)
    document_content_type = models.CharField(max_length=10, blank=True)  # pdf, zip, other
    reason = models.CharField(max_length=300, blank=True)
    # Why a bid was rejected, checkable by anyone who holds the rebuilt key afterwards.
    proof = models.JSONField(null=True, blank=True)

    class Meta:
        db_table = "bidding_bidopening"
        ordering = ["announce_order", "bid__submitted_at"]


class OpeningSignin(models.Model):
    session = models.ForeignKey(
        OpeningSession, on_delete=models.CASCADE, related_name="signins", null=True
    )
    tender = models.ForeignKey(Tender, on_delete=models.PROTECT, related_name="signins")
    bidder = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    signed_in_at = models.DateTimeField()

    class Meta:
        db_table = "bidding_openingsignin"
        constraints = [
            models.UniqueConstraint(fields=["tender", "bidder"], name="one_signin_per_bidder")
        ]


class CustodianShare(models.Model):
    """A custodian's decrypted share, handed over in the hall after the window closed."""

    session = models.ForeignKey(OpeningSession, on_delete=models.PROTECT, related_name="shares")
    custodian = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    share = models.JSONField()
    submitted_at = models.DateTimeField()

    class Meta:
        db_table = "bidding_custodianshare"
        constraints = [
            models.UniqueConstraint(fields=["session", "custodian"], name="one_share_per_custodian")
        ]


class Objection(models.Model):
    """An objection raised in the hall (Reg 44), answered on the spot, both recorded."""

    session = models.ForeignKey(OpeningSession, on_delete=models.PROTECT,
                                related_name="objections")
    bidder = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    text = models.TextField()
    raised_at = models.DateTimeField()
    answer = models.TextField(blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )

    class Meta:
        db_table = "bidding_objection"
        ordering = ["raised_at"]


class Confirmation(models.Model):
    session = models.ForeignKey(OpeningSession, on_delete=models.PROTECT,
                                related_name="confirmations")
    bidder = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    confirmed_at = models.DateTimeField()
    # No answer within the confirmation time counts as confirmation (recorded as such).
    deemed = models.BooleanField(default=False)
    remark = models.CharField(max_length=500, blank=True)

    class Meta:
        db_table = "bidding_confirmation"
        constraints = [
            models.UniqueConstraint(fields=["session", "bidder"], name="one_confirmation")
        ]
