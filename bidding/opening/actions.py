"""One place that maps a hall action (from the websocket or the REST API) to its
service, and a refusal to ``{"code", "message"}``."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from bidding.opening import services as opening
from bidding.tenders.policies import access_tender


def perform(user, tender_id, kind: str, content: dict) -> dict | None:
    """Run one action for ``user``; None on success, else the refusal."""
    try:
        tender = access_tender(user, tender_id)
        if kind == "signin":
            opening.opening_signin(user=user, tender=tender)
        elif kind == "decrypt":
            opening.opening_decrypt(
                user=user,
                tender=tender,
                bid_key=content.get("bid_key"),
                price_sheet_key=content.get("price_sheet_key"),
            )
        elif kind == "share":
            opening.opening_custodian_share(
                user=user, tender=tender, share=content.get("share") or {}
            )
        elif kind == "objection":
            opening.opening_objection_raise(user=user, tender=tender, text=content.get("text"))
        elif kind == "answer":
            opening.opening_objection_answer(
                user=user,
                tender=tender,
                objection_id=content.get("objection"),
                answer=content.get("answer"),
            )
        elif kind == "confirm":
            opening.opening_confirm(user=user, tender=tender, remark=content.get("remark", ""))
        else:
            return {"code": "unknown_type", "message": "unknown action"}
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
