"""REST endpoints of the award: publicity, objections, the committee and its decision,
notices, deadlines and the contract. Thin: validate the body, call a service, answer with
the state. Refusals come back in ``core.api_errors``' shape (400 with field messages)."""

from __future__ import annotations

import base64

from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from bidding.bids.api import PdfRenderer
from bidding.tenders.policies import access_tender

from . import (
    committee,
    contract,
    deadlines,
    decision,
    policies,
    price_round,
    publicity,
    selectors,
)
from .models import AwardCommittee, AwardDecision, Lottery, Objection, PriceOffer

TENDER_ID = OpenApiParameter("tender_id", str, OpenApiParameter.PATH,
                             description="Numeric id or tender number")


def _body(serializer_class, request) -> dict:
    s = serializer_class(data=request.data)
    s.is_valid(raise_exception=True)
    return s.validated_data


def _objection_json(o: Objection) -> dict:
    return {"id": str(o.public_id), "bidder": o.bidder.name, "text": o.text,
            "raised_at": o.raised_at, "answer_due": o.answer_due, "answer": o.answer,
            "answered_at": o.answered_at, "overdue": bool(o.overdue_since)}


def decision_state(user, tender) -> dict:
    """The decision as the user may see it: the winner once decided; the full record
    (every ballot, draw and opinion) to the tenderer, oversight and the committee, and to
    everybody once the notices are out. Open rounds show who voted, never how."""
    d = AwardDecision.objects.filter(tender=tender).first()
    members = []
    c = AwardCommittee.objects.filter(tender=tender).first()
    if c is not None:
        members = [{"name": m.name, "title": m.title, "chair": m.is_chair}
                   for m in c.members.all()]
    state = {"tender": tender.reference, "status": tender.status,
             "award_method": tender.award_method, "decision_method": tender.decision_method,
             "vote_mode": tender.vote_mode, "committee": members,
             "committee_commitment": c.commitment if c else "", "rounds": [],
             "lottery": None, "decision": None}
    for r in tender.award_rounds.all():
        row = {"number": r.number, "candidates": r.candidates,
               "voted": r.ballots.count(), "closed_at": r.closed_at}
        if r.closed_at:
            names = {c["bid"]: c["bidder"] for c in tender.publicity.candidates}
            row["result"] = {**r.result, "ballots": [
                {**b, "choice_name": names.get(b["choice"], "")} for b in r.result["ballots"]]}
        state["rounds"].append(row)
    lot = Lottery.objects.filter(tender=tender).first()
    if lot is not None:
        state["lottery"] = {"commitment": lot.commitment, "candidates": lot.candidates,
                            "candidates_digest": lot.candidates_digest, "params": lot.params,
                            "public_input": lot.public_input, "result": lot.result,
                            "secret": bytes(lot.secret).hex() if lot.drawn_at else ""}
    if d is not None and (d.notices_at or policies.can_see_record(user, tender)):
        state["decision"] = {"winner": str(d.winner.public_id),
                             "winner_name": d.winner.bidder.name, "method": d.method,
                             "decided_at": d.decided_at, "notices_at": d.notices_at,
                             "record": d.record}
    return state


# ---------------------------------------------------------------- publicity, objections


class PublicityApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(parameters=[TENDER_ID], responses=dict)
    def get(self, request, tender_id):
        """The candidates in publicity (names and prices, Reg 54): public."""
        tender = access_tender(request.user, tender_id)
        state = selectors.publicity_state(tender)
        if state is None:
            raise Http404(_("The candidates have not been published."))
        return Response(state)


class _ObjectionIn(serializers.Serializer):
    text = serializers.CharField()


class _AnswerIn(serializers.Serializer):
    answer = serializers.CharField()


class ObjectionsApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[TENDER_ID], responses=dict)
    def get(self, request, tender_id):
        """Objections to the candidates: all of them for the tenderer and oversight, your
        own for a bidder."""
        tender = access_tender(request.user, tender_id)
        return Response({"objections": [_objection_json(o) for o in
                                        selectors.objections_for(request.user, tender)]})

    @extend_schema(parameters=[TENDER_ID], request=_ObjectionIn, responses=dict)
    def post(self, request, tender_id):
        """A bidder objects to the candidates during publicity (Reg 54)."""
        tender = access_tender(request.user, tender_id)
        data = _body(_ObjectionIn, request)
        o = publicity.objection_raise(user=request.user, tender=tender, text=data["text"])
        return Response(_objection_json(o), status=201)


class ObjectionAnswerApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[TENDER_ID], request=_AnswerIn, responses=dict)
    def post(self, request, tender_id, objection_id):
        """The tenderer answers an objection within 3 days (Reg 54)."""
        tender = access_tender(request.user, tender_id)
        try:
            o = Objection.objects.get(tender=tender, public_id=objection_id)
        except (Objection.DoesNotExist, ValueError):
            raise Http404(_("No such objection.")) from None
        data = _body(_AnswerIn, request)
        o = publicity.objection_answer(user=request.user, objection=o, answer=data["answer"])
        return Response(_objection_json(o))


# ---------------------------------------------------------------- the decision


class _Empty(serializers.Serializer):
    pass


class _Choice(serializers.Serializer):
    choice = serializers.CharField()


class _Round(serializers.Serializer):
    round = serializers.CharField()


class _Value(serializers.Serializer):
    value = serializers.CharField()


class _Appoint(serializers.Serializer):
    members = serializers.ListField(child=serializers.IntegerField(), allow_empty=False)
    chair = serializers.IntegerField()


class _Opinion(serializers.Serializer):
    text = serializers.CharField()
    preferred = serializers.CharField()


class _Decide(serializers.Serializer):
    winner = serializers.CharField()
    reason = serializers.CharField()


def _call(request, tender, body, fn):
    data = _body(body, request) if body is not _Empty else {}
    fn(request.user, tender, data)
    tender.refresh_from_db()
    return Response(decision_state(request.user, tender))


def _action(name: str, body, fn, doc: str):
    class View(APIView):
        permission_classes = [IsAuthenticated]

        @extend_schema(parameters=[TENDER_ID], request=body, responses=dict, description=doc,
                       operation_id=f"award_{name}")
        def post(self, request, tender_id):
            return _call(request, access_tender(request.user, tender_id), body, fn)

    View.__name__ = f"Award{name.title().replace('_', '')}Api"
    return View.as_view()


direct = _action("direct", _Empty, lambda u, t, d: decision.award_direct(user=u, tender=t),
                 "Award to the first-ranked candidate after the publicity (Reg 55).")
start = _action("start", _Empty, lambda u, t, d: decision.award_start(user=u, tender=t),
                "评定分离: hand the decision to the award committee after the publicity.")
appoint = _action("appoint", _Appoint, lambda u, t, d: committee.committee_appoint(
    user=u, tender=t, member_ids=d["members"], chair_id=d["chair"]),
    "Appoint the committee from the tenderer's pool (award_committee_mode=appointed).")
draw_commit = _action("draw_commit", _Round, lambda u, t, d: committee.committee_draw_commit(
    user=u, tender=t, round_name=d["round"]),
    "Commit the committee draw, naming the public round that will give the input.")
draw_input = _action("draw_input", _Value, lambda u, t, d: committee.committee_draw_input(
    user=u, tender=t, value=d["value"]),
    "A supervisor records the public round's value; the committee is drawn.")
vote = _action("vote", _Choice, lambda u, t, d: decision.vote_cast(
    user=u, tender=t, choice=d["choice"]), "A member votes once in the open round.")
lottery_commit = _action("lottery_commit", _Round, lambda u, t, d: decision.lottery_commit(
    user=u, tender=t, round_name=d["round"]), "Commit the lottery before its public input.")
lottery_draw = _action("lottery_draw", _Value, lambda u, t, d: decision.lottery_draw(
    user=u, tender=t, value=d["value"]), "A supervisor records the value; the lottery draws.")
opinion = _action("opinion", _Opinion, lambda u, t, d: decision.opinion_record(
    user=u, tender=t, text=d["text"], preferred=d["preferred"]),
    "A member records an opinion and preferred candidate (collective deliberation).")
decide = _action("decide", _Decide, lambda u, t, d: decision.deliberation_decide(
    user=u, tender=t, winner=d["winner"], reason=d["reason"]),
    "The chair decides after every opinion, with a written reason.")


class _PriceRoundOpen(serializers.Serializer):
    deadline = serializers.DateTimeField()
    window_minutes = serializers.IntegerField(required=False)


class _Sheet(serializers.Serializer):
    price_sheet = serializers.CharField(help_text="the sealed price sheet, base64")


class _SheetKey(serializers.Serializer):
    price_sheet_key = serializers.CharField(help_text="the sheet's 32-byte data key, "
                                            "hex or base64")


class _Share(serializers.Serializer):
    share = serializers.DictField(help_text='{"v": 2, "offers": {sha256: {"x", '
                                  '"price_sheet": base64 share}}}')


def _round_action(name: str, body, fn, doc: str):
    class View(APIView):
        permission_classes = [IsAuthenticated]

        @extend_schema(parameters=[TENDER_ID], request=body, responses=dict, description=doc,
                       operation_id=f"award_price_round_{name}")
        def post(self, request, tender_id):
            tender = access_tender(request.user, tender_id)
            fn(request.user, tender, _body(body, request))
            return Response(selectors.price_round_state(request.user, tender))

    View.__name__ = f"AwardPriceRound{name.title().replace('_', '')}Api"
    return View.as_view()


def _b64(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (ValueError, TypeError):
        raise ValidationError({"price_sheet": [_("Send the sealed price sheet as base64.")]},
                              code="invalid") from None


price_competition = _round_action(
    "open", _PriceRoundOpen,
    lambda u, t, d: decision.price_competition_start(
        user=u, tender=t, deadline=d["deadline"], window_minutes=d.get("window_minutes")),
    "Price competition: open the second sealed price round among the candidates, with its "
    "deadline (at least PRICE_ROUND_MIN_HOURS ahead) and decryption window (minutes).")
price_offer = _round_action(
    "offer", _Sheet,
    lambda u, t, d: price_round.price_offer_submit(user=u, tender=t,
                                                   sheet=_b64(d["price_sheet"])),
    "A candidate submits its sealed second-round price sheet (envelope v2 under the "
    "round's envelope_id, split among the tender's custodian set), once, before the "
    "deadline.")
price_decrypt = _round_action(
    "decrypt", _SheetKey,
    lambda u, t, d: price_round.price_offer_decrypt(user=u, tender=t,
                                                    price_sheet_key=d["price_sheet_key"]),
    "In the round's window: the candidate hands over its price sheet's data key.")
price_share = _round_action(
    "share", _Share,
    lambda u, t, d: price_round.price_round_custodian_share(user=u, tender=t,
                                                            share=d["share"]),
    "A custodian hands over its shares of the sheets nobody decrypted in the window.")


class PriceRoundApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(parameters=[TENDER_ID], responses=dict)
    def get(self, request, tender_id):
        """The price round: phase, times, counters, your offer; prices once closed."""
        tender = access_tender(request.user, tender_id)
        state = selectors.price_round_state(request.user, tender)
        if state is None:
            raise Http404
        return Response(state)


class PriceRoundReceiptApi(APIView):
    permission_classes = [IsAuthenticated]
    renderer_classes = [JSONRenderer, PdfRenderer]

    @extend_schema(parameters=[TENDER_ID], responses={200: dict,
                                                      (200, "application/pdf"): bytes})
    def get(self, request, tender_id, fmt="json"):
        """A candidate: the platform's signed receipt of its second-round offer (the same
        format as a bid's receipt: the SHA-256 of exactly the bytes accepted, the server
        time, the audit tree head), as JSON or as a signed PDF."""
        tender = access_tender(request.user, tender_id)
        offer = PriceOffer.objects.select_related("round__tender", "bidder").filter(
            round__tender=tender, bidder_id=getattr(request.user, "organisation_id", None)
        ).first()
        if offer is None or not offer.receipt:
            raise Http404
        if fmt == "pdf":
            from .pdf.price_receipt import price_offer_receipt_pdf

            response = HttpResponse(price_offer_receipt_pdf(offer),
                                    content_type="application/pdf")
            response["Content-Disposition"] = (
                f'attachment; filename="price-round-receipt-{tender.reference}.pdf"')
            return response
        return Response(offer.receipt)


class PriceRoundMineApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[TENDER_ID], responses=dict)
    def get(self, request, tender_id):
        """A candidate: its own sealed sheet (base64), to unwrap the data key on its
        machine. A custodian: its seat and the pending sheets, to unwrap its shares."""
        tender = access_tender(request.user, tender_id)
        offer = PriceOffer.objects.filter(round__tender=tender,
                                          bidder_id=request.user.organisation_id).first()
        if offer is not None:
            return Response({"sha256": offer.sha256, "status": offer.status,
                             "price_sheet": base64.b64encode(bytes(offer.sheet)).decode()})
        return Response(price_round.custodian_work(user=request.user, tender=tender))
notices = _action("notices", _Empty, lambda u, t, d: decision.notices_issue(user=u, tender=t),
                  "Issue the award notice and the result notices at once (Law 45).")
supervisor_report = _action(
    "supervisor_report", _Empty,
    lambda u, t, d: deadlines.supervisor_report_submit(user=u, tender=t),
    "The tenderer files its report with the supervisor (Law 47).")


class DecisionApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(parameters=[TENDER_ID], responses=dict)
    def get(self, request, tender_id):
        """The committee, the rounds (ballots once each closes), the lottery, the decision."""
        tender = access_tender(request.user, tender_id)
        return Response(decision_state(request.user, tender))


class VerifyApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(parameters=[TENDER_ID], responses=dict)
    def get(self, request, tender_id):
        """Recompute the committee draw and the lottery from their recorded inputs."""
        tender = access_tender(request.user, tender_id)
        out = {}
        c = AwardCommittee.objects.filter(tender=tender, mode="drawn",
                                          formed_at__isnull=False).first()
        if c is not None:
            out["committee"] = {"ok": (v := committee.verify_committee_draw(c)).ok,
                                "problems": [str(p) for p in v.problems]}
        lot = Lottery.objects.filter(tender=tender, drawn_at__isnull=False).first()
        if lot is not None:
            out["lottery"] = {"ok": (v := decision.verify_lottery(lot)).ok,
                              "problems": [str(p) for p in v.problems]}
        return Response(out)


class ReportPdfApi(APIView):
    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer, PdfRenderer]

    @extend_schema(parameters=[TENDER_ID], responses={(200, "application/pdf"): bytes})
    def get(self, request, tender_id):
        """The signed award report, once the notices are out (before: those who decide)."""
        tender = access_tender(request.user, tender_id)
        d = AwardDecision.objects.filter(tender=tender).first()
        if d is None or not (d.notices_at or policies.can_see_record(request.user, tender)):
            raise Http404(_("No award report."))
        return FileResponse(d.report.open("rb"), content_type="application/pdf",
                            filename=f"{tender.reference}-award-report.pdf")


class MyNoticeApi(APIView):
    permission_classes = [IsAuthenticated]
    renderer_classes = [JSONRenderer, PdfRenderer]

    @extend_schema(parameters=[TENDER_ID], responses={(200, "application/pdf"): bytes})
    def get(self, request, tender_id):
        """Your organisation's own notice (award or result); nobody else's."""
        tender = access_tender(request.user, tender_id)
        notice = selectors.notice_of(request.user, tender)
        if notice is None:
            raise Http404(_("No notice for you."))
        return FileResponse(notice.pdf.open("rb"), content_type="application/pdf",
                            filename=f"{tender.reference}-{notice.kind}-notice.pdf")


# ---------------------------------------------------------------- contract


class _Contract(serializers.Serializer):
    document = serializers.FileField()
    terms = serializers.JSONField()


class _Sign(serializers.Serializer):
    number = serializers.IntegerField(min_value=0)
    signature = serializers.CharField()


class _Payment(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=16, decimal_places=2)
    description = serializers.CharField(allow_blank=True, required=False, default="")


class ContractApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[TENDER_ID], responses=dict)
    def get(self, request, tender_id):
        """Signing status, versions, deadlines and payments (the parties and oversight)."""
        tender = access_tender(request.user, tender_id)
        state = selectors.contract_state(tender)
        if not selectors.may_see_contract(request.user, tender):
            raise Http404(_("No contract for you."))
        return Response(state)

    @extend_schema(parameters=[TENDER_ID], request={"multipart/form-data": _Contract},
                   responses=dict)
    def post(self, request, tender_id):
        """The tenderer puts up the contract (document + terms) for both to sign."""
        tender = access_tender(request.user, tender_id)
        data = _body(_Contract, request)
        contract.contract_prepare(user=request.user, tender=tender,
                                  document=data["document"].read(),
                                  document_name=data["document"].name, terms=data["terms"])
        return Response(selectors.contract_state(tender), status=201)


class ContractAmendApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[TENDER_ID], request={"multipart/form-data": _Contract},
                   responses=dict)
    def post(self, request, tender_id):
        """An amendment to the signed contract, signed the same way by both."""
        tender = access_tender(request.user, tender_id)
        data = _body(_Contract, request)
        contract.contract_amend(user=request.user, tender=tender,
                                document=data["document"].read(),
                                document_name=data["document"].name, terms=data["terms"])
        return Response(selectors.contract_state(tender), status=201)


class ContractMessageApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[TENDER_ID, OpenApiParameter("number", int)], responses=dict)
    def get(self, request, tender_id):
        """The exact bytes each party signs for a version (base64), label included."""
        tender = access_tender(request.user, tender_id)
        if not selectors.may_see_contract(request.user, tender):
            raise Http404(_("No contract for you."))
        try:
            number = int(request.query_params.get("number", 0))
            version = tender.contract.versions.get(number=number)
        except Exception:
            raise Http404(_("No such version of the contract.")) from None
        return Response({"label": contract.CONTRACT_LABEL.decode().rstrip("\x00"),
                         "message": base64.b64encode(contract.signing_message(version)).decode(),
                         "number": number})


class ContractSignApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[TENDER_ID], request=_Sign, responses=dict)
    def post(self, request, tender_id):
        """A party signs a version (base64 ECDSA P-256 r||s over label || message)."""
        tender = access_tender(request.user, tender_id)
        data = _body(_Sign, request)
        contract.contract_sign(user=request.user, tender=tender, number=data["number"],
                               signature_b64=data["signature"])
        return Response(selectors.contract_state(tender))


class PaymentsApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[TENDER_ID], request=_Payment, responses=dict)
    def post(self, request, tender_id):
        """The tenderer records a payment under the signed contract."""
        tender = access_tender(request.user, tender_id)
        data = _body(_Payment, request)
        contract.payment_record(user=request.user, tender=tender, amount=data["amount"],
                                description=data["description"])
        return Response(selectors.contract_state(tender), status=201)


class OverdueApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=dict)
    def get(self, request):
        """Supervisors: contracts, reports and objection answers past their deadlines."""
        policies.require_oversight(request.user)
        return Response({"overdue": [
            {"tender": o.tender.reference, "tender_id": o.tender.pk, "what": o.what,
             "due": o.due} for o in selectors.overdue()]})


class _PoolIn(serializers.Serializer):
    user = serializers.IntegerField()
    name = serializers.CharField()
    title = serializers.CharField(required=False, allow_blank=True, default="")


class PoolApi(APIView):
    permission_classes = [IsAuthenticated]

    def _pool(self, request):
        from .models import AwardPoolMember

        return AwardPoolMember.objects.filter(organisation_id=request.user.organisation_id,
                                              active=True)

    @extend_schema(responses=dict)
    def get(self, request):
        """Your organisation's award pool (tenderers)."""
        if not policies.is_tenderer(request.user):
            raise PermissionDenied(_("Only a tenderer has an award pool."))
        return Response({"pool": [{"id": m.pk, "code": m.code, "name": m.name,
                                   "title": m.title} for m in self._pool(request)]})

    @extend_schema(request=_PoolIn, responses=dict)
    def post(self, request):
        """Add one of your organisation's people to its award pool."""
        from accounts.models import User

        data = _body(_PoolIn, request)
        person = User.objects.filter(pk=data["user"]).first()
        if person is None:
            raise ValidationError({"user": [_("No such person.")]})
        m = committee.pool_add(user=request.user, person=person, name=data["name"],
                               title=data["title"])
        return Response({"id": m.pk, "code": m.code, "name": m.name, "title": m.title},
                        status=201)
