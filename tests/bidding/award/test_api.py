"""The award's REST API: every action, its refusals in the error shape, who may see what."""

import base64
from datetime import timedelta

import pytest
import time_machine
from rest_framework.test import APIClient

from bidding.award import contract as contracts
from bidding.award.models import Notice
from bidding.tenders.models import Tender
from crypto import signing
from tests import factories

pytestmark = pytest.mark.django_db
S = Tender.Status


def _as(user=None) -> APIClient:
    c = APIClient()
    if user is not None:
        c.force_authenticate(user=user)
    return c


def _error(response, status, code=None):
    assert response.status_code == status, response.content
    body = response.json()["error"]
    if code:
        assert body["code"] == code, body
    return body


def _base(tender):
    return f"/api/tenders/{tender.pk}/award/"


def test_publicity_is_public_with_names_and_prices():
    tender, users, bids = factories.candidates_tender()
    r = _as().get(_base(tender) + "publicity/")
    assert r.status_code == 200
    body = r.json()
    assert body["running"] is True
    assert body["candidates"][0] == {"bidder": bids[0].bidder.name,
                                     "credit_code": bids[0].bidder.credit_code, "rank": 1,
                                     "price": "9500000.00"}


def test_objection_api_raise_list_answer_and_refusals():
    tender, users, bids = factories.candidates_tender()
    base = _base(tender)
    _error(_as(users[0]).post(base + "objections/", {}, format="json"), 400)
    assert "text" in _as(users[0]).post(base + "objections/", {}, format="json").json()[
        "error"]["fields"]
    _error(_as(factories.bidder()).post(base + "objections/", {"text": "x"}, format="json"),
           400, "not_a_bidder")
    r = _as(users[0]).post(base + "objections/", {"text": "异议内容"}, format="json")
    assert r.status_code == 201
    oid = r.json()["id"]
    assert [o["id"] for o in _as(users[0]).get(base + "objections/").json()["objections"]] == [oid]
    assert _as(users[1]).get(base + "objections/").json()["objections"] == []
    assert len(_as(tender.created_by).get(base + "objections/").json()["objections"]) == 1
    _error(_as(users[1]).post(base + f"objections/{oid}/answer/", {"answer": "a"},
                              format="json"), 403)
    with time_machine.travel(tender.publicity.ends_at + timedelta(minutes=1), tick=False):
        _error(_as(tender.created_by).post(base + "direct/"), 400, "objection_open")
        _error(_as(users[0]).post(base + "objections/", {"text": "late"}, format="json"), 400,
               "outside_publicity")
        r = _as(tender.created_by).post(base + f"objections/{oid}/answer/", {"answer": "答复"},
                                        format="json")
        assert r.status_code == 200 and r.json()["answered_at"]


def test_direct_award_api_and_own_notice_only():
    tender, users, bids = factories.candidates_tender()
    base = _base(tender)
    _error(_as(tender.created_by).post(base + "direct/"), 400, "publicity_running")
    with time_machine.travel(tender.publicity.ends_at + timedelta(minutes=1), tick=False):
        _error(_as(users[0]).post(base + "direct/"), 403)
        _error(_as().post(base + "direct/"), 401)
        r = _as(tender.created_by).post(base + "direct/")
    assert r.status_code == 200, r.content
    assert r.json()["decision"]["winner"] == str(bids[0].public_id)
    tender.refresh_from_db()
    assert tender.status == S.AWARDED
    for i, u in enumerate(users):
        r = _as(u).get(base + "notice.pdf", HTTP_ACCEPT="application/pdf")
        assert r.status_code == 200
        body = b"".join(r.streaming_content)
        mine = Notice.objects.get(tender=tender, organisation=u.organisation)
        mine.pdf.open("rb")
        assert body == mine.pdf.read()
        assert mine.kind == ("award" if i == 0 else "result")
    assert _as(factories.bidder()).get(base + "notice.pdf").status_code == 404
    assert _as().get(base + "report.pdf").status_code == 200  # published with the notices


def test_price_round_through_the_api_and_another_method_refused():
    import json

    from bidding.award import price_round
    from crypto import envelope

    tender, users, bids = factories.candidates_tender(
        award_method="separate", decision_method="price_competition",
        committee_mode="appointed", committee_size=3, n_bids=4)
    base = _base(tender)
    now = tender.publicity.ends_at + timedelta(minutes=1)
    with time_machine.travel(now, tick=False):
        assert _as(tender.created_by).post(base + "start/").status_code == 200
        _error(_as(tender.created_by).post(base + "lottery/commit/", {"round": "R"},
                                           format="json"), 400, "wrong_method")
        _error(_as(users[0]).post(base + "price-competition/", {
            "deadline": (now + timedelta(days=2)).isoformat()}, format="json"), 403)
        _error(_as(tender.created_by).post(base + "price-competition/", {
            "deadline": (now + timedelta(hours=2)).isoformat()}, format="json"), 400,
            "deadline_too_soon")
        r = _as(tender.created_by).post(base + "price-competition/", {
            "deadline": (now + timedelta(days=2)).isoformat(), "window_minutes": 30},
            format="json")
        assert r.status_code == 200 and r.json()["phase"] == "sealing"
        _error(_as(tender.created_by).post(base + "price-competition/", {
            "deadline": (now + timedelta(days=2)).isoformat()}, format="json"), 400,
            "round_exists")
        sheet = factories.seal_for(tender, users[0], json.dumps(
            {"total_price": "9400000.00"}).encode(), tender_id=price_round.envelope_id(tender))
        b64 = base64.b64encode(sheet).decode()
        _error(_as(users[3]).post(base + "price-round/offer/", {"price_sheet": b64},
                                  format="json"), 400, "not_a_candidate")
        r = _as(users[0]).post(base + "price-round/offer/", {"price_sheet": b64},
                               format="json")
        assert r.status_code == 200 and r.json()["you"]["status"] == "pending"
        _error(_as(users[0]).post(base + "price-round/offer/", {"price_sheet": b64},
                                  format="json"), 400, "already_submitted")
        assert _as().get(base + "price-round/").json()["result"] is None
    deadline = tender.price_round.deadline
    from core import clock

    clock.tick(now=deadline)
    with time_machine.travel(deadline + timedelta(minutes=1), tick=False):
        mine = _as(users[0]).get(base + "price-round/mine/").json()
        key = envelope.unwrap_data_key(base64.b64decode(mine["price_sheet"]),
                                       factories.PRIVATE_KEYS[users[0].username],
                                       label="bidder")
        _error(_as(users[0]).post(base + "price-round/decrypt/",
                                  {"price_sheet_key": "00" * 32}, format="json"), 400,
               "wrong_key")
        r = _as(users[0]).post(base + "price-round/decrypt/",
                               {"price_sheet_key": key.hex()}, format="json")
        assert r.json()["you"]["status"] == "decrypted"
        assert r.json()["result"] is None  # nothing announced before the close
    tender.price_round.refresh_from_db()
    clock.tick(now=tender.price_round.window_ends_at)
    state = _as().get(base + "price-round/").json()
    assert state["phase"] == "closed"
    assert state["result"]["winner"] == str(bids[0].public_id)
    assert state["result"]["price"] == "9400000.00"


def test_committee_lottery_flow_over_the_api_and_verification():
    tender, users, bids = factories.candidates_tender(
        award_method="separate", decision_method="lottery", committee_mode="drawn",
        committee_size=3, ranked=False)
    base = _base(tender)
    pool = factories.award_pool(tender, 5)
    sup = factories.supervisor()
    with time_machine.travel(tender.publicity.ends_at + timedelta(minutes=1), tick=False):
        assert _as(tender.created_by).post(base + "start/").status_code == 200
        _error(_as(tender.created_by).post(base + "committee/appoint/", {
            "members": [p.pk for p in pool[:3]], "chair": pool[0].pk}, format="json"), 400,
            "wrong_mode")
        _error(_as(tender.created_by).post(base + "committee/draw/commit/", {}, format="json"),
               400)
        r = _as(tender.created_by).post(base + "committee/draw/commit/", {"round": "R1"},
                                        format="json")
        assert r.json()["committee_commitment"]
        _error(_as(tender.created_by).post(base + "committee/draw/input/", {"value": "1"},
                                           format="json"), 403)
        r = _as(sup).post(base + "committee/draw/input/", {"value": "1 2 3"}, format="json")
        assert len(r.json()["committee"]) == 3
        r = _as(tender.created_by).post(base + "lottery/commit/", {"round": "R2"},
                                        format="json")
        assert r.json()["lottery"]["secret"] == ""  # not revealed before the draw
        r = _as(sup).post(base + "lottery/draw/", {"value": "9"}, format="json")
        assert r.json()["decision"]["winner"] in [str(b.public_id) for b in bids]
        _error(_as(sup).post(base + "lottery/draw/", {"value": "8"}, format="json"), 400,
               "lottery_rerun")
        v = _as().get(base + "verify/").json()
        assert v == {"committee": {"ok": True, "problems": []},
                     "lottery": {"ok": True, "problems": []}}
        # The decision's record is not public before the notices.
        assert _as().get(base + "decision/").json()["decision"] is None
        assert _as(users[0]).get(base + "report.pdf").status_code == 404
        assert _as(tender.created_by).post(base + "notices/").status_code == 200
        assert _as().get(base + "decision/").json()["decision"]["record"]["lottery"]


def test_vote_api_keeps_ballots_secret_until_the_round_closes():
    tender, users, bids = factories.candidates_tender(
        award_method="separate", decision_method="vote", committee_mode="appointed",
        committee_size=3, vote_mode="direct", ranked=False)
    base = _base(tender)
    pool = factories.award_pool(tender, 3)
    ids = [str(b.public_id) for b in bids]
    with time_machine.travel(tender.publicity.ends_at + timedelta(minutes=1), tick=False):
        _as(tender.created_by).post(base + "start/")
        r = _as(tender.created_by).post(base + "committee/appoint/", {
            "members": [p.pk for p in pool], "chair": pool[0].pk}, format="json")
        assert r.status_code == 200, r.content
        _error(_as(users[0]).post(base + "vote/", {"choice": ids[0]}, format="json"), 403)
        _error(_as(pool[0].user).post(base + "vote/", {"choice": "nope"}, format="json"), 400,
               "not_a_candidate")
        r = _as(pool[0].user).post(base + "vote/", {"choice": ids[1]}, format="json")
        rnd = r.json()["rounds"][0]
        assert rnd["voted"] == 1 and "result" not in rnd and ids[1] not in str(
            {k: v for k, v in rnd.items() if k != "candidates"})
        _error(_as(pool[0].user).post(base + "vote/", {"choice": ids[1]}, format="json"), 400,
               "already_voted")
        _as(pool[1].user).post(base + "vote/", {"choice": ids[1]}, format="json")
        r = _as(pool[2].user).post(base + "vote/", {"choice": ids[2]}, format="json")
        assert r.json()["rounds"][0]["result"]["ballots"][0]["choice"] == ids[1]
        assert r.json()["decision"]["winner"] == ids[1]


def test_deliberation_api():
    tender, users, bids = factories.candidates_tender(
        award_method="separate", decision_method="deliberation", committee_mode="appointed",
        committee_size=3, ranked=False)
    base = _base(tender)
    pool = factories.award_pool(tender, 3)
    ids = [str(b.public_id) for b in bids]
    with time_machine.travel(tender.publicity.ends_at + timedelta(minutes=1), tick=False):
        _as(tender.created_by).post(base + "start/")
        _as(tender.created_by).post(base + "committee/appoint/", {
            "members": [p.pk for p in pool], "chair": pool[0].pk}, format="json")
        _error(_as(pool[0].user).post(base + "opinions/", {"text": "x"}, format="json"), 400)
        for p in pool:
            r = _as(p.user).post(base + "opinions/", {"text": f"{p.name}的意见",
                                                       "preferred": ids[0]}, format="json")
            assert r.status_code == 200, r.content
        _error(_as(pool[1].user).post(base + "decide/", {"winner": ids[0], "reason": "r"},
                                      format="json"), 400, "not_chair")
        r = _as(pool[0].user).post(base + "decide/", {"winner": ids[0], "reason": "一致"},
                                   format="json")
        assert r.json()["decision"]["record"]["chair_reason"] == "一致"


def test_contract_api_sign_both_and_supervisor_sees_it():
    tender, users, bids = factories.candidates_tender()
    base = _base(tender)
    with time_machine.travel(tender.publicity.ends_at + timedelta(minutes=1), tick=False):
        _as(tender.created_by).post(base + "direct/")
    import json

    from django.core.files.uploadedfile import SimpleUploadedFile
    terms = {"price": "9500000", "performance_bond": "950001"}
    doc = SimpleUploadedFile("合同.pdf", b"%PDF-1.4 contract", content_type="application/pdf")
    r = _as(tender.created_by).post(base + "contract/", {"document": doc,
                                                          "terms": json.dumps(terms)})
    assert _error(r, 400, "performance_bond_over_cap")["fields"]["performance_bond"]
    doc = SimpleUploadedFile("合同.pdf", b"%PDF-1.4 contract", content_type="application/pdf")
    terms["performance_bond"] = "950000"
    r = _as(tender.created_by).post(base + "contract/", {"document": doc,
                                                          "terms": json.dumps(terms)})
    assert r.status_code == 201, r.content
    for u in (tender.created_by, users[0]):
        msg = _as(u).get(base + "contract/message/?number=0").json()
        key = factories.signing_key_for(u)
        sig = signing.sign(key, contracts.CONTRACT_LABEL, base64.b64decode(msg["message"]))
        _error(_as(u).post(base + "contract/sign/", {"number": 0, "signature": "AAAA"},
                           format="json"), 400, "bad_signature")
        r = _as(u).post(base + "contract/sign/", {"number": 0,
                                                  "signature": base64.b64encode(sig).decode()},
                        format="json")
        assert r.status_code == 200, r.content
    tender.refresh_from_db()
    assert tender.status == S.CONTRACTED
    assert _as(users[1]).get(base + "contract/").status_code == 404
    state = _as(factories.supervisor()).get(base + "contract/").json()
    assert state["contract"]["signed_at"] and state["contract_due"]
    r = _as(tender.created_by).post(base + "contract/payments/", {"amount": "100.00"},
                                    format="json")
    assert r.json()["contract"]["paid_total"] == "100.00"


def test_overdue_is_for_supervisors_only():
    tender, users, bids = factories.candidates_tender()
    _error(_as(users[0]).get("/api/award/overdue/"), 403)
    assert _as(factories.supervisor()).get("/api/award/overdue/").json() == {"overdue": []}


def test_pool_api_adds_own_staff_only():
    boss = factories.tenderer()
    colleague = factories.tenderer(organisation=boss.organisation)
    r = _as(boss).post("/api/award/pool/", {"user": colleague.pk, "name": "李四", "title": "总工"},
                       format="json")
    assert r.status_code == 201, r.content
    assert [m["name"] for m in _as(boss).get("/api/award/pool/").json()["pool"]] == ["李四"]
    _error(_as(boss).post("/api/award/pool/", {"user": factories.tenderer().pk, "name": "外人"},
                          format="json"), 400, "not_own_staff")
    _error(_as(boss).post("/api/award/pool/", {"user": 999999, "name": "x"}, format="json"), 400)
    _error(_as(factories.bidder()).get("/api/award/pool/"), 403)
