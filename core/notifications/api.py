"""REST: a user's notifications, marking them read, and their choices."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.timefmt import iso

from . import selectors, services
from .models import Notification


class NotificationSerializer(serializers.ModelSerializer):
    created_at = serializers.SerializerMethodField()
    read_at = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "url", "tender_reference", "params",
                  "language", "created_at", "read_at"]

    def get_created_at(self, n) -> str:
        return iso(n.created_at)

    def get_read_at(self, n) -> str | None:
        return iso(n.read_at) if n.read_at else None


class NotificationsApi(ListAPIView):
    """Your notifications, unread first then newest first (``?page=``); ``?unread=1``
    for the unread ones only."""

    permission_classes = [IsAuthenticated]
    serializer_class = NotificationSerializer

    def get_queryset(self):
        qs = selectors.inbox(self.request.user)
        if self.request.query_params.get("unread") in {"1", "true"}:
            qs = qs.filter(read_at__isnull=True)
        return qs


class NotificationReadApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=NotificationSerializer)
    def post(self, request, notification_id: int):
        """Mark one of your notifications read (404 for anyone else's)."""
        n = services.notification_mark_read(user=request.user, notification_id=notification_id)
        return Response(NotificationSerializer(n).data)


class NotificationReadAllApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=inline_serializer(
        "NotificationsReadAll", {"marked": serializers.IntegerField()}))
    def post(self, request):
        """Mark all your notifications read."""
        return Response({"marked": services.notifications_mark_all_read(user=request.user)})


class PreferenceSerializer(serializers.Serializer):
    kind = serializers.CharField()
    label = serializers.CharField(read_only=True)
    in_app = serializers.BooleanField()
    email = serializers.BooleanField()


class PreferencesSerializer(serializers.Serializer):
    language = serializers.CharField(required=False)
    kinds = PreferenceSerializer(many=True, required=False)


class NotificationPreferencesApi(APIView):
    permission_classes = [IsAuthenticated]

    def _state(self, user) -> dict:
        return {"language": services.user_language(user.pk),
                "kinds": services.preferences_of(user)}

    @extend_schema(responses=PreferencesSerializer)
    def get(self, request):
        """Every kind of notification with your choice per channel (in_app, email)."""
        return Response(self._state(request.user))

    @extend_schema(request=PreferencesSerializer, responses=PreferencesSerializer)
    def put(self, request):
        """Change your choices: ``{"language": "en", "kinds": [{"kind", "in_app",
        "email"}]}``; kinds left out keep theirs. Unknown kinds are refused (400)."""
        ser = PreferencesSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        choices = {item["kind"]: {"in_app": item["in_app"], "email": item["email"]}
                   for item in ser.validated_data.get("kinds", [])}
        services.preferences_set(user=request.user, choices=choices,
                                 language=ser.validated_data.get("language"))
        return Response(self._state(request.user), status=status.HTTP_200_OK)
