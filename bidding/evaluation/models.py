"""The evaluation (评标): the committee's work on one tender and its report.

The report's candidate list is what the award stage reads (``selectors.recommended_candidates``).
Nothing here is ever deleted: a replaced member's scores stay, marked void (Reg 48).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from bidding.bids.models import Bid
from bidding.tenders.models import Criterion, Tender
from bidding.tenders.reference import CriterionStage


class Stage(models.TextChoices):
    """Where a committee is, in the order the evaluation runs."""

    # Members elect the chair.
    CHAIR = "chair", _("Electing the chair")
    QUALIFICATION = CriterionStage.QUALIFICATION.value, CriterionStage.QUALIFICATION.label
    TECHNICAL = CriterionStage.TECHNICAL.value, CriterionStage.TECHNICAL.label
    COMMERCIAL = CriterionStage.COMMERCIAL.value, CriterionStage.COMMERCIAL.label
    # Scores locked, price scored, candidates ranked: members sign the report.
    REPORT = "report", _("Signing the report")
    # Every member signed or was deemed to agree: the report stands.
    DONE = "done", _("Report completed")
    # Every bid was rejected: the tender failed.
    FAILED = "failed", _("All bids rejected")


# The stages in which members fill in a sheet, in order.
SHEET_STAGES = (Stage.QUALIFICATION, Stage.TECHNICAL, Stage.COMMERCIAL)


class Committee(models.Model):
    """The evaluation committee (评标委员会) of one tender: the drawn experts plus the
    tenderer's representatives."""

    tender = models.OneToOneField(Tender, on_delete=models.PROTECT, related_name="committee")
    draw = models.ForeignKey("expert_pool.Draw", on_delete=models.PROTECT, related_name="+",
                             null=True, blank=True)
    chair = models.ForeignKey("Member", on_delete=models.PROTECT, related_name="+",
                              null=True, blank=True)
    stage = models.CharField(_("stage"), max_length=20, choices=Stage.choices,
                             default=Stage.CHAIR)
    formed_at = models.DateTimeField(_("formed at"))
    formed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  related_name="+")
    # 暗标: the secret the bids' code numbers derive from; its SHA-256 is in the audit
    # log when the committee forms, the secret itself once identities are revealed.
    code_seed = models.CharField(max_length=64, blank=True)
    codes_revealed_at = models.DateTimeField(null=True, blank=True)
    # The chair election round: a new round starts if the chair is replaced.
    chair_round = models.PositiveSmallIntegerField(default=1)

    class Meta:
        db_table = "evaluation_committee"

    def __str__(self) -> str:
        return f"committee of {self.tender.reference}"


class Member(models.Model):
    class Kind(models.TextChoices):
        EXPERT = "expert", _("Drawn expert")
        TENDERER_REP = "tenderer_rep", _("Tenderer's representative")

    committee = models.ForeignKey(Committee, on_delete=models.PROTECT, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                             related_name="+")
    expert = models.ForeignKey("expert_pool.Expert", on_delete=models.PROTECT,
                               related_name="+", null=True, blank=True)
    draw_member = models.ForeignKey("expert_pool.DrawMember", on_delete=models.PROTECT,
                                    related_name="+", null=True, blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # A display label that names nobody ("M1", "M2" ...): progress shows this.
    label = models.CharField(max_length=10)
    active = models.BooleanField(default=True)
    # Replaced mid-evaluation (Reg 48): their scores and verdicts are void.
    void = models.BooleanField(default=False)
    replaced_by = models.ForeignKey("self", on_delete=models.PROTECT, related_name="+",
                                    null=True, blank=True)
    replaced_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True)
    joined_at = models.DateTimeField()

    class Meta:
        db_table = "evaluation_member"
        ordering = ["committee", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["committee", "user"], name="evaluation_member_once"),
        ]

    def __str__(self) -> str:
        return self.label


class ChairVote(models.Model):
    """One member's vote for the chair; every vote is kept."""

    committee = models.ForeignKey(Committee, on_delete=models.PROTECT, related_name="votes")
    voter = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    candidate = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    round = models.PositiveSmallIntegerField(default=1)
    cast_at = models.DateTimeField()

    class Meta:
        db_table = "evaluation_chairvote"
        constraints = [
            models.UniqueConstraint(fields=["committee", "voter", "round"],
                                    name="one_chair_vote_per_round"),
        ]


class EvaluatedBid(models.Model):
    """One opened bid as the committee sees it, and what the evaluation made of it."""

    committee = models.ForeignKey(Committee, on_delete=models.PROTECT, related_name="bids")
    bid = models.ForeignKey(Bid, on_delete=models.PROTECT, related_name="+")
    # Code number (暗标编号) shown instead of the bidder while identities are hidden.
    code = models.CharField(max_length=10)
    # The opened total price (BidOpening.price_sheet["total_price"]).
    price = models.DecimalField(max_digits=16, decimal_places=2)
    qualified = models.BooleanField(null=True)
    rejection_reason = models.TextField(blank=True)
    technical = models.DecimalField(max_digits=8, decimal_places=2, null=True)
    commercial = models.DecimalField(max_digits=8, decimal_places=2, null=True)
    price_score = models.DecimalField(max_digits=8, decimal_places=2, null=True)
    evaluated_price = models.DecimalField(max_digits=16, decimal_places=2, null=True)
    total = models.DecimalField(max_digits=8, decimal_places=2, null=True)
    rank = models.PositiveSmallIntegerField(null=True)

    class Meta:
        db_table = "evaluation_bid"
        ordering = ["committee", "code"]
        constraints = [
            models.UniqueConstraint(fields=["committee", "bid"], name="evaluation_bid_once"),
            models.UniqueConstraint(fields=["committee", "code"], name="evaluation_code_once"),
        ]


class Sheet(models.Model):
    """A member's sheet for one stage: the draft as last saved, then submitted (locked
    for that member). Scores are written from it on submission."""

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="sheets")
    stage = models.CharField(max_length=20, choices=CriterionStage.choices)
    draft = models.JSONField(default=dict)
    saved_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    # Opened again for bids that qualified only once a replacement's verdicts counted
    # (``Reopening``): the member adds those bids; scores already submitted stand.
    reopened_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "evaluation_sheet"
        constraints = [
            models.UniqueConstraint(fields=["member", "stage"], name="one_sheet_per_stage"),
        ]


class Score(models.Model):
    """One member's submitted verdict or score on one bid and criterion.

    Qualification: ``passed`` with ``reason`` (required when failed); a Reg 51 mandatory
    rejection the member cites is a row with ``rejection`` set and no criterion.
    Scoring stages: ``value`` between 0 and the criterion's maximum, two decimals.
    """

    sheet = models.ForeignKey(Sheet, on_delete=models.PROTECT, related_name="scores")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="scores")
    evaluated_bid = models.ForeignKey(EvaluatedBid, on_delete=models.PROTECT,
                                      related_name="scores")
    criterion = models.ForeignKey(Criterion, on_delete=models.PROTECT, related_name="+",
                                  null=True, blank=True)
    stage = models.CharField(max_length=20, choices=CriterionStage.choices)
    value = models.DecimalField(max_digits=6, decimal_places=2, null=True)
    passed = models.BooleanField(null=True)
    rejection = models.CharField(max_length=40, blank=True)
    reason = models.TextField(blank=True)
    # Reg 48: the member was replaced; kept, excluded from every aggregate.
    void = models.BooleanField(default=False)

    class Meta:
        db_table = "evaluation_score"
        indexes = [models.Index(fields=["evaluated_bid", "stage"])]


class StageLock(models.Model):
    """The chair closed a stage for the committee once every active member submitted."""

    committee = models.ForeignKey(Committee, on_delete=models.PROTECT, related_name="locks")
    stage = models.CharField(max_length=20, choices=CriterionStage.choices)
    locked_at = models.DateTimeField()
    locked_by = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")

    class Meta:
        db_table = "evaluation_stagelock"
        constraints = [
            models.UniqueConstraint(fields=["committee", "stage"], name="one_lock_per_stage"),
        ]


class Reopening(models.Model):
    """A scoring stage opened again because the qualification review, settled anew with
    a replacement's verdicts (Reg 48), let in bids nobody had scored
    (``rules.REQUALIFICATION``). Every active member who had submitted the stage scores
    those bids; nothing already submitted changes."""

    committee = models.ForeignKey(Committee, on_delete=models.PROTECT,
                                  related_name="reopenings")
    stage = models.CharField(max_length=20, choices=CriterionStage.choices)
    # Code numbers of the bids that now qualify, and of those that no longer do.
    bids = models.JSONField(default=list)
    dropped = models.JSONField(default=list)
    # Labels of the members whose submitted sheets were opened again.
    members = models.JSONField(default=list)
    # The replacement whose qualification sheet changed the outcome.
    cause = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()

    class Meta:
        db_table = "evaluation_reopening"
        ordering = ["at", "pk"]


class ScoreOutlier(models.Model):
    """A member's score far from the others' mean on a criterion (shown to the chair,
    recorded for supervision)."""

    committee = models.ForeignKey(Committee, on_delete=models.PROTECT, related_name="outliers")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    evaluated_bid = models.ForeignKey(EvaluatedBid, on_delete=models.PROTECT, related_name="+")
    criterion = models.ForeignKey(Criterion, on_delete=models.PROTECT, related_name="+")
    value = models.DecimalField(max_digits=6, decimal_places=2)
    others_mean = models.DecimalField(max_digits=8, decimal_places=2)
    deviation = models.DecimalField(max_digits=8, decimal_places=2)
    threshold = models.DecimalField(max_digits=8, decimal_places=2)
    recorded_at = models.DateTimeField()

    class Meta:
        db_table = "evaluation_outlier"
        constraints = [
            models.UniqueConstraint(fields=["member", "evaluated_bid", "criterion"],
                                    name="one_outlier_per_score"),
        ]


def clarification_upload_to(instance, filename: str) -> str:
    return f"evaluation/{instance.committee.tender.public_id}/clarifications/{filename}"


class EvaluationClarification(models.Model):
    """A written request from the committee to one bidder, and its answer (Reg 52). The
    answer is attached to the record as given; it never changes a price or a score."""

    committee = models.ForeignKey(Committee, on_delete=models.PROTECT,
                                  related_name="clarifications")
    evaluated_bid = models.ForeignKey(EvaluatedBid, on_delete=models.PROTECT, related_name="+")
    question = models.TextField()
    requested_by = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    deadline = models.DateTimeField()
    answer = models.TextField(blank=True)
    attachment = models.FileField(upload_to=clarification_upload_to, max_length=300,
                                  blank=True)
    attachment_name = models.CharField(max_length=255, blank=True)
    attachment_sha256 = models.CharField(max_length=64, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+", null=True, blank=True)

    class Meta:
        db_table = "evaluation_clarification"
        ordering = ["requested_at", "pk"]


def report_upload_to(instance, filename: str) -> str:
    return f"evaluation/{instance.tender.public_id}/{filename}"


class EvaluationReport(models.Model):
    """The committee's report: scores, rejections, dissent and the candidates (Reg 53)."""

    tender = models.OneToOneField(Tender, on_delete=models.PROTECT,
                                  related_name="evaluation_report")
    # [{"bid": Bid.public_id, "rank": 1.. or null when unranked, "score": "87.50" or null,
    #   "price": "1234567.00"}] in the report's order; at most 3 (Reg 53).
    candidates = models.JSONField(default=list)
    # When the last member signed (or was deemed to agree, Reg 53): the report stands.
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    # The report members sign: the PDF as stored, and its SHA-256 (hex).
    pdf = models.FileField(upload_to=report_upload_to, max_length=300, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    generated_at = models.DateTimeField(null=True, blank=True)
    # Members who have not signed by then are deemed to agree (Reg 53).
    sign_until = models.DateTimeField(null=True, blank=True)
    # The report with its signature page (signatures, dissent, deemed agreement).
    final_pdf = models.FileField(upload_to=report_upload_to, max_length=300, blank=True)

    class Meta:
        db_table = "evaluation_report"

    def __str__(self) -> str:
        return f"evaluation report of {self.tender.reference}"


class ReportSignature(models.Model):
    class Kind(models.TextChoices):
        SIGNED = "signed", _("Signed")
        # Signed with written dissent (Reg 53): counts as signed.
        DISSENT = "dissent", _("Signed with dissent")
        # Did not sign and gave no reasons: deemed to agree (Reg 53).
        DEEMED = "deemed", _("Deemed to agree")

    report = models.ForeignKey(EvaluationReport, on_delete=models.PROTECT,
                               related_name="signatures")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    signature = models.CharField(max_length=120, blank=True)  # base64 of r || s
    key_fingerprint = models.CharField(max_length=64, blank=True)
    dissent = models.TextField(blank=True)
    signed_at = models.DateTimeField()

    class Meta:
        db_table = "evaluation_signature"
        ordering = ["signed_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["report", "member"], name="one_signature_each"),
        ]
