"""The award (定标): publicity of the candidates and objections (Reg 54), the tenderer's
award committee and its decision (评定分离), the notices (Law 45), the deadlines (Law 46,
47) and the contract signed by both parties.

Bids are named by ``Bid.public_id`` (a string) wherever a record stores a choice, so the
published records never carry internal ids.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation, PublicKey
from bidding.bids.models import Bid
from bidding.tenders.models import Tender
from core.models import AnsweredText


class Publicity(models.Model):
    """The candidates' publicity (中标候选人公示): opened when the tender reaches
    ``candidates``, up from ``published_at`` until ``ends_at`` (Reg 54)."""

    tender = models.OneToOneField(Tender, on_delete=models.PROTECT, related_name="publicity")
    report_completed_at = models.DateTimeField(_("evaluation report completed at"))
    published_at = models.DateTimeField(_("published at"))
    ends_at = models.DateTimeField(_("publicity ends at"))
    # Published later than Reg 54's three days after the report: shown to supervisors.
    late = models.BooleanField(default=False)
    # [{"bid", "bidder", "credit_code", "rank", "price", "score"}] as published.
    candidates = models.JSONField(default=list)

    class Meta:
        db_table = "award_publicity"

    def __str__(self) -> str:
        return f"publicity of {self.tender.reference}"


class Objection(AnsweredText):
    """A bidder's objection (异议) to the candidates during publicity (Reg 54)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tender = models.ForeignKey(Tender, on_delete=models.PROTECT, related_name="award_objections")
    bidder = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")

    class Meta:
        db_table = "award_objection"
        ordering = ["raised_at", "pk"]


class AwardPoolMember(models.Model):
    """One person in a tenderer's own pool for its award committees (定标委员库)."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT,
                                     related_name="award_pool")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                             related_name="award_pool_seats")
    name = models.CharField(_("name"), max_length=100)
    title = models.CharField(_("title"), max_length=100, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        db_table = "award_pool_member"
        constraints = [models.UniqueConstraint(fields=["organisation", "user"],
                                               name="award_pool_one_seat_per_user")]

    def __str__(self) -> str:
        return self.name

    @property
    def code(self) -> str:
        """The member as the draw names it (stable, no personal data)."""
        return f"P{self.pk:06d}"


class AwardCommittee(models.Model):
    """The tenderer's award committee (定标委员会) for one tender: appointed, or drawn
    from its pool by commit-reveal (see ``committee.py``)."""

    class Mode(models.TextChoices):
        DRAWN = "drawn", _("Drawn")
        APPOINTED = "appointed", _("Appointed")

    tender = models.OneToOneField(Tender, on_delete=models.PROTECT,
                                  related_name="award_committee")
    mode = models.CharField(max_length=20, choices=Mode.choices)
    size = models.PositiveSmallIntegerField()
    # The draw (drawn mode): all fixed and audited before the public input exists.
    params = models.JSONField(default=dict, blank=True)
    candidates = models.JSONField(default=list, blank=True)  # pool member codes
    candidates_digest = models.CharField(max_length=64, blank=True)
    commitment = models.CharField(max_length=64, blank=True)
    secret = models.BinaryField(max_length=64, blank=True, default=b"")
    public_input = models.CharField(max_length=500, blank=True)
    drawn = models.JSONField(default=list, blank=True)  # the codes drawn, in order
    committed_at = models.DateTimeField(null=True, blank=True)
    formed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "award_committee"


class CommitteeMember(models.Model):
    committee = models.ForeignKey(AwardCommittee, on_delete=models.CASCADE,
                                  related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                             related_name="+")
    pool_member = models.ForeignKey(AwardPoolMember, on_delete=models.PROTECT, null=True,
                                    blank=True, related_name="+")
    name = models.CharField(max_length=100)
    title = models.CharField(max_length=100, blank=True)
    is_chair = models.BooleanField(default=False)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        db_table = "award_committee_member"
        ordering = ["order", "pk"]
        constraints = [models.UniqueConstraint(fields=["committee", "user"],
                                               name="award_committee_one_seat_per_user")]


class VoteRound(models.Model):
    """One round of the committee's vote (票决); ballots stay secret until it closes."""

    tender = models.ForeignKey(Tender, on_delete=models.PROTECT, related_name="award_rounds")
    number = models.PositiveSmallIntegerField()
    candidates = models.JSONField(default=list)  # bid public ids still in, report order
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    # {"counts": {bid: n}, "ballots": [{"member", "choice"}], "outcome": ..., ...}
    result = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "award_vote_round"
        ordering = ["number"]
        constraints = [models.UniqueConstraint(fields=["tender", "number"],
                                               name="award_round_number_unique")]


class Ballot(models.Model):
    round = models.ForeignKey(VoteRound, on_delete=models.CASCADE, related_name="ballots")
    member = models.ForeignKey(CommitteeMember, on_delete=models.PROTECT, related_name="+")
    choice = models.CharField(max_length=36)
    cast_at = models.DateTimeField()

    class Meta:
        db_table = "award_ballot"
        constraints = [models.UniqueConstraint(fields=["round", "member"],
                                               name="award_one_ballot_per_round")]


class Lottery(models.Model):
    """The verifiable lottery (抽签) among candidates: committed before the public input,
    drawn once, never re-run."""

    tender = models.OneToOneField(Tender, on_delete=models.PROTECT, related_name="award_lottery")
    params = models.JSONField(default=dict)
    candidates = models.JSONField(default=list)  # bid public ids
    candidates_digest = models.CharField(max_length=64)
    commitment = models.CharField(max_length=64)
    secret = models.BinaryField(max_length=64)
    committed_at = models.DateTimeField()
    public_input = models.CharField(max_length=500, blank=True)
    result = models.CharField(max_length=36, blank=True)
    drawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "award_lottery"


class Opinion(models.Model):
    """A member's opinion in collective deliberation (集体议事)."""

    tender = models.ForeignKey(Tender, on_delete=models.PROTECT, related_name="award_opinions")
    member = models.ForeignKey(CommitteeMember, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    preferred = models.CharField(max_length=36)
    recorded_at = models.DateTimeField()

    class Meta:
        db_table = "award_opinion"
        constraints = [models.UniqueConstraint(fields=["tender", "member"],
                                               name="award_one_opinion_per_member")]


class AwardDecision(models.Model):
    """Who won and how, with everything that decided it (votes, draws, opinions)."""

    tender = models.OneToOneField(Tender, on_delete=models.PROTECT, related_name="award_decision")
    winner = models.ForeignKey(Bid, on_delete=models.PROTECT, related_name="+")
    method = models.CharField(max_length=30)
    record = models.JSONField(default=dict)
    decided_at = models.DateTimeField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+", null=True, blank=True)
    report = models.FileField(upload_to="award/reports/", max_length=300, blank=True)
    # Law 45-47: set when the notices go out.
    notices_at = models.DateTimeField(null=True, blank=True)
    contract_due = models.DateTimeField(null=True, blank=True)
    report_due = models.DateTimeField(null=True, blank=True)
    supervisor_report_at = models.DateTimeField(null=True, blank=True)
    contract_reminded_at = models.DateTimeField(null=True, blank=True)
    report_reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "award_decision"


class Notice(models.Model):
    """The award notice (中标通知书) to the winner or a result notice to another bidder."""

    class Kind(models.TextChoices):
        AWARD = "award", _("Award notice")
        RESULT = "result", _("Result notice")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tender = models.ForeignKey(Tender, on_delete=models.PROTECT, related_name="award_notices")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    issued_at = models.DateTimeField()
    pdf = models.FileField(upload_to="award/notices/", max_length=300)

    class Meta:
        db_table = "award_notice"
        constraints = [models.UniqueConstraint(fields=["tender", "organisation"],
                                               name="award_one_notice_per_bidder")]


class Contract(models.Model):
    """The contract between the tenderer and the winner (Law 46)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tender = models.OneToOneField(Tender, on_delete=models.PROTECT, related_name="contract")
    winner = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    signed_at = models.DateTimeField(null=True, blank=True)  # both parties, version 0

    class Meta:
        db_table = "award_contract"


class ContractVersion(models.Model):
    """The contract (number 0) or an amendment (1, 2 ...): a document's digest and the
    terms, signed by both parties over ``contract.signing_message``."""

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveSmallIntegerField()
    document_sha256 = models.CharField(max_length=64)
    document_name = models.CharField(max_length=200)
    document = models.FileField(upload_to="award/contracts/", max_length=300)
    terms = models.JSONField(default=dict)
    created_at = models.DateTimeField()
    tenderer_signature = models.TextField(blank=True)
    tenderer_key = models.ForeignKey(PublicKey, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+")
    tenderer_signed_at = models.DateTimeField(null=True, blank=True)
    winner_signature = models.TextField(blank=True)
    winner_key = models.ForeignKey(PublicKey, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    winner_signed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "award_contract_version"
        ordering = ["number"]
        constraints = [models.UniqueConstraint(fields=["contract", "number"],
                                               name="award_contract_version_unique")]

    @property
    def complete(self) -> bool:
        return bool(self.tenderer_signed_at and self.winner_signed_at)


class Payment(models.Model):
    """A row of the payment schedule (``due_on``) or a payment made (``paid_at``)."""

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="payments")
    description = models.CharField(max_length=200)
    amount = models.DecimalField(max_digits=16, decimal_places=2)
    due_on = models.DateField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    recorded_at = models.DateTimeField()

    class Meta:
        db_table = "award_payment"
        ordering = ["due_on", "paid_at", "pk"]


class PriceRound(models.Model):
    """The second sealed price round (竞价) among the candidates (``price_round.py``).

    Opened by the tenderer or the trading centre with a deadline and a decryption window.
    Candidates seal a new price sheet with the first round's envelope (format v2, split
    among the tender's custodian set) under ``envelope_id``; at the deadline the round's
    hall opens: candidates hand over their data keys in the window, the custodians open
    what they do not, and every price is announced together when the round closes.
    """

    class Phase(models.TextChoices):
        SEALING = "sealing", _("Sealing")  # candidates submit sealed price sheets
        DECRYPTING = "decrypting", _("Decrypting")  # the window: candidates hand over keys
        CUSTODIANS = "custodians", _("Custodians")  # the custodians open what is left
        CLOSED = "closed", _("Closed")  # prices announced, the result decided

    tender = models.OneToOneField(Tender, on_delete=models.PROTECT, related_name="price_round")
    # The tender id written in every header of this round (domain separation from the
    # first round's envelopes, so neither can stand for the other).
    envelope_id = models.CharField(max_length=256)
    candidates = models.JSONField(default=list)  # bid public ids, report order
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  related_name="+")
    opened_at = models.DateTimeField()
    deadline = models.DateTimeField(_("price round deadline"))
    window_minutes = models.PositiveSmallIntegerField(_("decryption window (minutes)"))
    phase = models.CharField(max_length=20, choices=Phase.choices, default=Phase.SEALING)
    window_ends_at = models.DateTimeField(null=True, blank=True)
    custodians_until = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # The announced prices, the valid ones, the winner and the rules applied.
    result = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "award_price_round"

    def __str__(self) -> str:
        return f"price round of {self.tender.reference}"


class PriceOffer(models.Model):
    """One candidate's sealed second-round price sheet."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Sealed")
        DECRYPTED = "decrypted", _("Decrypted")
        REJECTED = "rejected", _("Rejected: cannot be opened (the bidder's fault)")
        WITHDRAWN = "withdrawn", _("Not opened (not the bidder's fault)")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    round = models.ForeignKey(PriceRound, on_delete=models.PROTECT, related_name="offers")
    bid = models.ForeignKey(Bid, on_delete=models.PROTECT, related_name="+")  # first round
    bidder = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     related_name="+")
    sheet = models.BinaryField()  # the sealed price sheet (ciphertext only)
    sha256 = models.CharField(max_length=64)
    submitted_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    decrypted_by = models.CharField(max_length=20, blank=True)  # bidder | custodians
    decrypted_at = models.DateTimeField(null=True, blank=True)
    price_sheet = models.JSONField(null=True, blank=True)
    total_price = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    # Judged at the close: valid, or the reason it is not (above the maximum price ...).
    valid = models.BooleanField(null=True)
    reason = models.CharField(max_length=300, blank=True)
    proof = models.JSONField(null=True, blank=True)
    # The platform's signed receipt (crypto.receipts) for exactly these sealed bytes.
    receipt = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "award_price_offer"
        ordering = ["submitted_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["round", "bidder"],
                                               name="award_one_offer_per_candidate")]


class PriceRoundShare(models.Model):
    """A custodian's decrypted shares of the round's unopened price sheets."""

    round = models.ForeignKey(PriceRound, on_delete=models.PROTECT, related_name="shares")
    custodian = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  related_name="+")
    x = models.PositiveSmallIntegerField()
    # {"offers": {sha256: base64 share}}
    share = models.JSONField(default=dict)
    submitted_at = models.DateTimeField()

    class Meta:
        db_table = "award_price_round_share"
        constraints = [models.UniqueConstraint(fields=["round", "custodian"],
                                               name="award_one_share_per_custodian")]
