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
