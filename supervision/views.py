import json

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils.translation import gettext as _

from audit import selectors as audit_selectors
from audit.describe import describe
from audit.services import audit_verify, audit_witness_head, kept_tree_heads
from crypto import keys
from crypto.errors import CryptoError

from .access import require_oversight
from .selectors import (
    audit_events_filtered,
    audit_events_visible,
    chain_fields_shown,
    chain_fields_shown_below,
)


def _pem_key(text: str, setting_key):
    """A pasted PEM public key, else the key pinned in settings (None: neither)."""
    text = (text or "").strip()
    if text:
        return keys.verify_key_from_pem(text.encode("ascii"))
    return setting_key


def _verification(request) -> dict | None:
    """Run the verifier when asked: ``?verify=1``, or a POST with kept tree heads (pasted
    or uploaded, as the public feed serves them) and optionally the platform's and the
    witness's public keys to pin. Returns what the page shows: ``ok`` and one line per
    problem, in the words of ``manage.py verify_audit``."""
    from core import platform_keys

    if request.method != "POST" and not request.GET.get("verify"):
        return None
    kept, error = [], None
    platform_key = witness_key = None
    if request.method == "POST":
        text = request.POST.get("kept", "")
        if upload := request.FILES.get("kept_file"):
            text = upload.read(4 * 1024 * 1024).decode("utf-8", "replace")
        try:
            if text.strip():
                kept = kept_tree_heads(json.loads(text))
        except ValueError as exc:
            error = _("The kept tree heads are not the feed's JSON: %(e)s") % {"e": exc}
        try:
            platform_key = _pem_key(request.POST.get("platform_key"),
                                    platform_keys.pinned_verify_key())
            witness_key = _pem_key(request.POST.get("witness_key"), None)
        except (CryptoError, ValueError, OSError) as exc:
            error = _("A public key is not an Ed25519 PEM: %(e)s") % {"e": exc}
        if kept and platform_key is None and not error:
            error = _("Checking kept tree heads needs the platform's public key as you "
                      "pinned it (paste it, or set AUDIT_PINNED_KEY_FILE): never the key "
                      "this server holds now.")
    if error:
        return {"ok": False, "lines": [error]}
    # The witness keeps its own copy of the last head it cosigned: check against it too.
    from_witness, witness_problem = audit_witness_head()
    if platform_key is None:
        platform_key = platform_keys.pinned_verify_key()
    if platform_key is not None:
        kept += from_witness
    result = audit_verify(kept=kept, platform_key=platform_key, witness_key=witness_key)
    details = {"result": result, "witness_problem": witness_problem}
    if result.ok:
        lines = [_("OK: the audit chain is intact")]
        if result.kept:
            lines.append(_("The log is consistent with all %(n)s kept tree heads.")
                         % {"n": result.kept})
        lines += [_("Note: %(n)s") % {"n": n} for n in result.notes]
        if witness_problem:
            lines.append(_("Note: %(n)s") % {"n": witness_problem})
        return {"ok": True, "lines": lines, **details}
    return {"ok": False, "lines": result.lines(), **details}


def _filters(request) -> dict:
    """The viewer's filters from the query string (bad dates and numbers are ignored)."""
    from datetime import date

    def day(name):
        try:
            return date.fromisoformat(request.GET.get(name, ""))
        except ValueError:
            return None

    try:
        seq = int(request.GET.get("seq", ""))
    except ValueError:
        seq = None
    return {"tender": request.GET.get("tender", ""), "actor": request.GET.get("actor", ""),
            "action": request.GET.get("action", ""), "date_from": day("from"),
            "date_to": day("to"), "seq": seq}


@login_required
def audit_trail(request):
    require_oversight(request.user)
    events = audit_events_visible().order_by("-seq")
    if q := request.GET.get("object_id"):
        events = events.filter(object_id=q)
    filters = _filters(request)
    below = chain_fields_shown_below()
    if filters["seq"] is not None and below is not None and filters["seq"] >= below:
        filters["seq"] = -1  # a withheld sequence number is not searchable either
    events = audit_events_filtered(events, **filters)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    # Rows are numbered for this listing only; seq and hashes only where they cannot
    # reveal hidden events (selectors.chain_fields_shown_below). Inclusion proofs exist
    # for events up to the latest signed tree head.
    signed = audit_selectors.latest_signed_size()
    rows = [{"n": page.start_index() + i, "e": e, "chain": chain_fields_shown(e, below),
             "words": describe(e),
             "proof": chain_fields_shown(e, below) and e.seq <= signed}
            for i, e in enumerate(page)]
    verification = _verification(request)
    tree_head = audit_selectors.tree_head_latest()
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("verify", None)
    return render(request, "supervision/audit.html", {
        "page": page, "rows": rows, "verification": verification, "tree_head": tree_head,
        "f": {k: request.GET.get(k, "") for k in ("tender", "actor", "action", "from", "to",
                                                  "seq")},
        "query": query.urlencode()})


@login_required
def audit_verify_page(request):
    """The verifier as a page: events checked, the head, checkpoints, tree heads and
    their cosignatures, every problem. The event count and head hash are withheld while
    bidding is open somewhere (they would count sealed bidders' actions)."""
    from core import platform_keys

    require_oversight(request.user)
    verification = _verification(request) if (request.method == "POST"
                                               or request.GET.get("verify")) else None
    result = verification.pop("result", None) if verification else None
    return render(request, "supervision/audit_verify.html", {
        "verification": verification, "result": result,
        "counts_shown": chain_fields_shown_below() is None,
        "pinned": platform_keys.pinned_verify_key() is not None,
        "tree_head": audit_selectors.tree_head_latest()})


@login_required
def audit_checkpoints(request):
    """The platform's signed checkpoints and tree heads (with the witness's
    cosignatures), newest first, each with its JSON to keep and check offline."""
    require_oversight(request.user)
    from audit.models import AuditCheckpoint

    page = Paginator(AuditCheckpoint.objects.order_by("-seq"), 25).get_page(
        request.GET.get("page"))
    rows = [{"c": c, "item": json.dumps(audit_selectors.tree_head_item(c), indent=1,
                                        ensure_ascii=False) if c.sth else "",
             "statement": json.dumps(c.statement, indent=1, ensure_ascii=False)}
            for c in page]
    return render(request, "supervision/audit_checkpoints.html", {"page": page, "rows": rows})
