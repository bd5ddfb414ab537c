"""Writes for organisations and people."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from audit.services import audit_record

from . import credit_code
from .models import ROLE_FOR_KIND, Organisation, Role, User

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
