"""REST endpoints for objections to the documents, complaints and the working-day
calendar. Thin: validate, call a service, answer with the state; refusals in
core.api_errors' shape."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from bidding.tenders.policies import access_tender

from . import calendar, policies, selectors, services
from .models import Complaint, Matter, Objection, Pause


def _body(serializer_class, request) -> dict:
    s = serializer_class(data=request.data)
    s.is_valid(raise_exception=True)
    return s.validated_data


def _complaint(request, pk) -> Complaint:
    c = get_object_or_404(Complaint.objects.select_related("tender", "complainant"), pk=pk)
    if not policies.may_view(request.user, c):
        raise Http404(_("No such complaint."))
    return c


class _ComplaintFileIn(serializers.Serializer):
    tender = serializers.CharField(help_text="Tender id or number")
    matter = serializers.ChoiceField(choices=Matter.choices)
    text = serializers.CharField()
    requests = serializers.CharField(required=False, allow_blank=True)
    knew_on = serializers.DateField()
    evidence = serializers.ListField(child=serializers.FileField(), required=False)


class ComplaintsApi(APIView):
    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(operation_id="complaints_list", responses=dict)
    def get(self, request):
        """Complaints you may see: all for supervisors and the trading centre (with their
        working-day deadlines), your own and those on your tenders for others."""
        qs = selectors.visible_complaints(request.user)
        if status := request.query_params.get("status"):
            qs = qs.filter(status=status)
        return Response({"complaints": [selectors.complaint_json(c) for c in qs[:500]]})

    @extend_schema(request={"multipart/form-data": _ComplaintFileIn}, responses=dict)
    def post(self, request):
        """File a complaint (Reg 60), with evidence files (PDF, PNG, JPEG)."""
        data = _body(_ComplaintFileIn, request)
        tender = access_tender(request.user, data["tender"])
        files = request.FILES.getlist("evidence")
        c = services.complaint_file(user=request.user, tender=tender, matter=data["matter"],
                                    text=data["text"], requests=data.get("requests", ""),
                                    knew_on=data["knew_on"], evidence=files)
        return Response(selectors.complaint_json(c, detail=True), status=201)


class ComplaintApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=dict)
    def get(self, request, pk):
        return Response(selectors.complaint_json(_complaint(request, pk), detail=True))


class EvidenceApi(APIView):
    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request={"multipart/form-data": {"type": "object", "properties": {
        "evidence": {"type": "array", "items": {"type": "string", "format": "binary"}}}}},
        responses=dict)
    def post(self, request, pk):
        c = _complaint(request, pk)
        services.evidence_add(user=request.user, complaint=c,
                              files=request.FILES.getlist("evidence"))
        return Response(selectors.complaint_json(c, detail=True), status=201)


class EvidenceFileApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    def get(self, request, pk, evidence_id):
        c = _complaint(request, pk)
        ev = get_object_or_404(c.evidence, pk=evidence_id)
        return FileResponse(ev.file.open("rb"), content_type=ev.content_type,
                            as_attachment=True, filename=ev.name)


class LetterApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={(200, "application/pdf"): bytes})
    def get(self, request, pk):
        """The signed decision letter."""
        c = _complaint(request, pk)
        if not c.letter:
            raise Http404(_("No decision yet."))
        return FileResponse(c.letter.open("rb"), content_type="application/pdf",
                            as_attachment=True, filename=f"complaint-{c.pk}-decision.pdf")


class _ComplaintActionIn(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True)
    note = serializers.CharField(required=False, allow_blank=True)
    outcome = serializers.ChoiceField(choices=Complaint.Outcome.choices, required=False)
    decision = serializers.CharField(required=False, allow_blank=True)


ACTIONS = {
    "accept": lambda u, c, d: services.complaint_accept(user=u, complaint=c),
    "reject": lambda u, c, d: services.complaint_reject(user=u, complaint=c,
                                                        reason=d.get("reason", "")),
    "pause": lambda u, c, d: services.pause_start(
        user=u, complaint=c, reason=d.get("reason") or Pause.Reason.EXPERT_REVIEW,
        note=d.get("note", "")),
    "unpause": lambda u, c, d: services.pause_end(user=u, complaint=c),
    "suspend": lambda u, c, d: services.suspend_tender(user=u, complaint=c,
                                                       reason=d.get("reason", "")),
    "resume": lambda u, c, d: services.resume_tender(user=u, complaint=c),
    "decide": lambda u, c, d: services.complaint_decide(
        user=u, complaint=c, outcome=d.get("outcome", ""), decision=d.get("decision", "")),
}


class ComplaintActionApi(APIView):
    """A supervisor's act on a complaint: accept, reject (reason), pause (reason:
    expert_review|testing, note), unpause, suspend (reason), resume, decide (outcome,
    decision)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="complaints_act", request=_ComplaintActionIn, responses=dict)
    def post(self, request, pk, action):
        if action not in ACTIONS:
            raise Http404(_("No such action."))
        c = _complaint(request, pk)
        ACTIONS[action](request.user, c, _body(_ComplaintActionIn, request))
        c.refresh_from_db()
        return Response(selectors.complaint_json(c, detail=True))


class _DocObjectionIn(serializers.Serializer):
    tender = serializers.CharField()
    text = serializers.CharField()


class _DocAnswerIn(serializers.Serializer):
    answer = serializers.CharField()


class ObjectionsApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=dict)
    def get(self, request):
        """Objections to tender documents: yours, and those to your tenders."""
        return Response({"objections": [selectors.objection_json(o) for o in
                                        selectors.objections_for(request.user)[:500]]})

    @extend_schema(request=_DocObjectionIn, responses=dict)
    def post(self, request):
        """Object to the tender documents (Reg 22)."""
        data = _body(_DocObjectionIn, request)
        tender = access_tender(request.user, data["tender"])
        o = services.objection_raise(user=request.user, tender=tender, text=data["text"])
        return Response(selectors.objection_json(o), status=201)


class ObjectionAnswerApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=_DocAnswerIn, responses=dict)
    def post(self, request, pk):
        o = get_object_or_404(selectors.objections_for(request.user), pk=pk)
        o = services.objection_answer(user=request.user, objection=o,
                                      answer=_body(_DocAnswerIn, request)["answer"])
        return Response(selectors.objection_json(Objection.objects.get(pk=o.pk)))


class _CalendarDayIn(serializers.Serializer):
    date = serializers.DateField()
    is_working_day = serializers.BooleanField()
    note = serializers.CharField(required=False, allow_blank=True, max_length=200)


class CalendarYearApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=dict)
    def get(self, request, year):
        """A year of the working-day calendar: defined or not, and its exceptions."""
        if not request.user.is_authenticated:
            raise PermissionDenied
        return Response(calendar.year_view(calendar.check_year(year)))


class CalendarDefineApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=dict)
    def post(self, request, year):
        """An operator declares a year the package does not know complete."""
        calendar.define_year(user=request.user, year=year, note=request.data.get("note", ""))
        return Response(calendar.year_view(int(year)), status=201)


class CalendarDaysApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=_CalendarDayIn, responses=dict)
    def post(self, request):
        """An operator sets one day: a holiday or an adjusted working day (调休)."""
        data = _body(_CalendarDayIn, request)
        row = calendar.set_day(user=request.user, day=data["date"],
                               is_working_day=data["is_working_day"], note=data.get("note", ""))
        return Response({"date": row.date.isoformat(), "is_working_day": row.is_working_day,
                         "note": row.note, "source": row.source}, status=201)


class CalendarDayApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={204: None})
    def delete(self, request, day):
        calendar.clear_day(user=request.user, day=day)
        return Response(status=204)
