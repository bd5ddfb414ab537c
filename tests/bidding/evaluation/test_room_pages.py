"""The evaluation room's pages: who gets in (password, second factor, committee), what
each page shows (暗标: no bidder name before the technical lock), the bid documents
(inline and downloaded, watermarked, audited, members while evaluating and oversight
only), sheets without JavaScript, the chair's desk and the report."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from bidding.evaluation import services
from bidding.evaluation.models import EvaluationClarification, ReportSignature, Sheet
from bidding.tenders.models import Tender
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
from tests.bidding.evaluation.room_helpers import (
    attach_documents,
    pdf_bytes,
    pdftotext,
    url,
    verified_client,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_kek_file(tmp_path, settings):
    settings.PLATFORM_AT_REST_KEY_FILE = str(tmp_path / "at_rest_keys.json")
    settings.PLATFORM_AT_REST_KEY_PROVIDER = "file"




# --- who gets in ----------------------------------------------------------------------------


def test_the_room_needs_a_sign_in_and_a_second_factor():
    committee, users, *_ = formed()
    from django.test import Client

    r = Client().get(url(committee))
    assert r.status_code == 302 and "/accounts/login/" in r["Location"]
    no_2fa = verified_client(users[0], enrolled=False)
    r = no_2fa.get(url(committee))
    assert r.status_code == 302 and "/accounts/two-factor/" in r["Location"]
    assert verified_client(users[0]).get(url(committee)).status_code == 200


@pytest.mark.parametrize("page", ["", "criteria/", "bids/", "sheets/qualification/",
                                  "chair/"])
def test_outsiders_get_404_on_every_room_page(page):
    committee, users, bidders, _ = formed()
    for outsider in (factories.expert(), bidders[0]):
        assert verified_client(outsider).get(url(committee, page)).status_code == 404


def test_the_tenderer_who_is_not_a_member_is_refused_the_members_pages():
    committee, *_ = formed()
    owner = verified_client(committee.tender.created_by)
    assert owner.get(url(committee, "sheets/qualification/")).status_code == 403
    assert owner.get(url(committee, "bids/")).status_code == 403
    assert owner.get(url(committee)).status_code == 403


def test_a_member_sees_the_stage_their_tasks_and_everyones_progress_without_scores():
    committee, users, *_ = formed()
    committee = elect(committee, users)
    services.sheet_submit(committee=committee, user=users[1], stage="qualification",
                          entries=qualification_entries(committee))
    html = verified_client(users[2]).get(url(committee)).content.decode()
    assert 'id="progress-table"' in html and 'data-member="M2"' in html
    assert "✓ submitted" in html and "/evaluation/sheets/qualification/" in html
    assert "data-live=\"1\"" in html and "js/evalroom.js" in html


def test_an_operator_watches_progress_but_has_no_tasks():
    committee, *_ = formed()
    html = verified_client(factories.operator()).get(url(committee)).content.decode()
    assert 'id="progress-table"' in html and 'id="my-tasks"' not in html


def test_members_elect_the_chair_with_the_form():
    committee, users, *_ = formed()
    for u in users[:3]:
        r = verified_client(u).post(url(committee, "chair-vote/"), {"candidate": "M1"})
        assert r.status_code == 302
    committee.refresh_from_db()
    assert committee.chair.label == "M1" and committee.stage == "qualification"
    r = verified_client(users[3]).post(url(committee, "chair-vote/"), {"candidate": "M1"},
                                       follow=True)
    assert "The chair has been elected already." in r.content.decode()


# --- criteria and bids, 暗标 ------------------------------------------------------------------


def test_the_criteria_page_lists_every_declared_criterion_with_its_maximum():
    committee, users, *_ = formed()
    html = verified_client(users[0]).get(url(committee, "criteria/")).content.decode()
    for c in committee.tender.criteria.all():
        assert c.name in html
        if c.max_score is not None:
            assert str(c.max_score) in html


def _names(bidders):
    return [b.organisation.name for b in bidders] + [
        b.organisation.credit_code for b in bidders]


def _package(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return out.getvalue()


def test_no_bidder_name_in_the_anonymous_technical_pages_before_the_technical_lock(
        tmp_path):
    committee, users, bidders, _ = formed(anonymous_technical=True)
    # A 暗标 bid follows the package convention (documents.py): technical/ is what the
    # committee reads under the code number.
    attach_documents(committee.tender, make=lambda item: _package(
        {"technical/plan.pdf": pdf_bytes(f"bid {item.bid.public_id}")}))
    committee = elect(committee, users)
    committee = run_stage(committee, users, "qualification")
    assert committee.stage == "technical"
    client = verified_client(users[1])
    codes = keys(committee, "technical")
    pages = [url(committee, "bids/"), url(committee, "bids/?stage=technical"),
             url(committee, "sheets/technical/"), url(committee),
             url(committee, f"bids/{codes[0]}/")]
    for page in pages:
        r = client.get(page)
        assert r.status_code == 200, page
        html = r.content.decode()
        for name in _names(bidders):
            assert name not in html, (page, name)
    assert f"No. {codes[0]}" in client.get(url(committee, "bids/")).content.decode()
    # The file name of the document names the code, not the bidder.
    r = client.get(url(committee, f"bids/{codes[0]}/download"))
    assert f"-{codes[0]}-T01.pdf" in r["Content-Disposition"]
    # After the submission the committee's scores stay anonymous too.
    services.sheet_submit(committee=committee, user=users[1], stage="technical",
                          entries=score_entries(committee, "technical"))
    html = client.get(url(committee, "sheets/technical/")).content.decode()
    assert "The committee&#x27;s scores" in html or "The committee's scores" in html
    for name in _names(bidders):
        assert name not in html
    # Locked: identities are revealed.
    for u in users:
        if u != users[1]:
            services.sheet_submit(committee=committee, user=u, stage="technical",
                                  entries=score_entries(committee, "technical"))
    services.stage_lock(committee=committee, user=committee.chair.user, stage="technical")
    html = client.get(url(committee, "bids/?stage=technical")).content.decode()
    assert bidders[0].organisation.name in html


def test_the_qualification_bids_show_bidders_and_prices_without_anonymity():
    committee, users, bidders, _ = formed()
    html = verified_client(users[0]).get(url(committee, "bids/")).content.decode()
    assert all(b.organisation.name in html for b in bidders)
    assert "9500000.00" in html


# --- bid documents ----------------------------------------------------------------------------


def test_a_member_reads_the_document_inline_watermarked_with_their_identity(tmp_path):
    committee, users, *_ = formed()
    attach_documents(committee.tender)
    key = keys(committee, "qualification")[0]
    client = verified_client(users[2])
    page = client.get(url(committee, f"bids/{key}/")).content.decode()
    assert f'src="/tenders/{committee.tender.pk}/evaluation/bids/{key}/document"' in page
    before = AuditEvent.objects.filter(action="opening.document_access").count()
    r = client.get(url(committee, f"bids/{key}/document"))
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    assert r["Content-Disposition"].startswith("inline;")
    assert r["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in r["Content-Security-Policy"]
    text = pdftotext(r.content, tmp_path)
    assert "M3" in text and committee.tender.reference in text
    events = AuditEvent.objects.filter(action="opening.document_access").order_by("pk")
    assert events.count() == before + 1
    assert events.last().summary == "evaluation.view" and events.last().actor_id == users[2].pk
    r = client.get(url(committee, f"bids/{key}/download"))
    assert r["Content-Disposition"].startswith("attachment;")
    assert "M3" in pdftotext(r.content, tmp_path)
    assert events.last().summary == "evaluation.download"


def test_a_document_that_is_not_a_pdf_is_downloaded_as_a_watermarked_zip():
    import io
    import zipfile

    committee, users, *_ = formed()
    attach_documents(committee.tender, make=lambda item: b"PK not really a pdf " * 50)
    key = keys(committee, "qualification")[0]
    r = verified_client(users[0]).get(url(committee, f"bids/{key}/download"))
    assert r["Content-Type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(r.content)).namelist()
    assert "WATERMARK.txt" in names


def test_documents_are_refused_to_everyone_but_members_while_evaluating_and_oversight():
    committee, users, bidders, _ = formed(backups=1, backups_confirmed=1)
    attach_documents(committee.tender)
    key = keys(committee, "qualification")[0]
    doc = url(committee, f"bids/{key}/document")
    assert verified_client(factories.expert()).get(doc).status_code == 404
    assert verified_client(bidders[0]).get(doc).status_code == 404
    assert verified_client(committee.tender.created_by).get(doc).status_code == 403
    assert verified_client(factories.supervisor()).get(doc).status_code == 200
    assert verified_client(factories.operator()).get(doc).status_code == 200
    assert verified_client(users[0], enrolled=False).get(doc).status_code == 302
    assert verified_client(users[0]).get(url(committee, "bids/b999999/document")
                                         ).status_code == 404
    # A replaced member is refused.
    from expert_pool.models import DrawMember

    seat = DrawMember.objects.filter(draw=committee.draw, status="confirmed").exclude(
        expert__user__in=users).first()
    services.member_replace(committee=committee, user=factories.operator(),
                            member=committee.members.get(user=users[4]), reason="ill",
                            replacement_seat=seat)
    assert verified_client(users[4]).get(doc).status_code == 403
    # Once the evaluation is over, members no longer fetch; oversight still does.
    Tender.objects.filter(pk=committee.tender.pk).update(status=Tender.Status.CANDIDATES)
    assert verified_client(users[0]).get(doc).status_code == 403
    assert verified_client(factories.supervisor()).get(doc).status_code == 200


# --- sheets without JavaScript -----------------------------------------------------------------


def _score_form(committee, stage, value):
    data = {"action": "save"}
    for key, row in score_entries(committee, stage, value=value).items():
        for n, v in row.items():
            data[f"s-{key}-{n}"] = v
    return data


def test_the_scoring_sheet_has_number_inputs_bounded_by_each_maximum():
    committee, users, *_ = formed()
    committee = run_stage(elect(committee, users), users, "qualification")
    html = verified_client(users[0]).get(url(committee, "sheets/technical/")).content.decode()
    for c in committee.tender.criteria.filter(stage="technical"):
        assert f'max="{c.max_score}"' in html
    assert 'type="number"' in html and 'step="0.01"' in html and 'min="0"' in html


def test_a_draft_saved_with_the_plain_form_is_there_on_the_next_visit():
    committee, users, *_ = formed()
    committee = run_stage(elect(committee, users), users, "qualification")
    client = verified_client(users[1])
    r = client.post(url(committee, "sheets/technical/"), _score_form(committee, "technical",
                                                                     "7.25"))
    assert r.status_code == 302
    sheet = Sheet.objects.get(member__user=users[1], stage="technical")
    assert sheet.saved_at and all(v == "7.25" for row in sheet.draft.values()
                                  for v in row.values())
    html = client.get(url(committee, "sheets/technical/")).content.decode()
    assert 'value="7.25"' in html and "Saved at" in html


def test_a_score_out_of_range_is_refused_and_what_was_typed_is_shown_again():
    committee, users, *_ = formed()
    committee = run_stage(elect(committee, users), users, "qualification")
    r = verified_client(users[1]).post(url(committee, "sheets/technical/"),
                                       _score_form(committee, "technical", "999"))
    html = r.content.decode()
    assert r.status_code == 200 and "out of range" in html and 'value="999.00"' in html
    assert not Sheet.objects.filter(member__user=users[1], stage="technical",
                                    saved_at__isnull=False).exists()


def test_submitting_needs_the_confirmation_then_locks_and_shows_the_committees_scores():
    committee, users, *_ = formed()
    committee = run_stage(elect(committee, users), users, "qualification")
    client = verified_client(users[1])
    data = _score_form(committee, "technical", "6.00") | {"action": "submit"}
    r = client.post(url(committee, "sheets/technical/"), data, follow=True)
    assert "Tick the box to confirm" in r.content.decode()
    assert not Sheet.objects.filter(member__user=users[1], stage="technical",
                                    submitted_at__isnull=False).exists()
    services.sheet_submit(committee=committee, user=users[2], stage="technical",
                          entries=score_entries(committee, "technical", value="9.00"))
    r = client.post(url(committee, "sheets/technical/"), data | {"confirm": "on"},
                    follow=True)
    html = r.content.decode()
    assert Sheet.objects.get(member__user=users[1], stage="technical").submitted_at
    assert "Your sheet is locked." in html and "The committee" in html
    assert "9.00" in html and "M3" in html  # another member's score, now visible
    assert "<fieldset disabled" in html


def test_before_submitting_a_member_sees_no_other_members_scores():
    committee, users, *_ = formed()
    committee = run_stage(elect(committee, users), users, "qualification")
    services.sheet_submit(committee=committee, user=users[2], stage="technical",
                          entries=score_entries(committee, "technical", value="9.13"))
    html = verified_client(users[1]).get(url(committee, "sheets/technical/")).content.decode()
    assert "9.13" not in html and "The committee" not in html


def test_the_qualification_form_records_verdicts_reasons_and_reg_51_grounds():
    committee, users, *_ = formed()
    committee = elect(committee, users)
    key = keys(committee, "qualification")[0]
    crit = committee.tender.criteria.filter(stage="qualification").first()
    html = verified_client(users[0]).get(url(committee, "sheets/qualification/")
                                         ).content.decode()
    assert f'name="q-{key}-{crit.number}" value="fail"' in html
    assert f'name="rej-{key}"' in html
    data = {"action": "save", f"q-{key}-{crit.number}": "fail",
            f"r-{key}-{crit.number}": "资质证书过期", f"rej-{key}": ["forged"],
            f"rr-{key}": "业绩造假"}
    from bidding.evaluation.rules import Rejection

    data[f"rej-{key}"] = [Rejection.values[0]]
    r = verified_client(users[0]).post(url(committee, "sheets/qualification/"), data)
    assert r.status_code == 302
    draft = Sheet.objects.get(member__user=users[0], stage="qualification").draft
    assert draft[key]["criteria"][str(crit.number)] == {"passed": False,
                                                        "reason": "资质证书过期"}
    assert draft[key]["rejections"] == [{"code": Rejection.values[0], "reason": "业绩造假"}]


def test_a_fail_without_a_reason_cannot_be_submitted():
    committee, users, *_ = formed()
    committee = elect(committee, users)
    data = {"action": "submit", "confirm": "on"}
    for key, row in qualification_entries(committee).items():
        for n in row["criteria"]:
            data[f"q-{key}-{n}"] = "fail"
    r = verified_client(users[0]).post(url(committee, "sheets/qualification/"), data)
    assert r.status_code == 200 and "give the reason for failing it" in r.content.decode()


# --- the chair's desk ----------------------------------------------------------------------------


def test_only_the_chair_and_the_trading_centre_open_the_chairs_desk():
    committee, users, *_ = formed()
    committee = elect(committee, users)
    assert verified_client(users[1]).get(url(committee, "chair/")).status_code == 403
    assert verified_client(users[0]).get(url(committee, "chair/")).status_code == 200
    assert verified_client(factories.operator()).get(url(committee, "chair/")
                                                     ).status_code == 200


def test_the_chair_locks_a_stage_and_a_refused_lock_names_who_is_missing():
    committee, users, *_ = formed()
    committee = elect(committee, users)
    chair = verified_client(users[0])
    r = chair.post(url(committee, "chair/"), {"action": "lock", "stage": "qualification"},
                   follow=True)
    assert "waiting for M1" in r.content.decode()
    for u in users:
        services.sheet_submit(committee=committee, user=u, stage="qualification",
                              entries=qualification_entries(committee))
    chair.post(url(committee, "chair/"), {"action": "lock", "stage": "qualification"})
    committee.refresh_from_db()
    assert committee.stage == "technical"
    r = verified_client(users[1]).post(url(committee, "chair/"),
                                       {"action": "lock", "stage": "technical"})
    assert r.status_code == 403


def test_the_chair_sees_outliers_once_their_own_sheet_is_in():
    committee, users, *_ = formed()
    committee = run_stage(elect(committee, users), users, "qualification")
    for i, u in enumerate(users):
        services.sheet_submit(committee=committee, user=u, stage="technical",
                              entries=score_entries(committee, "technical",
                                                    value="1.00" if i == 4 else "9.00"))
    html = verified_client(users[0]).get(url(committee, "chair/")).content.decode()
    assert 'class="flag"' in html and "<td>M5</td>" in html


def test_the_chair_sends_a_clarification_request_and_sees_the_answer():
    committee, users, bidders, _ = formed()
    committee = elect(committee, users)
    key = keys(committee, "qualification")[0]
    deadline = (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    chair = verified_client(users[0])
    r = chair.post(url(committee, "chair/"), {"action": "clarify", "bid": key,
                                              "question": "请说明工期", "deadline": deadline})
    assert r.status_code == 302
    item = EvaluationClarification.objects.get()
    services.clarification_answer(clarification=item, user=bidders[0] if
                                  item.evaluated_bid.bid.bidder_id == bidders[0].organisation_id
                                  else next(b for b in bidders if b.organisation_id ==
                                            item.evaluated_bid.bid.bidder_id),
                                  answer="工期300天")
    html = chair.get(url(committee, "chair/")).content.decode()
    assert "请说明工期" in html and "工期300天" in html
    r = chair.post(url(committee, "chair/"), {"action": "clarify", "bid": key,
                                              "question": "", "deadline": deadline},
                   follow=True)
    assert "Write the question." in r.content.decode()


def test_the_trading_centre_replaces_a_member_from_the_chairs_desk():
    committee, users, *_ = formed(backups=1, backups_confirmed=1)
    committee = elect(committee, users)
    from expert_pool.models import DrawMember

    seat = DrawMember.objects.filter(draw=committee.draw, status="confirmed").exclude(
        expert__user__in=users).get()
    op = verified_client(factories.operator())
    r = op.post(url(committee, "chair/"), {"action": "replace", "member": "M2",
                                           "seat": seat.pk, "reason": ""}, follow=True)
    assert "Say why the member is replaced." in r.content.decode()
    op.post(url(committee, "chair/"), {"action": "replace", "member": "M2", "seat": seat.pk,
                                       "reason": "回避"})
    assert not committee.members.get(label="M2").active


# --- the report ---------------------------------------------------------------------------------


def test_the_report_page_gives_the_digest_the_api_path_and_shows_the_pdf_inline():
    committee, users, *_ = formed()
    committee = to_report(committee, users)
    client = verified_client(users[1])
    html = client.get(url(committee, "report/")).content.decode()
    report = committee.tender.evaluation_report
    assert report.sha256 in html
    assert f"/api/tenders/{committee.tender.pk}/evaluation/report/sign/" in html
    assert 'id="sign-box"' in html and "js/bidkeys.js" in html
    r = client.get(url(committee, "report/view.pdf"))
    assert r.status_code == 200 and r["Content-Disposition"].startswith("inline;")
    assert r["X-Frame-Options"] == "SAMEORIGIN"
    assert verified_client(factories.expert()).get(url(committee, "report/")
                                                   ).status_code == 404


def test_the_report_page_signs_under_the_servers_report_label_with_the_shared_signing_js():
    committee, users, *_ = formed()
    committee = to_report(committee, users)
    html = verified_client(users[1]).get(url(committee, "report/")).content.decode()
    assert 'data-label="ggzy-evaluation-report-v1"' in html
    assert services.REPORT_LABEL == b"ggzy-evaluation-report-v1\x00"
    assert "ggzy-record-v1" not in html
    # signing.js needs bidkeys.js first, and evalroom.js uses signing.js.
    order = [html.index(f"js/{name}.js") for name in ("bidkeys", "signing", "evalroom")]
    assert order == sorted(order)
    assert 'href="/accounts/keys/"' in html


def test_a_member_refuses_to_sign_with_written_dissent():
    committee, users, *_ = formed()
    committee = to_report(committee, users)
    client = verified_client(users[1])
    client.post(url(committee, "report/"), {"dissent": "价格分计算有误"})
    sig = ReportSignature.objects.get(member__user=users[1])
    assert sig.kind == "dissent" and sig.dissent == "价格分计算有误"
    html = client.get(url(committee, "report/")).content.decode()
    assert "价格分计算有误" in html and 'id="sign-box"' not in html
    r = client.post(url(committee, "report/"), {"dissent": "again"}, follow=True)
    assert "You have signed already." in r.content.decode()


def test_pages_render_in_chinese():
    committee, users, *_ = formed()
    client = verified_client(users[0])
    r = client.get(url(committee), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert r.status_code == 200 and 'lang="zh-CN"' in r.content.decode()
    r = client.get(url(committee), HTTP_ACCEPT_LANGUAGE="en")
    assert 'lang="en"' in r.content.decode() and "Evaluation room" in r.content.decode()


# --- links into the room ------------------------------------------------------------------------


def test_the_tender_page_links_the_committee_and_oversight_to_the_room_and_nobody_else():
    tender, bidders = factories.opened_tender()
    _draw, users, _ = factories.complete_draw(tender)
    page = f"/tenders/{tender.pk}/"
    room_href = f'href="/tenders/{tender.pk}/evaluation/"'
    # No committee yet: no link, not even for a drawn expert.
    assert room_href not in verified_client(users[0]).get(page).content.decode()
    committee = elect(services.committee_form(tender=tender, user=tender.created_by,
                                              tenderer_reps=[]), users)
    member, chair = users[1], committee.chair.user
    for who in (member, chair, factories.supervisor(), factories.operator()):
        html = verified_client(who).get(page).content.decode()
        assert room_href in html, who.role
        # ... and the room lets each of them in.
        assert verified_client(who).get(url(committee)).status_code == 200
    # The active member's call to action while the evaluation runs.
    assert f'class="btn btn-accent" {room_href}' in verified_client(member).get(
        page).content.decode()
    for who in (factories.expert(), bidders[0], tender.created_by):
        r = verified_client(who).get(page)
        assert r.status_code == 200 and room_href not in r.content.decode(), who.role
    assert room_href not in Client().get(page).content.decode()


def test_my_evaluations_links_a_confirmed_seat_to_its_room_once_the_evaluation_started():
    tender, _bidders = factories.opened_tender()
    _draw, users, backups = factories.complete_draw(tender, backups=1, backups_confirmed=1)
    me = "/experts/me/"
    room_href = f'href="/tenders/{tender.pk}/evaluation/"'
    html = verified_client(users[0]).get(me).content.decode()
    assert tender.reference in html and room_href not in html  # not started yet
    committee = services.committee_form(tender=tender, user=tender.created_by,
                                        tenderer_reps=[])
    html = verified_client(users[0]).get(me).content.decode()
    assert room_href in html
    assert verified_client(users[0]).get(url(committee)).status_code == 200
    # A confirmed backup not on the committee, and an expert never drawn: no link.
    backup = backups[0].expert.user
    html = verified_client(backup).get(me).content.decode()
    assert tender.reference in html and room_href not in html
    assert room_href not in verified_client(factories.expert()).get(me).content.decode()
