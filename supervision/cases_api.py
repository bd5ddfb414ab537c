"""API of supervisors' cases: list, open, decide (thin: the services are in cases.py).

Refusals come back in the API's error shape (core.api_errors): 403 for anyone but a
supervisor (operators may read the list), 400 with a code for a refused step
(``not_screened``, ``case_exists``, ``bad_outcome``, ``reasons_missing``,
``case_decided``), 404 for an unknown case."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from . import cases
from .access import require_oversight
from .models import Case

ERROR = inline_serializer("SupervisionError", {
    "error": inline_serializer("SupervisionErrorBody", {
        "status": serializers.IntegerField(), "code": serializers.CharField(),
        "message": serializers.CharField(),
        "fields": serializers.DictField(child=serializers.ListField(
            child=serializers.CharField()), required=False),
    }),
})


class CaseSerializer(serializers.ModelSerializer):
    """A case: the tender, who opened it and when, and its outcome once decided
    (``outcome`` empty while open)."""

    opened_by = serializers.CharField(source="opened_by.username", read_only=True)
    decided_by = serializers.CharField(source="decided_by.username", read_only=True,
                                       default=None)

    class Meta:
        model = Case
        fields = ["id", "tender_id", "tender_reference", "opened_by", "opened_at", "note",
                  "outcome", "reasons", "decided_by", "decided_at"]


class CaseOpenSerializer(serializers.Serializer):
    tender_id = serializers.IntegerField()
    note = serializers.CharField(required=False, allow_blank=True, default="")


class CaseDecideSerializer(serializers.Serializer):
    outcome = serializers.CharField(help_text="confirmed or dismissed")
    reasons = serializers.CharField(allow_blank=True)


class CasesApi(generics.ListAPIView):
    """Supervisors' cases, newest first (supervisors and operators may read them)."""

    serializer_class = CaseSerializer
    permission_classes = [IsAuthenticated]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Case.objects.none()
        require_oversight(self.request.user)
        return Case.objects.select_related("opened_by", "decided_by")

    @extend_schema(request=CaseOpenSerializer,
                   responses={201: CaseSerializer, 400: ERROR, 403: ERROR})
    def post(self, request):
        """Open a case on a screened tender (supervisors only; one case per tender)."""
        body = CaseOpenSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        case = cases.case_open(user=request.user, tender_id=body.validated_data["tender_id"],
                               note=body.validated_data["note"])
        return Response(CaseSerializer(case).data, status=status.HTTP_201_CREATED)


class CaseDecideApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=CaseDecideSerializer,
                   responses={200: CaseSerializer, 400: ERROR, 403: ERROR, 404: ERROR})
    def post(self, request, case_id: int):
        """Record a case's outcome (confirmed or dismissed) with the reasons; final."""
        cases.require_supervisor(request.user)
        if not Case.objects.filter(pk=case_id).exists():
            raise NotFound()
        body = CaseDecideSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        case = cases.case_decide(user=request.user, case_id=case_id,
                                 outcome=body.validated_data["outcome"],
                                 reasons=body.validated_data["reasons"])
        return Response(CaseSerializer(case).data)
