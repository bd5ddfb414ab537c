"""REST endpoints of the opening hall: the same state and actions as the websocket
(``/ws/openings/{id}/``), for command-line tools and clients without websockets."""

from __future__ import annotations

import base64

from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from bidding.bids.api import PdfRenderer
from bidding.bids.selectors import current_bid_of
from bidding.tenders.policies import access_tender
from bidding.tenders.selectors import key_share_of
from core.api_errors import error_response

from . import selectors
from . import services as opening
from .actions import MESSAGES, perform
from .policies import HallRefused, access_hall, require_bidder
from .selectors import hall_state

TENDER_ID = OpenApiParameter("tender_id", str, OpenApiParameter.PATH,
                             description="Numeric id or tender number")
STATUS_FOR = {"permission_denied": 403, "not_found": 404}


def _hall(request, tender_id):
    try:
        return access_hall(request.user, tender_id, with_parties=False)
    except HallRefused:
        raise Http404(_("No such opening hall.")) from None


class OpeningStateApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(parameters=[TENDER_ID], responses=dict)
    def get(self, request, tender_id):
        """The hall's state for you: phase, countdowns, counters, announced price sheets,
        objections, confirmations, the Merkle root, the record once published."""
        tender, role = _hall(request, tender_id)
        return Response(hall_state(tender, request.user, role))


# The request bodies are the hall's message serializers: one per message type, the
# same that check the websocket's messages (bidding/opening/actions.py).
ACTION_BODIES = MESSAGES


class OpeningActionApi(APIView):
    permission_classes = [IsAuthenticated]
    action = ""

    def post(self, request, tender_id):
        tender, _role = _hall(request, tender_id)
        refusal = perform(request.user, tender, self.action, request.data)
        if refusal:
            code = STATUS_FOR.get(refusal["code"], 400)
            return error_response(code, refusal["code"], refusal["message"],
                                  refusal.get("fields"))
        return Response(hall_state(tender, request.user, _role))


def _action_view(action: str, doc: str):
    view = type(f"Opening{action.title()}Api", (OpeningActionApi,), {"action": action})
    view.post = extend_schema(parameters=[TENDER_ID], request=ACTION_BODIES[action],
                              responses=dict, description=doc)(view.post)
    return view.as_view()


signin = _action_view("signin", "A bidder signs in (签到), before the deadline or in the window.")
decrypt = _action_view("decrypt", "A bidder hands over its data keys within the window "
                                  "(`python -m ggzy_bid unwrap`).")
share = _action_view("share", "A custodian hands over its decrypted share after the window.")
objection = _action_view("objection", "A bidder raises an objection (Reg 44).")
answer = _action_view("answer", "The host answers an objection on the spot.")
confirm = _action_view("confirm", "A bidder confirms the record within the confirmation time.")


class OpeningRecordApi(APIView):
    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer, PdfRenderer]

    @extend_schema(parameters=[TENDER_ID], responses={(200, "application/pdf"): bytes})
    def get(self, request, tender_id):
        """The signed opening record (PDF), once the opening has closed."""
        tender, _role = _hall(request, tender_id)
        session = getattr(tender, "opening", None)
        if session is None or not session.record_sha256:
            raise Http404(_("The record is not published yet."))
        response = FileResponse(session.record.open("rb"), content_type="application/pdf",
                                filename=f"{tender.reference}-opening-record.pdf")
        response["X-Content-SHA256"] = session.record_sha256
        return response


class InclusionProofApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(parameters=[TENDER_ID, OpenApiParameter("sha256", str)], responses=dict)
    def get(self, request, tender_id):
        """The Merkle inclusion proof of an accepted envelope (``?sha256=`` from your
        receipt; bidders get their own without it). Check it with ``python -m ggzy_bid
        verify-inclusion`` against the root printed in the record."""
        tender, role = _hall(request, tender_id)
        if not hasattr(tender, "opening"):
            raise Http404(_("The opening has not started."))
        digest = request.query_params.get("sha256", "")
        if digest:
            bid = selectors.accepted_bid(tender, sha256=digest)
        elif role == "bidder":
            bid = selectors.accepted_bid(tender, bidder_id=request.user.organisation_id)
        else:
            bid = None
        if bid is None:
            raise Http404(_("No accepted envelope with that digest."))
        return Response(opening.inclusion_proof_for(bid))


class MyEnvelopeHeadersApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[TENDER_ID], responses=inline_serializer("EnvelopeHeaders", {
        "bid_header": serializers.CharField(), "price_sheet": serializers.CharField(),
        "sha256": serializers.CharField()}))
    def get(self, request, tender_id):
        """Your current bid's envelope header and sealed price sheet (base64), so your
        own key can unwrap the data keys at the opening without downloading the bid."""
        from crypto import envelope

        tender = access_tender(request.user, tender_id)
        require_bidder(request.user, _("Only bidders have bids."))
        bid = current_bid_of(tender, request.user.organisation_id)
        if bid is None:
            raise Http404(_("No bid."))
        with bid.envelope.open("rb") as fh:
            header = envelope.read_header(fh)
        return Response({"bid_header": base64.b64encode(header.raw).decode(),
                         "price_sheet": base64.b64encode(bytes(bid.price_sheet)).decode(),
                         "sha256": bid.sha256}, status=status.HTTP_200_OK)


class MyKeyShareApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[TENDER_ID], responses=dict)
    def get(self, request, tender_id):
        """Your seat in the tender's custodian set and the headers of every bid still
        pending (custodians only; ``bidding.bids.sealing.custodian_work``). Only your
        private key opens your shares in them: ``python -m ggzy_bid hall-share`` (or the
        hall's custodian panel) decrypts them on your machine and hands them to the hall
        once the decryption window has closed. Legacy tenders also carry your encrypted
        share of their v1 opening key."""
        tender = access_tender(request.user, tender_id)
        share = key_share_of(tender, request.user)
        if share is None:
            raise PermissionDenied(_("You hold no share of this tender's opening key."))
        # Format v2: the headers of every bid still pending, whose shares the
        # custodian's tool decrypts on its machine (bidding.bids.sealing).
        from bidding.bids.sealing import custodian_work

        from .models import BidOpening

        pending = [o.bid for o in BidOpening.objects.filter(
            session__tender=tender, status=BidOpening.Status.PENDING).select_related("bid")]
        return Response(custodian_work(share, pending))
