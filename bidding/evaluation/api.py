"""REST endpoints of the evaluation: thin. Fetch and authorise (``policies``), validate
the body, call a service, answer with a selector's view. Errors come out in the API's
one shape (core.api_errors): a refusal is a 400 naming the field."""

from __future__ import annotations

import base64

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.policies import RequiresTwoFactor
from bidding.bids.api import PdfRenderer
from core.parsers import JSONParser
from core.refusals import refuse
from expert_pool.models import DrawMember

from . import selectors, services
from .models import SHEET_STAGES, EvaluationClarification, EvaluationReport
from .policies import EvaluationNotFound, access_evaluation
from .serializers import (
    ChairVoteSerializer,
    ClarificationAnswerSerializer,
    ClarificationRequestSerializer,
    ClarificationSerializer,
    CommitteeFormSerializer,
    RefuseSerializer,
    ReplaceSerializer,
    SheetSerializer,
    SignSerializer,
    SubmitSerializer,
)

TENDER_ID = OpenApiParameter("tender_id", str, OpenApiParameter.PATH,
                             description="Numeric id or tender number")
STAGE = OpenApiParameter("stage", str, OpenApiParameter.PATH,
                         enum=[str(s) for s in SHEET_STAGES])


# The committee's and the chair's acts, and what the tenderer and oversight read of the
# evaluation, need the second factor, as the room's pages do (``requires_two_factor``):
# a password alone does not open the room, whether in a browser or with an API token.
COMMITTEE = [IsAuthenticated, RequiresTwoFactor]


def _committee(request, tender_id):
    tender, committee, member = access_evaluation(request.user, tender_id)
    if committee is None:
        raise EvaluationNotFound(_("The committee has not been formed yet."))
    return tender, committee, member


def _member(committee, label: str):
    m = committee.members.filter(label=str(label)).first()
    if m is None:
        raise refuse("member", _("No such member."), "unknown_member")
    return m


def _stage(stage: str) -> str:
    if stage not in SHEET_STAGES:
        raise Http404(_("No such stage."))
    return stage


class EvaluationApi(APIView):
    permission_classes = COMMITTEE
    parser_classes = [JSONParser]

    @extend_schema(parameters=[TENDER_ID], responses=dict)
    def get(self, request, tender_id):
        """The evaluation as you may see it: for a member, the room (stage, criteria,
        bids — code numbers only under 暗标 —, your own sheet, progress); for the tenderer
        and oversight, progress."""
        tender, committee, member = _committee(request, tender_id)
        if member is not None:
            return Response(selectors.room_state(committee, member))
        return Response({"tender": tender.reference, "stage": committee.stage,
                         "progress": selectors.progress(committee)})

    @extend_schema(parameters=[TENDER_ID], request=CommitteeFormSerializer,
                   responses={201: dict})
    def post(self, request, tender_id):
        """Form the committee from the completed draw and start the evaluation (the
        tenderer, its agency or the trading centre)."""
        tender, _committee_, _member_ = access_evaluation(request.user, tender_id)
        ser = CommitteeFormSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        ids = ser.validated_data["tenderer_reps"]
        users = list(get_user_model().objects.filter(pk__in=ids))
        if len(users) != len(set(ids)):
            raise refuse("tenderer_reps", _("Unknown user."), "tenderer_rep_invalid")
        committee = services.committee_form(tender=tender, user=request.user,
                                            tenderer_reps=users)
        return Response({"tender": tender.reference, "stage": committee.stage,
                         "progress": selectors.progress(committee)},
                        status=status.HTTP_201_CREATED)


class ProgressApi(APIView):
    permission_classes = COMMITTEE

    @extend_schema(parameters=[TENDER_ID], responses=dict)
    def get(self, request, tender_id):
        """Who has finished which stage: member labels and counts, no scores."""
        _t, committee, _m = _committee(request, tender_id)
        return Response(selectors.progress(committee))


class ChairVoteApi(APIView):
    permission_classes = COMMITTEE
    parser_classes = [JSONParser]

    @extend_schema(parameters=[TENDER_ID], request=ChairVoteSerializer, responses={201: dict})
    def post(self, request, tender_id):
        """Vote for the chair (once); a majority of the members elects."""
        _t, committee, _m = _committee(request, tender_id)
        ser = ChairVoteSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        services.chair_vote(committee=committee, user=request.user,
                            candidate=_member(committee, ser.validated_data["candidate"]))
        committee.refresh_from_db()
        return Response(selectors.progress(committee), status=status.HTTP_201_CREATED)


class _SheetBase(APIView):
    permission_classes = COMMITTEE
    parser_classes = [JSONParser]

    def _me(self, request, tender_id):
        _t, committee, member = _committee(request, tender_id)
        if member is None:
            raise PermissionDenied(_("Only members of the evaluation committee have sheets."))
        return committee, member


class SheetApi(_SheetBase):
    @extend_schema(parameters=[TENDER_ID, STAGE], responses=dict)
    def get(self, request, tender_id, stage):
        """Your sheet for a stage: the saved draft (resume after a lost connection)."""
        _c, member = self._me(request, tender_id)
        return Response(selectors.sheet_view(member, _stage(stage)))

    @extend_schema(parameters=[TENDER_ID, STAGE], request=SheetSerializer, responses=dict)
    def put(self, request, tender_id, stage):
        """Save your draft (any part of the sheet); nobody else sees it."""
        committee, member = self._me(request, tender_id)
        ser = SheetSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        services.sheet_save_draft(committee=committee, user=request.user, stage=_stage(stage),
                                  entries=ser.validated_data["entries"])
        return Response(selectors.sheet_view(member, stage))


class SheetSubmitApi(_SheetBase):
    @extend_schema(parameters=[TENDER_ID, STAGE], request=SubmitSerializer, responses=dict)
    def post(self, request, tender_id, stage):
        """Submit the whole sheet (the body's entries, or the saved draft); it is then
        locked for you."""
        committee, member = self._me(request, tender_id)
        ser = SubmitSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        services.sheet_submit(committee=committee, user=request.user, stage=_stage(stage),
                              entries=ser.validated_data["entries"])
        return Response(selectors.sheet_view(member, stage))


class StageScoresApi(APIView):
    permission_classes = COMMITTEE

    @extend_schema(parameters=[TENDER_ID, STAGE], responses=dict)
    def get(self, request, tender_id, stage):
        """Every member's scores for a stage: for a member only after submitting their own;
        for the tenderer and oversight once the stage is locked."""
        _t, committee, member = _committee(request, tender_id)
        return Response({"stage": stage,
                         "scores": selectors.stage_scores(committee, member, _stage(stage))})


class StageLockApi(APIView):
    permission_classes = COMMITTEE

    @extend_schema(parameters=[TENDER_ID, STAGE], request=None, responses=dict)
    def post(self, request, tender_id, stage):
        """The chair locks the stage once every member submitted it."""
        _t, committee, _m = _committee(request, tender_id)
        committee = services.stage_lock(committee=committee, user=request.user,
                                        stage=_stage(stage))
        return Response(selectors.progress(committee))


class AggregationApi(APIView):
    permission_classes = COMMITTEE

    @extend_schema(parameters=[TENDER_ID, STAGE], responses=dict)
    def get(self, request, tender_id, stage):
        """The chair: committee scores per criterion and the outlying scores."""
        _t, committee, member = _committee(request, tender_id)
        if member is None:
            raise PermissionDenied(_("Only the chair sees the aggregation."))
        data = selectors.aggregation(committee, member, _stage(stage))
        data["recorded_outliers"] = [
            {"member": o.member.label, "criterion": o.criterion.number,
             "value": str(o.value), "others_mean": str(o.others_mean),
             "deviation": str(o.deviation)}
            for o in selectors.recorded_outliers(committee)]
        return Response(data)


class ReplaceApi(APIView):
    permission_classes = COMMITTEE
    parser_classes = [JSONParser]

    @extend_schema(parameters=[TENDER_ID], request=ReplaceSerializer, responses=dict)
    def post(self, request, tender_id):
        """Replace a member (Reg 48): their scores become void; the replacement is a
        confirmed backup of the draw (or, for a representative, another user of the
        tenderer)."""
        _t, committee, _m = _committee(request, tender_id)
        ser = ReplaceSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        d = ser.validated_data
        seat = (DrawMember.objects.select_related("expert").filter(
            pk=d.get("replacement_seat")).first() if d.get("replacement_seat") else None)
        user = (get_user_model().objects.filter(pk=d.get("replacement_user")).first()
                if d.get("replacement_user") else None)
        new = services.member_replace(committee=committee, user=request.user,
                                      member=_member(committee, d["member"]),
                                      reason=d["reason"], replacement_seat=seat,
                                      replacement_user=user)
        return Response({"replacement": new.label, "progress": selectors.progress(committee)})


class ClarificationsApi(APIView):
    # GET is also how a bidder lists the requests put to it: a bidder is not a committee
    # member and the platform does not require the second factor of bidders, so the
    # second factor is checked in the view for the committee's side only (``_for``, POST).
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]

    @extend_schema(parameters=[TENDER_ID], responses=ClarificationSerializer(many=True))
    def get(self, request, tender_id):
        """Clarification requests: all for the committee (second factor required), its own
        for a bidder."""
        tender, committee = self._for(request, tender_id)
        return Response(ClarificationSerializer(
            selectors.clarifications_for(committee, request.user), many=True).data)

    def _two_factor(self, request):
        check = RequiresTwoFactor()
        if not check.has_permission(request, self):
            self.permission_denied(request, message=check.message, code=check.code)

    def _for(self, request, tender_id):
        try:
            found = _committee(request, tender_id)[:2]
        except EvaluationNotFound:
            # A bidder asked to clarify sees its own requests.
            from bidding.tenders.policies import access_tender

            tender = access_tender(request.user, tender_id)
            if not selectors.my_clarifications(request.user, tender):
                raise
            return tender, tender.committee
        self._two_factor(request)
        return found

    @extend_schema(parameters=[TENDER_ID], request=ClarificationRequestSerializer,
                   responses={201: ClarificationSerializer})
    def post(self, request, tender_id):
        """The chair asks a bidder in writing, with a deadline (Reg 52). Bidders cannot
        start a clarification."""
        self._two_factor(request)
        _t, committee, member = _committee(request, tender_id)
        if member is None:
            raise PermissionDenied(_("Only the committee asks for clarifications."))
        ser = ClarificationRequestSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        d = ser.validated_data
        item = services.clarification_request(committee=committee, user=request.user,
                                              bid_key_=d["bid"], question=d["question"],
                                              deadline=d["deadline"])
        return Response(ClarificationSerializer(item).data, status=status.HTTP_201_CREATED)


class ClarificationAnswerApi(APIView):
    # Not a committee act: the bidder asked answers in writing (Reg 52). Bidders are not
    # members, and the platform does not require the second factor of bidders (it is the
    # committee's room that is behind it), so a signed-in bidder answers without it.
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(parameters=[TENDER_ID], request=ClarificationAnswerSerializer,
                   responses=ClarificationSerializer)
    def post(self, request, tender_id, clarification_id):
        """The bidder answers before the deadline (text, optional ``attachment``). The
        answer is attached to the record; it changes no price and no score."""
        item = EvaluationClarification.objects.filter(
            pk=clarification_id, committee__tender__pk=_tender_pk(request, tender_id)).first()
        if item is None or (getattr(request.user, "organisation_id", None)
                            != item.evaluated_bid.bid.bidder_id):
            raise Http404(_("No such clarification request."))
        ser = ClarificationAnswerSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        item = services.clarification_answer(clarification=item, user=request.user,
                                             answer=ser.validated_data["answer"],
                                             attachment=ser.validated_data.get("attachment"))
        return Response(ClarificationSerializer(item).data)


def _tender_pk(request, tender_id) -> int:
    from bidding.tenders.policies import access_tender

    return access_tender(request.user, tender_id).pk


def _report(committee) -> EvaluationReport:
    report = EvaluationReport.objects.filter(tender=committee.tender).first()
    if report is None or not report.sha256:
        raise Http404(_("The report has not been drawn up yet."))
    return report


class ReportApi(APIView):
    permission_classes = COMMITTEE

    @extend_schema(parameters=[TENDER_ID], responses=dict)
    def get(self, request, tender_id):
        """The report's digest and the exact message members sign, the candidates, the
        signatures so far."""
        _t, committee, _m = _committee(request, tender_id)
        report = _report(committee)
        return Response({
            "sha256": report.sha256,
            "message": base64.b64encode(services.report_message(report)).decode(),
            "label": services.REPORT_LABEL.rstrip(b"\x00").decode(),
            "sign_until": report.sign_until, "completed_at": report.completed_at,
            "candidates": report.candidates,
            "signatures": [{"member": s.member.label, "kind": s.kind,
                            "dissent": s.dissent, "signed_at": s.signed_at}
                           for s in report.signatures.select_related("member")],
        })


class ReportPdfApi(APIView):
    permission_classes = COMMITTEE
    renderer_classes = [JSONRenderer, PdfRenderer]

    @extend_schema(parameters=[TENDER_ID], responses={(200, "application/pdf"): bytes})
    def get(self, request, tender_id):
        """The report PDF (the signed copy with its signature page once completed)."""
        _t, committee, _m = _committee(request, tender_id)
        report = _report(committee)
        f = report.final_pdf if report.final_pdf else report.pdf
        response = FileResponse(f.open("rb"), content_type="application/pdf",
                                filename=f"{committee.tender.reference}-evaluation-report.pdf")
        response["X-Content-SHA256"] = report.sha256
        return response


class ReportSignApi(APIView):
    permission_classes = COMMITTEE
    parser_classes = [JSONParser]

    @extend_schema(parameters=[TENDER_ID], request=SignSerializer, responses={201: dict})
    def post(self, request, tender_id):
        """Sign the report's digest with your registered key (optionally with dissent)."""
        _t, committee, _m = _committee(request, tender_id)
        ser = SignSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        item = services.report_sign(report=_report(committee), user=request.user,
                                    signature_b64=ser.validated_data["signature"],
                                    dissent=ser.validated_data["dissent"])
        return Response({"kind": item.kind}, status=status.HTTP_201_CREATED)


class ReportRefuseApi(APIView):
    permission_classes = COMMITTEE
    parser_classes = [JSONParser]

    @extend_schema(parameters=[TENDER_ID], request=RefuseSerializer, responses={201: dict})
    def post(self, request, tender_id):
        """Refuse to sign: with written dissent (counts as signed with dissent), or
        without reasons (recorded as agreeing, Reg 53)."""
        _t, committee, _m = _committee(request, tender_id)
        ser = RefuseSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        item = services.report_refuse(report=_report(committee), user=request.user,
                                      dissent=ser.validated_data["dissent"])
        return Response({"kind": item.kind}, status=status.HTTP_201_CREATED)


class ReportCloseApi(APIView):
    permission_classes = COMMITTEE

    @extend_schema(parameters=[TENDER_ID], request=None, responses=dict)
    def post(self, request, tender_id):
        """The chair closes the signing; the silent are deemed to agree (Reg 53)."""
        _t, committee, _m = _committee(request, tender_id)
        report = services.report_close(report=_report(committee), user=request.user)
        return Response({"completed_at": report.completed_at})

