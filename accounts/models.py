from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts import credit_code


def validate_credit_code(value: str) -> None:
    try:
        credit_code.validate(value)
    except credit_code.InvalidCreditCode as exc:
        raise ValidationError(
            _("Invalid unified social credit code: %(reason)s"),
            code="invalid_credit_code",
            params={"reason": str(exc)},
        ) from exc


class Organisation(models.Model):
    class Kind(models.TextChoices):
        # A tenderer (招标人): owns projects and decides awards.
        TENDERER = "tenderer", _("Tenderer")
        # A tendering agency (招标代理) acting for tenderers.
        AGENCY = "agency", _("Tendering agency")
        # A company that bids (投标人).
        BIDDER = "bidder", _("Bidder")
        # The public resource trading centre running the platform.
        TRADING_CENTRE = "trading_centre", _("Trading centre")
        # An administrative supervision department (行政监督部门).
        SUPERVISOR = "supervisor", _("Supervision department")
        # An employer of experts (university, design institute ...).
        OTHER = "other", _("Other")

    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    credit_code = models.CharField(
        _("unified social credit code"),
        max_length=18,
        unique=True,
        validators=[validate_credit_code],
        help_text=_("18 characters, GB 32100-2015"),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    legal_representative = models.CharField(_("legal representative"), max_length=100, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    basic_account = models.CharField(
        _("basic bank account"), max_length=40, blank=True,
        help_text=_("基本存款账户: bid bonds must be paid from it (Reg 26)"),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.credit_code = credit_code.normalise(self.credit_code)
        super().save(*args, **kwargs)


class Role(models.TextChoices):
    # Registers projects, publishes tenders and amendments, answers questions.
    TENDERER = "tenderer", _("Tenderer or agency")
    # Obtains documents, asks questions, submits bids.
    BIDDER = "bidder", _("Bidder")
    # Scores bids when drawn.
    EXPERT = "expert", _("Expert evaluator")
    # Watches procedures, handles complaints, verifies the audit trail.
    SUPERVISOR = "supervisor", _("Supervisor")
    # Runs the platform: expert pool, draws, organisations.
    OPERATOR = "operator", _("Trading centre operator")
    # A notary: holds a share of each tender's opening key and may watch openings.
    NOTARY = "notary", _("Notary")


ROLE_FOR_KIND = {
    Organisation.Kind.TENDERER: Role.TENDERER,
    Organisation.Kind.AGENCY: Role.TENDERER,
    Organisation.Kind.BIDDER: Role.BIDDER,
    Organisation.Kind.TRADING_CENTRE: Role.OPERATOR,
    Organisation.Kind.SUPERVISOR: Role.SUPERVISOR,
}


class User(AbstractUser):
    """A person. Belongs to one organisation and acts in one role."""

    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="members",
        null=True,
        blank=True,
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.username

    def has_role(self, *roles: str) -> bool:
        return self.is_authenticated and self.is_active and self.role in roles

    @property
    def is_tenderer(self) -> bool:
        return self.has_role(Role.TENDERER)

    @property
    def is_bidder(self) -> bool:
        return self.has_role(Role.BIDDER)

    @property
    def is_supervisor(self) -> bool:
        return self.has_role(Role.SUPERVISOR)

    @property
    def is_operator(self) -> bool:
        return self.has_role(Role.OPERATOR)


class PublicKey(models.Model):
    """A P-256 public key a person registered; the private half never reaches the server.

    Bidders register a ``bid`` key: every sealed bid has it as a recipient so the
    bidder can decrypt at the opening. Custodians (trading centre, supervisor, notary)
    register a ``custodian`` key (P-256 ECDH: bidders' tools wrap each envelope's key
    share to it) and a ``custodian_signing`` key (P-256 ECDSA: it signs their
    endorsement of each tender's custodian set, see ``crypto.custody``). Tenderers,
    bidders and experts register a ``signing`` key (P-256 ECDSA) for what they sign as
    themselves: contracts and their amendments, evaluation reports. A person has
    at most one active key per purpose (a partial unique index): registering a new one
    retires the old one for new tenders and bids.
    """

    class Purpose(models.TextChoices):
        BID = "bid", _("Bid sealing key")
        CUSTODIAN = "custodian", _("Opening-key custodian")
        CUSTODIAN_SIGNING = "custodian_signing", _("Custodian signing key")
        # ECDSA P-256: contracts, amendments and evaluation reports signed in person.
        SIGNING = "signing", _("Signing key")

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="public_keys")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="public_keys", null=True
    )
    purpose = models.CharField(_("purpose"), max_length=20, choices=Purpose.choices)
    point = models.BinaryField(_("public key (uncompressed P-256 point)"), max_length=65)
    fingerprint = models.CharField(_("fingerprint"), max_length=64, unique=True)
    label = models.CharField(_("label"), max_length=100, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "purpose"],
                condition=models.Q(active=True),
                name="one_active_key_per_purpose",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} {self.fingerprint[:16]}"


class Notification(models.Model):
    """A message to an organisation (and optionally one person), shown on its workspace."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="notifications"
    )
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("message"), blank=True)
    link = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.subject


class Mandate(models.Model):
    """A tenderer's mandate to a tendering agency (委托代理), as Law 12 requires.

    The tenderer grants it, optionally limited to one project code and a period;
    it counts only once the agency has accepted it, and until the tenderer revokes
    it or its period ends. Without one the agency cannot file or manage a tender
    for that tenderer (``accounts.policies.may_act_for``).
    """

    class Status(models.TextChoices):
        # Granted by the tenderer; the agency has not accepted it yet.
        GRANTED = "granted", _("Awaiting the agency's acceptance")
        # Accepted by the agency: in force within its period.
        ACCEPTED = "accepted", _("Accepted")
        # Revoked by the tenderer: no longer in force.
        REVOKED = "revoked", _("Revoked")

    # Ids in URLs are random, so counting mandates by guessing ids is impossible.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenderer = models.ForeignKey(Organisation, on_delete=models.PROTECT,
                                 related_name="mandates_granted", verbose_name=_("tenderer"))
    agency = models.ForeignKey(Organisation, on_delete=models.PROTECT,
                               related_name="mandates_received", verbose_name=_("agency"))
    # Empty: every project of the tenderer.
    project_code = models.CharField(_("project code"), max_length=60, blank=True)
    valid_from = models.DateTimeField(_("valid from"), null=True, blank=True)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices,
                              default=Status.GRANTED)
    granted_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    granted_at = models.DateTimeField(_("granted at"))
    accepted_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+",
                                    null=True, blank=True)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    revoked_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+",
                                   null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        ordering = ["-granted_at"]
        verbose_name = _("agency mandate")
        verbose_name_plural = _("agency mandates")

    def __str__(self) -> str:
        return f"{self.tenderer} → {self.agency}"

    def in_force(self, *, at, project_code: str | None = None) -> bool:
        """Accepted, not revoked, within its period and (if limited) for this project."""
        if self.status != self.Status.ACCEPTED:
            return False
        if self.valid_from and at < self.valid_from:
            return False
        if self.valid_until and at >= self.valid_until:
            return False
        return not self.project_code or self.project_code == project_code


class TwoFactorDevice(models.Model):
    """A person's TOTP authenticator (RFC 6238), ``accounts.two_factor``.

    The shared secret is kept encrypted at rest (``core.at_rest.secret_seal``, bound to
    the user): a copy of the database does not yield it."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="two_factor"
    )
    secret = models.TextField()  # at-rest token "rest1:<kek id>:<base64>"
    created_at = models.DateTimeField()
    # Set when the first code was entered: until then the device protects nothing.
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # The highest time step accepted: a code of that step or an earlier one is a replay.
    last_step = models.BigIntegerField(default=0)
    failed_attempts = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    # The API token that was verified with a code (SHA-256 of its key), and when.
    token_sha256 = models.CharField(max_length=64, blank=True)
    token_verified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("two-factor authenticator")
        verbose_name_plural = _("two-factor authenticators")

    def __str__(self) -> str:
        return f"TOTP of {self.user}"
