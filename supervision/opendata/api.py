"""Public open data: OCDS 1.1 release and record packages (no sign-in)."""

from __future__ import annotations

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from supervision.opendata import ocds

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def _base(request) -> str:
    """``OCDS_BASE_URL`` if set, else the URL this request came to."""
    from django.conf import settings

    configured = getattr(settings, "OCDS_BASE_URL", "")
    return (configured or request.build_absolute_uri("/")).rstrip("/")


def _int(request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise ValidationError({name: [_("Give a whole number from %(low)s to %(high)s.")
                                      % {"low": low, "high": high}]})
    return value


class ReleasesApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        operation_id="ocds_releases",
        parameters=[
            OpenApiParameter("since", str, description="Only releases dated at or after "
                             "this date or date-time (ISO 8601)."),
            OpenApiParameter("tender", str, description="Only this tender (tender number)."),
            OpenApiParameter("limit", int, description=f"Tenders per page (1-{MAX_LIMIT}, "
                             f"default {DEFAULT_LIMIT})."),
            OpenApiParameter("offset", int, description="Tenders to skip (default 0)."),
        ],
        responses={200: OpenApiTypes.OBJECT},
        description="An OCDS 1.1 release package of published tenders (oldest first), "
                    "paginated by tender: the `Link` header names the next page.",
    )
    def get(self, request):
        since = request.query_params.get("since")
        try:
            since_at = ocds.parse_since(since) if since else None
        except ValueError:
            raise ValidationError({"since": [_("Give a date (YYYY-MM-DD) or an ISO 8601 "
                                               "date-time.")]}) from None
        limit = _int(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        offset = _int(request, "offset", 0, 0, 10**9)
        reference = request.query_params.get("tender")
        if reference:
            tenders = ocds.published_tenders().filter(reference=reference)
        elif since_at is not None:
            tenders = ocds.tenders_changed_since(since_at)
        else:
            tenders = ocds.published_tenders()
        page = list(tenders[offset: offset + limit + 1])
        more = len(page) > limit
        base = _base(request)
        package = ocds.release_package(page[:limit], uri=request.build_absolute_uri(),
                                       since=since_at, base=base)
        response = Response(package, content_type="application/json")
        if more:
            query = request.query_params.copy()
            query["offset"] = str(offset + limit)
            query["limit"] = str(limit)
            nxt = request.build_absolute_uri(request.path) + "?" + query.urlencode()
            response["Link"] = f'<{nxt}>; rel="next"'
        return response


class RecordApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        operation_id="ocds_record",
        parameters=[OpenApiParameter("ocid", str, OpenApiParameter.PATH,
                                     description="The contracting process's ocid.")],
        responses={200: OpenApiTypes.OBJECT},
        description="An OCDS 1.1 record package for one tender: its releases and the "
                    "compiled release (OCDS merge rules).",
    )
    def get(self, request, ocid):
        tender = ocds.tender_for_ocid(ocid)
        if tender is None:
            raise Http404(_("No such contracting process."))
        return Response(ocds.record_package(tender, uri=request.build_absolute_uri(),
                                            base=_base(request)),
                        content_type="application/json")
