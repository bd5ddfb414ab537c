"""The evaluation's REST API: each endpoint, its refusals (400 with field messages), and
who may not use it."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from bidding.evaluation import services
from bidding.evaluation.models import EvaluationReport, Sheet
from crypto import signing
from tests import factories
from tests.bidding.evaluation.helpers import (
    elect,
    formed,
    keys,
    qualification_entries,
    run_stage,
    score_entries,
    to_report,
)
from tests.bidding.evaluation.room_helpers import enrol, unverified_api, verified_api
from tests.conftest import api_as

pytestmark = pytest.mark.django_db


def _url(committee_or_tender, tail=""):
    tender = getattr(committee_or_tender, "tender", committee_or_tender)
    return f"/api/tenders/{tender.pk}/evaluation/{tail}"


def test_the_tenderer_forms_the_committee_through_the_api():
    tender, bidders = factories.opened_tender()
    factories.complete_draw(tender)
    assert verified_api(bidders[0]).post(_url(tender), {}, format="json").status_code == 404
    r = verified_api(tender.created_by).post(_url(tender), {}, format="json")
    assert r.status_code == 201 and r.json()["stage"] == "chair"
    r = verified_api(tender.created_by).post(_url(tender), {}, format="json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "committee_exists"


def test_outsiders_get_404_and_the_tenderer_sees_progress_only():
    committee, users, bidders, _ = formed()
    assert verified_api(bidders[0]).get(_url(committee)).status_code == 404
    assert verified_api(factories.expert()).get(_url(committee)).status_code == 404
    body = verified_api(committee.tender.created_by).get(_url(committee)).json()
    assert set(body) == {"tender", "stage", "progress"}


def test_chair_vote_sheet_draft_submit_and_lock_through_the_api():
    committee, users, *_ = formed()
    for u in users[:3]:
        r = verified_api(u).post(_url(committee, "chair-votes/"), {"candidate": "M1"},
                                 format="json")
        assert r.status_code == 201
    assert r.json()["chair"] == "M1"
    entries = qualification_entries(committee)
    me = verified_api(users[1])
    r = me.put(_url(committee, "sheets/qualification/"), {"entries": entries}, format="json")
    saved = r.json()["entries"]
    assert r.status_code == 200 and set(saved) == set(entries)
    assert all(v["passed"] is True for row in saved.values() for v in row["criteria"].values())
    # a reconnecting member gets the draft back
    assert me.get(_url(committee, "sheets/qualification/")).json()["entries"] == saved
    r = me.post(_url(committee, "sheets/qualification/submit/"), {}, format="json")
    assert r.status_code == 200 and r.json()["submitted_at"]
    r = me.put(_url(committee, "sheets/qualification/"), {"entries": entries}, format="json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "stage_locked"
    for u in users:
        if u != users[1]:
            services.sheet_submit(committee=committee, user=u, stage="qualification",
                                  entries=entries)
    r = verified_api(users[2]).post(_url(committee, "stages/qualification/lock/"))
    assert r.status_code == 403
    r = verified_api(users[0]).post(_url(committee, "stages/qualification/lock/"))
    assert r.status_code == 200 and r.json()["stage"] == "technical"


def test_a_score_out_of_range_is_a_400_naming_the_field():
    committee, users, *_ = formed()
    committee = run_stage(elect(committee, users), users, "qualification")
    entries = score_entries(committee, "technical")
    entries[next(iter(entries))]["3"] = "99"
    r = verified_api(users[0]).put(_url(committee, "sheets/technical/"), {"entries": entries},
                             format="json")
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"] == "score_out_of_range" and "entries" in err["fields"]


def test_scores_are_hidden_until_you_submit_your_own():
    committee, users, *_ = formed()
    committee = elect(committee, users)
    services.sheet_submit(committee=committee, user=users[0], stage="qualification",
                          entries=qualification_entries(committee))
    r = verified_api(users[1]).get(_url(committee, "stages/qualification/scores/"))
    assert r.status_code == 403
    r = verified_api(users[0]).get(_url(committee, "stages/qualification/scores/"))
    assert r.status_code == 200 and r.json()["scores"]
    assert verified_api(committee.tender.created_by).get(
        _url(committee, "stages/qualification/scores/")).status_code == 403


def test_anonymous_technical_room_names_no_bidder_before_the_technical_lock():
    committee, users, *_ = formed(anonymous_technical=True)
    committee = run_stage(elect(committee, users), users, "qualification")
    names = [b.bid.bidder.name for b in committee.bids.all()]
    codes = [b.bid.bidder.credit_code for b in committee.bids.all()]
    for u in users:
        text = verified_api(u).get(_url(committee)).content.decode()
        assert not any(n in text for n in names) and not any(c in text for c in codes)
    services.sheet_submit(committee=committee, user=users[0], stage="technical",
                          entries=score_entries(committee, "technical"))
    text = verified_api(users[0]).get(_url(committee, "stages/technical/scores/")).content.decode()
    assert not any(n in text for n in names)
    for u in users[1:]:
        services.sheet_submit(committee=committee, user=u, stage="technical",
                              entries=score_entries(committee, "technical"))
    services.stage_lock(committee=committee, user=committee.chair.user, stage="technical")
    text = verified_api(users[0]).get(_url(committee, "stages/technical/scores/")).content.decode()
    assert any(n in text for n in names)


def test_the_chair_sees_the_aggregation_and_others_do_not():
    committee, users, *_ = formed()
    committee = run_stage(elect(committee, users), users, "qualification")
    for u in users:
        services.sheet_submit(committee=committee, user=u, stage="technical",
                              entries=score_entries(committee, "technical"))
    r = verified_api(users[0]).get(_url(committee, "stages/technical/aggregation/"))
    assert r.status_code == 200 and r.json()["rows"]
    assert verified_api(users[1]).get(
        _url(committee, "stages/technical/aggregation/")).status_code == 403


def test_clarifications_are_asked_by_the_chair_and_answered_by_the_bidder():
    committee, users, bidders, _ = formed()
    committee = run_stage(elect(committee, users), users, "qualification")
    key = keys(committee, "technical")[0]
    eb = committee.bids.get(code=key)
    bidder = next(u for u in bidders if u.organisation_id == eb.bid.bidder_id)
    deadline = (timezone.now() + timedelta(hours=1)).isoformat()
    # a bidder cannot start one
    r = api_as(bidder).post(_url(committee, "clarifications/"),
                            {"bid": key, "question": "我想补充", "deadline": deadline},
                            format="json")
    assert r.status_code in (403, 404)
    r = verified_api(users[0]).post(_url(committee, "clarifications/"),
                              {"bid": key, "question": "请说明工期", "deadline": deadline},
                              format="json")
    assert r.status_code == 201
    cid = r.json()["id"]
    # The bidder is not a committee member: a password-only token lists and answers.
    mine = unverified_api(bidder).get(_url(committee, "clarifications/"))
    assert mine.status_code == 200 and [c["id"] for c in mine.json()] == [cid]
    other = next(u for u in bidders if u != bidder)
    r = api_as(other).post(_url(committee, f"clarifications/{cid}/answer/"),
                           {"answer": "x"}, format="multipart")
    assert r.status_code == 404
    r = unverified_api(bidder).post(_url(committee, f"clarifications/{cid}/answer/"),
                                    {"answer": "工期 280 天",
                                     "attachment": SimpleUploadedFile("a.pdf", b"%PDF-1.4 a")},
                                    format="multipart")
    assert r.status_code == 200 and r.json()["has_attachment"]
    r = api_as(bidder).post(_url(committee, f"clarifications/{cid}/answer/"),
                            {"answer": "again"}, format="multipart")
    assert r.status_code == 400 and r.json()["error"]["code"] == "already_answered"


def test_members_sign_the_report_through_the_api_and_download_it():
    committee, users, *_ = formed()
    committee = to_report(committee, users)
    report = EvaluationReport.objects.get(tender=committee.tender)
    body = verified_api(users[0]).get(_url(committee, "report/")).json()
    assert body["sha256"] == report.sha256
    message = base64.b64decode(body["message"])
    for u in users[:4]:
        key = factories.signing_key_for(u)
        sig = base64.b64encode(signing.sign(key, signing.REPORT, message)).decode()
        r = verified_api(u).post(_url(committee, "report/sign/"), {"signature": sig}, format="json")
        assert r.status_code == 201
    # A member with no signing key is told to register one.
    r = verified_api(users[4]).post(_url(committee, "report/sign/"), {"signature": "AAAA"},
                              format="json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "no_signing_key"
    factories.signing_key_for(users[4])
    r = verified_api(users[4]).post(_url(committee, "report/sign/"), {"signature": "AAAA"},
                              format="json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_signature"
    r = verified_api(users[4]).post(_url(committee, "report/refuse/"), {"dissent": "理由如下"},
                              format="json")
    assert r.status_code == 201 and r.json()["kind"] == "dissent"
    committee.tender.refresh_from_db()
    assert committee.tender.status == "candidates"
    r = verified_api(committee.tender.created_by).get(_url(committee, "report.pdf"))
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    assert r["X-Content-SHA256"] == report.sha256


def _refused_for_want_of_the_second_factor(r):
    return r.status_code == 403 and r.json()["error"]["code"] == "two_factor_required"


def test_a_members_token_without_a_verified_second_factor_gets_403_on_sheets_lock_and_sign():
    committee, users, *_ = formed()
    committee = elect(committee, users)
    chair = committee.chair.user
    entries = qualification_entries(committee)
    for u in users:
        # Enrolled and holding a token, but the token passed the password only.
        if u != users[1]:
            enrol(u)
        api = unverified_api(u)
        assert _refused_for_want_of_the_second_factor(
            api.get(_url(committee, "sheets/qualification/")))
        assert _refused_for_want_of_the_second_factor(
            api.put(_url(committee, "sheets/qualification/"), {"entries": entries},
                    format="json"))
        assert _refused_for_want_of_the_second_factor(
            api.post(_url(committee, "sheets/qualification/submit/"), {"entries": entries},
                     format="json"))
        assert _refused_for_want_of_the_second_factor(api.get(_url(committee)))
        assert _refused_for_want_of_the_second_factor(
            api.get(_url(committee, "clarifications/")))
        # A session signed in with the password alone is refused the same way.
        assert _refused_for_want_of_the_second_factor(
            api_as(u).get(_url(committee, "sheets/qualification/")))
    assert not Sheet.objects.filter(member__committee=committee).exclude(draft={}).exists()
    for u in users:
        services.sheet_submit(committee=committee, user=u, stage="qualification",
                              entries=entries)
    assert _refused_for_want_of_the_second_factor(
        unverified_api(chair).post(_url(committee, "stages/qualification/lock/")))
    assert _refused_for_want_of_the_second_factor(
        unverified_api(chair).get(_url(committee, "stages/qualification/aggregation/")))
    committee.refresh_from_db()
    assert committee.stage == "qualification"
    # The same chair verified: the lock goes through.
    r = verified_api(chair).post(_url(committee, "stages/qualification/lock/"))
    assert r.status_code == 200 and r.json()["stage"] == "technical"


def test_a_members_token_without_a_verified_second_factor_cannot_sign_the_report():
    committee, users, *_ = formed()
    committee = to_report(committee, users)
    report = EvaluationReport.objects.get(tender=committee.tender)
    u = users[1]
    key = factories.signing_key_for(u)
    sig = base64.b64encode(signing.sign(key, signing.REPORT,
                                        services.report_message(report))).decode()
    enrol(u)
    api = unverified_api(u)
    assert _refused_for_want_of_the_second_factor(api.get(_url(committee, "report/")))
    assert _refused_for_want_of_the_second_factor(
        api.post(_url(committee, "report/sign/"), {"signature": sig}, format="json"))
    assert _refused_for_want_of_the_second_factor(
        api.post(_url(committee, "report/refuse/"), {"dissent": ""}, format="json"))
    assert not report.signatures.exists()
    r = verified_api(u).post(_url(committee, "report/sign/"), {"signature": sig}, format="json")
    assert r.status_code == 201 and report.signatures.get().member.user == u


def test_a_new_password_sign_in_unverifies_the_members_api_token():
    committee, users, *_ = formed()
    u = users[0]
    u.set_password("correct horse 9")
    u.save()
    api = verified_api(u)
    assert api.get(_url(committee, "progress/")).status_code == 200
    r = APIClient().post("/api/auth/token/", {"username": u.username,
                                              "password": "correct horse 9"}, format="json")
    assert r.status_code == 200
    assert _refused_for_want_of_the_second_factor(api.get(_url(committee, "progress/")))


def test_the_openapi_schema_documents_the_evaluation():
    r = api_as(factories.operator()).get("/api/schema/", HTTP_ACCEPT="application/json")
    assert r.status_code == 200
    assert "/api/tenders/{tender_id}/evaluation/sheets/{stage}/submit/" in r.json()["paths"]
