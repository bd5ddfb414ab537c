"""Two-factor sign-in: enrolment, codes (wrong, replayed, too many), the session and token
flags, the page decorator and the API permission, and secrets encrypted at rest."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.sessions.middleware import SessionMiddleware
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.http import HttpResponse
from django.test import Client, RequestFactory
from rest_framework.response import Response
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework.views import APIView

from accounts import totp, two_factor
from accounts.models import TwoFactorDevice
from accounts.policies import RequiresTwoFactor, requires_two_factor, two_factor_verified
from audit.models import AuditEvent
from tests import factories

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 12, 6, 8, 0, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _own_kek_file(tmp_path, settings):
    settings.PLATFORM_AT_REST_KEY_FILE = str(tmp_path / "at_rest_keys.json")
    settings.PLATFORM_AT_REST_KEY_PROVIDER = "file"


def code_at(device, at: datetime) -> str:
    return totp.totp(two_factor.secret_of(device), at.timestamp())


def _codes(exc) -> set[str]:
    return {e.code for errors in exc.value.error_dict.values() for e in errors}


@pytest.fixture
def enrolled():
    user = factories.expert()
    device = two_factor.two_factor_enrol(user=user, now=T0)
    two_factor.two_factor_confirm(user=user, code=code_at(device, T0), now=T0)
    device.refresh_from_db()
    return user, device


def test_enrolment_then_the_first_code_confirms_it():
    user = factories.expert()
    device = two_factor.two_factor_enrol(user=user, now=T0)
    assert device.confirmed_at is None and not two_factor.is_enrolled(user)
    # Shown again while unconfirmed: the same secret.
    assert two_factor.two_factor_enrol(user=user, now=T0).secret == device.secret
    two_factor.two_factor_confirm(user=user, code=code_at(device, T0), now=T0)
    assert two_factor.is_enrolled(user)
    assert AuditEvent.objects.filter(action="accounts.two_factor_confirm").exists()


def test_a_second_enrolment_is_refused_once_confirmed(enrolled):
    user, _ = enrolled
    with pytest.raises(ValidationError) as exc:
        two_factor.two_factor_enrol(user=user, now=T0)
    assert _codes(exc) == {"two_factor_already_enrolled"}


def test_verification_without_an_authenticator_is_refused():
    user = factories.expert()
    with pytest.raises(ValidationError) as exc:
        two_factor.two_factor_verify(user=user, code="123456", now=T0)
    assert _codes(exc) == {"two_factor_not_enrolled"}


def test_a_wrong_code_is_refused(enrolled):
    user, device = enrolled
    later = T0 + timedelta(minutes=5)
    good = code_at(device, later)
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    with pytest.raises(ValidationError) as exc:
        two_factor.two_factor_verify(user=user, code=wrong, now=later)
    assert _codes(exc) == {"two_factor_bad_code"}
    device.refresh_from_db()
    assert device.failed_attempts == 1


def test_a_good_code_verifies_and_the_same_code_is_refused_as_a_replay(enrolled):
    user, device = enrolled
    later = T0 + timedelta(minutes=5)
    code = code_at(device, later)
    two_factor.two_factor_verify(user=user, code=code, now=later)
    with pytest.raises(ValidationError) as exc:
        two_factor.two_factor_verify(user=user, code=code, now=later + timedelta(seconds=20))
    assert _codes(exc) == {"two_factor_replayed"}
    # The previous step's code is older still: also refused.
    older = code_at(device, later - timedelta(seconds=30))
    with pytest.raises(ValidationError):
        two_factor.two_factor_verify(user=user, code=older, now=later)


def test_the_confirmation_code_cannot_be_used_again_to_verify(enrolled):
    user, device = enrolled
    with pytest.raises(ValidationError) as exc:
        two_factor.two_factor_verify(user=user, code=code_at(device, T0), now=T0)
    assert _codes(exc) == {"two_factor_replayed"}


def test_too_many_wrong_codes_lock_out_even_the_right_one(enrolled, settings):
    settings.TWO_FACTOR_MAX_ATTEMPTS = 3
    settings.TWO_FACTOR_LOCK_MINUTES = 15
    user, device = enrolled
    at = T0 + timedelta(minutes=5)
    good = code_at(device, at)
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    for _ in range(3):
        with pytest.raises(ValidationError):
            two_factor.two_factor_verify(user=user, code=wrong, now=at)
    with pytest.raises(ValidationError) as exc:
        two_factor.two_factor_verify(user=user, code=good, now=at)
    assert _codes(exc) == {"two_factor_locked"}
    assert AuditEvent.objects.filter(action="accounts.two_factor_locked").count() == 1
    # After the lock-out a right code works again.
    after = at + timedelta(minutes=16)
    two_factor.two_factor_verify(user=user, code=code_at(device, after), now=after)


def test_a_database_dump_does_not_reveal_the_totp_secret(enrolled):
    user, device = enrolled
    secret = two_factor.secret_of(device)
    out = io.StringIO()
    call_command("dumpdata", stdout=out)
    dump = out.getvalue()
    assert totp.to_base32(secret) not in dump
    assert secret.hex() not in dump
    assert repr(secret)[2:-1] not in dump
    assert device.secret.startswith("rest1:")


def test_a_secret_moved_to_another_user_does_not_open(enrolled):
    from crypto.errors import CryptoError

    user, device = enrolled
    other = factories.expert()
    moved = TwoFactorDevice.objects.create(user=other, secret=device.secret, created_at=T0)
    with pytest.raises(CryptoError):
        two_factor.secret_of(moved)


# --- the decorator and the DRF permission --------------------------------------------------


def _request(user, session: dict | None = None):
    request = RequestFactory().get("/evaluation/room/")
    SessionMiddleware(lambda r: None).process_request(request)
    request.session.update(session or {})
    request.user = user
    return request


@requires_two_factor
def _room(request):
    return HttpResponse("room")


def test_the_decorator_refuses_a_session_without_two_factor(enrolled):
    user, device = enrolled
    response = _room(_request(user))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/two-factor/verify/")
    assert "next=" in response["Location"]


def test_the_decorator_sends_someone_without_an_authenticator_to_set_one_up():
    response = _room(_request(factories.expert()))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/two-factor/?")


def test_the_decorator_sends_an_anonymous_visitor_to_sign_in():
    from django.contrib.auth.models import AnonymousUser

    response = _room(_request(AnonymousUser()))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_decorator_lets_a_verified_session_in_until_it_is_too_old(enrolled, settings):
    user, device = enrolled
    at = T0 + timedelta(minutes=5)
    with time_machine.travel(at, tick=False):
        request = _request(user)
        two_factor.two_factor_verify(user=user, code=code_at(device, at), now=at)
        two_factor.mark_session(request, at)
        assert two_factor_verified(request)
        assert _room(request).status_code == 200
    with time_machine.travel(at + timedelta(hours=13), tick=False):
        assert not two_factor_verified(request)
        assert _room(request).status_code == 302


def test_a_session_flag_of_another_user_does_not_count(enrolled):
    user, device = enrolled
    other = factories.expert()
    request = _request(user, {two_factor.SESSION_KEY: T0.isoformat(),
                              two_factor.SESSION_KEY + "_user": other.pk})
    with time_machine.travel(T0, tick=False):
        assert not two_factor_verified(request)


class _RoomApi(APIView):
    permission_classes = [RequiresTwoFactor]

    def get(self, request):
        return Response({"ok": True})


def _api_get(token_key: str):
    request = APIRequestFactory().get("/api/room/", HTTP_AUTHORIZATION=f"Token {token_key}")
    return _RoomApi.as_view()(request)


def test_the_permission_refuses_a_token_until_a_code_is_verified_with_it(enrolled):
    user, device = enrolled
    client = APIClient()
    key = client.post("/api/auth/token/", {"username": user.username,
                                           "password": factories.PASSWORD},
                      format="json").json()["token"]
    assert _api_get(key).status_code == 403
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    now = datetime.now(UTC)
    response = client.post("/api/auth/2fa/verify/", {"code": code_at(device, now)},
                           format="json")
    assert response.status_code == 200 and response.json()["verified"] is True
    assert _api_get(key).status_code == 200
    # The password alone hands out the same token again: it is no longer verified.
    APIClient().post("/api/auth/token/", {"username": user.username,
                                          "password": factories.PASSWORD}, format="json")
    assert _api_get(key).status_code == 403


def test_the_verify_api_refuses_a_wrong_code_with_its_code(enrolled):
    user, device = enrolled
    client = APIClient()
    client.force_authenticate(user)
    response = client.post("/api/auth/2fa/verify/", {"code": "000000x"}, format="json")
    assert response.status_code == 400
    assert "two_factor_bad_code" in response.content.decode()


def test_the_api_enrols_and_confirms():
    user = factories.expert()
    client = APIClient()
    client.force_authenticate(user)
    got = client.post("/api/auth/2fa/enrol/").json()
    assert got["otpauth_uri"].startswith("otpauth://totp/") and got["secret"]
    device = TwoFactorDevice.objects.get(user=user)
    now = datetime.now(UTC)
    response = client.post("/api/auth/2fa/confirm/", {"code": code_at(device, now)},
                           format="json")
    assert response.status_code == 200 and response.json()["enrolled"] is True
    assert APIClient().get("/api/auth/2fa/").status_code in (401, 403)


# --- the pages --------------------------------------------------------------------------


def test_password_sign_in_then_the_code_page_then_the_next_page(enrolled):
    user, device = enrolled
    client = Client()
    response = client.post("/accounts/login/?next=/tenders/",
                           {"username": user.username, "password": factories.PASSWORD,
                            "next": "/tenders/"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/two-factor/verify/")
    assert "tenders" in response["Location"]
    now = datetime.now(UTC)
    page = client.post(response["Location"], {"code": code_at(device, now),
                                              "next": "/tenders/"})
    assert page.status_code == 302 and page["Location"] == "/tenders/"
    assert two_factor.SESSION_KEY in client.session


def test_the_code_page_shows_a_refusal_and_leaves_the_session_unverified(enrolled):
    user, device = enrolled
    client = Client()
    client.force_login(user)
    page = client.post("/accounts/two-factor/verify/", {"code": "12"})
    assert page.status_code == 200
    assert two_factor.SESSION_KEY not in client.session


def test_the_setup_page_shows_the_secret_and_uri_and_confirms(settings):
    user = factories.expert()
    client = Client()
    client.force_login(user)
    page = client.get("/accounts/two-factor/")
    device = TwoFactorDevice.objects.get(user=user)
    html = page.content.decode()
    assert totp.to_base32(two_factor.secret_of(device)) in html
    assert "otpauth://totp/" in html
    now = datetime.now(UTC)
    done = client.post("/accounts/two-factor/", {"code": code_at(device, now),
                                                 "next": "/tenders/"})
    assert done.status_code == 302 and done["Location"] == "/tenders/"
    assert two_factor.is_enrolled(user)


def test_the_code_page_never_redirects_off_site(enrolled):
    user, device = enrolled
    client = Client()
    client.force_login(user)
    now = datetime.now(UTC)
    page = client.post("/accounts/two-factor/verify/",
                       {"code": code_at(device, now), "next": "https://evil.example/"})
    assert page.status_code == 302 and "evil.example" not in page["Location"]
