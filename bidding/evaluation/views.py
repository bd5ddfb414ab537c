"""The evaluation room's pages (评标室): thin. Every page is behind a password and a
second factor (``requires_two_factor``) and the evaluation's own access rule
(``policies.access_evaluation``: members, the tenderer, the trading centre and oversight;
everyone else 404); each page then says who of those it serves. Reads go through
``selectors``, writes through ``services``; the page never decides what a member may see
(暗标 code numbers, others' scores): the selectors do.

Every form works without JavaScript (a normal POST that redirects back); ``room.js``
adds autosave of drafts through the REST API, the live progress over the websocket, and
signing the report with the member's key in the browser.
"""

from __future__ import annotations

import base64
from datetime import datetime

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_http_methods, require_POST

from accounts.policies import is_operator, is_oversight, requires_two_factor
from bidding.opening.models import BidOpening
from bidding.opening.selectors import bid_document_meta, open_bid_document
from core.pdf.watermark import (
    WatermarkError,
    watermark_lines,
    watermark_package,
    watermark_pdf,
)

from . import documents, rules, selectors, services
from .models import SHEET_STAGES, EvaluatedBid, EvaluationReport, Stage
from .policies import access_evaluation, can_manage

# --- access -------------------------------------------------------------------------------


def _room(request, tender_id):
    """(tender, committee, member or None): 404 for outsiders and before the committee
    is formed."""
    tender, committee, member = access_evaluation(request.user, tender_id)
    if committee is None:
        raise Http404(_("The committee has not been formed yet."))
    return tender, committee, member


def _member_room(request, tender_id):
    """A page for members only (active or replaced: a replaced member reads, cannot act)."""
    tender, committee, member = _room(request, tender_id)
    if member is None:
        raise PermissionDenied(_("Only members of the evaluation committee can open this "
                                 "page."))
    return tender, committee, member


def _stage_of(stage: str) -> str:
    if stage not in SHEET_STAGES:
        raise Http404(_("No such stage."))
    return stage


def _refusal_messages(request, exc: Exception) -> None:
    for text in getattr(exc, "messages", None) or [str(exc)]:
        messages.error(request, text)


def _is_chair(committee, member) -> bool:
    return member is not None and committee.chair_id == member.pk


def _stage_label(stage: str) -> str:
    try:
        return str(Stage(stage).label)
    except ValueError:
        return stage


def _room_context(tender, committee, member, **extra) -> dict:
    return {"tender": tender, "committee": committee, "member": member,
            "is_chair": _is_chair(committee, member),
            "stage_label": _stage_label(committee.stage),
            "sheet_stages": [(s, _stage_label(s)) for s in selectors.progress(
                committee)["stages"]], **extra}


# --- room home ----------------------------------------------------------------------------


@requires_two_factor
def room(request, tender_id):
    """The room's home: the stage, my tasks, everyone's progress (live over the
    websocket), the chair election while it runs."""
    tender, committee, member = _room(request, tender_id)
    if member is None and not is_oversight(request.user):
        raise PermissionDenied(_("Only members of the evaluation committee, the trading "
                                 "centre and oversight can open the room."))
    progress = selectors.progress(committee)
    tasks = []
    if member is not None and member.active:
        for st in progress["stages"]:
            sheet = selectors.sheet_view(member, st)
            tasks.append({"stage": st, "label": _stage_label(st),
                          "open": _stage_open(committee, st),
                          "saved_at": sheet["saved_at"],
                          "submitted_at": sheet["submitted_at"],
                          "locked": st in progress["locked"]})
    candidates = list(committee.members.filter(active=True).order_by("pk"))
    voted = member is not None and committee.votes.filter(
        voter=member, round=committee.chair_round).exists()
    return render(request, "evaluation/room.html", _room_context(
        tender, committee, member, progress=progress, tasks=tasks,
        chair_candidates=candidates, voted=voted,
        live=(member is not None and member.active) or is_operator(request.user),
        room_i18n=_room_i18n()))


def _stage_open(committee, stage: str) -> bool:
    order = [Stage.CHAIR, *SHEET_STAGES]
    return committee.stage in order and order.index(stage) <= order.index(committee.stage)


@require_POST
@requires_two_factor
def chair_vote(request, tender_id):
    _tender, committee, _member = _member_room(request, tender_id)
    candidate = committee.members.filter(label=request.POST.get("candidate", "")).first()
    try:
        if candidate is None:
            raise ValidationError(_("Choose a member."))
        services.chair_vote(committee=committee, user=request.user, candidate=candidate)
        messages.success(request, _("Your vote is recorded."))
    except ValidationError as exc:
        _refusal_messages(request, exc)
    return redirect("evaluation:room", tender_id)


# --- criteria and bids ------------------------------------------------------------------


@requires_two_factor
def criteria(request, tender_id):
    tender, committee, member = _member_room(request, tender_id)
    groups = [{"stage": st, "label": _stage_label(st),
               "criteria": selectors.criteria_view(tender, st)} for st in SHEET_STAGES]
    groups = [g for g in groups if g["criteria"]]
    return render(request, "evaluation/criteria.html", _room_context(
        tender, committee, member, groups=groups,
        price={"formula": tender.get_price_formula_display()
               if hasattr(tender, "get_price_formula_display") else "",
               "params": getattr(tender, "price_formula_params", None)}))


def _view_stage(request, committee) -> str:
    stage = request.GET.get("stage") or committee.stage
    if stage not in SHEET_STAGES:
        stage = Stage.COMMERCIAL if committee.stage in (Stage.REPORT, Stage.DONE) \
            else Stage.QUALIFICATION
    return stage


@requires_two_factor
def bids(request, tender_id):
    """The bids of a stage as members see them: under 暗标, in the technical stage before
    its lock, code numbers only (``selectors.bids_view``)."""
    tender, committee, member = _member_room(request, tender_id)
    stage = _view_stage(request, committee)
    rows = selectors.bids_view(committee, stage)
    return render(request, "evaluation/bids.html", _room_context(
        tender, committee, member, view_stage=stage, view_stage_label=_stage_label(stage),
        rows=rows, hidden=selectors.identities_hidden(committee, stage)))


# --- bid documents ------------------------------------------------------------------------


def _evaluated_bid(committee, key: str) -> EvaluatedBid:
    """The bid a room key names: ``b<id>`` or a code number (暗标编号)."""
    key = str(key)
    qs = committee.bids.select_related("bid__bidder", "bid__tender")
    found = None
    if key.startswith("b") and key[1:].isdigit():
        found = qs.filter(pk=int(key[1:])).first()
    elif key.isdigit():
        found = qs.filter(code=key).first()
    if found is None:
        raise Http404(_("No such bid."))
    return found


def _document_reader(request, tender_id, key):
    """(tender, committee, member, evaluated bid, opening row) for someone who may read
    the decrypted bid: an active member while the tender is under evaluation, oversight
    once the committee is formed. Everyone else: 404 (outsiders) or 403."""
    tender, committee, member = _room(request, tender_id)
    evaluating = tender.status == tender.Status.EVALUATION
    allowed = (member is not None and member.active and evaluating) or is_oversight(
        request.user)
    if not allowed:
        raise PermissionDenied(_("Bid documents are open to the committee's active members "
                                 "while the evaluation runs, and to oversight."))
    eb = _evaluated_bid(committee, key)
    item = BidOpening.objects.select_related("bid__tender").filter(bid=eb.bid).first()
    if item is None or bid_document_meta(item) is None:
        raise Http404(_("This bid has no decrypted document."))
    return tender, committee, member, eb, item


def _doc_name(tender, committee, eb, key: str) -> str:
    """A file name that names no bidder while identities are hidden."""
    # Under 暗标 the code only ever names the code's own (technical) view: a named
    # document called by its code would link the two before the technical lock.
    return f"{tender.reference}-{eb.code if key.isdigit() else key}"


def _reader_lines(request, tender, member) -> list[str]:
    user = request.user
    return watermark_lines(
        name=user.get_full_name() or user.get_username(),
        code=member.label if member is not None else user.get_username(),
        tender=tender.reference)


def _watermarked(request, tender, member, item, name: str, *, purpose: str, data=None):
    lines = _reader_lines(request, tender, member)
    meta = bid_document_meta(item)
    if data is None:
        with open_bid_document(item, user=request.user, purpose=purpose) as fh:
            data = fh.read()
    if meta["content_type"] == "pdf":
        try:
            return watermark_pdf(data, lines), "application/pdf", f"{name}.pdf"
        except WatermarkError:
            pass
    return (watermark_package(f"{name}.{'pdf' if meta['content_type'] == 'pdf' else 'bin'}",
                              data, lines), "application/zip", f"{name}.zip")


def _document_part(request, committee, eb, item, key: str, *, purpose: str):
    """暗标 before the technical lock: (part, plaintext) of the document this key may
    see (``documents``: the technical part under the code, the rest under the name);
    (None, None) when the whole document is served."""
    mode = documents.serving_mode(committee, key)
    if mode == documents.WHOLE:
        return None, None
    if bid_document_meta(item)["content_type"] != "zip":
        # Not a package: never under the code; whole under the name (documents).
        return documents.Part(
            mode=mode if mode == documents.TECHNICAL else documents.WHOLE,
            problem=documents.NOT_FOLLOWED, message=documents.not_followed()), None
    try:
        with open_bid_document(item, user=request.user, purpose=purpose) as fh:
            data = documents.read_limited(fh, documents.limits())
    except documents.PackageRefused as exc:
        return documents.Part(mode=mode, problem=exc.code, message=exc.message), None
    return documents.split(data, mode=mode, base=_doc_name(
        committee.tender, committee, eb, key)), data


@requires_two_factor
def bid_document(request, tender_id, key):
    """The document viewer: the watermarked PDF inline, a watermarked download. 暗标
    before the technical lock: the part this key may see, file by file."""
    tender, committee, member, eb, item = _document_reader(request, tender_id, key)
    meta = bid_document_meta(item)
    # A code number (暗标) while identities are hidden: the page names no bidder.
    hidden = selectors.identities_hidden(committee, Stage.TECHNICAL) and key.isdigit()
    part, _data = _document_part(request, committee, eb, item, key,
                                 purpose="evaluation.list")
    if part is not None and part.mode == documents.TECHNICAL and not part.problem:
        documents.check_technical(part)
    return render(request, "evaluation/document.html", _room_context(
        tender, committee, member, key=key, code=eb.code if key.isdigit() else "",
        meta=meta, bidder=None if hidden else eb.bid.bidder.name, part=part,
        inline_url=reverse("evaluation:document_inline", args=[tender.pk, key]),
        download_url=reverse("evaluation:document_download", args=[tender.pk, key])))


def _document_body(request, tender_id, key, *, purpose: str, inline: bool):
    """(body, content type, file name) or an HttpResponse refusing (409: the part is not
    served; 404: no such file)."""
    tender, committee, member, eb, item = _document_reader(request, tender_id, key)
    name = _doc_name(tender, committee, eb, key)
    part, data = _document_part(request, committee, eb, item, key, purpose=purpose)
    if part is None or part.mode == documents.WHOLE:
        return _watermarked(request, tender, member, item, name, purpose=purpose,
                            data=data)
    if part.problem and not part.files:
        return _refused(part.message)
    raw = request.GET.get("file")
    if raw is not None and not raw.isdigit():
        raise Http404(_("No such file."))
    try:
        return documents.render(part, int(raw) if raw else None,
                                _reader_lines(request, tender, member), inline=inline)
    except LookupError:
        raise Http404(_("No such file.")) from None
    except documents.PackageRefused as exc:
        return _refused(exc.message)


def _refused(message: str) -> HttpResponse:
    response = HttpResponse(message, status=409, content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "no-store, private"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@xframe_options_sameorigin
@requires_two_factor
def bid_document_inline(request, tender_id, key):
    """The decrypted document, watermarked with the reader's identity, shown inline (the
    viewer page frames it; only this origin may)."""
    out = _document_body(request, tender_id, key, purpose="evaluation.view", inline=True)
    if isinstance(out, HttpResponse):
        return out
    body, ctype, filename = out
    response = HttpResponse(body, content_type=ctype)
    disposition = "inline" if ctype == "application/pdf" else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response["Cache-Control"] = "no-store, private"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'self'"
    return response


@requires_two_factor
def bid_document_download(request, tender_id, key):
    out = _document_body(request, tender_id, key, purpose="evaluation.download",
                         inline=False)
    if isinstance(out, HttpResponse):
        return out
    body, ctype, filename = out
    response = HttpResponse(body, content_type=ctype)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store, private"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- sheets -------------------------------------------------------------------------------


def _entries_from_form(post, stage: str, rows: list[dict], crit: list[dict]) -> dict:
    """The sheet's entries (``services`` format) from the form's fields:
    ``s-<key>-<n>`` scores; ``q-<key>-<n>`` pass|fail and ``r-<key>-<n>`` reason;
    ``rej-<key>`` Reg 51 grounds (several) with ``rr-<key>`` their reason."""
    entries: dict = {}
    for row in rows:
        key = row["key"]
        if stage == Stage.QUALIFICATION:
            verdicts = {}
            for c in crit:
                n = c["number"]
                v = post.get(f"q-{key}-{n}", "")
                if v in ("pass", "fail"):
                    verdicts[str(n)] = {"passed": v == "pass",
                                        "reason": post.get(f"r-{key}-{n}", "").strip()}
            reason = post.get(f"rr-{key}", "").strip()
            entries[key] = {"criteria": verdicts,
                            "rejections": [{"code": code, "reason": reason}
                                           for code in post.getlist(f"rej-{key}")]}
        else:
            entries[key] = {str(c["number"]): post.get(f"s-{key}-{c['number']}", "").strip()
                            for c in crit}
    return entries


def _sheet_rows(stage: str, rows: list[dict], crit: list[dict], draft: dict) -> list[dict]:
    """What the sheet's form shows: one block per bid, one cell per criterion, with the
    saved draft filled in."""
    out = []
    for row in rows:
        key = row["key"]
        saved = draft.get(key, {})
        cells = []
        for c in crit:
            n = str(c["number"])
            if stage == Stage.QUALIFICATION:
                v = saved.get("criteria", {}).get(n, {})
                cells.append({**c, "passed": v.get("passed"), "reason": v.get("reason", "")})
            else:
                cells.append({**c, "value": saved.get(n, "")})
        rejections = saved.get("rejections", []) if stage == Stage.QUALIFICATION else []
        out.append({"key": key, "code": row.get("code"), "bidder": row.get("bidder"),
                    "cells": cells, "rejections": [r["code"] for r in rejections],
                    "rejection_reason": rejections[0]["reason"] if rejections else ""})
    return out


@require_http_methods(["GET", "POST"])
@requires_two_factor
def sheet(request, tender_id, stage):
    """A member's sheet for a stage: fill, save the draft (also autosaved by room.js
    through the API), submit; after submitting, the committee's scores for the stage."""
    tender, committee, member = _member_room(request, tender_id)
    stage = _stage_of(stage)
    crit = selectors.criteria_view(tender, stage)
    rows = selectors.bids_view(committee, stage)
    if request.method == "POST":
        action = request.POST.get("action")
        entries = _entries_from_form(request.POST, stage, rows, crit)
        try:
            if action == "submit":
                if request.POST.get("confirm") != "on":
                    raise ValidationError(_("Tick the box to confirm: a submitted sheet is "
                                            "locked for you."))
                services.sheet_save_draft(committee=committee, user=request.user,
                                          stage=stage, entries=entries)
                services.sheet_submit(committee=committee, user=request.user, stage=stage)
                messages.success(request, _("Your sheet is submitted."))
            else:
                services.sheet_save_draft(committee=committee, user=request.user,
                                          stage=stage, entries=entries)
                messages.success(request, _("Draft saved."))
            return redirect("evaluation:sheet", tender.pk, stage)
        except ValidationError as exc:
            _refusal_messages(request, exc)
            draft = entries  # show what was typed, with the refusal
    else:
        draft = None
    view = selectors.sheet_view(member, stage)
    if draft is None:
        draft = view["entries"]
    scores = None
    if view["submitted_at"]:
        try:
            scores = _scores_table(selectors.stage_scores(committee, member, stage), crit)
        except PermissionDenied:
            scores = None
    return render(request, "evaluation/sheet.html", _room_context(
        tender, committee, member, stage=stage, stage_name=_stage_label(stage),
        criteria=crit, rows=_sheet_rows(stage, rows, crit, draft), view=view,
        editable=member.active and not view["submitted_at"] and _stage_open(committee,
                                                                            stage)
        and committee.stage not in (Stage.REPORT, Stage.DONE, Stage.FAILED),
        hidden=selectors.identities_hidden(committee, stage),
        rejections=[(c, str(label)) for c, label in rules.Rejection.choices],
        scores=scores, room_i18n=_room_i18n(),
        api_sheet=f"/api/tenders/{tender.pk}/evaluation/sheets/{stage}/"))


def _scores_table(scores: list[dict], crit: list[dict]) -> list[dict]:
    """The committee's submitted scores grouped by bid and member."""
    by: dict = {}
    for s in scores:
        row = by.setdefault((s["key"], s["member"]), {
            "key": s["key"], "bidder": s["bidder"], "member": s["member"], "void": s["void"],
            "cells": {}, "rejections": []})
        if s["criterion"] is None:
            row["rejections"].append(s)
        else:
            row["cells"][s["criterion"]] = s
    out = []
    for row in by.values():
        row["ordered"] = [row["cells"].get(c["number"]) for c in crit]
        out.append(row)
    return out


# --- the chair ----------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@requires_two_factor
def chair(request, tender_id):
    """The chair's desk: everyone's progress per stage, locking the stage, outliers,
    replacements (done by the tenderer or the trading centre), clarification requests."""
    tender, committee, member = _room(request, tender_id)
    is_chair = _is_chair(committee, member)
    manager = can_manage(request.user, tender) and (is_operator(request.user)
                                                    or member is not None)
    if not (is_chair or is_operator(request.user)):
        raise PermissionDenied(_("Only the chair of the committee and the trading centre "
                                 "can open this page."))
    if request.method == "POST":
        try:
            _chair_action(request, committee, member)
        except ValidationError as exc:
            _refusal_messages(request, exc)
        return redirect("evaluation:chair", tender.pk)
    progress = selectors.progress(committee)
    aggregations = []
    for st in progress["stages"]:
        if st == Stage.QUALIFICATION or not is_chair:
            continue
        try:
            aggregations.append({"label": _stage_label(st),
                                 **selectors.aggregation(committee, member, st)})
        except PermissionDenied:
            continue
    backups = []
    if manager and committee.draw_id:
        from expert_pool.models import DrawMember

        taken = set(committee.members.values_list("user_id", flat=True))
        backups = [d for d in DrawMember.objects.select_related("expert").filter(
            draw_id=committee.draw_id, status=DrawMember.Status.CONFIRMED,
            pledged_at__isnull=False) if d.expert.user_id not in taken]
    clar_bids = selectors.bids_view(committee, committee.stage) \
        if committee.stage in SHEET_STAGES else []
    return render(request, "evaluation/chair.html", _room_context(
        tender, committee, member, progress=progress, aggregations=aggregations,
        recorded=selectors.recorded_outliers(committee),
        lockable=committee.stage if committee.stage in SHEET_STAGES else None,
        lockable_label=_stage_label(committee.stage),
        replaced=committee.members.filter(active=False).select_related("replaced_by"),
        active_members=committee.members.filter(active=True).order_by("pk"),
        manager=manager, backups=backups, clar_bids=clar_bids,
        clarifications=selectors.clarifications_for(committee, request.user),
        room_i18n=_room_i18n(), live=True))


def _chair_action(request, committee, member) -> None:
    action = request.POST.get("action")
    if action == "lock":
        services.stage_lock(committee=committee, user=request.user,
                            stage=request.POST.get("stage", ""))
        messages.success(request, _("The stage is locked."))
    elif action == "replace":
        from expert_pool.models import DrawMember

        old = committee.members.filter(label=request.POST.get("member", "")).first()
        if old is None:
            raise ValidationError(_("Choose the member to replace."))
        seat_id = request.POST.get("seat", "")
        seat = DrawMember.objects.select_related("expert").filter(
            pk=int(seat_id)).first() if seat_id.isdigit() else None
        new = services.member_replace(committee=committee, user=request.user, member=old,
                                      reason=request.POST.get("reason", ""),
                                      replacement_seat=seat)
        messages.success(request, _("%(old)s is replaced by %(new)s.")
                         % {"old": old.label, "new": new.label})
    elif action == "clarify":
        deadline = _parse_local(request.POST.get("deadline", ""))
        if deadline is None:
            raise ValidationError(_("Give the deadline for the answer."))
        services.clarification_request(committee=committee, user=request.user,
                                       bid_key_=request.POST.get("bid", ""),
                                       question=request.POST.get("question", ""),
                                       deadline=deadline)
        messages.success(request, _("The clarification request is sent."))
    elif action == "close_report":
        report = EvaluationReport.objects.filter(tender=committee.tender).first()
        if report is None:
            raise Http404(_("The report has not been drawn up yet."))
        services.report_close(report=report, user=request.user)
        messages.success(request, _("Signing is closed; the report stands."))
    else:
        raise ValidationError(_("Unknown action."))


def _parse_local(raw: str) -> datetime | None:
    """A ``datetime-local`` field's value, in the server's time zone."""
    value = parse_datetime(raw.strip()) if raw else None
    if value is None:
        return None
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


# --- the report ---------------------------------------------------------------------------


def _report_of(committee) -> EvaluationReport:
    report = EvaluationReport.objects.filter(tender=committee.tender).first()
    if report is None or not report.sha256:
        raise Http404(_("The report has not been drawn up yet."))
    return report


@require_http_methods(["GET", "POST"])
@requires_two_factor
def report(request, tender_id):
    """The report: read the PDF, sign its digest with one's key (in the browser or with
    the API), or refuse with written dissent (Reg 53)."""
    tender, committee, member = _room(request, tender_id)
    if member is None and not is_oversight(request.user):
        raise PermissionDenied(_("Only members of the evaluation committee and oversight "
                                 "can open the report here."))
    rep = _report_of(committee)
    if request.method == "POST":
        try:
            services.report_refuse(report=rep, user=request.user,
                                   dissent=request.POST.get("dissent", ""))
            messages.success(request, _("Your answer is recorded."))
        except ValidationError as exc:
            _refusal_messages(request, exc)
        return redirect("evaluation:report", tender.pk)
    signatures = list(rep.signatures.select_related("member"))
    mine = next((s for s in signatures if member is not None and s.member_id == member.pk),
                None)
    return render(request, "evaluation/report.html", _room_context(
        tender, committee, member, report=rep, signatures=signatures, mine=mine,
        message_b64=base64.b64encode(services.report_message(rep)).decode(),
        sign_label=services.REPORT_LABEL.rstrip(b"\x00").decode(),
        can_sign=member is not None and member.active and committee.stage == Stage.REPORT
        and rep.completed_at is None and mine is None,
        api_sign=f"/api/tenders/{tender.pk}/evaluation/report/sign/",
        api_report=f"/api/tenders/{tender.pk}/evaluation/report/",
        pdf_url=reverse("evaluation:report_pdf", args=[tender.pk]),
        room_i18n=_room_i18n()))


@xframe_options_sameorigin
@requires_two_factor
def report_pdf(request, tender_id):
    """The report PDF inline (the signed copy once completed)."""
    tender, committee, member = _room(request, tender_id)
    if member is None and not is_oversight(request.user):
        raise PermissionDenied(_("Only members of the evaluation committee and oversight "
                                 "can open the report here."))
    rep = _report_of(committee)
    f = rep.final_pdf if rep.final_pdf else rep.pdf
    with f.open("rb") as fh:
        body = fh.read()
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'inline; filename="{tender.reference}-evaluation-report.pdf"')
    response["X-Content-SHA256"] = rep.sha256
    response["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'self'"
    return response


def _room_i18n() -> dict:
    return {
        "connected": _("Live"), "reconnecting": _("Reconnecting…"),
        "saving": _("Saving…"), "saved_at": _("Saved at %(t)s"),
        "not_saved": _("Not saved: %(m)s"), "offline": _("Offline: your changes are kept "
                                                         "in this page and saved when the "
                                                         "connection returns."),
        "restored": _("Your saved draft was loaded again (saved at %(t)s)."),
        "submitted": _("submitted"), "draft": _("draft"), "none": _("not started"),
        "chair": _("chair"), "replaced": _("replaced"), "locked": _("locked"),
        "signed": _("Signed. Reload the page to see the signatures."),
        "sign_failed": _("Signing failed: %(m)s"), "need_key": _("Choose your key file."),
    }
