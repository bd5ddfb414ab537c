"""``core.prepared``: a queryset compiled once answers as the queryset does, for any
values, on the database the tests run on (SQLite here, PostgreSQL in CI's second pass);
a builder it cannot bind is refused at its first run. A compiled UPDATE changes what
``queryset.update`` changes; a compiled INSERT writes the row ``save()`` writes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.db.models import F, Q
from django.db.models.signals import pre_save
from django.db.transaction import TransactionManagementError
from rest_framework.authtoken.models import Token

from accounts.models import User
from audit.models import AuditPending
from bidding.tenders.models import Tender
from core.prepared import Prepared, PreparedInsert, PreparedUpdate
from tests import factories

pytestmark = pytest.mark.django_db


def test_values_rows_are_the_querysets_rows_for_each_value():
    a, b = factories.published_tender(), factories.published_tender()
    query = Prepared(lambda pk: Tender.objects.filter(pk=pk).values_list("reference", "status"),
                     pk=int)
    for tender in (a, b):
        assert query.rows(pk=tender.pk) == list(
            Tender.objects.filter(pk=tender.pk).values_list("reference", "status"))
    assert query.rows(pk=10**9) == []


def test_first_is_the_first_row_or_none():
    tender = factories.published_tender()
    query = Prepared(lambda pk: Tender.objects.filter(pk=pk).values_list("reference"), pk=int)
    assert query.first(pk=tender.pk) == (tender.reference,)
    assert query.first(pk=10**9) is None


def test_dates_datetimes_and_uuids_are_bound_and_converted():
    tender = factories.published_tender()
    query = Prepared(
        lambda after, public_id: Tender.objects.filter(deadline__gt=after, public_id=public_id)
        .values_list("deadline", "public_id"),
        after=datetime, public_id=type(tender.public_id))
    assert query.rows(after=tender.deadline - timedelta(seconds=1),
                      public_id=tender.public_id) == [(tender.deadline, tender.public_id)]
    assert query.rows(after=tender.deadline, public_id=tender.public_id) == []
    day = Prepared(lambda on: Tender.objects.filter(deadline__date__gte=on).values_list("pk"),
                   on=date)
    assert day.rows(on=tender.deadline.date() - timedelta(days=1)) == [(tender.pk,)]


def test_one_value_may_appear_twice_in_the_query():
    tender = factories.published_tender()
    query = Prepared(lambda ref: Tender.objects.filter(Q(reference=ref) | Q(project_code=ref))
                     .values_list("pk"), ref=str)
    assert query.rows(ref=tender.reference) == [(tender.pk,)]
    assert query.rows(ref="no such") == []


def test_model_rows_carry_select_related_and_defer_the_rest(django_assert_num_queries):
    user = factories.bidder()
    key = Token.objects.create(user=user).key
    query = Prepared(lambda k: Token.objects.select_related("user", "user__organisation")
                     .filter(key=k), k=str)
    (token,) = query.rows(k=key)
    with django_assert_num_queries(0):  # select_related rows are populated, not fetched
        assert token.user == user and token.user.organisation == user.organisation
        assert token.user.organisation.credit_code == user.organisation.credit_code
    narrow = Prepared(lambda pk: User.objects.filter(pk=pk).only("pk", "username"), pk=int)
    (again,) = narrow.rows(pk=user.pk)
    assert again.get_deferred_fields() and again.email == user.email  # loaded lazily


def test_the_query_is_built_and_compiled_once():
    calls = []

    def build(pk):
        calls.append(pk)
        return Tender.objects.filter(pk=pk).values_list("pk")

    query = Prepared(build, pk=int)
    tenders = [factories.published_tender() for _ in range(3)]
    assert [query.rows(pk=t.pk) for t in tenders] == [[(t.pk,)] for t in tenders]
    assert len(calls) == 1


def test_a_builder_that_changes_its_value_is_refused_at_the_first_run():
    query = Prepared(lambda ref: Tender.objects.filter(reference=ref.upper()).values_list("pk"),
                     ref=str)
    with pytest.raises(ImproperlyConfigured, match="not found"):
        query.rows(ref="GGZY-1")


def test_dict_rows_and_unknown_kinds_and_wrong_names_are_refused():
    with pytest.raises(ImproperlyConfigured):
        Prepared(lambda pk: Tender.objects.filter(pk=pk).values("pk"), pk=int).rows(pk=1)
    with pytest.raises(ImproperlyConfigured, match="unsupported kind"):
        Prepared(lambda pk: Tender.objects.filter(pk=pk), pk=float)
    query = Prepared(lambda pk: Tender.objects.filter(pk=pk).values_list("pk"), pk=int)
    with pytest.raises(TypeError):
        query.rows(id=1)


@pytest.mark.django_db(transaction=True)
def test_a_locking_query_outside_a_transaction_is_refused_as_the_orm_refuses_it():
    query = Prepared(lambda pk: Tender.objects.select_for_update().filter(pk=pk)
                     .values_list("pk"), pk=int)
    tender = factories.published_tender()
    with transaction.atomic():
        assert query.rows(pk=tender.pk) == [(tender.pk,)]
    if not connection.features.has_select_for_update:
        pytest.skip("SQLite has no row locks: nothing to refuse")
    with pytest.raises(TransactionManagementError):
        query.rows(pk=tender.pk)



def test_a_compiled_update_changes_the_rows_the_queryset_update_changes():
    a, b = factories.published_tender(), factories.published_tender()
    rename = PreparedUpdate(lambda pk, title: (Tender.objects.filter(pk=pk), {"title": title}),
                            pk=int, title=str)
    assert rename.run(pk=a.pk, title="改名 renamed") == 1
    assert rename.run(pk=10**9, title="nobody") == 0
    a.refresh_from_db()
    b_title = b.title
    b.refresh_from_db()
    assert a.title == "改名 renamed" and b.title == b_title


def test_a_compiled_update_across_tables_or_with_wrong_names_is_refused():
    tender = factories.published_tender()
    joined = PreparedUpdate(lambda name: (Tender.objects.filter(tenderer__name=name),
                                          {"title": "x"}), name=str)
    with pytest.raises(ImproperlyConfigured, match="one table"):
        joined.run(name=tender.tenderer.name)
    changed = PreparedUpdate(lambda pk: (Tender.objects.filter(pk=pk + 1), {"title": "x"}),
                             pk=int)
    with pytest.raises(ImproperlyConfigured, match="not found"):
        changed.run(pk=tender.pk)
    with pytest.raises(TypeError):
        PreparedUpdate(lambda pk: (Tender.objects.filter(pk=pk), {"title": "x"}),
                       pk=int).run(id=tender.pk)


def _pending(**overrides) -> AuditPending:
    fields = {"time": datetime(2026, 12, 8, 1, 2, 3, 456789, tzinfo=UTC), "actor_id": 7,
              "actor": "投标人 bidder", "action": "bid.submit", "object_type": "bids.bid",
              "object_id": "42", "summary": "", "sealed_tender_id": None,
              "payload_digest": "ab" * 32, "template_head": b"\x00head",
              "template_middle": b"mid\xff", "template_tail": b""}
    return AuditPending(**{**fields, **overrides})


def _stored(obj) -> dict:
    row = AuditPending.objects.filter(pk=obj.pk).values().get()
    row.pop("id")
    return {k: bytes(v) if isinstance(v, memoryview) else v for k, v in row.items()}


def test_a_compiled_insert_writes_the_row_save_writes_and_sets_the_key():
    insert = PreparedInsert(AuditPending)
    saved = _pending()
    saved.save()
    first, second = insert.insert(_pending()), insert.insert(_pending(actor_id=None))
    assert first.pk and second.pk and len({saved.pk, first.pk, second.pk}) == 3
    assert not first._state.adding and first._state.db == "default"
    assert _stored(first) == _stored(saved)
    assert _stored(second) == {**_stored(saved), "actor_id": None}


def test_a_compiled_insert_leaves_a_model_with_receivers_to_save():
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance.actor)

    pre_save.connect(receiver, sender=AuditPending)
    try:
        obj = PreparedInsert(AuditPending).insert(_pending(actor="heard"))
    finally:
        pre_save.disconnect(receiver, sender=AuditPending)
    assert seen == ["heard"] and obj.pk


def test_a_compiled_insert_refuses_what_save_would_do_differently():
    with pytest.raises(ImproperlyConfigured, match="own save"):
        PreparedInsert(Token)  # it makes its key in save()
    insert = PreparedInsert(AuditPending)
    with pytest.raises(TypeError, match="expression"):
        insert.insert(_pending(actor_id=F("sealed_tender_id")))
    obj = insert.insert(_pending())
    with pytest.raises(TypeError, match="new"):
        insert.insert(obj)  # already in the database
    with pytest.raises(TypeError, match="new"):
        insert.insert(factories.published_tender())
    assert AuditPending.objects.count() == 1
