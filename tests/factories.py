"""Factories for tests. Tenders are built through the services, so every test tender
has passed the same rules a real one does and has its audit events."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

import factory
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts import credit_code
from accounts.models import Organisation, Role, User
from bidding import services
from bidding.models import Tender

_codes = itertools.count(1)

PASSWORD = "correct-horse-battery"


def new_credit_code() -> str:
    return credit_code.make(f"91350100MA{next(_codes):07d}")


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"测试单位{n}有限公司")
    name_en = factory.Sequence(lambda n: f"Test Company {n}")
    credit_code = factory.LazyFunction(new_credit_code)
    kind = Organisation.Kind.BIDDER


KIND_FOR_ROLE = {
    Role.TENDERER: Organisation.Kind.TENDERER,
    Role.BIDDER: Organisation.Kind.BIDDER,
    Role.SUPERVISOR: Organisation.Kind.SUPERVISOR,
    Role.OPERATOR: Organisation.Kind.TRADING_CENTRE,
    Role.EXPERT: Organisation.Kind.OTHER,
}


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.BIDDER
    organisation = factory.LazyAttribute(
        lambda o: OrganisationFactory(kind=KIND_FOR_ROLE[o.role])
    )
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


def tenderer(**kw) -> User:
    return UserFactory(role=Role.TENDERER, **kw)


def bidder(**kw) -> User:
    return UserFactory(role=Role.BIDDER, **kw)


def supervisor(**kw) -> User:
    return UserFactory(role=Role.SUPERVISOR, **kw)


def operator(**kw) -> User:
    return UserFactory(role=Role.OPERATOR, **kw)


def expert(**kw) -> User:
    return UserFactory(role=Role.EXPERT, **kw)


def tender_input(now=None, **overrides) -> services.TenderInput:
    """A valid tender, relative to ``now``: deadline 25 days out, bond at 1%."""
    now = now or timezone.now()
    values = dict(
        project_code="FZ-TEST-001",
        project_name="测试道路工程",
        title="测试道路改造工程施工招标",
        title_en="Test Road Reconstruction Works",
        region="350100",
        category="works_municipal",
        estimate=Decimal("10000000.00"),
        max_price=Decimal("9800000.00"),
        bond_amount=Decimal("100000.00"),
        docs_from=now,
        docs_until=now + timedelta(days=7),
        deadline=now + timedelta(days=25),
        evaluation_method="comprehensive",
        price_formula="benchmark_deviation",
        award_method="first_ranked",
        lots=[services.LotInput(name="第1标段")],
    )
    values.update(overrides)
    return services.TenderInput(**values)


def pdf_upload(name="招标文件.pdf", content=b"%PDF-1.4 test document\n%%EOF\n") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def draft_tender(user=None, now=None, with_document=True, **overrides) -> Tender:
    user = user or tenderer()
    tender = services.tender_create(user=user, data=tender_input(now=now, **overrides))
    if with_document:
        services.document_add(user=user, tender=tender, upload=pdf_upload())
    return tender


def published_tender(user=None, now=None, **overrides) -> Tender:
    user = user or tenderer()
    tender = draft_tender(user=user, now=now, **overrides)
    return services.tender_publish(user=user, tender=tender, now=now)
