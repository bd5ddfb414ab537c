"""One shape for every API error.

``{"error": {"status": 400, "code": "invalid", "message": "...", "fields": {...}}}``

``fields`` maps each input field to its messages (``non_field_errors`` for the
whole request). Validation errors raised by services (Django's ``ValidationError``)
are converted here, and every app adds its own exceptions with ``register`` from its
``AppConfig.ready()`` (a refused lifecycle move, an upload conflict), so views need no
try/except of their own and this module imports no domain app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


@dataclass(frozen=True)
class ApiError:
    status: int
    code: str
    message: str
    fields: dict | None = None


_registry: dict[type[BaseException], Callable[[BaseException], ApiError]] = {}


def register(exc_type: type[BaseException], convert: Callable[[BaseException], ApiError]) -> None:
    """Answer ``exc_type`` (and its subclasses) with ``convert(exc)`` in the API's shape."""
    _registry[exc_type] = convert


def _registered(exc: BaseException) -> ApiError | None:
    for klass in type(exc).__mro__:
        if convert := _registry.get(klass):
            return convert(exc)
    return None


def _django_validation_fields(exc: DjangoValidationError) -> dict:
    if hasattr(exc, "error_dict"):
        return {
            ("non_field_errors" if k == "__all__" else k): [str(m) for m in v]
            for k, v in exc.message_dict.items()
        }
    return {"non_field_errors": [str(m) for m in exc.messages]}


def _first_message(fields) -> str:
    if isinstance(fields, dict):
        for value in fields.values():
            return _first_message(value)
    if isinstance(fields, list) and fields:
        return _first_message(fields[0])
    return str(fields)


def error_response(status_code: int, code: str, message: str, fields=None) -> Response:
    body = {"status": status_code, "code": code, "message": message}
    if fields:
        body["fields"] = fields
    return Response({"error": body}, status=status_code)


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        fields = _django_validation_fields(exc)
        code = getattr(exc, "code", None) or "invalid"
        if hasattr(exc, "error_dict"):
            codes = [e.code for errs in exc.error_dict.values() for e in errs if e.code]
            code = codes[0] if codes else "invalid"
        return error_response(400, code, _first_message(fields), fields)
    if (known := _registered(exc)) is not None:
        return error_response(known.status, known.code, known.message, known.fields)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) if str(exc) else None)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) if str(exc) else None)

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        return error_response(
            status.HTTP_400_BAD_REQUEST, "invalid", _first_message(fields), fields
        )
    detail = response.data.get("detail", "") if isinstance(response.data, dict) else ""
    code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
    resp = error_response(response.status_code, code, str(detail) or str(exc))
    for header in ("WWW-Authenticate", "Retry-After", "Allow"):
        if header in response:
            resp[header] = response[header]
    return resp


@csrf_exempt
def not_found_api(request, rest=""):
    """Unknown API paths answer in the API's error shape, not an HTML page: for every
    method (a POST is not first refused by the CSRF check with an HTML 403)."""
    from django.http import JsonResponse

    return JsonResponse(
        {"error": {"status": 404, "code": "not_found", "message": "No such API endpoint."}},
        status=404,
    )
