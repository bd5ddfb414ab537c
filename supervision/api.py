from datetime import date

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from audit import selectors as audit_selectors
from audit.models import AuditEvent
from audit.services import audit_verify
from core.refusals import refuse

from .access import require_oversight
from .selectors import (
    audit_events_filtered,
    audit_events_visible,
    chain_fields_shown,
    chain_fields_shown_below,
)


class AuditEventSerializer(serializers.ModelSerializer):
    """An event as the viewer lists it. ``seq``, ``prev_hash`` and ``hash`` are null
    for events after the creation of the earliest tender still open for bidding:
    their gaps would count the bidders' actions still hidden (``seq`` is inside the
    hash, so the hash would give it away too)."""

    seq = serializers.SerializerMethodField()
    prev_hash = serializers.SerializerMethodField()
    hash = serializers.SerializerMethodField()

    def _shown(self, event) -> bool:
        if "chain_below" not in self.context:
            return False  # no cut computed: withhold rather than leak
        return chain_fields_shown(event, self.context["chain_below"])

    def get_seq(self, event) -> int | None:
        return event.seq if self._shown(event) else None

    def get_prev_hash(self, event) -> str | None:
        return event.prev_hash if self._shown(event) else None

    def get_hash(self, event) -> str | None:
        return event.hash if self._shown(event) else None

    class Meta:
        model = AuditEvent
        fields = [
            "seq",
            "time",
            "actor",
            "action",
            "object_type",
            "object_id",
            "summary",
            "payload_digest",
            "prev_hash",
            "hash",
        ]


@extend_schema(parameters=[
    OpenApiParameter("tender", str, required=False, description="a tender's reference"),
    OpenApiParameter("actor", str, required=False, description="a user name"),
    OpenApiParameter("action", str, required=False, description="an action prefix"),
    OpenApiParameter("from", str, required=False, description="first day, YYYY-MM-DD"),
    OpenApiParameter("to", str, required=False, description="last day, YYYY-MM-DD"),
    OpenApiParameter("object_id", str, required=False),
])
class AuditEventsApi(generics.ListAPIView):
    """The audit chain, oldest first (supervisors and operators), filtered by tender
    (reference), actor, action prefix and date range (local days, inclusive)."""

    serializer_class = AuditEventSerializer
    permission_classes = [IsAuthenticated]

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False):
            context["chain_below"] = chain_fields_shown_below()
        return context

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return AuditEvent.objects.none()
        require_oversight(self.request.user)
        qs = audit_events_visible().order_by("seq")
        params = self.request.query_params
        if object_id := params.get("object_id"):
            qs = qs.filter(object_id=object_id)
        days = {}
        for name in ("from", "to"):
            if raw := params.get(name):
                try:
                    days[name] = date.fromisoformat(raw)
                except ValueError:
                    raise refuse(name, _("Dates are YYYY-MM-DD."), "invalid") from None
        # ``action`` is a prefix: ``bid.`` gives every bid event, ``bid.submit`` those.
        return audit_events_filtered(qs, tender=params.get("tender", ""),
                                     actor=params.get("actor", ""),
                                     action=params.get("action", ""),
                                     date_from=days.get("from"), date_to=days.get("to"))


class AuditVerifyApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        responses=inline_serializer(
            "AuditVerification",
            {
                "ok": serializers.BooleanField(),
                "bad_seq": serializers.IntegerField(allow_null=True),
                "reason": serializers.CharField(),
                "line": serializers.CharField(),
            },
        )
    )
    def get(self, request):
        """Recompute the whole chain now; report the first broken event.

        The answer gives no event count or head hash: those change whenever a bidder
        acts, and who bids is secret until the deadline. ``manage.py verify_audit`` on
        the server prints both."""
        require_oversight(request.user)
        r = audit_verify()
        line = "OK: the audit chain is intact" if r.ok else r.line()
        return Response({"ok": r.ok, "bad_seq": r.bad_seq, "reason": r.reason, "line": line})


# -- The public log: tree heads and proofs (Certificate Transparency style) -------------
#
# Anyone may read these without signing in: they carry sizes, root hashes, proof hashes
# and signatures, never an event's contents, so sealed bidders' events stay sealed.

class TreeHeadItem(serializers.Serializer):
    """One entry of the feed, as kept for ``verify_audit --against``."""

    sth = serializers.JSONField(help_text="a signed tree head (crypto.log): v, type, log, "
                                          "size, root, timestamp, key, signature")
    cosignature = serializers.JSONField(allow_null=True, help_text="the witness's "
                                        "cosignature of the tree head (crypto.log), or null")


class _TreeHeadPagination(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


class _PublicLogApi(APIView):
    permission_classes = [AllowAny]

    @staticmethod
    def _int(request, name: str, default: int | None = None) -> int:
        raw = request.query_params.get(name)
        if raw in (None, "") and default is not None:
            return default
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise refuse(name, _("%(name)s must be a whole number.") % {"name": name},
                         "invalid") from None
        if value < 0:
            raise refuse(name, _("%(name)s must not be negative.") % {"name": name}, "invalid")
        return value


class AuditTreeHeadsApi(generics.ListAPIView):
    """Every signed tree head of the audit log, oldest first, with the witness's
    cosignature: keep them (``verify_audit --against``). Public, paginated
    (``?page=N``, ``?page_size=`` up to 1000)."""

    permission_classes = [AllowAny]
    pagination_class = _TreeHeadPagination
    serializer_class = TreeHeadItem

    def get_queryset(self):
        return audit_selectors.tree_heads()


class AuditTreeHeadLatestApi(_PublicLogApi):
    @extend_schema(responses={200: TreeHeadItem, 404: None})
    def get(self, request):
        """The latest signed tree head and its witness cosignature (404 before the first)."""
        latest = audit_selectors.tree_head_latest()
        if latest is None:
            raise NotFound(_("No tree head has been signed yet."))
        return Response(TreeHeadItem(audit_selectors.tree_head_item(latest)).data)


class AuditConsistencyApi(_PublicLogApi):
    @extend_schema(
        parameters=[
            OpenApiParameter("first", int, description="the older tree size (>= 1)"),
            OpenApiParameter("second", int, required=False,
                             description="the newer tree size (default: the latest signed)"),
        ],
        responses=inline_serializer("AuditConsistencyProof", {
            "first": serializers.IntegerField(), "second": serializers.IntegerField(),
            "first_root": serializers.CharField(), "second_root": serializers.CharField(),
            "proof": serializers.ListField(child=serializers.CharField()),
        }),
    )
    def get(self, request):
        """The consistency proof between two tree sizes (RFC 9162 2.1.4), recomputed from
        the events: check it with ``crypto.log.verify_consistency`` against the roots of
        two signed tree heads you hold. Sizes up to the latest signed tree head."""
        signed = audit_selectors.latest_signed_size()
        second = self._int(request, "second", signed)
        first = self._int(request, "first")
        if not 1 <= first <= second <= signed:
            raise refuse("first", _("Sizes must satisfy 1 ≤ first ≤ second ≤ %(signed)s, "
                                    "the latest signed tree size.") % {"signed": signed},
                         "size_out_of_range")
        return Response(audit_selectors.consistency(first, second))


class AuditInclusionApi(_PublicLogApi):
    @extend_schema(
        parameters=[
            OpenApiParameter("seq", int, description="the event's sequence number"),
            OpenApiParameter("size", int, required=False,
                             description="the tree size (default: the latest signed)"),
        ],
        responses=inline_serializer("AuditInclusionProof", {
            "seq": serializers.IntegerField(), "leaf_index": serializers.IntegerField(),
            "size": serializers.IntegerField(), "leaf": serializers.CharField(),
            "root": serializers.CharField(),
            "path": serializers.ListField(child=serializers.CharField()),
        }),
    )
    def get(self, request):
        """The inclusion proof of event ``#seq`` (leaf ``seq - 1``: its chain hash) in the
        tree of ``size`` (RFC 9162 2.1.3): check it with ``crypto.log.verify_inclusion``
        against a signed tree head's root. The event's contents are not given. While
        bidding is open, events from the first open tender's creation on answer 404, as
        the viewer withholds their hashes (a bidder's sealed action among them)."""
        signed = audit_selectors.latest_signed_size()
        size = self._int(request, "size", signed)
        seq = self._int(request, "seq")
        if not 1 <= seq <= size <= signed:
            raise refuse("seq", _("Need 1 ≤ seq ≤ size ≤ %(signed)s, the latest signed tree "
                                  "size.") % {"signed": signed}, "size_out_of_range")
        event = audit_events_visible().filter(seq=seq).first()
        # A bidder's sealed action gets no proof before the bidding closes, nor does any
        # event whose hash the viewer withholds (selectors.chain_fields_shown_below).
        if event is None or not chain_fields_shown(event, chain_fields_shown_below()):
            raise NotFound(_("No such event, or it is sealed until the bidding closes."))
        return Response(audit_selectors.inclusion(seq, size))


class CheckpointSerializer(serializers.Serializer):
    """A signed checkpoint: the chain head at ``seq`` (``statement``, signed by the
    platform) and the tree head over the first ``seq`` events (``sth``) with the witness's
    cosignature; ``witness_error`` when the witness refused or was down."""

    seq = serializers.IntegerField()
    time = serializers.DateTimeField()
    head_hash = serializers.CharField()
    statement = serializers.JSONField()
    root_hash = serializers.CharField()
    sth = serializers.JSONField(allow_null=True)
    cosignature = serializers.JSONField(allow_null=True)
    witness_error = serializers.CharField()


class AuditCheckpointsApi(generics.ListAPIView):
    """The platform's signed checkpoints, newest first (supervisors and operators): keep
    the ``sth`` and ``cosignature`` of any and check them with ``verify_audit --against``."""

    serializer_class = CheckpointSerializer
    permission_classes = [IsAuthenticated]

    def get_queryset(self):
        from audit.models import AuditCheckpoint

        if getattr(self, "swagger_fake_view", False):
            return AuditCheckpoint.objects.none()
        require_oversight(self.request.user)
        return AuditCheckpoint.objects.order_by("-seq")
