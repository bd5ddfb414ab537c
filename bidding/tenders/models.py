from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation

from .reference import (
    AnnounceMode,
    AwardCommitteeMode,
    AwardMethod,
    Category,
    CriterionStage,
    DecisionMethod,
    DecryptionFallback,
    EvaluationMethod,
    PriceFormula,
    ProcedureType,
    Region,
    ScoreAggregation,
    VoteMode,
)


class Tender(models.Model):
    class Status(models.TextChoices):
        # Being prepared by the tenderer; visible only to its organisation.
        DRAFT = "draft", _("Draft")
        # Announcement public, documents obtainable, bids accepted until the deadline.
        PUBLISHED = "published", _("Bidding open")
        # The deadline has passed; no bid can arrive any more.
        BIDDING_CLOSED = "bidding_closed", _("Bidding closed")
        # The opening session is running (sign-in, decryption window).
        OPENING = "opening", _("Opening")
        # Bids decrypted and announced; the opening record is published.
        OPENED = "opened", _("Opened")
        # Drawn experts are scoring the bids.
        EVALUATION = "evaluation", _("Under evaluation")
        # The committee has recommended candidates; they are in publicity.
        CANDIDATES = "candidates", _("Candidates in publicity")
        # The award committee is deciding (evaluation separate from award).
        AWARD = "award", _("Award decision")
        # The award notice has been issued.
        AWARDED = "awarded", _("Awarded")
        # The contract has been signed.
        CONTRACTED = "contracted", _("Contract signed")
        # Stopped by the tenderer before award.
        CANCELLED = "cancelled", _("Cancelled")
        # Failed: too few bids, or all rejected; re-tender.
        FAILED = "failed", _("Failed")
        # Suspended by the supervisor while a complaint is handled.
        SUSPENDED = "suspended", _("Suspended")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    reference = models.CharField(_("tender number"), max_length=40, unique=True)
    project_code = models.CharField(_("project code"), max_length=60)
    project_name = models.CharField(_("project name"), max_length=200)
    title = models.CharField(_("title"), max_length=200)
    title_en = models.CharField(_("English title"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    tenderer = models.ForeignKey(
        Organisation,
        verbose_name=_("tenderer"),
        on_delete=models.PROTECT,
        related_name="tenders",
    )
    agency = models.ForeignKey(
        Organisation,
        verbose_name=_("tendering agency"),
        on_delete=models.PROTECT,
        related_name="agency_tenders",
        null=True,
        blank=True,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    procedure_type = models.CharField(
        _("procedure"),
        max_length=20,
        choices=ProcedureType.choices,
        default=ProcedureType.OPEN,
    )
    region = models.CharField(_("region"), max_length=6, choices=Region.choices)
    category = models.CharField(_("category"), max_length=30, choices=Category.choices)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    estimate = models.DecimalField(
        _("estimated price"),
        max_digits=16,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    max_price = models.DecimalField(
        _("maximum bid price"),
        max_digits=16,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    bond_amount = models.DecimalField(
        _("bid bond"),
        max_digits=14,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    docs_from = models.DateTimeField(_("documents obtainable from"))
    docs_until = models.DateTimeField(_("documents obtainable until"))
    deadline = models.DateTimeField(_("bid deadline and opening time"), db_index=True)
    decryption_window_minutes = models.PositiveIntegerField(_("decryption window (minutes)"))
    evaluation_method = models.CharField(
        _("evaluation method"), max_length=20, choices=EvaluationMethod.choices
    )
    price_formula = models.CharField(
        _("price formula"), max_length=30, choices=PriceFormula.choices
    )
    price_formula_params = models.JSONField(_("price formula parameters"), default=dict)
    award_method = models.CharField(_("award method"), max_length=20, choices=AwardMethod.choices)
    decision_method = models.CharField(
        _("award decision method"),
        max_length=20,
        choices=DecisionMethod.choices,
        blank=True,
    )
    # What the evaluation and the award do, declared in the tender documents (Reg 49):
    # the criteria themselves are the tender's ``criteria`` (Criterion below).
    score_aggregation = models.CharField(
        _("score aggregation"), max_length=20, choices=ScoreAggregation.choices,
        default=ScoreAggregation.MEAN,
    )
    candidate_count = models.PositiveSmallIntegerField(
        _("number of candidates recommended"), default=3,
        help_text=_("At most 3 (Reg 53)."),
    )
    candidates_ranked = models.BooleanField(_("candidates are ranked"), default=True)
    anonymous_technical = models.BooleanField(
        _("anonymous technical bids (暗标)"), default=False,
        help_text=_("Technical bids are evaluated under code numbers; identities are revealed "
                    "only after the technical scores are locked."),
    )
    award_committee_mode = models.CharField(
        _("award committee"), max_length=20, choices=AwardCommitteeMode.choices, blank=True,
    )
    award_committee_size = models.PositiveSmallIntegerField(
        _("award committee size"), null=True, blank=True,
    )
    vote_mode = models.CharField(
        _("vote"), max_length=20, choices=VoteMode.choices, blank=True,
    )
    price_sheet_items = models.JSONField(
        _("price sheet items"), default=list, blank=True,
        help_text=_("Extra items each bidder's sealed price sheet must state, besides the "
                    "standard ones."),
    )
    decryption_fallback = models.CharField(
        _("if a bidder fails to decrypt"), max_length=20,
        choices=DecryptionFallback.choices, default=DecryptionFallback.CUSTODIANS,
    )
    announce_mode = models.CharField(
        _("price announcement"), max_length=20, choices=AnnounceMode.choices,
        default=AnnounceMode.AT_CLOSE,
    )
    # E-Rules 31: a bid nobody can open by its bidder's fault counts as revoked, and the
    # tender documents say whether its bond is kept.
    forfeit_bond_if_unopenable = models.BooleanField(
        _("keep the bond of a bid its bidder sealed so that it cannot be opened"),
        default=True,
    )
    public_opening = models.BooleanField(
        _("the public may watch the opening"), default=True,
    )
    # The announcement's contacts: the organisations hold name, address and switchboard;
    # the tender names who answers bidders about this project.
    tenderer_contact = models.CharField(_("tenderer's contact person"), max_length=100,
                                        blank=True)
    tenderer_phone = models.CharField(_("tenderer's contact phone"), max_length=40, blank=True)
    tenderer_email = models.EmailField(_("tenderer's contact email"), blank=True)
    agency_contact = models.CharField(_("agency's contact person"), max_length=100, blank=True)
    agency_phone = models.CharField(_("agency's contact phone"), max_length=40, blank=True)
    agency_email = models.EmailField(_("agency's contact email"), blank=True)
    # 终止招标 (Reg 31): the reason published with the cancellation.
    cancel_reason = models.TextField(_("reason for cancellation"), blank=True)
    # The opening key: public half published, private half split among custodians.
    opening_public_key = models.BinaryField(max_length=65, null=True, blank=True)
    opening_key_fingerprint = models.CharField(max_length=64, blank=True)
    opening_threshold = models.PositiveSmallIntegerField(null=True, blank=True)
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=Status.choices,
        default=Status.DRAFT,
        db_index=True,
    )
    suspended_from = models.CharField(max_length=20, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "bidding_tender"
        ordering = ["-published_at", "-created_at"]
        verbose_name = _("tender")
        verbose_name_plural = _("tenders")

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    @property
    def opening_time(self):
        """Law 34: the opening takes place at the bid deadline, always."""
        return self.deadline

    @property
    def is_public(self) -> bool:
        return self.status != self.Status.DRAFT

    def owner_organisations(self) -> set[int]:
        return {self.tenderer_id} | ({self.agency_id} if self.agency_id else set())


class Criterion(models.Model):
    """One evaluation criterion written in the tender documents. Only these may be used
    (Reg 49); fixed once the tender is published."""

    tender = models.ForeignKey(Tender, on_delete=models.CASCADE, related_name="criteria")
    stage = models.CharField(_("stage"), max_length=20, choices=CriterionStage.choices)
    number = models.PositiveSmallIntegerField(_("number"))
    name = models.CharField(_("criterion"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    description = models.TextField(_("how it is assessed"), blank=True)
    # The most points a member may give (scoring stages); null for pass/fail criteria.
    max_score = models.DecimalField(
        _("maximum score"), max_digits=6, decimal_places=2, null=True, blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
    )

    class Meta:
        db_table = "bidding_criterion"
        ordering = ["tender", "number"]
        constraints = [
            models.UniqueConstraint(fields=["tender", "number"], name="criterion_number_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.number}. {self.name}"


class Lot(models.Model):
    tender = models.ForeignKey(Tender, on_delete=models.CASCADE, related_name="lots")
    number = models.PositiveIntegerField(_("lot number"))
    name = models.CharField(_("lot name"), max_length=200)
    estimate = models.DecimalField(
        _("lot estimate"), max_digits=16, decimal_places=2, null=True, blank=True
    )

    class Meta:
        db_table = "bidding_lot"
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["tender", "number"], name="lot_number_unique")
        ]

    def __str__(self) -> str:
        return f"{self.number}. {self.name}"


class Amendment(models.Model):
    tender = models.ForeignKey(Tender, on_delete=models.PROTECT, related_name="amendments")
    number = models.PositiveIntegerField(_("amendment number"))
    text = models.TextField(_("amendment text"))
    published_at = models.DateTimeField(_("published at"))
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    old_deadline = models.DateTimeField(_("deadline before"))
    new_deadline = models.DateTimeField(_("deadline after"))
    requested_deadline = models.DateTimeField(null=True, blank=True)
    deadline_moved_by_rule = models.BooleanField(
        _("deadline moved by the 15-day rule"), default=False
    )

    class Meta:
        db_table = "bidding_amendment"
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["tender", "number"], name="amendment_number_unique")
        ]

    @property
    def deadline_changed(self) -> bool:
        return self.new_deadline != self.old_deadline


def document_upload_to(instance: TenderDocument, filename: str) -> str:
    return f"tender-docs/{instance.tender.public_id}/{instance.sha256}/{filename}"


class TenderDocument(models.Model):
    """A tender document. Immutable once its tender is published."""

    tender = models.ForeignKey(Tender, on_delete=models.PROTECT, related_name="documents")
    amendment = models.ForeignKey(
        Amendment,
        on_delete=models.PROTECT,
        related_name="documents",
        null=True,
        blank=True,
    )
    name = models.CharField(_("file name"), max_length=255)
    file = models.FileField(upload_to=document_upload_to, max_length=400)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    size = models.BigIntegerField(_("size in bytes"))
    content_type = models.CharField(max_length=100, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded at"))

    class Meta:
        db_table = "bidding_tenderdocument"
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.name


class DocumentRegistration(models.Model):
    """Who obtained the tender documents. Secret (Law 22): see access.py."""

    tender = models.ForeignKey(Tender, on_delete=models.PROTECT, related_name="registrations")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="registrations"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    obtained_at = models.DateTimeField(_("obtained at"))

    class Meta:
        db_table = "bidding_documentregistration"
        ordering = ["obtained_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["tender", "organisation"], name="one_registration_per_org"
            )
        ]


class Clarification(models.Model):
    """A bidder's question and the tenderer's answer, published without the asker."""

    tender = models.ForeignKey(Tender, on_delete=models.PROTECT, related_name="clarifications")
    question = models.TextField(_("question"))
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    asked_at = models.DateTimeField(_("asked at"))
    answer = models.TextField(_("answer"), blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )

    class Meta:
        db_table = "bidding_clarification"
        ordering = ["asked_at", "id"]

    @property
    def is_answered(self) -> bool:
        return self.answered_at is not None


class TenderKeyShare(models.Model):
    """A custodian's seat ``x`` in a tender's custodian set (``bidding.tenders.custody``).

    Bidders' tools split each envelope's data key among the seats and wrap share ``x``
    to ``custodian_key`` (envelope format v2). ``encrypted_share`` holds the seat's
    share of the legacy opening key, kept only for browser bids sealed in format v1.
    """

    tender = models.ForeignKey(Tender, on_delete=models.PROTECT, related_name="key_shares")
    custodian = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    custodian_key = models.ForeignKey(
        "accounts.PublicKey", on_delete=models.PROTECT, related_name="+"
    )
    x = models.PositiveSmallIntegerField()
    encrypted_share = models.JSONField()

    class Meta:
        db_table = "bidding_tenderkeyshare"
        ordering = ["x"]
        constraints = [
            models.UniqueConstraint(fields=["tender", "custodian"], name="one_share_each")
        ]


class CustodianEndorsement(models.Model):
    """A custodian's signature over the tender's custodian-set statement
    (``crypto.custody.statement``), made with its registered signing key on its own
    machine. Bidders' tools seal only when every seat has endorsed the current
    statement with a key the bidder pinned."""

    tender = models.ForeignKey(Tender, on_delete=models.PROTECT, related_name="endorsements")
    custodian = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    signing_key = models.ForeignKey(
        "accounts.PublicKey", on_delete=models.PROTECT, related_name="+"
    )
    statement = models.JSONField()
    signature = models.CharField(max_length=100)  # base64 of the 64-byte r || s
    endorsed_at = models.DateTimeField()

    class Meta:
        db_table = "bidding_custodianendorsement"
        ordering = ["endorsed_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["tender", "custodian"], name="one_endorsement_each")
        ]
