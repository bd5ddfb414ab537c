"""REST endpoints for tenders: thin. Validate input, call a service, serialise."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from bidding.tenders import lifecycle, selectors, services
from core.parsers import JSONParser  # the API's parser: deep JSON and NUL are a 400
from core.refusals import refuse

from .policies import (
    access_clarification_as_owner,
    access_register,
    access_tender,
    access_tender_as_owner,
    can_download,
)
from .serializers import (
    AmendmentSerializer,
    AmendmentWriteSerializer,
    ClarificationAnswerSerializer,
    ClarificationAskSerializer,
    ClarificationSerializer,
    DocumentSerializer,
    DocumentUploadSerializer,
    RegistrationSerializer,
    TenderDetailSerializer,
    TenderSerializer,
    TenderWriteSerializer,
    TransitionSerializer,
)

TENDER_ID = OpenApiParameter(
    "tender_id",
    str,
    OpenApiParameter.PATH,
    description="Numeric id or the tender number (e.g. GGZY-2026-000001).",
)


def _detail(request, tender, code=status.HTTP_200_OK):
    return Response(TenderDetailSerializer(tender, context={"request": request}).data, status=code)


class TenderListCreateApi(generics.ListAPIView):
    """Published tenders, searchable by anyone; POST saves a new draft (tenderers)."""

    serializer_class = TenderSerializer
    permission_classes = [AllowAny]

    def get_queryset(self):
        search = selectors.tender_search(self.request.query_params)
        if not search.is_valid():
            raise serializers.ValidationError(search.errors)
        return search.qs

    @extend_schema(
        parameters=[
            OpenApiParameter("q", str, description="Text in title, project, number, tenderer"),
            OpenApiParameter("region", str),
            OpenApiParameter("category", str),
            OpenApiParameter("status", str),
            OpenApiParameter("published_from", str, description="YYYY-MM-DD"),
            OpenApiParameter("published_to", str, description="YYYY-MM-DD"),
            OpenApiParameter("deadline_from", str, description="YYYY-MM-DD"),
            OpenApiParameter("deadline_to", str, description="YYYY-MM-DD"),
            OpenApiParameter("sort", str, enum=list(selectors.SORTS)),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=TenderWriteSerializer, responses={201: TenderDetailSerializer})
    def post(self, request):
        if not request.user.is_authenticated:
            raise PermissionDenied(_("Sign in as a tenderer to create tenders."))
        ser = TenderWriteSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        tender = services.tender_create(user=request.user, data=ser.to_input())
        return _detail(request, tender, status.HTTP_201_CREATED)


class MyTendersApi(generics.ListAPIView):
    """Tenderers: the tenders of their organisation, drafts included. Bidders: the
    tenders whose documents they obtained."""

    serializer_class = TenderSerializer
    permission_classes = [IsAuthenticated]

    def get_queryset(self):
        user = self.request.user
        if getattr(self, "swagger_fake_view", False):
            return selectors.tender_public_list().none()
        return selectors.tenders_of_user(user)


class TenderDetailApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(parameters=[TENDER_ID], responses=TenderDetailSerializer)
    def get(self, request, tender_id):
        return _detail(request, access_tender(request.user, tender_id))

    @extend_schema(
        parameters=[TENDER_ID], request=TenderWriteSerializer, responses=TenderDetailSerializer
    )
    def put(self, request, tender_id):
        """Replace a draft's fields. Published tenders change only by amendment."""
        tender = access_tender_as_owner(request.user, tender_id)
        ser = TenderWriteSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        tender = services.tender_update(user=request.user, tender=tender, data=ser.to_input())
        return _detail(request, tender)


class TenderPublishApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[TENDER_ID], request=None, responses=TenderDetailSerializer)
    def post(self, request, tender_id):
        """Publish a draft after checking every statutory rule."""
        tender = access_tender_as_owner(request.user, tender_id)
        tender = services.tender_publish(user=request.user, tender=tender)
        return _detail(request, tender)


class _CancelIn(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    confirm = serializers.BooleanField(required=False, default=False)


class _ReasonIn(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class TenderCancelApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[TENDER_ID], request=_CancelIn, responses=TenderDetailSerializer)
    def post(self, request, tender_id):
        """Cancel the tender (终止招标, Reg 31): the tenderer or its agency, from a draft or
        while bidding is open. ``reason`` is required and published; everyone who obtained
        the documents is told and bid bonds held become due for refund with interest.
        Irreversible: the body must say ``{"confirm": true}``."""
        tender = access_tender_as_owner(request.user, tender_id)
        if request.data.get("confirm") is not True:
            raise refuse("confirm", _(
                "Not cancelled: confirm that you understand cancelling cannot be undone."),
                "confirm_required")
        ser = _CancelIn(data=request.data)
        ser.is_valid(raise_exception=True)
        tender = services.tender_cancel(user=request.user, tender=tender,
                                        reason=ser.validated_data["reason"], confirmed=True)
        return _detail(request, tender)


class _SupervisorMoveApi(APIView):
    """A supervisor's move of the whole procedure with a reason; ``move`` is the service."""

    permission_classes = [IsAuthenticated]
    move = None

    @extend_schema(parameters=[TENDER_ID], request=_ReasonIn, responses=TenderDetailSerializer)
    def post(self, request, tender_id):
        tender = access_tender(request.user, tender_id)
        ser = _ReasonIn(data=request.data)
        ser.is_valid(raise_exception=True)
        tender = type(self).move(user=request.user, tender=tender,
                                 reason=ser.validated_data.get("reason", ""))
        return _detail(request, tender)


class TenderSuspendApi(_SupervisorMoveApi):
    """The supervisor suspends the procedure (Reg 62); ``reason`` is required."""

    move = staticmethod(services.tender_suspend)


class TenderResumeApi(_SupervisorMoveApi):
    """The supervisor resumes a suspended tender where it was."""

    move = staticmethod(services.tender_resume)


class TenderTransitionsApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[TENDER_ID],
        responses=inline_serializer(
            "TenderTransitions",
            {"status": serializers.CharField(), "available": TransitionSerializer(many=True)},
        ),
    )
    def get(self, request, tender_id):
        """The moves the lifecycle allows from the tender's current status, and who
        (tenderer, supervisor, clock, system) makes each."""
        tender = access_tender(request.user, tender_id)
        return Response(
            {
                "status": tender.status,
                "available": [
                    {"target": e.target, "label": str(e.label), "by": sorted(e.by)}
                    for e in lifecycle.available_transitions(tender)
                ],
            }
        )


class TenderDocumentsApi(APIView):
    permission_classes = [AllowAny]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(parameters=[TENDER_ID], responses=DocumentSerializer(many=True))
    def get(self, request, tender_id):
        tender = access_tender(request.user, tender_id)
        return Response(DocumentSerializer(tender.documents.all(), many=True).data)

    @extend_schema(
        parameters=[TENDER_ID],
        request=DocumentUploadSerializer,
        responses={201: DocumentSerializer},
    )
    def post(self, request, tender_id):
        """Attach a document to a draft (multipart field ``file``)."""
        tender = access_tender_as_owner(request.user, tender_id)
        ser = DocumentUploadSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        doc = services.document_add(
            user=request.user, tender=tender, upload=ser.validated_data["file"]
        )
        return Response(DocumentSerializer(doc).data, status=status.HTTP_201_CREATED)


def _document(tender, document_id):
    try:
        return tender.documents.get(pk=int(document_id))
    except (ValueError, TypeError, tender.documents.model.DoesNotExist):
        raise Http404(_("No such document.")) from None


class TenderDocumentApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[TENDER_ID], responses={204: None})
    def delete(self, request, tender_id, document_id):
        """Remove a document from a draft. Published documents are immutable."""
        tender = access_tender_as_owner(request.user, tender_id)
        services.document_remove(
            user=request.user, tender=tender, document=_document(tender, document_id)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class TenderDocumentDownloadApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(parameters=[TENDER_ID], responses={(200, "application/octet-stream"): bytes})
    def get(self, request, tender_id, document_id):
        """Download a document: bidders after obtaining the documents (``obtain``)."""
        tender = access_tender(request.user, tender_id)
        doc = _document(tender, document_id)
        if not can_download(request.user, tender):
            raise PermissionDenied(_("Obtain the tender documents first."))
        response = FileResponse(doc.file.open("rb"), as_attachment=True, filename=doc.name)
        response["X-Content-SHA256"] = doc.sha256
        return response


class TenderObtainApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[TENDER_ID],
        request=None,
        responses=inline_serializer(
            "Obtained",
            {"tender": serializers.CharField(), "obtained_at": serializers.DateTimeField()},
        ),
    )
    def post(self, request, tender_id):
        """A bidder registers for the tender and obtains its documents (idempotent)."""
        tender = access_tender(request.user, tender_id)
        reg = services.document_obtain(user=request.user, tender=tender)
        return Response({"tender": tender.reference, "obtained_at": reg.obtained_at})


class TenderRegisterApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[TENDER_ID], responses=RegistrationSerializer(many=True))
    def get(self, request, tender_id):
        """Who obtained the documents: tenderer, operators and supervisors only (Law 22)."""
        tender = access_register(request.user, tender_id)
        return Response(RegistrationSerializer(selectors.tender_register(tender), many=True).data)


class ClarificationsApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(parameters=[TENDER_ID], responses=ClarificationSerializer(many=True))
    def get(self, request, tender_id):
        """Answered questions (and, for a bidder, its own pending ones). Askers are never named."""
        tender = access_tender(request.user, tender_id)
        items = selectors.clarifications_visible(tender, request.user)
        return Response(
            ClarificationSerializer(items, many=True, context={"request": request}).data
        )

    @extend_schema(
        parameters=[TENDER_ID],
        request=ClarificationAskSerializer,
        responses={201: ClarificationSerializer},
    )
    def post(self, request, tender_id):
        """A bidder that obtained the documents asks a question."""
        if not request.user.is_authenticated:
            raise PermissionDenied(_("Sign in as a bidder to ask questions."))
        tender = access_tender(request.user, tender_id)
        ser = ClarificationAskSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        item = services.clarification_ask(
            user=request.user, tender=tender, question=ser.validated_data["question"]
        )
        return Response(
            ClarificationSerializer(item, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )


class ClarificationAnswerApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[TENDER_ID],
        request=ClarificationAnswerSerializer,
        responses=ClarificationSerializer,
    )
    def post(self, request, tender_id, clarification_id):
        """The tenderer answers; the answer is published to everyone without the asker."""
        tender = access_tender(request.user, tender_id)
        item = access_clarification_as_owner(request.user, tender, clarification_id)
        ser = ClarificationAnswerSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        item = services.clarification_answer(
            user=request.user, tender=tender, clarification=item, **ser.validated_data
        )
        return Response(ClarificationSerializer(item, context={"request": request}).data)


class AmendmentsApi(APIView):
    permission_classes = [AllowAny]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(parameters=[TENDER_ID], responses=AmendmentSerializer(many=True))
    def get(self, request, tender_id):
        tender = access_tender(request.user, tender_id)
        return Response(AmendmentSerializer(tender.amendments.all(), many=True).data)

    @extend_schema(
        parameters=[TENDER_ID],
        request=AmendmentWriteSerializer,
        responses={201: AmendmentSerializer},
    )
    def post(self, request, tender_id):
        """Publish an amendment (JSON, or multipart with ``files``). Less than 15 days
        before the deadline, the deadline moves to 15 days after it (Law 23, Reg 21)."""
        tender = access_tender_as_owner(request.user, tender_id)
        data = request.data
        if request.FILES:
            data = {
                "text": data.get("text", ""),
                "new_deadline": data.get("new_deadline") or None,
                "files": request.FILES.getlist("files"),
            }
        ser = AmendmentWriteSerializer(data=data)
        ser.is_valid(raise_exception=True)
        amendment = services.amendment_publish(
            user=request.user, tender=tender, **ser.validated_data
        )
        return Response(AmendmentSerializer(amendment).data, status=status.HTTP_201_CREATED)


class TenderCustodyApi(APIView):
    """The tender's custodian set and the custodians' signed endorsements of it."""

    permission_classes = [AllowAny]

    @extend_schema(parameters=[TENDER_ID], responses=dict)
    def get(self, request, tender_id):
        """What a bidder's tool needs to seal (envelope format v2): the custodian-set
        statement, every custodian's endorsement of it, the custodians' encryption keys,
        and whether all have endorsed. Tools verify the endorsements against custodian
        signing keys they pinned out of band; they do not trust this answer."""
        from . import custody

        tender = access_tender(request.user, tender_id)
        info = custody.custody_info(tender)
        if info is None:
            raise Http404(_("This tender has no custodian set yet."))
        return Response(info)

    @extend_schema(
        parameters=[TENDER_ID],
        request=inline_serializer("Endorsement", {"signature": serializers.CharField()}),
        responses=dict,
    )
    def post(self, request, tender_id):
        """A custodian endorses the custodian set: ``signature`` is base64 of its
        signature over the statement (``python -m ggzy_bid custodian-endorse``)."""
        from . import custody

        if not request.user.is_authenticated:
            raise PermissionDenied(_("Log in first."))
        tender = access_tender(request.user, tender_id)
        custody.endorsement_add(user=request.user, tender=tender,
                                signature=str(request.data.get("signature") or ""))
        return Response(custody.custody_info(tender), status=status.HTTP_201_CREATED)
