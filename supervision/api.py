from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.models import AuditEvent
from audit.services import audit_verify

from .access import require_oversight


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "seq",
            "time",
            "actor",
            "action",
            "object_type",
            "object_id",
            "summary",
            "payload_digest",
            "prev_hash",
            "hash",
        ]


class AuditEventsApi(generics.ListAPIView):
    """The audit chain, oldest first (supervisors and operators)."""

    serializer_class = AuditEventSerializer
    permission_classes = [IsAuthenticated]

    def get_queryset(self):
        require_oversight(self.request.user)
        qs = AuditEvent.objects.order_by("seq")
        if object_id := self.request.query_params.get("object_id"):
            qs = qs.filter(object_id=object_id)
        if action := self.request.query_params.get("action"):
            qs = qs.filter(action=action)
        return qs


class AuditVerifyApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        responses=inline_serializer(
            "AuditVerification",
            {
                "ok": serializers.BooleanField(),
                "count": serializers.IntegerField(),
                "head_hash": serializers.CharField(),
                "bad_seq": serializers.IntegerField(allow_null=True),
                "reason": serializers.CharField(),
                "line": serializers.CharField(),
            },
        )
    )
    def get(self, request):
        """Recompute the whole chain now; report the first broken event."""
        require_oversight(request.user)
        r = audit_verify()
        return Response(
            {
                "ok": r.ok,
                "count": r.count,
                "head_hash": r.head_hash,
                "bad_seq": r.bad_seq,
                "reason": r.reason,
                "line": r.line(),
            }
        )
