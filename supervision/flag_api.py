"""API of the supervisor's risk queue (supervisors and operators only)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from .access import require_oversight
from .flag_selectors import flags_by_tender, ranked_tenders
from .models import Flag, RiskScore


class FlagSerializer(serializers.ModelSerializer):
    """A red flag: ``kind`` (``screen`` for a collusion screen, whose code is ``screen``),
    severity, the organisations concerned (credit codes), evidence and explanations."""

    class Meta:
        model = Flag
        fields = ["kind", "screen", "severity", "subjects", "evidence", "explanation_zh",
                  "explanation_en", "raised_at"]


class RiskSerializer(serializers.ModelSerializer):
    """A screened tender in the queue with its scores and flags."""

    flags = serializers.SerializerMethodField()

    @extend_schema_field(FlagSerializer(many=True))
    def get_flags(self, risk) -> list:
        flags = self.context.get("flags", {}).get(risk.tender_id, [])
        return FlagSerializer(flags, many=True).data

    class Meta:
        model = RiskScore
        fields = ["tender_id", "tender_reference", "tender_title", "score", "learned_score",
                  "computed_at", "flags"]


class RiskDetailSerializer(RiskSerializer):
    """One tender's risk with the screens' values and the announced prices."""

    class Meta(RiskSerializer.Meta):
        fields = RiskSerializer.Meta.fields + ["features", "prices", "max_price"]


class FlagQueueApi(generics.ListAPIView):
    """Screened tenders, most suspicious first, with their flags."""

    serializer_class = RiskSerializer
    permission_classes = [IsAuthenticated]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return RiskScore.objects.none()
        require_oversight(self.request.user)
        return ranked_tenders()

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        rows = page if page is not None else list(self.get_queryset())
        context = self.get_serializer_context()
        context["flags"] = flags_by_tender([r.tender_id for r in rows])
        data = RiskSerializer(rows, many=True, context=context).data
        return self.get_paginated_response(data) if page is not None else Response(data)


class FlagDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=RiskDetailSerializer)
    def get(self, request, tender_id: int):
        """One screened tender: its scores, screen values, prices and flags."""
        require_oversight(request.user)
        risk = RiskScore.objects.filter(tender_id=tender_id).first()
        if risk is None:
            raise NotFound()
        context = {"flags": flags_by_tender([tender_id])}
        return Response(RiskDetailSerializer(risk, context=context).data)
