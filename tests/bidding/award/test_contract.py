"""The contract signed by both parties, amendments, payments, deadlines (Law 46, 47)."""

import base64
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import Notification
from bidding.award import contract as contracts
from bidding.award import deadlines, decision, selectors
from bidding.tenders.models import Tender
from crypto import signing
from tests import factories
from tests.bidding.award.helpers import after_publicity, code

pytestmark = pytest.mark.django_db
S = Tender.Status
TERMS = {"price": "9500000.00", "performance_bond": "950000.00",
         "payment_schedule": [{"description": "预付款", "amount": "1900000",
                               "due_on": "2027-01-31"}]}


def _awarded():
    tender, users, bids = factories.candidates_tender()
    d = decision.award_direct(user=tender.created_by, tender=tender, now=after_publicity(tender))
    tender.refresh_from_db()
    return tender, users, bids, d


def _sign(user, version) -> str:
    key = factories.signing_key_for(user)
    return base64.b64encode(signing.sign(key, contracts.CONTRACT_LABEL,
                                         contracts.signing_message(version))).decode()


def test_both_parties_sign_and_the_tender_is_contracted():
    tender, users, bids, d = _awarded()
    v = contracts.contract_prepare(user=tender.created_by, tender=tender, document=b"%PDF-1.4 c",
                                   document_name="合同.pdf", terms=TERMS)
    contracts.contract_sign(user=tender.created_by, tender=tender, number=0,
                            signature_b64=_sign(tender.created_by, v))
    tender.refresh_from_db()
    assert tender.status == S.AWARDED
    contracts.contract_sign(user=users[0], tender=tender, number=0,
                            signature_b64=_sign(users[0], v))
    tender.refresh_from_db()
    assert tender.status == S.CONTRACTED
    state = selectors.contract_state(tender)
    assert state["contract"]["signed_at"] is not None
    assert state["contract"]["payments"][0]["amount"] == "1900000.00"


def test_a_signature_that_does_not_verify_is_refused():
    tender, users, bids, d = _awarded()
    v = contracts.contract_prepare(user=tender.created_by, tender=tender, document=b"doc",
                                   document_name="c.pdf", terms=TERMS)
    good = _sign(users[0], v)
    bad = base64.b64encode(bytes(64)).decode()
    with pytest.raises(ValidationError) as exc:
        contracts.contract_sign(user=users[0], tender=tender, number=0, signature_b64=bad)
    assert code(exc) == "bad_signature"
    # A signature over other terms does not verify either.
    other = contracts.ContractVersion.objects.get(pk=v.pk)
    other.terms = {**v.terms, "price": "1.00"}
    with pytest.raises(ValidationError):
        contracts.contract_sign(user=users[0], tender=tender, number=0,
                                signature_b64=_sign(users[0], other))
    contracts.contract_sign(user=users[0], tender=tender, number=0, signature_b64=good)
    with pytest.raises(ValidationError) as exc:
        contracts.contract_sign(user=users[0], tender=tender, number=0, signature_b64=good)
    assert code(exc) == "already_signed"


def test_a_losing_bidder_cannot_sign():
    tender, users, bids, d = _awarded()
    v = contracts.contract_prepare(user=tender.created_by, tender=tender, document=b"doc",
                                   document_name="c.pdf", terms=TERMS)
    with pytest.raises(PermissionDenied):
        contracts.contract_sign(user=users[1], tender=tender, number=0,
                                signature_b64=_sign(users[1], v))


def test_performance_bond_above_ten_percent_is_refused():
    tender, users, bids, d = _awarded()
    with pytest.raises(ValidationError) as exc:
        contracts.contract_prepare(user=tender.created_by, tender=tender, document=b"doc",
                                   document_name="c.pdf",
                                   terms={**TERMS, "performance_bond": "950000.01"})
    assert code(exc) == "performance_bond_over_cap"
    assert "Reg 58" in str(exc.value)


def test_contract_before_the_award_notice_is_refused():
    tender, _u, _b = factories.candidates_tender()
    with pytest.raises(ValidationError) as exc:
        contracts.contract_prepare(user=tender.created_by, tender=tender, document=b"doc",
                                   document_name="c.pdf", terms=TERMS)
    assert code(exc) == "not_awarded"


def test_amendments_are_signed_the_same_way_one_at_a_time():
    tender, users, bids, d = _awarded()
    v = contracts.contract_prepare(user=tender.created_by, tender=tender, document=b"doc",
                                   document_name="c.pdf", terms=TERMS)
    with pytest.raises(ValidationError) as exc:
        contracts.contract_amend(user=tender.created_by, tender=tender, document=b"a1",
                                 document_name="a1.pdf", terms=TERMS)
    assert code(exc) == "not_signed"
    for u in (tender.created_by, users[0]):
        contracts.contract_sign(user=u, tender=tender, number=0, signature_b64=_sign(u, v))
    a1 = contracts.contract_amend(user=tender.created_by, tender=tender, document=b"a1",
                                  document_name="a1.pdf",
                                  terms={**TERMS, "price": "9600000.00"})
    assert a1.number == 1
    with pytest.raises(ValidationError) as exc:
        contracts.contract_amend(user=tender.created_by, tender=tender, document=b"a2",
                                 document_name="a2.pdf", terms=TERMS)
    assert code(exc) == "previous_unsigned"
    for u in (users[0], tender.created_by):
        contracts.contract_sign(user=u, tender=tender, number=1, signature_b64=_sign(u, a1))
    a1.refresh_from_db()
    assert a1.complete
    with pytest.raises(ValidationError) as exc:
        contracts.contract_amend(user=tender.created_by, tender=tender, document=b"a2",
                                 document_name="a2.pdf",
                                 terms={**TERMS, "performance_bond": "2000000"})
    assert code(exc) == "performance_bond_over_cap"


def test_payments_are_recorded_under_a_signed_contract_only():
    tender, users, bids, d = _awarded()
    v = contracts.contract_prepare(user=tender.created_by, tender=tender, document=b"doc",
                                   document_name="c.pdf", terms=TERMS)
    with pytest.raises(ValidationError) as exc:
        contracts.payment_record(user=tender.created_by, tender=tender, amount="100",
                                 description="预付款")
    assert code(exc) == "not_signed"
    for u in (tender.created_by, users[0]):
        contracts.contract_sign(user=u, tender=tender, number=0, signature_b64=_sign(u, v))
    contracts.payment_record(user=tender.created_by, tender=tender, amount="1900000",
                             description="预付款")
    assert selectors.contract_state(tender)["contract"]["paid_total"] == "1900000.00"
    with pytest.raises(ValidationError) as exc:
        contracts.payment_record(user=tender.created_by, tender=tender, amount="-1",
                                 description="x")
    assert code(exc) == "invalid_amount"


def test_deadline_reminders_once_and_overdue_visible_to_supervisors():
    tender, users, bids, d = _awarded()
    ahead = timedelta(days=3)
    assert deadlines.deadlines_tick(now=d.report_due - ahead - timedelta(seconds=1)) == []
    assert deadlines.deadlines_tick(now=d.report_due - ahead) == [d.pk]
    d.refresh_from_db()
    assert d.report_reminded_at and not d.contract_reminded_at
    assert deadlines.deadlines_tick(now=d.contract_due - ahead) == [d.pk]
    assert deadlines.deadlines_tick(now=d.contract_due) == []
    assert Notification.objects.filter(organisation=bids[0].bidder,
                                       subject__contains="contract").count() == 1
    assert selectors.overdue(now=d.report_due - timedelta(seconds=1)) == []
    late = selectors.overdue(now=d.contract_due)
    assert [(o.tender, o.what) for o in late] == [(tender, "report"), (tender, "contract")]
    deadlines.supervisor_report_submit(user=tender.created_by, tender=tender)
    assert [o.what for o in selectors.overdue(now=d.contract_due)] == ["contract"]
    with pytest.raises(ValidationError) as exc:
        deadlines.supervisor_report_submit(user=tender.created_by, tender=tender)
    assert code(exc) == "already_filed"


def test_one_failing_tender_does_not_stop_the_deadline_tick(monkeypatch):
    t1, _u1, _b1, d1 = _awarded()
    t2, _u2, _b2, d2 = _awarded()
    real = deadlines._remind

    def flaky(decision, what, now):
        if decision.pk == d1.pk:
            raise RuntimeError("boom")
        return real(decision, what, now)

    monkeypatch.setattr(deadlines, "_remind", flaky)
    assert deadlines.deadlines_tick(now=max(d1.contract_due, d2.contract_due)) == [d2.pk]


def test_performance_bond_of_exactly_ten_percent_is_allowed():
    assert contracts.check_terms({"price": "100", "performance_bond": "10"})[
        "performance_bond"] == str(Decimal("10.00"))
