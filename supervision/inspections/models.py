"""Cross-department supervision (跨部门综合监管): the list of supervision matters and their
checklists, the registers of inspectors and supervised parties, shared inspection plans with
their verifiable double-random draws (双随机一公开), inspections and their findings, spot checks
of expert evaluations (评标专家抽查) and electronic filings (备案).

A *department* is a supervisor organisation (``Organisation.Kind.SUPERVISOR``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation


class SupervisionMatter(models.Model):
    """One entry of the list of supervision matters (监管事项清单)."""

    code = models.CharField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    departments = models.ManyToManyField(Organisation, related_name="supervision_matters",
                                         verbose_name=_("departments"))
    legal_basis = models.CharField(_("legal basis"), max_length=300)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class ChecklistItem(models.Model):
    """One item of a matter's compliance checklist (检查实施清单)."""

    matter = models.ForeignKey(SupervisionMatter, on_delete=models.CASCADE,
                               related_name="items")
    number = models.PositiveSmallIntegerField(_("number"))
    text = models.CharField(_("what is checked"), max_length=300)
    text_en = models.CharField(_("English text"), max_length=300, blank=True)
    legal_basis = models.CharField(_("legal basis"), max_length=200, blank=True)

    class Meta:
        ordering = ["matter__code", "number"]
        constraints = [models.UniqueConstraint(fields=["matter", "number"],
                                               name="inspections_item_number_once")]

    def __str__(self) -> str:
        return f"{self.matter.code}-{self.number}"


class Inspector(models.Model):
    """The register of law-enforcement inspectors (执法检查人员名录)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                related_name="inspector")
    department = models.ForeignKey(Organisation, on_delete=models.PROTECT,
                                   related_name="inspectors", verbose_name=_("department"))
    specialties = models.CharField(_("specialties"), max_length=200, blank=True)
    active = models.BooleanField(_("active"), default=True)
    # Organisations the inspector declared an interest in (former employer, relatives ...).
    interests = models.ManyToManyField(Organisation, related_name="+", blank=True,
                                       verbose_name=_("declared interests"))
    added_at = models.DateTimeField()

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.code} {self.user}"

    @property
    def code(self) -> str:
        """The inspector's code in draws (stable, names nobody)."""
        return f"I{self.pk:06d}"


class SupervisedParty(models.Model):
    """The register of supervised parties (检查对象名录)."""

    class Kind(models.TextChoices):
        TENDERER = "tenderer", _("Tenderer")
        AGENCY = "agency", _("Tendering agency")
        BIDDER = "bidder", _("Bidder")
        EXPERT = "expert", _("Evaluation expert")

    class Source(models.TextChoices):
        # Derived from the platform's organisations and expert pool.
        PLATFORM = "platform", _("Platform records")
        # Added by a supervisor.
        MANUAL = "manual", _("Added manually")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    organisation = models.ForeignKey(Organisation, null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    expert = models.ForeignKey("expert_pool.Expert", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("name"), max_length=200)
    identifier = models.CharField(_("credit code or expert number"), max_length=40)
    note = models.CharField(_("note"), max_length=300, blank=True)
    added_at = models.DateTimeField()

    class Meta:
        ordering = ["kind", "name"]
        constraints = [models.UniqueConstraint(fields=["kind", "identifier"],
                                               name="inspections_party_once")]


class CommittedDraw(models.Model):
    """The commit-then-public-input fields every verifiable draw here keeps."""

    params = models.JSONField(default=dict)
    commitment = models.CharField(max_length=64, blank=True)
    secret = models.BinaryField(max_length=64, blank=True, default=b"")
    # The public round named at the commitment (a lottery draw, a drand round).
    round_name = models.CharField(_("public round"), max_length=100, blank=True)
    public_input = models.CharField(max_length=300, blank=True)
    committed_at = models.DateTimeField(null=True, blank=True)
    drawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class InspectionPlan(models.Model):
    """A supervision plan several departments share: one inspection of a tender covers the
    checklist items of every participating department's matters."""

    class Status(models.TextChoices):
        # Being prepared; departments and matters may change.
        DRAFT = "draft", _("Draft")
        # Published: rounds are drawn from it.
        ACTIVE = "active", _("Active")
        # The period is over; no more rounds.
        CLOSED = "closed", _("Closed")

    name = models.CharField(_("name"), max_length=200)
    period_start = models.DateField(_("period from"))
    period_end = models.DateField(_("period until"))
    departments = models.ManyToManyField(Organisation, related_name="+",
                                         verbose_name=_("departments taking part"))
    matters = models.ManyToManyField(SupervisionMatter, related_name="plans",
                                     verbose_name=_("matters covered"))
    sample_count = models.PositiveIntegerField(_("tenders per round"), null=True, blank=True)
    sample_ratio = models.DecimalField(_("share of the population per round"), max_digits=4,
                                       decimal_places=3, null=True, blank=True)
    inspectors_per_inspection = models.PositiveSmallIntegerField(default=2)
    distinct_departments = models.BooleanField(
        _("inspectors from different departments"), default=True)
    # {"statuses": [...], "categories": [...], "regions": [...]}: which tenders may be drawn;
    # the tender's award (or status change) must fall in the period.
    population = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-period_start", "pk"]

    def __str__(self) -> str:
        return self.name


class PlanRound(CommittedDraw):
    """One verifiable draw under a plan: the tenders, then each tender's inspectors.

    ``tender_candidates`` are the references eligible at the commitment (the population less
    tenders already inspected under the plan); ``inspector_candidates`` the register's codes
    of the participating departments. Each drawn tender's inspectors come from a full
    permutation of ``inspector_candidates`` (params + the tender), walked in order, skipping
    those the avoidance rules exclude (``skipped``)."""

    plan = models.ForeignKey(InspectionPlan, on_delete=models.PROTECT, related_name="rounds")
    number = models.PositiveSmallIntegerField()
    tender_candidates = models.JSONField(default=list)
    tender_digest = models.CharField(max_length=64, blank=True)
    inspector_candidates = models.JSONField(default=list)
    inspector_digest = models.CharField(max_length=64, blank=True)
    # The inspectors' departments at the commitment: {code: department id}.
    inspector_departments = models.JSONField(default=dict)
    sample_size = models.PositiveIntegerField()
    drawn = models.JSONField(default=list)  # tender references, first drawn first
    assignments = models.JSONField(default=dict)  # reference -> inspector codes
    skipped = models.JSONField(default=dict)  # reference -> {code: [reasons]}
    committed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     related_name="+")
    drawn_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                 related_name="+", null=True, blank=True)

    class Meta:
        ordering = ["plan", "number"]
        constraints = [models.UniqueConstraint(fields=["plan", "number"],
                                               name="inspections_round_once")]


class Inspection(models.Model):
    """The one inspection of a drawn tender under a plan."""

    class Status(models.TextChoices):
        # Inspectors record findings.
        OPEN = "open", _("In progress")
        # A conclusion is recorded and the result published.
        PUBLISHED = "published", _("Result published")

    class Conclusion(models.TextChoices):
        COMPLIANT = "compliant", _("No problems found")
        PROBLEMS = "problems", _("Problems found")

    plan = models.ForeignKey(InspectionPlan, on_delete=models.PROTECT,
                             related_name="inspections")
    round = models.ForeignKey(PlanRound, on_delete=models.PROTECT, related_name="inspections")
    tender = models.ForeignKey("tenders.Tender", on_delete=models.PROTECT, related_name="+")
    inspectors = models.ManyToManyField(Inspector, related_name="inspections")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    conclusion = models.CharField(max_length=10, choices=Conclusion.choices, blank=True)
    conclusion_text = models.TextField(_("conclusion"), blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["plan", "pk"]
        constraints = [models.UniqueConstraint(fields=["plan", "tender"],
                                               name="inspections_once_per_plan")]


class Finding(models.Model):
    """An inspector's finding on one checklist item."""

    class Result(models.TextChoices):
        COMPLIANT = "compliant", _("Compliant")
        NOT_COMPLIANT = "not_compliant", _("Not compliant")
        NOT_APPLICABLE = "na", _("Not applicable")

    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE,
                                   related_name="findings")
    item = models.ForeignKey(ChecklistItem, on_delete=models.PROTECT, related_name="+")
    result = models.CharField(max_length=15, choices=Result.choices)
    note = models.TextField(blank=True)
    # [{"seq": audit event seq, "action": ..., "object_type": ..., "object_id": ...,
    #   "hash": the event's hash}] checked against the audit chain when recorded.
    evidence = models.JSONField(default=list)
    recorded_by = models.ForeignKey(Inspector, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["item__matter__code", "item__number"]
        constraints = [models.UniqueConstraint(fields=["inspection", "item"],
                                               name="inspections_finding_once")]


class SpotCheck(CommittedDraw):
    """A verifiable random sample of completed evaluations, re-reviewed by a supervisor."""

    supervisor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    period_start = models.DateField()
    period_end = models.DateField()
    sample_size = models.PositiveIntegerField()
    candidates = models.JSONField(default=list)  # tender references with a completed report
    candidates_digest = models.CharField(max_length=64, blank=True)
    drawn = models.JSONField(default=list)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]


class SpotCheckRating(models.Model):
    """The supervisor's rating of one expert of a re-reviewed evaluation; it is also an
    ``expert_pool.Rating`` on the expert's record."""

    spot_check = models.ForeignKey(SpotCheck, on_delete=models.PROTECT, related_name="ratings")
    tender = models.ForeignKey("tenders.Tender", on_delete=models.PROTECT, related_name="+")
    expert = models.ForeignKey("expert_pool.Expert", on_delete=models.PROTECT, related_name="+")
    rating = models.OneToOneField("expert_pool.Rating", on_delete=models.PROTECT,
                                  related_name="+")
    score = models.PositiveSmallIntegerField()
    comment = models.CharField(max_length=300)
    rated_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["spot_check", "tender", "expert"],
                                               name="inspections_rating_once")]


class Filing(models.Model):
    """An electronic filing (备案) with the supervisor: the tender documents at publication,
    the results after the award."""

    class Stage(models.TextChoices):
        DOCUMENTS = "documents", _("Tender documents")
        RESULTS = "results", _("Results (report, award, contract)")

    class Status(models.TextChoices):
        # Filed; the supervisor has not answered yet.
        FILED = "filed", _("Filed")
        # The supervisor acknowledged it; the receipt is final.
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        # Returned with reasons; the tenderer may file again.
        RETURNED = "returned", _("Returned")

    tender = models.ForeignKey("tenders.Tender", on_delete=models.PROTECT, related_name="+")
    stage = models.CharField(max_length=10, choices=Stage.choices)
    attempt = models.PositiveSmallIntegerField(default=1)
    # [{"kind": ..., "name": ..., "sha256": ...}] as read from the platform's records.
    items = models.JSONField(default=list)
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                 related_name="+")
    filed_at = models.DateTimeField()
    status = models.CharField(max_length=15, choices=Status.choices, default=Status.FILED)
    reasons = models.TextField(blank=True)
    handled_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+", null=True, blank=True)
    handled_at = models.DateTimeField(null=True, blank=True)
    receipt = models.JSONField(default=dict)

    class Meta:
        ordering = ["-filed_at"]
        constraints = [models.UniqueConstraint(fields=["tender", "stage", "attempt"],
                                               name="inspections_filing_attempt_once")]
