from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.authentication import TokenAuthentication
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from . import services
from .serializers import (
    MeSerializer,
    OrganisationSerializer,
    RegistrationSerializer,
    TokenRequestSerializer,
    TokenSerializer,
)


class LoginThrottle(AnonRateThrottle):
    rate = "30/min"


class TokenApi(APIView):
    permission_classes = [AllowAny]
    # Token authentication only, so a failure answers 401 with WWW-Authenticate.
    authentication_classes = [TokenAuthentication]
    throttle_classes = [LoginThrottle]

    @extend_schema(request=TokenRequestSerializer, responses=TokenSerializer, auth=[])
    def post(self, request):
        """Exchange a username and password for an API token (``Authorization: Token …``)."""
        ser = TokenRequestSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        user = authenticate(request, **ser.validated_data)
        if user is None:
            raise exceptions.AuthenticationFailed(_("Wrong username or password."))
        token = services.token_issue(user=user)
        return Response({"token": token.key, "user": MeSerializer(user).data})


class TokenRevokeApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None})
    def delete(self, request):
        """Sign out of the API: the token stops working."""
        services.token_revoke(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        return Response(MeSerializer(request.user).data)


class RegisterApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(request=RegistrationSerializer, responses={201: OrganisationSerializer})
    def post(self, request):
        """Register an organisation (tenderer, agency or bidder) and its first user.
        The credit code is checked per GB 32100-2015."""
        ser = RegistrationSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = dict(ser.validated_data)
        org, _user = services.organisation_register(
            credit_code_value=data.pop("credit_code"),
            actor=request.user if request.user.is_authenticated else None,
            **data,
        )
        return Response(OrganisationSerializer(org).data, status=status.HTTP_201_CREATED)
