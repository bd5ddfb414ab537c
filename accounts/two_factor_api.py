"""REST endpoints of the two-factor sign-in (``/api/auth/2fa/...``). Thin: the work is in
``accounts.two_factor``. A code verified with an API token marks that token (until it is
revoked); with a session, the session."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from accounts import two_factor


class CodeSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=12)


class TwoFactorThrottle(UserRateThrottle):
    # On top of the lock-out after repeated wrong codes: no burst of guesses either.
    rate = "20/min"


def _status(request) -> dict:
    device = two_factor.device_of(request.user)
    return {"enrolled": bool(device and device.confirmed_at),
            "pending": bool(device and not device.confirmed_at),
            "verified": two_factor.verified(request)}


STATUS = inline_serializer("TwoFactorStatus", {
    "enrolled": serializers.BooleanField(), "pending": serializers.BooleanField(),
    "verified": serializers.BooleanField()})


class TwoFactorStatusApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=STATUS)
    def get(self, request):
        """Whether the caller has an authenticator and this session or token is verified."""
        return Response(_status(request))


class TwoFactorEnrolApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=inline_serializer("TwoFactorEnrolment", {
        "secret": serializers.CharField(), "otpauth_uri": serializers.CharField()}))
    def post(self, request):
        """Start enrolment: the base32 secret and the otpauth:// URI for the app (the same
        again until confirmed). 400 ``two_factor_already_enrolled`` once confirmed."""
        device = two_factor.two_factor_enrol(user=request.user)
        return Response(two_factor.enrolment(device), status=status.HTTP_201_CREATED)


def _mark(request, device) -> None:
    key = getattr(request.auth, "key", None)
    if key is not None:
        two_factor.mark_token(device, key)
    elif hasattr(request, "session"):
        two_factor.mark_session(request._request)


class TwoFactorConfirmApi(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [TwoFactorThrottle]

    @extend_schema(request=CodeSerializer, responses=STATUS)
    def post(self, request):
        """The first code: enrolment complete, and this session or token verified."""
        ser = CodeSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        device = two_factor.two_factor_confirm(user=request.user, code=ser.validated_data["code"])
        _mark(request, device)
        return Response(_status(request))


class TwoFactorVerifyApi(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [TwoFactorThrottle]

    @extend_schema(request=CodeSerializer, responses=STATUS)
    def post(self, request):
        """A code: this session or token is verified. 400 with ``two_factor_bad_code``,
        ``two_factor_replayed``, ``two_factor_locked`` or ``two_factor_not_enrolled``."""
        ser = CodeSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        device = two_factor.two_factor_verify(user=request.user, code=ser.validated_data["code"])
        _mark(request, device)
        return Response(_status(request))
