"""The expert pool (评标专家库) and its verifiable draws.

An expert is a person with a senior title and years in the field (Law 37), holding
specialty codes from a hierarchical classification. Draws for a tender's evaluation
committee are random, committed before the public input exists, never re-run, and
recomputable by anyone (``expert_pool.draw``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation


class Specialty(models.Model):
    """One node of the specialty classification (评标专家专业分类); leaves are drawn."""

    class Kind(models.TextChoices):
        # Technical experts count towards Law 37's two thirds.
        TECHNICAL = "technical", _("Technical")
        # Economic experts (cost, finance, audit) count towards it too.
        ECONOMIC = "economic", _("Economic")
        # Legal or administrative specialties: they sit, but do not count.
        OTHER = "other", _("Other")

    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=150, blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    kind = models.CharField(_("class"), max_length=12, choices=Kind.choices)

    class Meta:
        ordering = ["code"]
        verbose_name = _("specialty")
        verbose_name_plural = _("specialties")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def counts_for_law37(self) -> bool:
        return self.kind in (self.Kind.TECHNICAL, self.Kind.ECONOMIC)


class Expert(models.Model):
    class Status(models.TextChoices):
        # Admitted and drawable.
        ACTIVE = "active", _("Active")
        # Admission requested (by application or recommendation), not yet admitted.
        PENDING = "pending", _("Awaiting admission")
        # Suspended by the trading centre: never drawn while suspended.
        SUSPENDED = "suspended", _("Suspended")
        # Left the pool for good.
        RETIRED = "retired", _("Retired")

    class Title(models.TextChoices):
        # 正高级: professor-level senior title.
        FULL_SENIOR = "full_senior", _("Full senior title (正高级)")
        # 副高级: associate senior title; the minimum Law 37 accepts.
        SENIOR = "senior", _("Associate senior title (副高级)")
        # 中级: not enough for Law 37 on its own.
        INTERMEDIATE = "intermediate", _("Intermediate title (中级)")

    class Admission(models.TextChoices):
        APPLICATION = "application", _("Own application")
        RECOMMENDATION = "recommendation", _("Recommendation")
        IMPORT = "import", _("Imported")

    code = models.CharField(_("expert number"), max_length=20, unique=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="expert_profile",
    )
    name = models.CharField(_("name"), max_length=100)
    employer = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="experts",
        verbose_name=_("current employer"),
    )
    title = models.CharField(_("professional title"), max_length=20, choices=Title.choices)
    years_experience = models.PositiveSmallIntegerField(_("years of experience"))
    region = models.CharField(_("region"), max_length=6, db_index=True)
    phone = models.CharField(_("mobile phone"), max_length=40, blank=True)
    email = models.EmailField(_("email"), blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    admission = models.CharField(
        _("admitted by"), max_length=16, choices=Admission.choices, default=Admission.APPLICATION
    )
    recommended_by = models.CharField(_("recommended by"), max_length=200, blank=True)
    specialties = models.ManyToManyField(Specialty, related_name="experts", blank=True)
    rating = models.DecimalField(
        _("average rating"), max_digits=4, decimal_places=2, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("expert")
        verbose_name_plural = _("experts")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Employment(models.Model):
    """Where an expert works or worked; ``until`` empty means current."""

    expert = models.ForeignKey(Expert, on_delete=models.CASCADE, related_name="employments")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    since = models.DateField(_("from"), null=True, blank=True)
    until = models.DateField(_("until"), null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["organisation", "until"])]


class Relation(models.Model):
    """A declared relation that can make an expert conflicted (Interim 12)."""

    class Kind(models.TextChoices):
        RELATIVE = "relative", _("Near relative works there or represents it")
        LEGAL_REPRESENTATIVE = "legal_rep", _("Relative is its legal representative")
        SHAREHOLDER = "shareholder", _("Shareholding")
        DIRECTOR = "director", _("Directorship")

    expert = models.ForeignKey(Expert, on_delete=models.CASCADE, related_name="relations")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # A relative's name, matched against organisations' legal representatives.
    person_name = models.CharField(_("person"), max_length=100, blank=True, db_index=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        indexes = [models.Index(fields=["organisation"])]


class Unavailability(models.Model):
    """A period the expert cannot evaluate (the availability calendar)."""

    expert = models.ForeignKey(Expert, on_delete=models.CASCADE, related_name="unavailable")
    start = models.DateField(_("from"))
    end = models.DateField(_("until"))
    note = models.CharField(_("note"), max_length=200, blank=True)


class Penalty(models.Model):
    """A penalty for misconduct; ``until`` empty means it never lapses."""

    expert = models.ForeignKey(Expert, on_delete=models.CASCADE, related_name="penalties")
    reason = models.CharField(_("reason"), max_length=300)
    imposed_on = models.DateField(_("imposed on"))
    until = models.DateField(_("until"), null=True, blank=True)


class Rating(models.Model):
    expert = models.ForeignKey(Expert, on_delete=models.CASCADE, related_name="ratings")
    tender = models.ForeignKey("tenders.Tender", null=True, on_delete=models.SET_NULL,
                               related_name="+")
    score = models.PositiveSmallIntegerField(_("score (1-5)"))
    comment = models.CharField(_("comment"), max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)


class ImportBatch(models.Model):
    """One CSV import: its progress and the errors of the rows it refused."""

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    imported_rows = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list)
    finished = models.BooleanField(default=False)


class Draw(models.Model):
    """One draw of a tender's evaluation committee: committed, then drawn, never re-run."""

    class Status(models.TextChoices):
        # Commitment and eligible lists recorded; waiting for the public input.
        AWAITING_INPUT = "awaiting_input", _("Waiting for the public input")
        # Drawn: members are being notified and confirm.
        DRAWN = "drawn", _("Drawn")
        # Every seat confirmed and pledged.
        COMPLETE = "complete", _("Committee complete")
        # Not enough experts (or a party withheld its input): recorded with the reason.
        FAILED = "failed", _("Failed")

    tender = models.ForeignKey("tenders.Tender", on_delete=models.PROTECT, related_name="+")
    attempt = models.PositiveSmallIntegerField(default=1)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     related_name="+")
    requested_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices,
                              default=Status.AWAITING_INPUT)
    failure_reason = models.TextField(blank=True)
    # Everything the selection depends on besides the secret and the public input.
    params = models.JSONField()
    # [{"specialty", "count", "backups", "digest", "candidates": [codes]}] in draw order.
    groups = models.JSONField()
    # [{"expert", "reasons": [codes]}] sorted by expert code; its digest is committed.
    exclusions = models.JSONField(default=list)
    exclusions_digest = models.CharField(max_length=64)
    commitment = models.CharField(max_length=64)
    secret = models.BinaryField(max_length=64)
    secret_revealed_at = models.DateTimeField(null=True, blank=True)
    beacon = models.CharField(max_length=30)
    # The round an outside beacon will publish, fixed when the draw is requested.
    beacon_round = models.CharField(max_length=100, blank=True)
    public_input = models.TextField(blank=True)
    drawn_at = models.DateTimeField(null=True, blank=True)
    commit_event_seq = models.PositiveBigIntegerField(null=True)
    signature = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(fields=["tender", "attempt"], name="draw_attempt_unique"),
        ]

    def __str__(self) -> str:
        return f"draw {self.pk} ({self.tender_id}#{self.attempt})"


class DrawMember(models.Model):
    """A drawn expert: a seat holder or a backup, in draw order within its group."""

    class Status(models.TextChoices):
        # A backup not (yet) called.
        STANDBY = "standby", _("Backup, not called")
        # Called: notified and asked to confirm within the window.
        CALLED = "called", _("Asked to confirm")
        # Confirmed attendance; signs the no-conflict pledge next.
        CONFIRMED = "confirmed", _("Confirmed")
        DECLINED = "declined", _("Declined")
        # No answer within the window.
        TIMED_OUT = "timed_out", _("No answer in time")

    draw = models.ForeignKey(Draw, on_delete=models.CASCADE, related_name="members")
    expert = models.ForeignKey(Expert, on_delete=models.PROTECT, related_name="draw_seats")
    group = models.PositiveSmallIntegerField()
    position = models.PositiveIntegerField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.STANDBY)
    called_at = models.DateTimeField(null=True, blank=True)
    respond_by = models.DateTimeField(null=True, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    decline_reason = models.CharField(max_length=300, blank=True)
    pledged_at = models.DateTimeField(null=True, blank=True)
    pledge_method = models.CharField(max_length=8, blank=True)
    pledge_proof = models.TextField(blank=True)
    otp_hash = models.CharField(max_length=64, blank=True)
    otp_expires = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["group", "position"]
        constraints = [
            models.UniqueConstraint(fields=["draw", "expert"], name="draw_member_once"),
        ]


class BeaconContribution(models.Model):
    """One party's committed random value for the embedded commit-reveal beacon."""

    draw = models.ForeignKey(Draw, on_delete=models.CASCADE, related_name="contributions")
    party = models.CharField(max_length=20)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                             related_name="+")
    commitment = models.CharField(max_length=64)
    value = models.CharField(max_length=200, blank=True)
    committed_at = models.DateTimeField()
    revealed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["draw", "party"], name="one_contribution_per_party"),
        ]


class GatewayMessage(models.Model):
    """A message the notification channels sent: the simulated SMS/voice gateway's log."""

    channel = models.CharField(max_length=10)
    to = models.CharField(max_length=200)
    expert = models.ForeignKey(Expert, null=True, on_delete=models.SET_NULL, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
