"""Writes for organisations and people."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from accounts import credit_code
from accounts.models import (
    ROLE_FOR_KIND,
    Mandate,
    Notification,
    Organisation,
    PublicKey,
    Role,
    User,
)
from accounts.policies import is_mandate_agency, is_mandate_tenderer, is_tenderer
from audit.services import audit_record
from core.refusals import refuse

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
    "custodian_signing": (Role.OPERATOR, Role.SUPERVISOR, Role.NOTARY),
    # Contracts and amendments (tenderer and winner), evaluation reports (experts and
    # the tenderer's representatives).
    "signing": (Role.TENDERER, Role.BIDDER, Role.EXPERT),
}


def key_purposes_for(user) -> list[str]:
    """The key purposes the user's role may register (``KEY_PURPOSE_ROLES``)."""
    if not getattr(user, "is_authenticated", False):
        return []
    return [p for p, roles in KEY_PURPOSE_ROLES.items() if user.role in roles]


def public_key_decode(text: str) -> bytes:
    """The uncompressed P-256 point in what a person pasted or a tool sent: base64 of
    the 65-byte point, or a PEM public key (``python -m ggzy_bid keygen`` writes one).
    Refused with a reason on the ``public_key`` field otherwise."""
    import base64
    import binascii

    from crypto import keys
    from crypto.errors import CryptoError

    text = (text or "").strip()
    if text.startswith("-----BEGIN"):
        try:
            return keys.public_key_bytes(keys.p256_public_key_from_pem(text.encode()))
        except (CryptoError, ValueError) as exc:
            raise refuse("public_key", str(exc), "invalid_key") from exc
    try:
        return base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise refuse("public_key", _("Not base64 or PEM."), "invalid_key") from exc


def public_key_register(*, user, point: bytes, purpose: str, label: str = "") -> PublicKey:
    """Register the public half of a key made on the user's own side.

    Bidders register ``bid`` keys (a recipient of each of their sealed bids);
    the trading centre, supervisors and notaries register ``custodian`` keys (bidders'
    tools wrap each envelope's key share to it) and ``custodian_signing`` keys (their
    endorsement of a tender's custodian set is signed with it); tenderers, bidders and
    experts register ``signing`` keys (contracts, amendments, evaluation reports are
    signed with it: ``accounts.selectors.signing_keys``). A person has one
    active key per purpose: registering a new key of a purpose retires the previous
    one for new tenders and bids (tenders already published keep the key their
    custodian set names). Two registrations racing are refused, not both kept.
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
    from django.db import IntegrityError
    from django.utils import timezone

    try:
        with transaction.atomic():
            # Lock the person so two registrations in parallel queue up here; the
            # partial unique index is the last line if anything else writes keys.
            User.objects.select_for_update().filter(pk=user.pk).first()
            PublicKey.objects.filter(user=user, purpose=purpose, active=True).update(
                active=False, revoked_at=timezone.now()
            )
            key = PublicKey.objects.create(
                user=user, organisation=user.organisation, purpose=purpose,
                point=keys.public_key_bytes(parsed), fingerprint=fingerprint,
                label=label[:100],
            )
            audit_record(actor=user, action="key.register", obj=key,
                         payload={"purpose": purpose, "fingerprint": fingerprint})
    except IntegrityError as exc:
        raise ValidationError({"public_key": ValidationError(
            _("Another key of this purpose was registered for you at the same moment; you "
              "can have only one active key per purpose. Check your keys and try again."),
            code="key_conflict",
        )}) from exc
    return key


def notify(*, organisation, subject: str, body: str = "", link: str = "") -> Notification:
    """Leave a message on an organisation's workspace."""
    return Notification.objects.create(
        organisation=organisation, subject=subject[:200], body=body, link=link[:200]
    )


def _mandate_payload(mandate: Mandate) -> dict:
    return {"mandate": str(mandate.public_id), "tenderer": mandate.tenderer.credit_code,
            "agency": mandate.agency.credit_code, "project_code": mandate.project_code,
            "valid_from": mandate.valid_from, "valid_until": mandate.valid_until}


def mandate_grant(*, user, agency: Organisation, project_code: str = "",
                  valid_from=None, valid_until=None, now=None) -> Mandate:
    """A tenderer mandates an agency to act for it (委托代理), for every project or
    one project code, and for a period or until revoked. It counts once the agency
    accepts it (``mandate_accept``)."""
    from django.utils import timezone

    now = now or timezone.now()
    if not (is_tenderer(user) and user.organisation.kind == Organisation.Kind.TENDERER):
        raise PermissionDenied(_("Only a tenderer can mandate an agency."))
    if agency is None or agency.kind != Organisation.Kind.AGENCY:
        raise refuse("agency", _("That organisation is not a tendering agency."),
                     "not_an_agency")
    if valid_until is not None:
        if valid_until <= now:
            raise refuse("valid_until", _("The mandate would end before it starts: "
                                          "its end must be in the future."), "mandate_period")
        if valid_from is not None and valid_until <= valid_from:
            raise refuse("valid_until", _("The mandate's end must come after its start."),
                         "mandate_period")
    with transaction.atomic():
        mandate = Mandate.objects.create(
            tenderer=user.organisation, agency=agency, project_code=project_code.strip()[:60],
            valid_from=valid_from, valid_until=valid_until, granted_by=user, granted_at=now,
        )
        audit_record(actor=user, action="mandate.grant", obj=mandate,
                     object_id=str(mandate.public_id), payload=_mandate_payload(mandate),
                     summary=f"{mandate.tenderer.name} → {agency.name}")
    return mandate


def _lock_mandate(mandate: Mandate) -> Mandate:
    return Mandate.objects.select_for_update().select_related("tenderer", "agency").get(
        pk=mandate.pk)


def mandate_accept(*, user, mandate: Mandate, now=None) -> Mandate:
    """The named agency accepts a mandate; from then on (within its period) it may
    file and manage tenders for the tenderer."""
    from django.utils import timezone

    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock_mandate(mandate)
        if not is_mandate_agency(user, locked):
            raise PermissionDenied(_("Only the agency the mandate names can accept it."))
        if locked.status != Mandate.Status.GRANTED:
            raise refuse("status", _("This mandate is %(status)s: only a mandate awaiting "
                                     "acceptance can be accepted.")
                         % {"status": locked.get_status_display()}, "mandate_not_pending")
        if locked.valid_until and locked.valid_until <= now:
            raise refuse("valid_until", _("This mandate's period has ended."),
                         "mandate_expired")
        _mandate_move(locked, Mandate.Status.ACCEPTED, "accepted", user=user, now=now,
                      summary=f"{locked.agency.name} ← {locked.tenderer.name}",
                      tell=locked.tenderer,
                      subject=_("%(agency)s accepted your mandate")
                      % {"agency": locked.agency.name})
    return locked


def mandate_revoke(*, user, mandate: Mandate, now=None) -> Mandate:
    """The tenderer revokes a mandate (pending or accepted). The agency at once loses
    the management of every tender it filed for the tenderer under it."""
    from django.utils import timezone

    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock_mandate(mandate)
        if not is_mandate_tenderer(user, locked):
            raise PermissionDenied(_("Only the tenderer that granted the mandate can "
                                     "revoke it."))
        if locked.status == Mandate.Status.REVOKED:
            raise refuse("status", _("This mandate is already revoked."),
                         "mandate_revoked")
        _mandate_move(locked, Mandate.Status.REVOKED, "revoked", user=user, now=now,
                      summary=f"{locked.tenderer.name} ✕ {locked.agency.name}",
                      tell=locked.agency,
                      subject=_("%(tenderer)s revoked its mandate")
                      % {"tenderer": locked.tenderer.name})
    return locked


def _mandate_move(locked: Mandate, status: str, step: str, *, user, now, summary: str,
                  tell, subject: str) -> None:
    """Write an accepted or revoked mandate on its locked row (``<step>_by``,
    ``<step>_at``), audit it as ``mandate.accept|revoke`` and tell the other side."""
    locked.status = status
    setattr(locked, f"{step}_by", user)
    setattr(locked, f"{step}_at", now)
    locked.save(update_fields=["status", f"{step}_by", f"{step}_at"])
    action = {"accepted": "mandate.accept", "revoked": "mandate.revoke"}[step]
    audit_record(actor=user, action=action, obj=locked, object_id=str(locked.public_id),
                 payload=_mandate_payload(locked), summary=summary)
    notify(organisation=tell, subject=subject)
