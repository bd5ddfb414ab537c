"""REST endpoints of the expert pool: draws, the beacon, seats, verification.

Thin: validate the input, call a service in ``draw``/``services``, answer with what the
caller may see (the sealed list is applied by ``selectors``/``policies``)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from bidding.tenders.models import Tender
from bidding.tenders.policies import access_tender

from . import draw as draws
from . import policies, selectors, services
from .models import Draw, DrawMember


class QuotaSerializer(serializers.Serializer):
    specialty = serializers.CharField(max_length=20)
    count = serializers.IntegerField(min_value=0, max_value=50)


class DrawRequestSerializer(serializers.Serializer):
    committee_size = serializers.IntegerField(min_value=0, max_value=99)
    tenderer_reps = serializers.IntegerField(min_value=0, max_value=99, default=0)
    quotas = QuotaSerializer(many=True, allow_empty=False)
    backups = serializers.IntegerField(min_value=0, max_value=50, default=1)
    region_mode = serializers.ChoiceField(choices=draws.REGION_MODES, default="local")
    beacon_round = serializers.CharField(max_length=100, required=False, default="")


def draw_json(draw: Draw, user) -> dict:
    """A draw as ``user`` may see it: parameters, digests, counts; names only when the
    sealed list allows."""
    out = {
        "id": draw.pk, "tender": draw.tender.reference, "attempt": draw.attempt,
        "status": draw.status, "failure_reason": draw.failure_reason,
        "params": draw.params, "commitment": draw.commitment,
        "groups": [{"specialty": g["specialty"], "count": g["count"], "backups": g["backups"],
                    "candidates_digest": g["digest"], "eligible": len(g["candidates"])}
                   for g in draw.groups],
        "exclusions_digest": draw.exclusions_digest,
        "exclusions_by_reason": selectors.exclusion_counts(draw),
        "beacon": draw.beacon, "beacon_round": draw.beacon_round,
        "public_input": draw.public_input,
        "secret": bytes(draw.secret).hex() if draw.secret_revealed_at else None,
        "requested_at": draw.requested_at, "drawn_at": draw.drawn_at,
    }
    if policies.can_see_progress(user):
        out["progress"] = selectors.draw_progress(draw)
    committee = selectors.committee_for(user, draw)
    if committee is not None:
        out["committee"] = [{"code": m.expert.code, "name": m.expert.name, "group": m.group}
                            for m in committee]
    return out


def _tender(user, tender_id: str) -> Tender:
    """A published tender (a draft has no committee), through the tender stage's own
    fetch-and-authorise; the same 404 for "no such tender" and "a draft"."""
    tender = access_tender(user, tender_id)
    if tender.status == Tender.Status.DRAFT:
        raise Http404(_("No such tender."))
    return tender


def _visible_draw(user, draw_id: int) -> Draw:
    draw = get_object_or_404(Draw.objects.select_related("tender"), pk=draw_id)
    if not (policies.can_verify(user) or policies.can_see_members(user, draw)
            or user.role in draw.params.get("beacon_parties", [])):
        raise Http404(_("No such draw."))
    return draw


class TenderDrawApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=dict)
    def get(self, request, tender_id):
        """The tender's latest draw (parameters, digests, counts; names when allowed)."""
        tender = _tender(request.user, tender_id)
        draw = selectors.draw_for_tender(tender)
        if draw is None:
            raise Http404(_("No draw for this tender."))
        return Response(draw_json(_visible_draw(request.user, draw.pk), request.user))

    @extend_schema(request=DrawRequestSerializer, responses={201: dict})
    def post(self, request, tender_id):
        """Request the committee draw (trading centre). Refusals: ``committee_size``,
        ``committee_composition``, ``quotas_mismatch``, ``not_enough_experts``,
        ``draw_too_early``, ``draw_exists``."""
        if not policies.can_request_draw(request.user):
            raise PermissionDenied(_("Only the trading centre requests expert draws."))
        tender = _tender(request.user, tender_id)
        s = DrawRequestSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        draw = draws.draw_request(
            tender=tender, user=request.user, committee_size=d["committee_size"],
            tenderer_reps=d["tenderer_reps"],
            quotas=[draws.Quota(q["specialty"], q["count"]) for q in d["quotas"]],
            backups=d["backups"], region_mode=d["region_mode"],
            beacon_round=d["beacon_round"])
        return Response(draw_json(draw, request.user), status=status.HTTP_201_CREATED)


class DrawApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=dict)
    def get(self, request, draw_id):
        return Response(draw_json(_visible_draw(request.user, draw_id), request.user))


class DrawVerifyApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=inline_serializer("DrawVerification", {
        "ok": serializers.BooleanField(), "problems": serializers.ListField(),
        "checked": serializers.ListField(), "secret_revealed": serializers.BooleanField()}))
    def get(self, request, draw_id):
        """Recompute the draw from its stored inputs (supervisors and the trading centre)."""
        if not policies.can_verify(request.user):
            raise PermissionDenied(_("Only supervisors verify draws."))
        draw = get_object_or_404(Draw, pk=draw_id)
        v = draws.verify(draw)
        return Response({"ok": v.ok, "problems": v.problems, "checked": v.checked,
                         "secret_revealed": v.secret_revealed})


class BeaconSerializer(serializers.Serializer):
    commitment = serializers.CharField(max_length=100, required=False, default="")
    value = serializers.CharField(max_length=200, required=False, default="")


class BeaconApi(APIView):
    """Commit (``{"commitment": sha256 hex}``) then reveal (``{"value": ...}``) your
    party's random value; the operator records an outside beacon's value here too."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=BeaconSerializer, responses=dict)
    def post(self, request, draw_id):
        draw = get_object_or_404(Draw.objects.select_related("tender"), pk=draw_id)
        s = BeaconSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        if draw.beacon == "external":
            draws.beacon_record(draw=draw, user=request.user, value=d["value"])
        elif d["commitment"]:
            draws.beacon_commit(draw=draw, user=request.user, commitment=d["commitment"])
        else:
            draws.beacon_reveal(draw=draw, user=request.user, value=d["value"])
        draw.refresh_from_db()
        return Response(draw_json(draw, request.user))


class SeatAnswerSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=["confirm", "decline", "send_otp", "pledge"])
    reason = serializers.CharField(max_length=300, required=False, default="")
    otp = serializers.CharField(max_length=10, required=False, default="")
    signature = serializers.CharField(max_length=200, required=False, default="")


def seat_json(m: DrawMember) -> dict:
    return {"id": m.pk, "tender": m.draw.tender.reference, "status": m.status,
            "respond_by": m.respond_by, "pledged": bool(m.pledged_at),
            "pledge_message": services.pledge_message(m).decode()}


class MySeatsApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=dict)
    def get(self, request):
        """Your own seats (experts): the only names you learn before evaluation."""
        return Response({"results": [seat_json(m) for m in selectors.my_seats(request.user)]})


class SeatApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=SeatAnswerSerializer, responses=dict)
    def post(self, request, member_id):
        """Confirm or decline (with a reason), ask for a pledge code, sign the pledge."""
        m = DrawMember.objects.select_related("expert", "draw__tender").filter(
            pk=member_id, expert__user=request.user).first()
        if m is None:
            raise Http404(_("No such seat."))
        s = SeatAnswerSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        if d["action"] in ("confirm", "decline"):
            services.member_respond(member=m, user=request.user,
                                    accept=d["action"] == "confirm", reason=d["reason"])
        elif d["action"] == "send_otp":
            services.pledge_otp_send(member=m, user=request.user)
        else:
            services.pledge_sign(member=m, user=request.user, otp=d["otp"],
                                 signature_b64=d["signature"])
        m.refresh_from_db()
        return Response(seat_json(m))


class AbandonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class DrawAbandonApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=AbandonSerializer, responses=dict)
    def post(self, request, draw_id):
        """Close a draw stuck without its public input as failed (supervisor)."""
        draw = get_object_or_404(Draw.objects.select_related("tender"), pk=draw_id)
        s = AbandonSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        draws.draw_abandon(draw=draw, user=request.user, reason=s.validated_data["reason"])
        draw.refresh_from_db()
        return Response(draw_json(draw, request.user))
