import base64

from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from accounts import selectors, services, two_factor
from accounts.authentication import TokenAuthentication
from accounts.models import PublicKey
from accounts.serializers import (
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
        # The password alone does not carry a token's earlier two-factor verification.
        two_factor.token_handed_out(user)
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


class PublicKeySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    public_key = serializers.CharField(
        help_text="Base64 of the 65-byte uncompressed P-256 point, or a PEM public key"
    )
    purpose = serializers.ChoiceField(choices=PublicKey.Purpose.values)
    label = serializers.CharField(required=False, allow_blank=True, max_length=100)
    fingerprint = serializers.CharField(read_only=True)
    active = serializers.BooleanField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


def _key_out(key) -> dict:
    return {"id": key.pk, "public_key": base64.b64encode(bytes(key.point)).decode(),
            "purpose": key.purpose, "label": key.label, "fingerprint": key.fingerprint,
            "active": key.active, "created_at": key.created_at}


def _decode_point(text: str) -> bytes:
    return services.public_key_decode(text)


class PublicKeysApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=PublicKeySerializer(many=True))
    def get(self, request):
        """Your registered public keys (the newest active one of each purpose is used)."""
        return Response([_key_out(k) for k in request.user.public_keys.all()])

    @extend_schema(request=PublicKeySerializer, responses={201: PublicKeySerializer})
    def post(self, request):
        """Register the public half of a key you made on your side (`python -m ggzy_bid
        keygen`, or the browser's key page). Bidders register `bid` keys; operators,
        supervisors and notaries register `custodian` and `custodian_signing` keys;
        tenderers, bidders and experts register a `signing` key (contracts, amendments,
        evaluation reports)."""
        ser = PublicKeySerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        key = services.public_key_register(
            user=request.user, point=_decode_point(ser.validated_data["public_key"]),
            purpose=ser.validated_data["purpose"], label=ser.validated_data.get("label", ""),
        )
        return Response(_key_out(key), status=status.HTTP_201_CREATED)


class PlatformKeysApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=inline_serializer("PlatformKeys", {
        "receipt_key": serializers.CharField(help_text="Base64 of the 32-byte Ed25519 key"),
        "receipt_key_pem": serializers.CharField(),
        "fingerprint": serializers.CharField(),
    }), auth=[])
    def get(self, request):
        """The platform's Ed25519 verify key: receipts, checkpoints and records are
        signed with it. Save it once; `python -m ggzy_bid verify-receipt` checks offline."""
        from core import platform_keys

        return Response({"receipt_key": platform_keys.verify_key_b64(),
                         "receipt_key_pem": platform_keys.verify_key_pem(),
                         "fingerprint": platform_keys.fingerprint()})


class NotificationsApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=dict)
    def get(self, request):
        """Messages to your organisation (for example: a tender failed for too few bids)."""
        items = selectors.notifications_of(request.user)[:100]
        return Response([{"subject": n.subject, "body": n.body, "link": n.link,
                          "created_at": n.created_at} for n in items])


class MandatePartySerializer(serializers.Serializer):
    name = serializers.CharField()
    credit_code = serializers.CharField()


class MandateSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    tenderer = MandatePartySerializer(read_only=True)
    agency = MandatePartySerializer(read_only=True)
    project_code = serializers.CharField(
        help_text="Empty: every project of the tenderer")
    valid_from = serializers.DateTimeField(allow_null=True)
    valid_until = serializers.DateTimeField(allow_null=True,
                                            help_text="Exclusive; null: until revoked")
    status = serializers.ChoiceField(choices=["granted", "accepted", "revoked"])
    in_force = serializers.SerializerMethodField()
    granted_at = serializers.DateTimeField()
    accepted_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)

    def get_in_force(self, mandate) -> bool:
        """Accepted, unrevoked and within its period now."""
        from django.utils import timezone

        return mandate.in_force(at=timezone.now(), project_code=mandate.project_code or None)


class MandateGrantSerializer(serializers.Serializer):
    agency = serializers.CharField(
        help_text="The agency's unified social credit code")
    project_code = serializers.CharField(max_length=60, required=False, allow_blank=True,
                                         default="")
    valid_from = serializers.DateTimeField(required=False, allow_null=True, default=None)
    valid_until = serializers.DateTimeField(required=False, allow_null=True, default=None)


def _agency_by_code(code: str):
    from accounts import credit_code
    from accounts.models import Organisation

    try:
        normalised = credit_code.normalise(code)
        return Organisation.objects.get(credit_code=normalised)
    except (Organisation.DoesNotExist, ValueError, credit_code.InvalidCreditCode):
        raise exceptions.ValidationError(
            {"agency": [_("No organisation with this credit code.")]}) from None


MANDATE_ID = OpenApiParameter("mandate_id", OpenApiTypes.UUID, OpenApiParameter.PATH,
                              description="The mandate's id (a UUID)")


class MandatesApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=MandateSerializer(many=True))
    def get(self, request):
        """Mandates your organisation granted (tenderer) or received (agency)."""
        return Response(MandateSerializer(selectors.mandates_of(request.user), many=True).data)

    @extend_schema(request=MandateGrantSerializer, responses={201: MandateSerializer})
    def post(self, request):
        """Mandate a tendering agency to act for your organisation (委托代理), for every
        project or one project code, for a period or until revoked. It counts once the
        agency accepts it. Tenderers only (403 otherwise)."""
        ser = MandateGrantSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = dict(ser.validated_data)
        mandate = services.mandate_grant(user=request.user,
                                         agency=_agency_by_code(data.pop("agency")), **data)
        return Response(MandateSerializer(mandate).data, status=status.HTTP_201_CREATED)


class MandateAcceptApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, parameters=[MANDATE_ID], responses=MandateSerializer)
    def post(self, request, mandate_id):
        """Accept a mandate granted to your agency (403 for anyone else; 404 for a
        mandate your organisation is not party to)."""
        mandate = selectors.access_mandate(request.user, mandate_id)
        return Response(MandateSerializer(
            services.mandate_accept(user=request.user, mandate=mandate)).data)


class MandateRevokeApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, parameters=[MANDATE_ID], responses=MandateSerializer)
    def post(self, request, mandate_id):
        """Revoke a mandate your organisation granted: the agency loses the management
        of your tenders at once."""
        mandate = selectors.access_mandate(request.user, mandate_id)
        return Response(MandateSerializer(
            services.mandate_revoke(user=request.user, mandate=mandate)).data)
