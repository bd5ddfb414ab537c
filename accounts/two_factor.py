"""Two-factor sign-in with a TOTP authenticator (``accounts.totp``): enrol, confirm,
verify, and what a verified session or API token is.

* ``two_factor_enrol`` makes (or shows again) an unconfirmed authenticator: a fresh secret,
  kept encrypted at rest (``core.at_rest``), shown once as base32 and as an
  ``otpauth://`` URI.
* ``two_factor_confirm`` takes the first code: from then on the authenticator counts.
* ``two_factor_verify`` takes a code after the password sign-in and marks the session
  (``two_factor_verified_at``) or, over the API, the token as verified.

Codes: the current 30-second step or one either side; a step at or before the last one
accepted is a replay and refused; after ``TWO_FACTOR_MAX_ATTEMPTS`` wrong codes in a row
the authenticator is locked for ``TWO_FACTOR_LOCK_MINUTES`` (settings, defaults 5 and 15)
whatever is typed. Every enrolment, confirmation, verification, lock-out and reset is
in the audit log.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import totp
from accounts.models import TwoFactorDevice
from audit.services import audit_record
from core import at_rest, timefmt
from core.refusals import refuse

SESSION_KEY = "two_factor_verified_at"


def max_attempts() -> int:
    return int(getattr(settings, "TWO_FACTOR_MAX_ATTEMPTS", 5))


def lock_minutes() -> int:
    return int(getattr(settings, "TWO_FACTOR_LOCK_MINUTES", 15))


def session_max_age() -> timedelta:
    """How long a verification holds in a session (default 12 hours: a working day)."""
    return timedelta(hours=float(getattr(settings, "TWO_FACTOR_SESSION_HOURS", 12)))


def _context(user) -> str:
    return f"totp:{user.pk}"


def device_of(user) -> TwoFactorDevice | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return TwoFactorDevice.objects.filter(user=user).first()


def is_enrolled(user) -> bool:
    """The user has a confirmed authenticator."""
    device = device_of(user)
    return bool(device and device.confirmed_at)


def secret_of(device: TwoFactorDevice) -> bytes:
    return at_rest.secret_open(device.secret, context=_context(device.user))


def issuer() -> str:
    return str(getattr(settings, "PLATFORM_NAME", "GGZY"))


def enrolment(device: TwoFactorDevice) -> dict:
    """What the enrolment page shows: the base32 secret and the ``otpauth://`` URI."""
    secret = secret_of(device)
    return {"secret": totp.to_base32(secret),
            "otpauth_uri": totp.provisioning_uri(secret, account=device.user.get_username(),
                                                 issuer=issuer())}


def two_factor_enrol(*, user, now: datetime | None = None) -> TwoFactorDevice:
    """Start enrolment: an unconfirmed authenticator with a fresh secret (the same one
    again while it stays unconfirmed). Refused when one is already confirmed."""
    now = now or timezone.now()
    with transaction.atomic():
        device = TwoFactorDevice.objects.select_for_update().filter(user=user).first()
        if device and device.confirmed_at:
            raise refuse("__all__", _("Two-factor sign-in is already set up."),
                         "two_factor_already_enrolled")
        if device is None:
            device = TwoFactorDevice.objects.create(
                user=user, created_at=now,
                secret=at_rest.secret_seal(totp.new_secret(), context=_context(user)))
            audit_record(actor=user, action="accounts.two_factor_enrol", obj=device,
                         payload={"user": user.pk})
    return device


def _check_code(device: TwoFactorDevice, code, now: datetime) -> int:
    """The accepted step, or a refusal. Counts failures in the caller's row lock."""
    if device.locked_until and now < device.locked_until:
        raise refuse("code", _("Too many wrong codes. Try again after %(time)s.")
                     % {"time": timefmt.human(device.locked_until)},
                     "two_factor_locked")
    step = totp.matching_step(secret_of(device), code, now.timestamp())
    if step is not None and step > device.last_step:
        return step
    replay = step is not None
    device.failed_attempts += 1
    fields = ["failed_attempts"]
    if device.failed_attempts >= max_attempts():
        device.locked_until = now + timedelta(minutes=lock_minutes())
        device.failed_attempts = 0
        fields.append("locked_until")
        audit_record(actor=device.user, action="accounts.two_factor_locked", obj=device,
                     payload={"until": device.locked_until.isoformat()})
    device.save(update_fields=fields)
    if replay:
        return -1
    return 0


def _accept(device: TwoFactorDevice, step: int, now: datetime) -> None:
    device.last_step = step
    device.failed_attempts = 0
    device.locked_until = None


def _run(user, code, now, *, confirm: bool) -> TwoFactorDevice:
    # The failure count must stay even though the refusal is raised: count in one
    # transaction, refuse after it.
    with transaction.atomic():
        device = TwoFactorDevice.objects.select_for_update().filter(user=user).first()
        if device is None or (not confirm and device.confirmed_at is None):
            raise refuse("__all__", _("Two-factor sign-in is not set up."),
                         "two_factor_not_enrolled")
        if confirm and device.confirmed_at:
            raise refuse("__all__", _("Two-factor sign-in is already set up."),
                         "two_factor_already_enrolled")
        step = _check_code(device, code, now)
        if step > 0:
            _accept(device, step, now)
            fields = ["last_step", "failed_attempts", "locked_until"]
            if confirm:
                device.confirmed_at = now
                fields.append("confirmed_at")
            device.save(update_fields=fields)
            audit_record(actor=user, obj=device, payload={"step": step},
                         action="accounts.two_factor_confirm" if confirm
                         else "accounts.two_factor_verify")
            return device
    if step < 0:
        raise refuse("code", _("This code was already used. Wait for the next one."),
                     "two_factor_replayed")
    raise refuse("code", _("Wrong code."), "two_factor_bad_code")


def two_factor_confirm(*, user, code, now: datetime | None = None) -> TwoFactorDevice:
    """The first code from the authenticator: enrolment is complete."""
    return _run(user, code, now or timezone.now(), confirm=True)


def two_factor_verify(*, user, code, now: datetime | None = None) -> TwoFactorDevice:
    """A code after the password: refused if wrong, replayed or locked out."""
    return _run(user, code, now or timezone.now(), confirm=False)


def two_factor_reset(*, actor, user) -> None:
    """An operator removes a person's authenticator (lost phone): they enrol again."""
    with transaction.atomic():
        device = TwoFactorDevice.objects.select_for_update().filter(user=user).first()
        if device is None:
            return
        audit_record(actor=actor, action="accounts.two_factor_reset", obj=device,
                     payload={"user": user.pk})
        device.delete()


# --- what "verified" means for a session and for an API token ------------------------------


def mark_session(request, now: datetime | None = None) -> None:
    """After a good code: this session is verified from now (and for this user)."""
    request.session[SESSION_KEY] = (now or timezone.now()).isoformat()
    request.session[SESSION_KEY + "_user"] = request.user.pk


def token_sha256(key: str) -> str:
    return hashlib.sha256(str(key).encode()).hexdigest()


def mark_token(device: TwoFactorDevice, token_key: str, now: datetime | None = None) -> None:
    """After a good code sent with an API token: that token is verified (until revoked)."""
    device.token_sha256 = token_sha256(token_key)
    device.token_verified_at = now or timezone.now()
    device.save(update_fields=["token_sha256", "token_verified_at"])


def token_handed_out(user) -> None:
    """The password alone was shown for a token (``POST /api/auth/token/`` returns the
    same token each time): it is no longer verified until a code is sent with it."""
    TwoFactorDevice.objects.filter(user=user).exclude(token_sha256="").update(
        token_sha256="", token_verified_at=None)


def verified(request, now: datetime | None = None) -> bool:
    """The request's user signed in with a password and a code: by a session whose
    verification is recent enough, or by an API token that was verified."""
    user = getattr(request, "user", None)
    device = device_of(user)
    if device is None or device.confirmed_at is None:
        return False
    now = now or timezone.now()
    auth = getattr(request, "auth", None)
    key = getattr(auth, "key", None)
    if key is not None:
        return (bool(device.token_sha256) and device.token_sha256 == token_sha256(key)
                and device.token_verified_at is not None
                and now - device.token_verified_at <= session_max_age())
    session = getattr(request, "session", None)
    if session is None:
        return False
    at = session.get(SESSION_KEY)
    if not at or session.get(SESSION_KEY + "_user") != user.pk:
        return False
    try:
        when = datetime.fromisoformat(at)
    except ValueError:
        return False
    return device.confirmed_at <= when + timedelta(seconds=1) and (
        now - when) <= session_max_age()
