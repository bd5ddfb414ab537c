"""The cases pages and API: who may see and act, each step through the API, the decision
PDF, a party's record; and the audit trail browser's filters, verifier and checkpoints."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import audit_checkpoint, audit_record
from supervision import cases
from supervision.models import Flag
from tests import factories

pytestmark = pytest.mark.django_db


def _client(user):
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    c.force_login(user)
    return c


def _flag(tender_id=7, subjects=()):
    return Flag.objects.create(kind=Flag.Kind.SCREEN, screen="cv", severity="high",
                               tender_id=tender_id, tender_reference=f"T-{tender_id}",
                               subjects=list(subjects), evidence={"note": "<script>x</script>"},
                               explanation_zh="z", explanation_en="e", raised_at=timezone.now())


def test_a_case_goes_from_opening_to_a_decision_through_the_api():
    sup = factories.supervisor()
    member = factories.bidder()
    org = member.organisation
    flag = _flag(subjects=[org.credit_code])
    api = _client(sup)
    r = api.post("/api/supervision/cases/", {"source_kind": "complaint", "source_id": "5",
                                             "source_display": "TS-5",
                                             "subjects": [{"kind": "bidder",
                                                           "code": org.credit_code}]},
                 content_type="application/json")
    assert r.status_code == 201, r.content
    cid = r.json()["id"]
    assert api.post(f"/api/supervision/cases/{cid}/evidence/",
                    {"kind": "flag", "record_id": str(flag.pk)},
                    content_type="application/json").status_code == 201
    r = api.post(f"/api/supervision/cases/{cid}/steps/",
                 {"kind": "hearing_notice", "on": str(timezone.localdate()),
                  "due": str(timezone.localdate() + timedelta(days=3)), "text": "x"},
                 content_type="application/json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "hearing_too_soon"
    assert api.post(f"/api/supervision/cases/{cid}/decide/",
                    {"outcome": "confirmed", "reasons": "Shared bond payer account."},
                    content_type="application/json").status_code == 200
    r = api.post(f"/api/supervision/cases/{cid}/decision/",
                 {"legal_basis": "Reg 67", "reasons": "Shared bond payer account.",
                  "sanctions": [{"subject_code": org.credit_code, "kind": "debarment",
                                 "months": 12}]}, content_type="application/json")
    assert r.status_code == 201, r.content
    body = api.get(f"/api/supervision/cases/{cid}/").json()
    assert body["decision"]["sanctions"][0]["kind"] == "debarment" and body["closed_at"]
    assert body["evidence"][0]["event_seq"] == AuditEvent.objects.get(
        action="supervision.case_evidence").seq
    pdf = api.get(f"/api/supervision/cases/{cid}/decision.pdf")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    # The bidder sees its own record; another bidder does not.
    own = _client(member)
    assert own.get(f"/api/supervision/records/{org.credit_code}/").json()[0]["kind"] == \
        "debarment"
    other = _client(factories.bidder())
    assert other.get(f"/api/supervision/records/{org.credit_code}/").status_code == 403
    assert _client(factories.tenderer()).get(
        f"/supervision/records/{org.credit_code}/").status_code == 200


def test_operators_read_cases_but_cannot_act_and_bidders_see_nothing():
    sup = factories.supervisor()
    case = cases.case_open_from(user=sup, source_kind="inspection", source_id="1")
    op = _client(factories.operator())
    assert op.get(f"/supervision/cases/{case.pk}/").status_code == 200
    assert op.get(f"/api/supervision/cases/{case.pk}/").status_code == 200
    assert op.post(f"/api/supervision/cases/{case.pk}/steps/",
                   {"kind": "note", "on": str(timezone.localdate()), "text": "x"},
                   content_type="application/json").status_code == 403
    bidder = _client(factories.bidder())
    assert bidder.get("/supervision/cases/").status_code == 403
    assert bidder.get(f"/api/supervision/cases/{case.pk}/").status_code == 403
    assert _client(sup).get("/api/supervision/cases/999999/").status_code == 404


def test_the_case_page_escapes_what_users_wrote_and_shows_overdue():
    sup = factories.supervisor()
    case = cases.case_open_from(user=sup, source_kind="spot_check", source_id="2",
                                source_display="<b>spot</b>", summary="<script>x</script>",
                                now=timezone.now() - timedelta(days=200))
    page = _client(sup).get(f"/supervision/cases/{case.pk}/").content.decode()
    assert "<script>x</script>" not in page and "&lt;script&gt;" in page
    assert "&lt;b&gt;spot&lt;/b&gt;" in page and "Overdue" in page
    listing = _client(sup).get("/supervision/cases/?state=overdue").content.decode()
    assert case.number in listing
    assert case.number not in _client(sup).get("/supervision/cases/?state=closed").content \
        .decode()


def test_the_flag_page_links_to_its_case():
    sup = factories.supervisor()
    _flag()
    case = cases.case_open(user=sup, tender_id=7)
    page = _client(sup).get("/supervision/flags/7/").content.decode()
    assert f"/supervision/cases/{case.pk}/" in page


# -- the audit trail browser -------------------------------------------------------------

def _events():
    for i in range(3):
        audit_record(actor=f"alice{i % 2}", action=f"thing.{'make' if i else 'break'}",
                     object_type="thing", object_id=i, summary=f"thing {i} of T-REF-{i}")


def test_the_audit_page_filters_by_actor_action_prefix_and_tender_and_dates():
    _events()
    c = _client(factories.supervisor())
    page = c.get("/supervision/audit/?actor=alice1").content.decode()
    assert "thing 1 of" in page and "thing 0 of" not in page
    page = c.get("/supervision/audit/?action=thing.ma").content.decode()
    assert "thing 1 of" in page and "thing 2 of" in page and "thing 0 of" not in page
    page = c.get("/supervision/audit/?tender=T-REF-2").content.decode()
    assert "thing 2 of" in page and "thing 1 of" not in page
    tomorrow = timezone.localdate() + timedelta(days=1)
    page = c.get(f"/supervision/audit/?from={tomorrow}").content.decode()
    assert "thing 1 of" not in page
    page = c.get(f"/supervision/audit/?to={timezone.localdate()}").content.decode()
    assert "thing 1 of" in page


def test_the_api_filters_events_and_refuses_bad_dates():
    _events()
    c = _client(factories.operator())
    rows = c.get("/api/audit/events/?actor=alice0&action=thing.").json()["results"]
    assert [r["summary"][:7] for r in rows] == ["thing 0", "thing 2"]
    r = c.get("/api/audit/events/?from=yesterday")
    assert r.status_code == 400
    assert _client(factories.bidder()).get("/api/audit/events/").status_code == 403


def test_the_audit_page_links_inclusion_proofs_of_signed_events():
    _events()
    audit_checkpoint()
    page = _client(factories.supervisor()).get("/supervision/audit/").content.decode()
    assert "/api/audit/inclusion/?seq=1" in page


def test_the_verifier_page_shows_counts_checkpoints_and_tree_heads():
    _events()
    audit_checkpoint()
    page = _client(factories.supervisor()).get("/supervision/audit/verify/?verify=1") \
        .content.decode()
    assert "Result: intact" in page and "Events checked" in page and "Tree heads" in page
    assert "verify_audit" in page


def test_the_checkpoints_page_and_api_list_signed_heads_for_supervisors_only():
    _events()
    audit_checkpoint()
    c = _client(factories.supervisor())
    page = c.get("/supervision/audit/checkpoints/").content.decode()
    assert "ggzy-tree-head" in page and "Verify this tree head" in page
    rows = c.get("/api/audit/checkpoints/").json()["results"]
    assert rows[0]["sth"]["size"] == rows[0]["seq"]
    assert _client(factories.bidder()).get("/supervision/audit/checkpoints/").status_code == 403
    assert _client(factories.bidder()).get("/api/audit/checkpoints/").status_code == 403
