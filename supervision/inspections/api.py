"""REST API of inspections, spot checks and filings (thin: services do the work).

Refusals come back in core.api_errors' shape: 400 with a code (``draw_rerun``,
``not_assigned``, ``already_filed`` ...), 403 for the wrong role, 404 for an unknown id.
Published plans, rounds (with their draw proof) and results are public (no sign-in)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Organisation, User
from bidding.tenders.selectors import tenders
from expert_pool.selectors import experts

from . import draws, policies, selectors, services
from .models import (
    ChecklistItem,
    Filing,
    Finding,
    Inspection,
    InspectionPlan,
    Inspector,
    PlanRound,
    SpotCheck,
    SupervisedParty,
    SupervisionMatter,
)

OK = inline_serializer("InspectionsOk", {"id": serializers.IntegerField()})


class RoundSerializer(serializers.ModelSerializer):
    """A plan round's draw proof: everything needed to recompute it once drawn."""

    secret = serializers.SerializerMethodField()
    verified = serializers.SerializerMethodField()

    class Meta:
        model = PlanRound
        fields = ["id", "number", "params", "commitment", "round_name", "tender_candidates",
                  "tender_digest", "inspector_candidates", "inspector_digest",
                  "inspector_departments", "sample_size", "public_input", "drawn",
                  "assignments", "skipped", "committed_at", "drawn_at", "secret", "verified"]

    def get_secret(self, r) -> str | None:
        return bytes(r.secret).hex() if r.drawn_at else None  # revealed once drawn

    def get_verified(self, r) -> bool | None:
        return draws.verify_round(r).ok if r.drawn_at else None


class InspectionSerializer(serializers.ModelSerializer):
    tender = serializers.CharField(source="tender.reference")
    findings = serializers.SerializerMethodField()

    class Meta:
        model = Inspection
        fields = ["id", "plan_id", "round_id", "tender", "status", "conclusion",
                  "conclusion_text", "published_at", "findings"]

    def get_findings(self, i) -> list[dict]:
        if i.status != Inspection.Status.PUBLISHED:
            return []
        return [{"item": str(f.item), "text": f.item.text, "result": f.result, "note": f.note,
                 "evidence": f.evidence} for f in i.findings.select_related("item__matter")]


class PlanSerializer(serializers.ModelSerializer):
    departments = serializers.SerializerMethodField()
    matters = serializers.SerializerMethodField()
    rounds = RoundSerializer(many=True, read_only=True)

    class Meta:
        model = InspectionPlan
        fields = ["id", "name", "period_start", "period_end", "departments", "matters",
                  "sample_count", "sample_ratio", "inspectors_per_inspection",
                  "distinct_departments", "population", "status", "rounds"]

    def get_departments(self, p) -> list[str]:
        return [d.name for d in p.departments.all()]

    def get_matters(self, p) -> list[str]:
        return [m.code for m in p.matters.all()]


class PlanInSerializer(serializers.Serializer):
    """plan_create's fields; departments and matters by id."""

    name = serializers.CharField()
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    departments = serializers.PrimaryKeyRelatedField(queryset=Organisation.objects.all(),
                                                     many=True)
    matters = serializers.PrimaryKeyRelatedField(queryset=SupervisionMatter.objects.all(),
                                                 many=True)
    sample_count = serializers.IntegerField(required=False, allow_null=True)
    sample_ratio = serializers.DecimalField(max_digits=4, decimal_places=3, required=False,
                                            allow_null=True)
    inspectors_per_inspection = serializers.IntegerField(required=False,
                                                         default=services.MIN_INSPECTORS)
    distinct_departments = serializers.BooleanField(required=False, default=True)
    population = serializers.DictField(required=False, default=dict, help_text=(
        "statuses, categories, regions (lists) and date: published | awarded"))


class PublicPlansApi(APIView):
    """GET: plans with a drawn round, their draw proofs and published results (一公开).
    POST: a supervisor creates a plan (services.plan_create)."""

    def get_permissions(self):
        return [AllowAny()] if self.request.method == "GET" else [IsAuthenticated()]

    @extend_schema(responses={200: PlanSerializer(many=True)})
    def get(self, request):
        return Response(PlanSerializer(selectors.public_plans(), many=True).data)

    @extend_schema(request=PlanInSerializer, responses={201: PlanSerializer})
    def post(self, request):
        """Create an inspection plan several departments share (supervisors)."""
        policies.require_supervisor(request.user)
        data = _valid(PlanInSerializer, request)
        plan = services.plan_create(user=request.user, **data)
        return Response(PlanSerializer(plan).data, status=status.HTTP_201_CREATED)


class PublicResultsApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses={200: InspectionSerializer(many=True)})
    def get(self, request):
        """Published inspection results, newest first."""
        return Response(InspectionSerializer(selectors.published_inspections(),
                                             many=True).data)


class RoundCommitApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=inline_serializer("RoundCommit", {
        "round_name": serializers.CharField()}), responses={201: RoundSerializer})
    def post(self, request, plan_id: int):
        """Commit a new round of the plan (supervisor of a participating department)."""
        plan = get_object_or_404(InspectionPlan, pk=plan_id)
        r = services.round_commit(user=request.user, plan=plan,
                                  round_name=str(request.data.get("round_name", "")))
        return Response(RoundSerializer(r).data, status=status.HTTP_201_CREATED)


class RoundDrawApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=inline_serializer("RoundDraw", {"value": serializers.CharField()}),
                   responses={200: RoundSerializer})
    def post(self, request, round_id: int):
        """Record the public round's value; the tenders and inspectors are drawn."""
        r = get_object_or_404(PlanRound, pk=round_id)
        r = services.round_draw(user=request.user, round=r,
                                value=str(request.data.get("value", "")))
        return Response(RoundSerializer(r).data)


class RoundVerifyApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses={200: inline_serializer("RoundVerification", {
        "ok": serializers.BooleanField(), "problems": serializers.ListField(
            child=serializers.CharField())})})
    def get(self, request, round_id: int):
        """Recompute a drawn round from its stored inputs and the audit chain."""
        r = get_object_or_404(PlanRound, pk=round_id, drawn_at__isnull=False)
        v = draws.verify_round(r)
        return Response({"ok": v.ok, "problems": v.problems})


class FindingApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=inline_serializer("FindingIn", {
        "item": serializers.IntegerField(), "result": serializers.CharField(),
        "note": serializers.CharField(required=False),
        "evidence": serializers.ListField(child=serializers.IntegerField(), required=False)}),
        responses={201: OK})
    def post(self, request, inspection_id: int):
        """An inspector drawn for the inspection records a finding on a checklist item."""
        inspection = get_object_or_404(Inspection, pk=inspection_id)
        item = get_object_or_404(ChecklistItem, pk=request.data.get("item"))
        evidence = request.data.get("evidence") or []
        f = services.finding_record(user=request.user, inspection=inspection, item=item,
                                    result=str(request.data.get("result", "")),
                                    note=str(request.data.get("note", "")),
                                    evidence=[int(x) for x in evidence])
        return Response({"id": f.pk}, status=status.HTTP_201_CREATED)


class ConcludeApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=inline_serializer("ConcludeIn", {"text": serializers.CharField()}),
                   responses={200: InspectionSerializer})
    def post(self, request, inspection_id: int):
        """Record the conclusion and publish the result."""
        inspection = get_object_or_404(Inspection, pk=inspection_id)
        i = services.inspection_conclude(user=request.user, inspection=inspection,
                                         text=str(request.data.get("text", "")))
        return Response(InspectionSerializer(i).data)


class FindingCaseApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={201: OK})
    def post(self, request, finding_id: int):
        """Open a case from a "not compliant" finding (through the cases app's hook)."""
        finding = get_object_or_404(Finding, pk=finding_id)
        case = services.finding_open_case(user=request.user, finding=finding)
        return Response({"id": getattr(case, "pk", None)}, status=status.HTTP_201_CREATED)


class SpotCheckCommitApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=inline_serializer("SpotCheckIn", {
        "period_start": serializers.DateField(), "period_end": serializers.DateField(),
        "sample_size": serializers.IntegerField(), "round_name": serializers.CharField()}),
        responses={201: OK})
    def post(self, request):
        """Commit to a sample of the evaluations completed in a period."""
        fields = {"period_start": serializers.DateField(), "period_end": serializers.DateField(),
                  "sample_size": serializers.IntegerField(),
                  "round_name": serializers.CharField()}
        data = {k: f.run_validation(request.data.get(k)) for k, f in fields.items()}
        s = services.spot_check_commit(user=request.user, **data)
        return Response({"id": s.pk, "commitment": s.commitment},
                        status=status.HTTP_201_CREATED)


class SpotCheckDrawApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=inline_serializer("SpotDraw", {"value": serializers.CharField()}),
                   responses={200: OK})
    def post(self, request, spot_check_id: int):
        """Record the public round's value; the sample is drawn."""
        s = get_object_or_404(SpotCheck, pk=spot_check_id)
        s = services.spot_check_draw(user=request.user, spot_check=s,
                                     value=str(request.data.get("value", "")))
        return Response({"id": s.pk, "drawn": s.drawn,
                         "verified": draws.verify_spot_check(s).ok})


class SpotCheckRateApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=inline_serializer("SpotRate", {
        "tender": serializers.CharField(), "expert": serializers.CharField(),
        "score": serializers.IntegerField(), "comment": serializers.CharField()}),
        responses={201: OK})
    def post(self, request, spot_check_id: int):
        """Rate an expert of a drawn evaluation (1-5 with a comment); it reaches the pool."""
        s = get_object_or_404(SpotCheck, pk=spot_check_id)
        tender = get_object_or_404(tenders(), reference=request.data.get("tender"))
        expert = get_object_or_404(experts(), code=request.data.get("expert"))
        score = serializers.IntegerField().run_validation(request.data.get("score"))
        row = services.spot_check_rate(user=request.user, spot_check=s, tender=tender,
                                       expert=expert, score=score,
                                       comment=str(request.data.get("comment", "")))
        return Response({"id": row.pk}, status=status.HTTP_201_CREATED)


class FilingSerializer(serializers.ModelSerializer):
    tender = serializers.CharField(source="tender.reference")

    class Meta:
        model = Filing
        fields = ["id", "tender", "stage", "attempt", "items", "filed_at", "status",
                  "reasons", "handled_at", "receipt"]


class FilingSubmitApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=inline_serializer("FilingIn", {"stage": serializers.CharField()}),
                   responses={201: FilingSerializer})
    def post(self, request, tender_id: int):
        """The tenderer files the documents or the results with the supervisor."""
        tender = get_object_or_404(tenders(), pk=tender_id)
        f = services.filing_submit(user=request.user, tender=tender,
                                   stage=str(request.data.get("stage", "")))
        return Response(FilingSerializer(f).data, status=status.HTTP_201_CREATED)


class FilingAnswerApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=inline_serializer("FilingAnswer", {
        "action": serializers.CharField(help_text="acknowledge or return"),
        "reasons": serializers.CharField(required=False)}), responses={200: FilingSerializer})
    def post(self, request, filing_id: int):
        """The supervisor acknowledges (signed receipt) or returns with reasons."""
        f = get_object_or_404(Filing, pk=filing_id)
        if request.data.get("action") == "return":
            f = services.filing_return(user=request.user, filing=f,
                                       reasons=str(request.data.get("reasons", "")))
        else:
            f = services.filing_acknowledge(user=request.user, filing=f)
        return Response(FilingSerializer(f).data)


# ---------------------------------------------------------------- registers (supervisors)


def _valid(serializer_class, request) -> dict:
    s = serializer_class(data=request.data)
    s.is_valid(raise_exception=True)
    return dict(s.validated_data)


class ChecklistItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = ChecklistItem
        fields = ["id", "number", "text", "text_en", "legal_basis"]


class MatterSerializer(serializers.ModelSerializer):
    departments = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    items = ChecklistItemSerializer(many=True, read_only=True)

    class Meta:
        model = SupervisionMatter
        fields = ["id", "code", "name", "name_en", "legal_basis", "departments", "active",
                  "items"]


class ChecklistItemInSerializer(serializers.Serializer):
    text = serializers.CharField()
    text_en = serializers.CharField(required=False, allow_blank=True, default="")
    legal_basis = serializers.CharField(required=False, allow_blank=True, default="")


class MatterInSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    name_en = serializers.CharField(required=False, allow_blank=True, default="")
    legal_basis = serializers.CharField()
    departments = serializers.PrimaryKeyRelatedField(queryset=Organisation.objects.all(),
                                                     many=True)
    items = ChecklistItemInSerializer(many=True)


class MattersApi(APIView):
    """The list of supervision matters with their checklists (监管事项清单)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: MatterSerializer(many=True)})
    def get(self, request):
        """Every matter with its checklist (supervisors and the trading centre)."""
        policies.require_oversight(request.user)
        qs = SupervisionMatter.objects.prefetch_related("departments", "items")
        return Response(MatterSerializer(qs, many=True).data)

    @extend_schema(request=MatterInSerializer, responses={201: MatterSerializer})
    def post(self, request):
        """Add a matter with its checklist items (supervisors)."""
        policies.require_supervisor(request.user)
        data = _valid(MatterInSerializer, request)
        data["items"] = [dict(i) for i in data["items"]]
        matter = services.matter_create(user=request.user, **data)
        return Response(MatterSerializer(matter).data, status=status.HTTP_201_CREATED)


class InspectorSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username")
    name = serializers.SerializerMethodField()
    department_name = serializers.CharField(source="department.name")
    interests = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Inspector
        fields = ["id", "code", "username", "name", "department", "department_name",
                  "specialties", "active", "interests", "added_at"]

    def get_name(self, i) -> str:
        return i.user.get_full_name() or i.user.username


class InspectorInSerializer(serializers.Serializer):
    username = serializers.SlugRelatedField(slug_field="username",
                                            queryset=User.objects.all())
    department = serializers.PrimaryKeyRelatedField(queryset=Organisation.objects.all(),
                                                    required=False, allow_null=True)
    specialties = serializers.CharField(required=False, allow_blank=True, default="")
    interests = serializers.PrimaryKeyRelatedField(queryset=Organisation.objects.all(),
                                                   many=True, required=False, default=list)


class InspectorsApi(APIView):
    """The inspector register (执法检查人员名录)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: InspectorSerializer(many=True)})
    def get(self, request):
        """Every inspector (supervisors and the trading centre)."""
        policies.require_oversight(request.user)
        qs = Inspector.objects.select_related("user", "department").prefetch_related(
            "interests")
        return Response(InspectorSerializer(qs, many=True).data)

    @extend_schema(request=InspectorInSerializer, responses={201: InspectorSerializer})
    def post(self, request):
        """Register a supervisor (by username) as an inspector of their department."""
        policies.require_supervisor(request.user)
        data = _valid(InspectorInSerializer, request)
        inspector = services.inspector_register(
            user=request.user, person=data["username"], department=data.get("department"),
            specialties=data["specialties"], interests=list(data["interests"]))
        return Response(InspectorSerializer(inspector).data, status=status.HTTP_201_CREATED)


class InspectorActiveApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=inline_serializer("InspectorActive", {
        "active": serializers.BooleanField()}), responses={200: InspectorSerializer})
    def post(self, request, inspector_id: int):
        """Activate or deactivate an inspector (inactive ones are not drawn)."""
        policies.require_supervisor(request.user)
        inspector = get_object_or_404(Inspector, pk=inspector_id)
        active = serializers.BooleanField().run_validation(request.data.get("active"))
        inspector = services.inspector_set_active(user=request.user, inspector=inspector,
                                                  active=active)
        return Response(InspectorSerializer(inspector).data)


class PartySerializer(serializers.ModelSerializer):
    class Meta:
        model = SupervisedParty
        fields = ["id", "kind", "source", "name", "identifier", "note", "organisation",
                  "expert", "added_at"]


class PartyInSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="tenderer | agency | bidder | expert")
    name = serializers.CharField()
    identifier = serializers.CharField()
    note = serializers.CharField(required=False, allow_blank=True, default="")


class PartiesApi(APIView):
    """The register of supervised parties (检查对象名录)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: PartySerializer(many=True)})
    def get(self, request):
        """Every supervised party (supervisors and the trading centre)."""
        policies.require_oversight(request.user)
        return Response(PartySerializer(SupervisedParty.objects.all(), many=True).data)

    @extend_schema(request=PartyInSerializer, responses={201: PartySerializer})
    def post(self, request):
        """Add a party the platform does not know (a manual entry; supervisors)."""
        policies.require_supervisor(request.user)
        party = services.party_add(user=request.user, **_valid(PartyInSerializer, request))
        return Response(PartySerializer(party).data, status=status.HTTP_201_CREATED)


class PartiesSyncApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={200: inline_serializer("PartiesSynced", {
        "added": serializers.IntegerField()})})
    def post(self, request):
        """Derive the register from the platform's organisations and experts (supervisors)."""
        policies.require_supervisor(request.user)
        return Response({"added": services.parties_sync()})
