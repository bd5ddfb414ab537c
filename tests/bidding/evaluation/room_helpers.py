"""For the room's tests: a client signed in with two factors, bid documents at rest."""

from __future__ import annotations

import io
import time

from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone
from reportlab.pdfgen import canvas

from accounts import totp, two_factor
from bidding.opening import at_rest
from bidding.opening.models import BidOpening


def enrol(user) -> None:
    device = two_factor.two_factor_enrol(user=user)
    two_factor.two_factor_confirm(user=user, code=totp.totp(two_factor.secret_of(device),
                                                            time.time()))


def verified_client(user, *, enrolled: bool = True, lang: str = "en") -> Client:
    """A browser session of ``user`` that passed the password and the TOTP step (pages
    in ``lang``)."""
    if enrolled and not two_factor.is_enrolled(user):
        enrol(user)
    client = Client(HTTP_ACCEPT_LANGUAGE=lang)
    client.force_login(user)
    if enrolled:
        session = client.session
        session[two_factor.SESSION_KEY] = timezone.now().isoformat()
        session[two_factor.SESSION_KEY + "_user"] = user.pk
        session.save()
    return client


def verified_api(user):
    """An API client of ``user`` holding a token verified with a TOTP code through
    ``POST /api/auth/2fa/verify/``, as a member's own program would (the evaluation API
    requires the second factor)."""
    from datetime import timedelta

    from rest_framework.test import APIClient

    from accounts import services as account_services

    if not two_factor.is_enrolled(user):
        # Confirmed a few steps ago, so the code verified below is a fresh one.
        past = timezone.now() - timedelta(seconds=3 * totp.STEP)
        device = two_factor.two_factor_enrol(user=user, now=past)
        two_factor.two_factor_confirm(
            user=user, code=totp.totp(two_factor.secret_of(device), past.timestamp()),
            now=past)
    token = account_services.token_issue(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    device = two_factor.device_of(user)
    if device.token_sha256 == two_factor.token_sha256(token.key) and device.token_verified_at:
        return client
    # The next unused step (the server accepts one step either side of its clock).
    at = max(time.time(), (device.last_step + 1) * totp.STEP)
    r = client.post("/api/auth/2fa/verify/",
                    {"code": totp.totp(two_factor.secret_of(device), at)}, format="json")
    assert r.status_code == 200 and r.json()["verified"], r.content
    return client


def unverified_api(user):
    """An API client of ``user`` with a token that passed the password only."""
    from rest_framework.test import APIClient

    from accounts import services as account_services

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {account_services.token_issue(user=user).key}")
    return client


def session_cookie_of(client: Client) -> str:
    return client.cookies[django_settings.SESSION_COOKIE_NAME].value


def pdf_bytes(text: str) -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.drawString(72, 720, text)
    c.showPage()
    c.save()
    return buf.getvalue()


def attach_documents(tender, make=lambda item: pdf_bytes(f"bid {item.bid.public_id}")):
    """Give every opened bid of ``tender`` a decrypted document, encrypted at rest as
    the opening leaves it."""
    for item in BidOpening.objects.filter(bid__tender=tender).select_related("bid__tender"):
        values = at_rest.encrypt_to_rest(item, io.BytesIO(make(item)))
        at_rest.apply(item, values)
        item.save(update_fields=list(at_rest.DOCUMENT_FIELDS))


def seed_specialties() -> None:
    """A transactional test's flush removes the specialties a migration seeded: put them
    back (the same seeding, idempotent)."""
    import importlib

    from django.apps import apps

    importlib.import_module("expert_pool.migrations.0002_specialties").seed(apps, None)


def url(committee, tail=""):
    """A page of the committee's evaluation room."""
    return f"/tenders/{committee.tender.pk}/evaluation/{tail}"


def pdftotext(data: bytes, tmp_path) -> str:
    """The text poppler reads from a PDF (skips with the reason where it is missing)."""
    import shutil
    import subprocess

    from tests.conftest import require

    require(shutil.which("pdftotext") is not None, "poppler-utils (pdftotext) is not installed")
    src = tmp_path / "doc.pdf"
    src.write_bytes(data)
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(src), "-"], check=True,
                          capture_output=True).stdout.decode()
