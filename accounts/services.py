"""Writes for organisations and people."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from accounts import credit_code
from accounts.models import ROLE_FOR_KIND, Notification, Organisation, PublicKey, Role, User
from audit.services import audit_record

SELF_REGISTRATION_KINDS = (
    Organisation.Kind.TENDERER,
    Organisation.Kind.AGENCY,
    Organisation.Kind.BIDDER,
)


def organisation_register(
    *,
    name: str,
    credit_code_value: str,
    kind: str,
    username: str,
    password: str,
    display_name: str = "",
    email: str = "",
    name_en: str = "",
    legal_representative: str = "",
    actor=None,
) -> tuple[Organisation, User]:
    """Register an organisation and its first user in one step.

    Anyone may register a tenderer, agency or bidder; only an operator may create a
    trading centre or supervision department. The user's role follows the kind.
    """
    errors = {}
    try:
        code = credit_code.validate(credit_code_value)
    except credit_code.InvalidCreditCode as exc:
        errors["credit_code"] = _("Invalid unified social credit code: %(reason)s") % {
            "reason": str(exc)
        }
        code = None
    if kind not in Organisation.Kind.values:
        errors["kind"] = _("Unknown kind of organisation.")
    elif kind not in SELF_REGISTRATION_KINDS and not (actor and actor.is_operator):
        raise PermissionDenied(_("Only the trading centre can register this kind of organisation."))
    if code and Organisation.objects.filter(credit_code=code).exists():
        errors["credit_code"] = _("An organisation with this credit code is already registered.")
    if User.objects.filter(username__iexact=username).exists():
        errors["username"] = _("This username is taken.")
    try:
        validate_password(password, User(username=username))
    except ValidationError as exc:
        errors["password"] = list(exc.messages)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        org = Organisation(
            name=name,
            name_en=name_en,
            credit_code=code,
            kind=kind,
            legal_representative=legal_representative,
        )
        org.full_clean()
        org.save()
        user = User(
            username=username,
            email=email,
            display_name=display_name or username,
            organisation=org,
            role=ROLE_FOR_KIND.get(kind, Role.BIDDER),
        )
        user.set_password(password)
        user.save()
        audit_record(
            actor=actor or user,
            action="organisation.register",
            obj=org,
            payload={"name": name, "credit_code": code, "kind": kind, "user": username},
            summary=f"{name} ({code})",
        )
    return org, user


def token_issue(*, user) -> Token:
    """The user's API token (created on first request)."""
    token, _created = Token.objects.get_or_create(user=user)
    return token


def token_revoke(*, user) -> None:
    Token.objects.filter(user=user).delete()


KEY_PURPOSE_ROLES = {
    "bid": (Role.BIDDER,),
    "custodian": (Role.OPERATOR, Role.SUPERVISOR, Role.NOTARY),
}


def public_key_register(*, user, point: bytes, purpose: str, label: str = "") -> PublicKey:
    """Register the public half of a key made on the user's own side.

    Bidders register ``bid`` keys (a recipient of each of their sealed bids);
    the trading centre, supervisors and notaries register ``custodian`` keys (their
    share of every new tender's opening key is encrypted to it). Registering a new
    key of a purpose retires the user's previous one for new tenders and bids.
    """
    from crypto import keys
    from crypto.errors import MalformedData

    if purpose not in KEY_PURPOSE_ROLES:
        raise ValidationError({"purpose": _("Unknown key purpose.")})
    if not user.is_authenticated or user.role not in KEY_PURPOSE_ROLES[purpose]:
        raise PermissionDenied(_("Your role cannot register a key for this purpose."))
    try:
        parsed = keys.public_key_from_bytes(bytes(point))
    except MalformedData as exc:
        raise ValidationError(
            {"public_key": _("Not a P-256 public key: %(reason)s") % {"reason": exc}}
        ) from exc
    fingerprint = keys.key_fingerprint(parsed)
    if PublicKey.objects.filter(fingerprint=fingerprint).exists():
        raise ValidationError({"public_key": _("This key is already registered.")})
    from django.utils import timezone

    with transaction.atomic():
        PublicKey.objects.filter(user=user, purpose=purpose, active=True).update(
            active=False, revoked_at=timezone.now()
        )
        key = PublicKey.objects.create(
            user=user, organisation=user.organisation, purpose=purpose,
            point=keys.public_key_bytes(parsed), fingerprint=fingerprint, label=label[:100],
        )
        audit_record(actor=user, action="key.register", obj=key,
                     payload={"purpose": purpose, "fingerprint": fingerprint})
    return key


def notify(*, organisation, subject: str, body: str = "", link: str = "") -> Notification:
    """Leave a message on an organisation's workspace."""
    return Notification.objects.create(
        organisation=organisation, subject=subject[:200], body=body, link=link[:200]
    )
