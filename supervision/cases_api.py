"""API of supervisors' cases (立案): list, open (from a flagged tender or any source),
detail, subjects, evidence, steps, findings, the penalty decision and its PDF, and a
party's penalty record (thin: the services are in cases.py).

Refusals come back in the API's error shape (core.api_errors): 403 for anyone but a
supervisor (operators may read), 400 with a code for a refused step (see cases.py), 404
for an unknown case."""

from __future__ import annotations

from abc import ABC, abstractmethod

from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.refusals import refuse

from . import cases
from .access import require_oversight
from .case_views import may_see_record
from .models import Case, CaseEvidence, CaseStep, PenaltyDecision, Sanction

ERROR = inline_serializer("SupervisionError", {
    "error": inline_serializer("SupervisionErrorBody", {
        "status": serializers.IntegerField(), "code": serializers.CharField(),
        "message": serializers.CharField(),
        "fields": serializers.DictField(child=serializers.ListField(
            child=serializers.CharField()), required=False),
    }),
})


class CaseSerializer(serializers.ModelSerializer):
    """A case: its source, tender, subjects, who opened it and when, the decision
    deadline, whether it is overdue, and its outcome once decided (``outcome`` empty
    while open; ``closed_at`` once dismissed or its penalty decision issued)."""

    opened_by = serializers.CharField(source="opened_by.username", read_only=True)
    decided_by = serializers.CharField(source="decided_by.username", read_only=True,
                                       default=None)
    overdue = serializers.SerializerMethodField()

    def get_overdue(self, case) -> bool:
        return cases.is_overdue(case)

    class Meta:
        model = Case
        fields = ["id", "number", "source_kind", "source_id", "source_display", "source_link",
                  "tender_id", "tender_reference", "subjects", "opened_by", "opened_at",
                  "note", "deadline", "overdue", "overdue_at", "outcome", "reasons",
                  "decided_by", "decided_at", "closed_at"]


class EvidenceSerializer(serializers.ModelSerializer):
    class Meta:
        model = CaseEvidence
        fields = ["id", "kind", "record_id", "description", "sha256", "details",
                  "record_event_seq", "record_event_hash", "event_seq", "event_hash", "note",
                  "attached_at"]


class StepSerializer(serializers.ModelSerializer):
    class Meta:
        model = CaseStep
        fields = ["id", "kind", "on", "due", "text", "recorded_at"]


class SanctionSerializer(serializers.ModelSerializer):
    decision = serializers.CharField(source="decision.number", read_only=True)

    class Meta:
        model = Sanction
        fields = ["id", "decision", "subject_kind", "subject_code", "subject_name", "kind",
                  "amount", "starts", "until"]


class DecisionSerializer(serializers.ModelSerializer):
    sanctions = SanctionSerializer(many=True, read_only=True)

    class Meta:
        model = PenaltyDecision
        fields = ["number", "legal_basis", "reasons", "decided_at", "pdf_sha256", "sanctions"]


class CaseDetailSerializer(CaseSerializer):
    evidence = EvidenceSerializer(many=True, read_only=True)
    steps = StepSerializer(many=True, read_only=True)
    decision = serializers.SerializerMethodField()

    @extend_schema_field(DecisionSerializer(allow_null=True))
    def get_decision(self, case):
        decision = PenaltyDecision.objects.filter(case=case).first()
        return DecisionSerializer(decision).data if decision else None

    class Meta(CaseSerializer.Meta):
        fields = [*CaseSerializer.Meta.fields, "evidence", "steps", "decision"]


class CaseOpenSerializer(serializers.Serializer):
    """Either ``tender_id`` (a case on a flagged tender) or a ``source_kind`` with its
    ``source_id`` (and optionally display, link, tender, subjects)."""

    tender_id = serializers.IntegerField(required=False, allow_null=True, default=None)
    note = serializers.CharField(required=False, allow_blank=True, default="")
    source_kind = serializers.CharField(required=False, default="flag")
    source_id = serializers.CharField(required=False, allow_blank=True, default="")
    source_display = serializers.CharField(required=False, allow_blank=True, default="")
    source_link = serializers.CharField(required=False, allow_blank=True, default="")
    subjects = serializers.ListField(child=serializers.DictField(), required=False,
                                     default=list)


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
        d = body.validated_data
        if d["source_kind"] == "flag":
            if d["tender_id"] is None and not d["source_id"]:
                raise refuse("tender_id", _("Name the flagged tender."), "required")
            case = cases.case_open_from(user=request.user, source_kind="flag",
                                        source_id=d["tender_id"] or d["source_id"],
                                        subjects=d["subjects"], summary=d["note"])
        else:
            case = cases.case_open_from(
                user=request.user, source_kind=d["source_kind"], source_id=d["source_id"],
                source_display=d["source_display"], source_link=d["source_link"],
                tender_id=d["tender_id"], subjects=d["subjects"], summary=d["note"])
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


def _case(user, case_id: int) -> Case:
    require_oversight(user)
    case = Case.objects.select_related("opened_by", "decided_by").filter(pk=case_id).first()
    if case is None:
        raise NotFound()
    return case


class CaseDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: CaseDetailSerializer, 403: ERROR, 404: ERROR})
    def get(self, request, case_id: int):
        """One case with its evidence, steps and penalty decision."""
        return Response(CaseDetailSerializer(_case(request.user, case_id)).data)


class _CaseActionApi(APIView, ABC):
    """POST a step of the investigation; answers the whole case. Each subclass names its
    body and the service it calls (``act``)."""

    permission_classes = [IsAuthenticated]
    body: type[serializers.Serializer]

    @abstractmethod
    def act(self, request, case_id: int, data: dict) -> None:
        """Call the case service with the validated body."""

    def post(self, request, case_id: int):
        cases.require_supervisor(request.user)
        _case(request.user, case_id)
        body = self.body(data=request.data)
        body.is_valid(raise_exception=True)
        self.act(request, case_id, body.validated_data)
        return Response(CaseDetailSerializer(_case(request.user, case_id)).data,
                        status=status.HTTP_201_CREATED)


class SubjectBody(serializers.Serializer):
    kind = serializers.CharField(help_text="bidder, tenderer, agency or expert")
    code = serializers.CharField(help_text="credit code, or the expert's pool code")


class EvidenceBody(serializers.Serializer):
    kind = serializers.CharField(help_text="bid, flag, document or audit_event")
    record_id = serializers.CharField(help_text="the record's id (an event: its seq)")
    note = serializers.CharField(required=False, allow_blank=True, default="")


class StepBody(serializers.Serializer):
    kind = serializers.CharField(help_text="interview, document_request, expert_opinion, "
                                           "hearing_notice or note")
    on = serializers.DateField()
    due = serializers.DateField(required=False, allow_null=True, default=None)
    text = serializers.CharField(allow_blank=True)


class SanctionBody(serializers.Serializer):
    subject_code = serializers.CharField()
    kind = serializers.CharField(help_text="warning, fine, debarment, expert_suspension, "
                                           "expert_removal")
    amount = serializers.CharField(required=False, allow_blank=True, default="")
    months = serializers.IntegerField(required=False, allow_null=True, default=None)


class DecisionBody(serializers.Serializer):
    legal_basis = serializers.CharField(allow_blank=True)
    reasons = serializers.CharField(allow_blank=True)
    sanctions = SanctionBody(many=True)


@extend_schema(request=SubjectBody, responses={201: CaseDetailSerializer, 400: ERROR})
class CaseSubjectApi(_CaseActionApi):
    """Name one more party concerned."""

    body = SubjectBody

    def act(self, request, case_id, d):
        cases.case_subject_add(user=request.user, case_id=case_id, kind=d["kind"],
                               code=d["code"])


@extend_schema(request=EvidenceBody, responses={201: CaseDetailSerializer, 400: ERROR})
class CaseEvidenceApi(_CaseActionApi):
    """Attach a platform record as evidence, with its audit reference."""

    body = EvidenceBody

    def act(self, request, case_id, d):
        cases.case_evidence_attach(user=request.user, case_id=case_id, kind=d["kind"],
                                   record_id=d["record_id"], note=d["note"])


@extend_schema(request=StepBody, responses={201: CaseDetailSerializer, 400: ERROR})
class CaseStepApi(_CaseActionApi):
    """Record a dated investigation step."""

    body = StepBody

    def act(self, request, case_id, d):
        cases.case_step_add(user=request.user, case_id=case_id, kind=d["kind"], on=d["on"],
                            due=d["due"], text=d["text"])


@extend_schema(request=DecisionBody, responses={201: CaseDetailSerializer, 400: ERROR})
class CaseDecisionApi(_CaseActionApi):
    """Issue the penalty decision of a confirmed case (signed PDF; closes the case)."""

    body = DecisionBody

    def act(self, request, case_id, d):
        cases.case_decision_issue(user=request.user, case_id=case_id,
                                  legal_basis=d["legal_basis"], reasons=d["reasons"],
                                  sanctions=[dict(s) for s in d["sanctions"]])


class CaseDecisionPdfApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={(200, "application/pdf"): OpenApiResponse(description="PDF"),
                              404: ERROR})
    def get(self, request, case_id: int):
        """The signed decision letter."""
        _case(request.user, case_id)
        decision = PenaltyDecision.objects.filter(case_id=case_id).first()
        if decision is None:
            raise NotFound()
        response = HttpResponse(bytes(decision.pdf), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{decision.number}.pdf"'
        return response


class PartyRecordApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: SanctionSerializer(many=True), 403: ERROR})
    def get(self, request, code: str):
        """A party's penalty record (credit code or expert code): supervisors, operators,
        tenderers, and the organisation itself."""
        from django.core.exceptions import PermissionDenied

        if not may_see_record(request.user, code):
            raise PermissionDenied()
        return Response(SanctionSerializer(cases.sanctions_of(code), many=True).data)
