"""One place that maps a hall action (from the websocket or the REST API) to its
service, and a refusal to ``{"code", "message"}``.

Every action's input is checked by ONE serializer per message type (``MESSAGES``),
the same for the websocket consumer and the REST endpoints (which also use them as
their documented request bodies): a wrong type, a missing field or a message that
is not an object is refused with ``code: invalid`` before any service runs.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import serializers

from bidding.opening import services as opening
from bidding.tenders.models import Tender
from bidding.tenders.policies import access_tender


class Text(serializers.CharField):
    """A JSON string, nothing else: ``123`` or ``true`` is refused, not turned into text."""

    default_error_messages = {"invalid": gettext_lazy("Must be text.")}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class SigninMessage(serializers.Serializer):
    """``{"type": "signin"}``: a bidder signs in."""


class DecryptMessage(serializers.Serializer):
    """``{"type": "decrypt", "bid_key", "price_sheet_key"}``."""

    bid_key = Text(max_length=200, help_text="The bid envelope's 32-byte data key, hex")
    price_sheet_key = Text(max_length=200, help_text="The price sheet's data key, hex")


class ShareMessage(serializers.Serializer):
    """``{"type": "share", "share": {...}}``."""

    share = serializers.DictField(help_text="Output of `python -m ggzy_bid share-decrypt`")


class ObjectionMessage(serializers.Serializer):
    """``{"type": "objection", "text"}``; an empty text is the service's refusal."""

    text = Text(allow_blank=True, max_length=10_000)


class AnswerMessage(serializers.Serializer):
    """``{"type": "answer", "objection": <id>, "answer"}``."""

    objection = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    answer = Text(allow_blank=True, max_length=10_000)


class ConfirmMessage(serializers.Serializer):
    """``{"type": "confirm", "remark"?}``."""

    remark = Text(required=False, allow_blank=True, max_length=10_000, default="")


MESSAGES: dict[str, type[serializers.Serializer]] = {
    "signin": SigninMessage,
    "decrypt": DecryptMessage,
    "share": ShareMessage,
    "objection": ObjectionMessage,
    "answer": AnswerMessage,
    "confirm": ConfirmMessage,
}


def _first(errors) -> str:
    if isinstance(errors, dict):
        for field, value in errors.items():
            return f"{field}: {_first(value)}" if field != "non_field_errors" else _first(value)
    if isinstance(errors, list) and errors:
        return _first(errors[0])
    return str(errors)


def validate(kind: str, content) -> tuple[dict | None, dict | None]:
    """``(data, None)`` for a well-formed ``kind`` message, else ``(None, refusal)``."""
    serializer_class = MESSAGES.get(kind)
    if serializer_class is None:
        return None, {"code": "unknown_type", "message": _("Unknown message type.")}
    if not isinstance(content, dict):
        return None, {"code": "invalid", "message": _("A message is a JSON object.")}
    serializer = serializer_class(data=content)
    if not serializer.is_valid():
        fields = {k: [str(m) for m in v] if isinstance(v, list) else v
                  for k, v in serializer.errors.items()}
        return None, {"code": "invalid", "message": _first(fields), "fields": fields}
    return serializer.validated_data, None


def perform(user, tender: Tender | int, kind: str, content) -> dict | None:
    """Run one action for ``user`` in ``tender``'s hall: a Tender the caller has just
    fetched with ``access_tender`` (``access_hall`` does), or its id, fetched here. None
    on success, else the refusal (``{"code", "message"}``, with ``fields`` when the
    message itself was malformed)."""
    data, refusal = validate(kind, content)
    if refusal is not None:
        return refusal
    try:
        if not isinstance(tender, Tender):
            tender = access_tender(user, tender)
        if kind == "signin":
            opening.opening_signin(user=user, tender=tender)
        elif kind == "decrypt":
            opening.opening_decrypt(user=user, tender=tender, bid_key=data["bid_key"],
                                    price_sheet_key=data["price_sheet_key"])
        elif kind == "share":
            opening.opening_custodian_share(user=user, tender=tender, share=data["share"])
        elif kind == "objection":
            opening.opening_objection_raise(user=user, tender=tender, text=data["text"])
        elif kind == "answer":
            opening.opening_objection_answer(user=user, tender=tender,
                                             objection_id=data["objection"],
                                             answer=data["answer"])
        elif kind == "confirm":
            opening.opening_confirm(user=user, tender=tender, remark=data["remark"])
    except ValidationError as exc:
        code = "invalid"
        if hasattr(exc, "error_dict"):
            codes = [e.code for errs in exc.error_dict.values() for e in errs if e.code]
            code = codes[0] if codes else code
        return {"code": code, "message": " ".join(exc.messages)}
    except PermissionDenied as exc:
        return {"code": "permission_denied", "message": str(exc) or "not allowed"}
    except Http404 as exc:
        return {"code": "not_found", "message": str(exc) or "not found"}
    return None
