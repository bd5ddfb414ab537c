"""Electronic filing (备案): documents at publication, results after the award (the Law 47
report), acknowledged with a verifiable platform receipt or returned with reasons."""

from __future__ import annotations

import copy

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from bidding.award.models import AwardDecision
from crypto.errors import CryptoError
from supervision.inspections import services
from supervision.inspections.models import Filing
from tests import factories

from .helpers import awarded_tender, codes, department, supervisor_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def tender():
    return awarded_tender()


def owner(tender):
    return factories.UserFactory(role="tenderer", organisation=tender.tenderer)


def test_documents_filing_acknowledged_with_a_verifiable_receipt(tender):
    f = services.filing_submit(user=owner(tender), tender=tender, stage="documents")
    assert f.items and f.items[0]["sha256"] == tender.documents.first().sha256
    f = services.filing_acknowledge(user=supervisor_of(department("住建局")), filing=f)
    assert f.status == Filing.Status.ACKNOWLEDGED
    fields = services.filing_receipt_verify(f)
    assert fields["sha256"] == services.items_digest(f.items)


def test_a_tampered_receipt_or_changed_items_fail(tender):
    f = services.filing_submit(user=owner(tender), tender=tender, stage="documents")
    f = services.filing_acknowledge(user=supervisor_of(department("住建局")), filing=f)
    forged = copy.deepcopy(f)
    forged.receipt["extra"]["items"][0]["sha256"] = "0" * 64
    with pytest.raises(CryptoError):
        services.filing_receipt_verify(forged)
    changed = copy.deepcopy(f)
    changed.items = [{**f.items[0], "sha256": "1" * 64}]
    with pytest.raises(CryptoError):
        services.filing_receipt_verify(changed)


def test_returned_filing_may_be_filed_again_and_a_live_one_may_not(tender):
    user = owner(tender)
    f = services.filing_submit(user=user, tender=tender, stage="documents")
    with pytest.raises(ValidationError) as exc:
        services.filing_submit(user=user, tender=tender, stage="documents")
    assert "already_filed" in codes(exc)
    boss = supervisor_of(department("住建局"))
    with pytest.raises(ValidationError) as exc:
        services.filing_return(user=boss, filing=f, reasons="")
    assert "required" in codes(exc)
    services.filing_return(user=boss, filing=f, reasons="缺少补遗文件")
    again = services.filing_submit(user=user, tender=tender, stage="documents")
    assert again.attempt == 2
    with pytest.raises(ValidationError) as exc:
        services.filing_acknowledge(user=boss, filing=f)
    assert "filing_answered" in codes(exc)


def test_only_the_tenderer_files_and_only_a_supervisor_answers(tender):
    with pytest.raises(PermissionDenied):
        services.filing_submit(user=factories.bidder(), tender=tender, stage="documents")
    f = services.filing_submit(user=owner(tender), tender=tender, stage="documents")
    with pytest.raises(PermissionDenied):
        services.filing_acknowledge(user=owner(tender), filing=f)


def test_results_are_filed_after_the_award_notice_only(tender):
    with pytest.raises(ValidationError) as exc:
        services.filing_submit(user=owner(tender), tender=tender, stage="results")
    assert "not_awarded" in codes(exc)


def test_unpublished_documents_cannot_be_filed():
    t = factories.draft_tender()
    with pytest.raises(ValidationError) as exc:
        services.filing_submit(user=owner(t), tender=t, stage="documents")
    assert "not_published" in codes(exc)


def test_filing_the_results_submits_the_law_47_report():
    tender, users, bids = factories.candidates_tender()
    now = timezone.now()
    decision = AwardDecision.objects.create(
        tender=tender, winner=bids[0], method="first_ranked", decided_at=now,
        decided_by=factories.operator(), notices_at=now, report_due=now, contract_due=now,
        record={"winner": str(bids[0].public_id)})
    f = services.filing_submit(user=owner(tender), tender=tender, stage="results")
    kinds = [i["kind"] for i in f.items]
    assert kinds == ["evaluation_report", "award_decision"]
    decision.refresh_from_db()
    assert decision.supervisor_report_at is not None
