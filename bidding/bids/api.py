"""REST endpoints for sealed bids: resumable uploads, receipts, withdrawal, bonds.

Upload protocol (see README "Submitting a sealed bid"):

1. ``POST /api/tenders/{id}/bids/uploads/`` with ``{"size", "price_sheet", "claims"}``
   opens an upload and answers ``{"upload_id", "chunk_size", "chunk_count",
   "next_index": 0, ...}``.
2. ``PUT /api/bids/uploads/{upload_id}/chunks/{index}/`` with the raw bytes of chunk
   ``index`` (``chunk_size`` bytes, the last one the rest) and ``X-Chunk-SHA256``.
   Chunks go in order; after a broken connection ``GET /api/bids/uploads/{upload_id}/``
   says which chunk to send next.
3. ``POST /api/bids/uploads/{upload_id}/complete/`` checks the envelope and answers
   the bid and its signed receipt.

An envelope of at most one chunk may instead go in one request:
``POST /api/tenders/{id}/bids/`` (multipart: ``envelope``, ``price_sheet``, optional
``claims`` and ``sha256``) answers the bid and its receipt, as step 3 does.
"""

from __future__ import annotations

import base64
import binascii
import re

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.policies import is_bidder
from bidding.bids import services as bids
from bidding.tenders.policies import access_tender
from core.parsers import loads as json_loads
from core.refusals import refuse

from . import selectors
from .models import Bid, BidBond, BidUpload
from .policies import access_bond_for_refund, access_upload, can_see_refunds_due

TENDER_ID = OpenApiParameter("tender_id", str, OpenApiParameter.PATH,
                             description="Numeric id or tender number")


def client_ip(request) -> str | None:
    from django.conf import settings

    if settings.TRUST_X_FORWARDED_FOR and request.META.get("HTTP_X_FORWARDED_FOR"):
        return request.META["HTTP_X_FORWARDED_FOR"].split(",")[0].strip() or None
    return request.META.get("REMOTE_ADDR") or None


class UploadStateSerializer(serializers.Serializer):
    upload_id = serializers.UUIDField()
    tender = serializers.CharField()
    status = serializers.CharField()
    size = serializers.IntegerField()
    chunk_size = serializers.IntegerField()
    chunk_count = serializers.IntegerField()
    next_index = serializers.IntegerField()
    received_bytes = serializers.IntegerField()
    chunk_sha256 = serializers.ListField(child=serializers.CharField())


def upload_state(upload: BidUpload) -> dict:
    return {
        "upload_id": str(upload.public_id), "tender": upload.tender.reference,
        "status": upload.status, "size": upload.size, "chunk_size": upload.chunk_size,
        "chunk_count": upload.chunk_count, "next_index": upload.next_index,
        "received_bytes": upload.received_bytes, "chunk_sha256": upload.chunk_digests,
    }


class BidSerializer(serializers.Serializer):
    bid_id = serializers.UUIDField()
    tender = serializers.CharField()
    version = serializers.IntegerField()
    status = serializers.CharField()
    sha256 = serializers.CharField()
    size = serializers.IntegerField()
    price_sheet_sha256 = serializers.CharField()
    submitted_at = serializers.DateTimeField()
    withdrawn_at = serializers.DateTimeField(allow_null=True)
    receipt = serializers.DictField()


def bid_out(bid: Bid) -> dict:
    return {
        "bid_id": str(bid.public_id), "tender": bid.tender.reference, "version": bid.version,
        "status": bid.status, "sha256": bid.sha256, "size": bid.size,
        "price_sheet_sha256": bid.price_sheet_sha256, "submitted_at": bid.submitted_at,
        "withdrawn_at": bid.withdrawn_at, "receipt": bid.receipt,
    }


class UploadStartSerializer(serializers.Serializer):
    size = serializers.IntegerField(min_value=1, help_text="Bytes of the sealed envelope")
    price_sheet = serializers.CharField(
        help_text="Base64 of the sealed price sheet: an envelope of the price-sheet JSON to "
                  "the same recipients, for the same tender and bidder")
    claims = serializers.DictField(
        child=serializers.CharField(allow_blank=True), required=False, default=dict,
        help_text="Evidence the client reports: machine_fingerprint, file_author, "
                  "file_creator, file_producer, file_company, tool, mac, disk_serial, hostname")

    def validate_price_sheet(self, value):
        try:
            return base64.b64decode(value, validate=True)
        except (ValueError, binascii.Error):
            raise serializers.ValidationError(_("Not valid base64.")) from None


class UploadStartApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[TENDER_ID], request=UploadStartSerializer,
                   responses={201: UploadStateSerializer})
    def post(self, request, tender_id):
        """Open a resumable upload of a sealed bid (bidders who obtained the documents)."""
        tender = access_tender(request.user, tender_id, with_parties=False)
        ser = UploadStartSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        upload = bids.bid_upload_start(
            user=request.user, tender=tender, size=ser.validated_data["size"],
            price_sheet=ser.validated_data["price_sheet"], claims=ser.validated_data["claims"],
            ip=client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )
        return Response(upload_state(upload), status=status.HTTP_201_CREATED)


class UploadApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=UploadStateSerializer)
    def get(self, request, upload_id):
        """Where an upload stands: resume by sending chunk ``next_index``."""
        return Response(upload_state(access_upload(request.user, upload_id)))

    @extend_schema(responses={204: None})
    def delete(self, request, upload_id):
        """Abandon an upload; the bytes received are deleted."""
        bids.bid_upload_abort(user=request.user, upload_id=upload_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class UploadChunkApi(APIView):
    permission_classes = [IsAuthenticated]
    parser_classes: list = []

    @extend_schema(
        request={"application/octet-stream": bytes},
        parameters=[OpenApiParameter("X-Chunk-SHA256", str, OpenApiParameter.HEADER,
                                     description="Hex SHA-256 of this chunk's bytes")],
        responses=UploadStateSerializer,
    )
    def put(self, request, upload_id, index):
        """Send chunk ``index`` as the raw request body. Out of order, duplicate, short,
        altered or late chunks are refused; nothing of a refused chunk is kept.

        Under ASGI the body is not received before this runs: ``bidding.bids.streaming``
        hands the request a stream that yields the bytes as they arrive, so they are
        written and hashed while they stream in, and a body over the chunk size is
        refused (413) as soon as it passes it."""
        try:
            length = int(request.META.get("CONTENT_LENGTH") or -1)
        except ValueError:
            length = -1
        if length < 0:
            raise exceptions.ValidationError({"chunk": [_("Content-Length is required.")]})
        upload = bids.bid_upload_chunk(
            user=request.user, upload_id=upload_id, index=int(index),
            stream=request._request, length=length,
            sha256=request.META.get("HTTP_X_CHUNK_SHA256"),
        )
        return Response(upload_state(upload))


class UploadCompleteApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={201: BidSerializer})
    def post(self, request, upload_id):
        """Check the whole envelope and submit it as the current bid; the signed receipt
        comes back. Completing twice is refused (409)."""
        bid = bids.bid_upload_complete(user=request.user, upload_id=upload_id)
        return Response(bid_out(bid), status=status.HTTP_201_CREATED)


class _BidPartsHandler(FileUploadHandler):
    """Takes the file parts of a one-request bid as the multipart parser reads them:
    ``envelope`` streams into a ``bids.EnvelopeSink`` (written and hashed as it
    arrives, refused past one chunk), ``price_sheet`` is kept in memory (refused past
    ``PRICE_SHEET_MAX_BYTES``); any other file, or a part sent twice, is refused."""

    chunk_size = 1024 * 1024

    def __init__(self, request=None):
        super().__init__(request)
        self.sink: bids.EnvelopeSink | None = None
        self.price_sheet: bytearray | None = None

    def new_file(self, field_name, *args, **kwargs):
        super().new_file(field_name, *args, **kwargs)
        if field_name == "envelope" and self.sink is None:
            self.sink = bids.EnvelopeSink()
        elif field_name == "price_sheet" and self.price_sheet is None:
            self.price_sheet = bytearray()
        else:
            raise refuse(field_name, _("Unexpected file: send one envelope and one price "
                                       "sheet."), "unexpected_file")

    def receive_data_chunk(self, raw_data, start):
        if self.field_name == "envelope":
            self.sink.write(raw_data)
        else:
            self.price_sheet += raw_data
            if len(self.price_sheet) > settings.PRICE_SHEET_MAX_BYTES:
                raise refuse("price_sheet", _("The sealed price sheet is missing or too "
                                              "large."), "price_sheet_size")
        return None

    def file_complete(self, file_size):
        return None  # kept here, not in request.FILES

    def discard(self) -> None:
        if self.sink is not None:
            self.sink.discard()


SHA256_HEX = re.compile(r"^[0-9a-fA-F]{64}$")


class BidSubmitSerializer(serializers.Serializer):
    """The parts of a one-request bid (for the schema: ``BidSubmitApi`` reads them as
    they stream, through ``_BidPartsHandler``)."""

    envelope = serializers.FileField(help_text="The sealed bid (at most one upload chunk, "
                                               "BID_UPLOAD_CHUNK_BYTES)")
    price_sheet = serializers.FileField(help_text="The sealed price sheet (an envelope of "
                                                  "the price-sheet JSON)")
    claims = serializers.CharField(
        required=False, help_text="JSON object of the evidence the client reports, as for "
                                  "the resumable upload's start")
    sha256 = serializers.RegexField(
        SHA256_HEX, required=False,
        help_text="Hex SHA-256 of the envelope; refused if the bytes received differ")


def _claims(value: str | None) -> dict:
    """The ``claims`` part: a JSON object, refused as the API's JSON bodies are when it
    is nested too deep or holds a NUL (``core.parsers.loads``)."""
    if value in (None, ""):
        return {}
    try:
        claims = json_loads(value)
    except ParseError as exc:
        raise refuse("claims", str(exc.detail), exc.get_codes()) from None
    if not isinstance(claims, dict):
        raise refuse("claims", _("Claims must be a JSON object."), "invalid")
    return claims


class BidSubmitApi(APIView):
    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser]

    @extend_schema(parameters=[TENDER_ID], request={"multipart/form-data": BidSubmitSerializer},
                   responses={201: BidSerializer})
    def post(self, request, tender_id):
        """Submit a sealed bid in one request: the envelope (at most one upload chunk)
        and the sealed price sheet as multipart files. The same checks and the same
        receipt as the resumable upload (start, chunk, complete), in one round trip.

        Refused before any byte is read: late, not a bidder, documents not obtained,
        no bid key. Under ASGI the envelope is written and hashed while it streams in
        (``bidding.bids.streaming``), and a body past the limit is refused (413) as it
        passes it."""
        tender = access_tender(request.user, tender_id, with_parties=False)
        admission = bids.bid_submit_check(user=request.user, tender=tender)
        parts = _BidPartsHandler(request._request)
        request._request.upload_handlers = [parts]
        try:
            data = request.data
            # Streamed (ASGI): a body cut short or running past its length is refused
            # even if the parts read so far look whole.
            if not getattr(request._request._stream, "intact", True):
                raise refuse("__all__", _("The request body ended early or ran past its "
                                          "length; send it again."), "body_incomplete")
            if parts.sink is None or parts.price_sheet is None:
                raise exceptions.ValidationError({
                    name: [_("This file is required.")]
                    for name, got in (("envelope", parts.sink), ("price_sheet",
                                                                 parts.price_sheet))
                    if got is None})
            sha256 = data.get("sha256") or None
            if sha256 is not None and not SHA256_HEX.match(sha256):
                raise refuse("sha256", _("Give the hex SHA-256 of the envelope (64 hex "
                                         "digits)."), "invalid")
            bid = bids.bid_submit(
                user=request.user, tender=tender, sink=parts.sink,
                price_sheet=bytes(parts.price_sheet), claims=_claims(data.get("claims")),
                sha256=sha256, ip=client_ip(request),
                user_agent=request.META.get("HTTP_USER_AGENT", ""), admission=admission,
            )
        finally:
            parts.discard()
        return Response(bid_out(bid), status=status.HTTP_201_CREATED)


def _my_bids(request, tender):
    if not is_bidder(request.user):
        raise PermissionDenied(_("Only bidders have bids."))
    return selectors.bids_of(tender, request.user.organisation_id)


class MyBidApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[TENDER_ID], responses=inline_serializer("MyBids", {
        "current": BidSerializer(allow_null=True), "versions": BidSerializer(many=True)}))
    def get(self, request, tender_id):
        """Your organisation's bid on this tender (only you can see it)."""
        tender = access_tender(request.user, tender_id)
        versions = list(_my_bids(request, tender))
        current = next((b for b in versions if b.status == Bid.Status.SUBMITTED), None)
        return Response({"current": bid_out(current) if current else None,
                         "versions": [bid_out(b) for b in versions]})


class PdfRenderer(BaseRenderer):
    """Lets a client ask for ``Accept: application/pdf``; the view returns the bytes."""

    media_type = "application/pdf"
    format = "pdf"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


class MyReceiptApi(APIView):
    permission_classes = [IsAuthenticated]
    renderer_classes = [JSONRenderer, PdfRenderer]

    @extend_schema(parameters=[TENDER_ID, OpenApiParameter("version", int)],
                   responses={200: dict, (200, "application/pdf"): bytes})
    def get(self, request, tender_id, fmt="json"):
        """The signed receipt of your current bid (or ``?version=N``), as JSON or PDF."""
        tender = access_tender(request.user, tender_id)
        versions = list(_my_bids(request, tender))
        wanted = request.query_params.get("version")
        bid = next((b for b in versions if str(b.version) == wanted), None) if wanted else \
            next((b for b in versions if b.status == Bid.Status.SUBMITTED), None)
        if bid is None:
            raise exceptions.NotFound(_("No such bid."))
        if fmt == "pdf":
            from .pdf.receipt import receipt_pdf

            response = HttpResponse(receipt_pdf(bid), content_type="application/pdf")
            response["Content-Disposition"] = (
                f'attachment; filename="receipt-{tender.reference}-v{bid.version}.pdf"')
            return response
        return Response(bid.receipt)


class WithdrawApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[TENDER_ID], request=None, responses=BidSerializer)
    def post(self, request, tender_id):
        """Withdraw your bid before the deadline; a bond paid is refunded within 5 days.

        Irreversible for this bid: the body must say ``{"confirm": true}``."""
        tender = access_tender(request.user, tender_id)
        if is_bidder(request.user) and request.data.get("confirm") is not True:
            raise refuse("confirm", _(
                "Not withdrawn: confirm that you understand your bid will no longer count."),
                "confirm_required")
        return Response(bid_out(bids.bid_withdraw(user=request.user, tender=tender)))


class BondSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    kind = serializers.ChoiceField(choices=BidBond.Kind.choices)
    payer_account = serializers.CharField(max_length=40)
    payer_name = serializers.CharField(max_length=200)
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True)


def bond_out(bond: BidBond) -> dict:
    """The bond for its own bidder (its ``id`` is the random public id)."""
    return {"id": str(bond.public_id), "tender": bond.tender.reference,
            "bidder": bond.bidder.name,
            "amount": str(bond.amount), "kind": bond.kind, "payer_account": bond.payer_account,
            "payer_name": bond.payer_name, "paid_at": bond.paid_at,
            "from_basic_account": bond.from_basic_account, "status": bond.status,
            "refund_due_by": bond.refund_due_by, "refunded_at": bond.refunded_at}


class BondApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[TENDER_ID], request=BondSerializer, responses={201: dict})
    def post(self, request, tender_id):
        """Record your bid bond. One not paid from your basic account is flagged (Reg 26)."""
        tender = access_tender(request.user, tender_id)
        ser = BondSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        bond = bids.bond_record(user=request.user, tender=tender, **ser.validated_data)
        return Response(bond_out(bond), status=status.HTTP_201_CREATED)

    @extend_schema(parameters=[TENDER_ID], responses=dict)
    def get(self, request, tender_id):
        tender = access_tender(request.user, tender_id)
        if not is_bidder(request.user):
            raise PermissionDenied(_("Only bidders have bonds."))
        bond = selectors.bond_of(tender, request.user.organisation_id)
        if bond is None:
            raise exceptions.NotFound(_("No bond recorded."))
        return Response(bond_out(bond))


class RefundDueSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id", help_text="The bond's public id")
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    kind = serializers.CharField()
    transfer_reference = serializers.CharField(help_text="The bank transfer's reference")
    refund_due_by = serializers.DateTimeField(allow_null=True)
    sealed = serializers.BooleanField(
        help_text="Bidding on the tender has not closed: tender and bidder are withheld")
    tender = serializers.CharField(allow_null=True)
    bidder = serializers.CharField(allow_null=True)
    payer_account = serializers.CharField(allow_null=True)
    payer_name = serializers.CharField(allow_null=True)
    from_basic_account = serializers.BooleanField(allow_null=True)


class RefundsDueApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=RefundDueSerializer(many=True))
    def get(self, request):
        """Bonds due for refund, soonest first (the trading centre). Until the tender's
        bidding has closed a row names no tender and no bidder (``sealed: true``):
        pay it by its ``id`` and the bank transfer's reference (Reg 35: 5 days)."""
        if not can_see_refunds_due(request.user):
            raise PermissionDenied(_("Only the trading centre sees refunds due."))
        return Response(RefundDueSerializer(selectors.refunds_due(), many=True).data)


class RefundDoneApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=inline_serializer("RefundDone", {
        "id": serializers.UUIDField(), "status": serializers.CharField(),
        "refunded_at": serializers.DateTimeField()}),
        parameters=[OpenApiParameter("bond_id", OpenApiTypes.UUID, OpenApiParameter.PATH,
                                     description="The bond's public id (a UUID)")])
    def post(self, request, bond_id):
        """Record that the bond was refunded (the trading centre). The answer names
        no tender or bidder, as the listing before the deadline does not."""
        bond = access_bond_for_refund(request.user, bond_id)
        bond = bids.bond_mark_refunded(user=request.user, bond=bond)
        return Response({"id": str(bond.public_id), "status": bond.status,
                         "refunded_at": bond.refunded_at})
