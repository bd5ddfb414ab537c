"""What supervision keeps: red flags, risk scores, cases (立案) with their evidence, steps,
penalty decisions and sanctions. The audit viewer and verifier (views.py, api.py) read the
audit chain."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core import timefmt


class Flag(models.Model):
    """A red flag on a tender: what was seen, the evidence, and a plain explanation."""

    class Kind(models.TextChoices):
        # A bid nobody could open although the custodians' key was rebuilt and checked:
        # its bidder sealed it so (selective opening attempt).
        UNOPENABLE_BID = "unopenable_bid", _("Bid sealed so that it cannot be opened")
        # A collusion screen fired on the tender's opened bids; ``screen`` holds its code
        # (supervision/screens, README "Supervision: collusion screens").
        SCREEN = "screen", _("Collusion screen")

    class Severity(models.TextChoices):
        LOW = "low", _("Low")
        MEDIUM = "medium", _("Medium")
        HIGH = "high", _("High")

    kind = models.CharField(max_length=40, choices=Kind.choices)
    screen = models.CharField(max_length=60, blank=True, default="")
    severity = models.CharField(max_length=10, choices=Severity.choices)
    tender_id = models.BigIntegerField(db_index=True)
    tender_reference = models.CharField(max_length=40)
    # The organisations concerned, by credit code (supervision keeps no foreign keys into
    # the stages: it only reads them).
    subjects = models.JSONField(default=list)
    evidence = models.JSONField(default=dict)
    explanation_zh = models.TextField()
    explanation_en = models.TextField()
    raised_at = models.DateTimeField()

    class Meta:
        ordering = ["-raised_at"]
        constraints = [
            # The same finding on the same tender is one flag, however often it is sent.
            models.UniqueConstraint(fields=["kind", "screen", "tender_id", "subjects"],
                                    name="one_flag_per_finding"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.tender_reference}"


class RiskScore(models.Model):
    """A tender's risk score for the supervisor's queue, recomputed after each opening.

    ``score`` is the unsupervised score (percentile ranks of the screen values over every
    screened tender, plus the flags' weight); ``learned_score`` is the learned model's
    probability once a model has been trained on supervisors' cases."""

    tender_id = models.BigIntegerField(unique=True)
    tender_reference = models.CharField(max_length=40)
    tender_title = models.CharField(max_length=300, blank=True)
    score = models.FloatField(default=0.5)
    learned_score = models.FloatField(null=True, blank=True)
    # The screens' values (price statistics, shares) the score ranks on, and the
    # announced prices the drill-down charts.
    features = models.JSONField(default=dict)
    prices = models.JSONField(default=list)
    max_price = models.FloatField(null=True, blank=True)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["-score"]

    def __str__(self) -> str:
        return f"{self.tender_reference} · {self.score:.2f}"


class Case(models.Model):
    """A supervisor's case (立案): opened from a flag, a complaint, an inspection or a spot
    check, investigated (evidence, steps), and closed by its findings and a penalty
    decision (``PenaltyDecision``).

    ``outcome`` (confirmed or dismissed, with the reasons) is the finding; on cases opened
    from a flag it is also the label the learned risk score trains on (one flag case per
    tender: the tender's one label)."""

    class Outcome(models.TextChoices):
        CONFIRMED = "confirmed", _("Violation confirmed")
        DISMISSED = "dismissed", _("Dismissed")

    class Source(models.TextChoices):
        # The supervisor's risk queue: a screened or flagged tender.
        FLAG = "flag", _("Red flag")
        # Supervision's complaints (supervision.complaints).
        COMPLAINT = "complaint", _("Complaint")
        # An inspection (双随机一公开) or a spot check of an evaluation (评标专家抽查).
        INSPECTION = "inspection", _("Inspection")
        SPOT_CHECK = "spot_check", _("Spot check")

    number = models.CharField(max_length=30, blank=True, default="")
    source_kind = models.CharField(max_length=20, choices=Source.choices, default=Source.FLAG)
    # The source object, generically (supervision's sub-apps are not imported here): its
    # id, a display string and a link on the platform.
    source_id = models.CharField(max_length=64, blank=True, default="")
    source_display = models.CharField(max_length=300, blank=True, default="")
    source_link = models.CharField(max_length=300, blank=True, default="")
    tender_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    tender_reference = models.CharField(max_length=40, blank=True, default="")
    # The parties concerned: [{"kind": bidder|tenderer|agency|expert, "code", "name"}]
    # (organisations by unified social credit code, experts by their pool code).
    subjects = models.JSONField(default=list, blank=True)
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  related_name="+")
    opened_at = models.DateTimeField()
    note = models.TextField(blank=True)
    # The decision is due by then (core.statutory CASE_DECISION_DAYS from the opening).
    deadline = models.DateTimeField(null=True, blank=True)
    # Set by the clock once the deadline passed with the case still open.
    overdue_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    reasons = models.TextField(blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+", null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    # Dismissed, or its penalty decision issued: nothing more is recorded on it.
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-pk"]
        constraints = [
            # One flag case per tender: its outcome is the tender's one label.
            models.UniqueConstraint(fields=["tender_id"], condition=models.Q(source_kind="flag"),
                                    name="one_case_per_tender"),
            # One case per complaint, inspection or spot check.
            models.UniqueConstraint(fields=["source_kind", "source_id"],
                                    condition=~models.Q(source_kind="flag"),
                                    name="one_case_per_source"),
        ]

    def __str__(self) -> str:
        return f"{self.number or self.pk} · {self.tender_reference} · {self.outcome or 'open'}"

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None


class CaseEvidence(models.Model):
    """A record of the platform attached to a case: its metadata and digests, never sealed
    content, with its audit reference (the record's own event where it has one, and the
    event that attached it)."""

    class Kind(models.TextChoices):
        BID = "bid", _("Bid (upload metadata)")
        FLAG = "flag", _("Red flag and its evidence")
        DOCUMENT = "document", _("Tender document (SHA-256)")
        AUDIT_EVENT = "audit_event", _("Audit event")

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="evidence")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    record_id = models.CharField(max_length=64)
    description = models.CharField(max_length=300)
    sha256 = models.CharField(max_length=64, blank=True, default="")
    details = models.JSONField(default=dict)
    # The record's own audit event (e.g. bid.submit), where there is one.
    record_event_seq = models.BigIntegerField(null=True, blank=True)
    record_event_hash = models.CharField(max_length=64, blank=True, default="")
    # The event that attached it (supervision.case_evidence): its payload digest covers
    # ``details`` and ``sha256`` as they were attached.
    event_seq = models.BigIntegerField(null=True, blank=True)
    event_hash = models.CharField(max_length=64, blank=True, default="")
    note = models.CharField(max_length=500, blank=True, default="")
    attached_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+")
    attached_at = models.DateTimeField()

    class Meta:
        ordering = ["attached_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["case", "kind", "record_id"],
                                               name="evidence_attached_once")]


class CaseStep(models.Model):
    """A dated step of the investigation."""

    class Kind(models.TextChoices):
        INTERVIEW = "interview", _("Interview (询问)")
        DOCUMENT_REQUEST = "document_request", _("Request for documents")
        EXPERT_OPINION = "expert_opinion", _("Expert opinion")
        # 听证告知: the hearing is held on ``due`` (at least HEARING_NOTICE_MIN_DAYS later).
        HEARING_NOTICE = "hearing_notice", _("Hearing notice (听证)")
        NOTE = "note", _("Note")

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="steps")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    on = models.DateField()
    # A deadline for documents, or the hearing's date.
    due = models.DateField(null=True, blank=True)
    text = models.TextField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["on", "pk"]


class PenaltyDecision(models.Model):
    """The penalty decision (行政处罚决定书) closing a confirmed case: the legal basis, the
    reasons, the penalties (``Sanction``) and the signed PDF."""

    case = models.OneToOneField(Case, on_delete=models.PROTECT, related_name="decision")
    number = models.CharField(max_length=40, unique=True)
    legal_basis = models.TextField()
    reasons = models.TextField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField()
    pdf = models.BinaryField()
    pdf_sha256 = models.CharField(max_length=64)

    def __str__(self) -> str:
        return self.number


class Sanction(models.Model):
    """One penalty on one party, imposed by a decision. For organisations this is their
    record (shown to them and to tenderers); a debarment in force refuses their bids; an
    expert's suspension or removal is also an ``expert_pool.Penalty`` (never drawn)."""

    class Kind(models.TextChoices):
        WARNING = "warning", _("Warning")
        FINE = "fine", _("Fine")
        # Reg 67-68: disqualified from bidding for a period.
        DEBARMENT = "debarment", _("Disqualified from bidding")
        # Reg 71: barred from evaluating for a period, or for good.
        EXPERT_SUSPENSION = "expert_suspension", _("Expert barred from evaluating")
        EXPERT_REMOVAL = "expert_removal", _("Expert removed from the pool")

    decision = models.ForeignKey(PenaltyDecision, on_delete=models.PROTECT,
                                 related_name="sanctions")
    subject_kind = models.CharField(max_length=20)
    subject_code = models.CharField(max_length=40, db_index=True)
    subject_name = models.CharField(max_length=200, blank=True, default="")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    amount = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    starts = models.DateField()
    until = models.DateField(null=True, blank=True)
    # The expert pool's row for an expert's suspension or removal.
    expert_penalty_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-starts", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.subject_code}"


class RiskModel(models.Model):
    """One training run of the learned risk score (supervision.tasks.retrain_risk_model).
    ``path`` is the stored model (joblib); a run with too few labelled tenders records
    that, stores no model, and the queue keeps the unsupervised score."""

    class Status(models.TextChoices):
        TRAINED = "trained", _("Trained")
        TOO_FEW_LABELS = "too_few_labels", _("Too few labelled tenders")

    status = models.CharField(max_length=20, choices=Status.choices)
    trained_at = models.DateTimeField()
    labelled = models.PositiveIntegerField()
    confirmed = models.PositiveIntegerField()
    # Digest of the training input (labels and screen values): the same input is not
    # trained twice.
    digest = models.CharField(max_length=64)
    path = models.CharField(max_length=500, blank=True)
    active = models.BooleanField(default=False)

    class Meta:
        ordering = ["-trained_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.status} · {timefmt.human(self.trained_at)}"
