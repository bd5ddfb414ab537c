"""Tender services: publication rules, documents, registration, clarifications,
amendments. Every refusal leaves nothing half-saved and the audit chain valid."""

from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import audit_verify
from bidding.tenders import lifecycle, services
from bidding.tenders.models import (
    Amendment,
    Clarification,
    DocumentRegistration,
    Tender,
    TenderDocument,
)
from tests import factories

pytestmark = pytest.mark.django_db
S = Tender.Status


def _codes(exc: ValidationError, field: str) -> list[str]:
    return [e.code for e in exc.error_dict[field]]


# --- drafts and publication --------------------------------------------------------


def test_a_draft_gets_a_tender_number_and_a_lot():
    tender = factories.draft_tender()
    assert tender.status == S.DRAFT
    assert tender.reference.startswith("GGZY-")
    assert tender.lots.count() == 1
    assert tender.opening_time == tender.deadline


def test_publishing_makes_the_tender_public_and_schedules_its_deadline(settings):
    user = factories.tenderer()
    tender = factories.draft_tender(user=user)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    with mock.patch("core.tasks.deadline_reached.apply_async") as apply_async:
        with pytest.MonkeyPatch.context():
            from django.test import TestCase

            with TestCase.captureOnCommitCallbacks(execute=True):
                services.tender_publish(user=user, tender=tender)
    tender.refresh_from_db()
    assert tender.status == S.PUBLISHED and tender.published_at is not None
    apply_async.assert_called_once_with(args=[tender.pk], eta=tender.deadline)


def test_only_a_tenderer_can_create_a_tender():
    for user in (factories.bidder(), factories.supervisor(), factories.operator(),
                 factories.expert()):
        with pytest.raises(PermissionDenied):
            services.tender_create(user=user, data=factories.tender_input())
    assert not Tender.objects.exists()


def test_another_tenderer_cannot_publish_or_edit_my_draft():
    tender = factories.draft_tender()
    other = factories.tenderer()
    with pytest.raises(PermissionDenied):
        services.tender_publish(user=other, tender=tender)
    with pytest.raises(PermissionDenied):
        services.tender_update(user=other, tender=tender, data=factories.tender_input())


def test_publishing_with_a_deadline_too_soon_is_refused_and_nothing_changes():
    user = factories.tenderer()
    tender = factories.draft_tender(
        user=user, deadline=timezone.now() + timedelta(days=19),
        docs_until=timezone.now() + timedelta(days=6),
    )
    events = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as exc:
        services.tender_publish(user=user, tender=tender)
    assert _codes(exc.value, "deadline") == ["deadline_too_soon"]
    tender.refresh_from_db()
    assert tender.status == S.DRAFT
    assert AuditEvent.objects.count() == events
    assert audit_verify().ok


def test_a_bond_over_the_cap_is_refused_at_draft():
    with pytest.raises(ValidationError) as exc:
        factories.draft_tender(bond_amount=Decimal("200000.01"))
    assert _codes(exc.value, "bond_amount") == ["bond_over_cap"]
    assert not Tender.objects.exists()


def test_an_opening_time_other_than_the_deadline_is_refused():
    now = timezone.now()
    with pytest.raises(ValidationError) as exc:
        factories.draft_tender(deadline=now + timedelta(days=25),
                               opening_time=now + timedelta(days=26))
    assert "opening_time" in exc.value.message_dict


def test_documents_obtainable_for_less_than_5_days_is_refused_at_publication():
    user = factories.tenderer()
    tender = factories.draft_tender(user=user, docs_until=timezone.now() + timedelta(days=4))
    with pytest.raises(ValidationError) as exc:
        services.tender_publish(user=user, tender=tender)
    assert _codes(exc.value, "docs_until") == ["docs_period_too_short"]


def test_publishing_without_documents_is_refused():
    user = factories.tenderer()
    tender = factories.draft_tender(user=user, with_document=False)
    with pytest.raises(ValidationError) as exc:
        services.tender_publish(user=user, tender=tender)
    assert "documents" in exc.value.message_dict


def test_separate_award_needs_a_decision_method():
    with pytest.raises(ValidationError) as exc:
        factories.draft_tender(award_method="separate", decision_method="")
    assert "decision_method" in exc.value.message_dict


def test_publishing_twice_is_refused_by_the_lifecycle():
    user = factories.tenderer()
    tender = factories.published_tender(user=user)
    with pytest.raises(lifecycle.TransitionNotAllowed):
        services.tender_publish(user=user, tender=tender)


def test_a_published_tender_cannot_be_edited():
    user = factories.tenderer()
    tender = factories.published_tender(user=user)
    with pytest.raises(ValidationError, match="amendment"):
        services.tender_update(user=user, tender=tender, data=factories.tender_input())


def test_an_agency_files_a_tender_for_a_named_tenderer():
    from accounts.models import Organisation

    agency_org = factories.OrganisationFactory(kind=Organisation.Kind.AGENCY)
    agency_user = factories.tenderer(organisation=agency_org)
    client = factories.OrganisationFactory(kind=Organisation.Kind.TENDERER)
    with pytest.raises(ValidationError):
        services.tender_create(user=agency_user, data=factories.tender_input())
    # The client's mandate, accepted (tests/bidding/tenders/test_mandate.py: without it).
    from accounts.services import mandate_accept, mandate_grant

    mandate_accept(user=agency_user, mandate=mandate_grant(
        user=factories.tenderer(organisation=client), agency=agency_org))
    tender = services.tender_create(
        user=agency_user, data=factories.tender_input(tenderer_org=client)
    )
    assert tender.tenderer == client and tender.agency == agency_org


# --- documents ---------------------------------------------------------------------


def test_a_document_is_stored_with_its_sha256():
    import hashlib

    tender = factories.draft_tender(with_document=False)
    content = b"%PDF-1.4 hello"
    doc = services.document_add(user=tender.created_by, tender=tender,
                                upload=factories.pdf_upload(content=content))
    assert doc.sha256 == hashlib.sha256(content).hexdigest()
    assert doc.size == len(content)
    with doc.file.open("rb") as fh:
        assert fh.read() == content


def test_a_file_type_not_allowed_is_refused():
    tender = factories.draft_tender(with_document=False)
    with pytest.raises(ValidationError) as exc:
        services.document_add(user=tender.created_by, tender=tender,
                              upload=SimpleUploadedFile("run.exe", b"MZ..."))
    assert _codes(exc.value, "file") == ["file_type"]
    assert not TenderDocument.objects.exists()


def test_a_file_over_the_size_limit_is_refused(settings):
    settings.TENDER_DOCUMENT_MAX_BYTES = 10
    tender = factories.draft_tender(with_document=False)
    with pytest.raises(ValidationError) as exc:
        services.document_add(user=tender.created_by, tender=tender,
                              upload=factories.pdf_upload(content=b"x" * 11))
    assert _codes(exc.value, "file") == ["file_too_large"]


def test_a_published_document_cannot_be_changed_added_or_removed():
    user = factories.tenderer()
    tender = factories.published_tender(user=user)
    doc = tender.documents.get()
    with pytest.raises(ValidationError) as exc:
        services.document_add(user=user, tender=tender, upload=factories.pdf_upload())
    assert _codes(exc.value, "file") == ["document_immutable"]
    with pytest.raises(ValidationError):
        services.document_remove(user=user, tender=tender, document=doc)
    assert tender.documents.count() == 1


def test_a_failed_amendment_leaves_no_stored_file(settings, tmp_path):
    user = factories.tenderer()
    tender = factories.published_tender(user=user)
    media_before = sorted(p.name for p in settings.MEDIA_ROOT.rglob("*") if p.is_file())
    boom = [None, RuntimeError("boom")]
    with mock.patch("bidding.tenders.services.audit_record", side_effect=boom):
        with pytest.raises(RuntimeError):
            services.amendment_publish(user=user, tender=tender, text="x",
                                       files=[factories.pdf_upload("new.pdf")])
    media_after = sorted(p.name for p in settings.MEDIA_ROOT.rglob("*") if p.is_file())
    assert media_after == media_before
    assert not Amendment.objects.exists()


# --- registration ------------------------------------------------------------------


def test_a_bidder_obtains_documents_once():
    tender = factories.published_tender()
    bidder = factories.bidder()
    first = services.document_obtain(user=bidder, tender=tender)
    second = services.document_obtain(user=bidder, tender=tender)
    assert first.pk == second.pk
    assert DocumentRegistration.objects.count() == 1


def test_only_bidders_obtain_documents():
    tender = factories.published_tender()
    for user in (factories.tenderer(), factories.supervisor(), factories.expert()):
        with pytest.raises(PermissionDenied):
            services.document_obtain(user=user, tender=tender)


def test_documents_cannot_be_obtained_outside_their_period():
    tender = factories.published_tender()
    with pytest.raises(ValidationError) as exc:
        services.document_obtain(user=factories.bidder(), tender=tender,
                                 now=tender.docs_until + timedelta(seconds=1))
    assert exc.value.code == "outside_docs_period"


# --- clarifications ----------------------------------------------------------------


def test_a_question_needs_the_documents_first():
    tender = factories.published_tender()
    with pytest.raises(PermissionDenied):
        services.clarification_ask(user=factories.bidder(), tender=tender, question="?")


def test_an_answer_is_published_without_the_asker():
    user = factories.tenderer()
    tender = factories.published_tender(user=user)
    bidder = factories.bidder()
    services.document_obtain(user=bidder, tender=tender)
    item = services.clarification_ask(user=bidder, tender=tender, question="哪个厚度为准？")
    services.clarification_answer(user=user, tender=tender, clarification=item, answer="图纸为准")
    item.refresh_from_db()
    assert item.is_answered
    event = AuditEvent.objects.filter(action="clarification.answer").get()
    assert event.actor == user.username


def test_a_question_cannot_be_answered_twice():
    user = factories.tenderer()
    tender = factories.published_tender(user=user)
    bidder = factories.bidder()
    services.document_obtain(user=bidder, tender=tender)
    item = services.clarification_ask(user=bidder, tender=tender, question="q")
    services.clarification_answer(user=user, tender=tender, clarification=item, answer="a")
    with pytest.raises(ValidationError):
        services.clarification_answer(user=user, tender=tender, clarification=item, answer="b")


def test_an_answer_affecting_bids_late_moves_the_deadline():
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        user = factories.tenderer()
        tender = factories.published_tender(user=user)
        bidder = factories.bidder()
        services.document_obtain(user=bidder, tender=tender)
        item = services.clarification_ask(user=bidder, tender=tender, question="q")
    answer_time = tender.deadline - timedelta(days=5)
    with time_machine.travel(answer_time, tick=False):
        services.clarification_answer(user=user, tender=tender, clarification=item,
                                      answer="changes the bill", affects_bids=True)
    tender.refresh_from_db()
    assert tender.deadline == answer_time + timedelta(days=15)


def test_only_the_tenderer_answers():
    tender = factories.published_tender()
    bidder = factories.bidder()
    services.document_obtain(user=bidder, tender=tender)
    item = services.clarification_ask(user=bidder, tender=tender, question="q")
    with pytest.raises(PermissionDenied):
        services.clarification_answer(user=bidder, tender=tender, clarification=item, answer="a")
    assert not Clarification.objects.get().is_answered


# --- amendments --------------------------------------------------------------------


def test_an_amendment_well_before_the_deadline_keeps_it():
    user = factories.tenderer()
    tender = factories.published_tender(user=user)
    old = tender.deadline
    amendment = services.amendment_publish(user=user, tender=tender, text="typo fixed")
    tender.refresh_from_db()
    assert tender.deadline == old
    assert amendment.number == 1 and not amendment.deadline_changed


def test_an_amendment_less_than_15_days_before_moves_the_deadline_15_days_after_it():
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        user = factories.tenderer()
        tender = factories.published_tender(user=user)
    when = tender.deadline - timedelta(days=3)
    with time_machine.travel(when, tick=False):
        amendment = services.amendment_publish(
            user=user, tender=tender, text="清单更正", files=[factories.pdf_upload("清单.pdf")]
        )
    tender.refresh_from_db()
    assert tender.deadline == when + timedelta(days=15)
    assert amendment.deadline_moved_by_rule and amendment.new_deadline == tender.deadline
    assert amendment.documents.count() == 1
    assert AuditEvent.objects.filter(action="tender.deadline_moved").count() == 1
    assert audit_verify().ok


def test_an_amendment_after_the_deadline_is_refused_and_nothing_is_saved():
    with time_machine.travel(timezone.now(), tick=False):
        user = factories.tenderer()
        tender = factories.published_tender(user=user)
    with time_machine.travel(tender.deadline + timedelta(minutes=1), tick=False):
        with pytest.raises(ValidationError) as exc:
            services.amendment_publish(user=user, tender=tender, text="late",
                                       now=timezone.now())
    assert exc.value.error_dict["__all__"][0].code == "amendment_after_deadline"
    assert not Amendment.objects.exists()


def test_a_draft_cannot_be_amended():
    tender = factories.draft_tender()
    with pytest.raises(ValidationError):
        services.amendment_publish(user=tender.created_by, tender=tender, text="x")
