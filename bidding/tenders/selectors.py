"""Reads for tenders. Pages and the API share these, so both show the same thing."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from accounts.policies import is_bidder, is_tenderer

from .models import Clarification, DocumentRegistration, Tender, TenderDocument, TenderKeyShare
from .reference import Category, Region

#: The tender's states, for readers that compare or filter on them without the model
#: (supervision: complaints, open data, its lifecycle hooks).
TenderStatus = Tender.Status

PUBLIC_STATUSES = [s for s in Tender.Status.values if s != Tender.Status.DRAFT]

SORTS = {
    "-published": ("-published_at", "-id"),
    "published": ("published_at", "id"),
    "deadline": ("deadline", "id"),
    "-deadline": ("-deadline", "-id"),
    "-estimate": ("-estimate", "-id"),
    "estimate": ("estimate", "id"),
}


class TenderFilter(django_filters.FilterSet):
    """Search and filters for the public tender list (page and API)."""

    q = django_filters.CharFilter(method="search", label=_("Search"))
    region = django_filters.ChoiceFilter(choices=Region.choices, label=_("Region"))
    category = django_filters.ChoiceFilter(choices=Category.choices, label=_("Category"))
    status = django_filters.ChoiceFilter(
        choices=[c for c in Tender.Status.choices if c[0] != Tender.Status.DRAFT],
        label=_("Status"),
    )
    published_from = django_filters.DateFilter(
        field_name="published_at", lookup_expr="date__gte", label=_("Published from")
    )
    published_to = django_filters.DateFilter(
        field_name="published_at", lookup_expr="date__lte", label=_("Published to")
    )
    deadline_from = django_filters.DateFilter(
        field_name="deadline", lookup_expr="date__gte", label=_("Deadline from")
    )
    deadline_to = django_filters.DateFilter(
        field_name="deadline", lookup_expr="date__lte", label=_("Deadline to")
    )
    sort = django_filters.ChoiceFilter(
        method="sort_by",
        choices=[
            ("-published", _("Newest first")),
            ("published", _("Oldest first")),
            ("deadline", _("Deadline soonest")),
            ("-deadline", _("Deadline latest")),
            ("-estimate", _("Largest estimate")),
            ("estimate", _("Smallest estimate")),
        ],
        label=_("Sort"),
        empty_label=None,
    )

    class Meta:
        model = Tender
        fields = ["q", "region", "category", "status"]

    def search(self, queryset, name, value):
        terms = value.split()
        for term in terms[:8]:
            queryset = queryset.filter(
                Q(title__icontains=term)
                | Q(title_en__icontains=term)
                | Q(project_name__icontains=term)
                | Q(reference__icontains=term)
                | Q(project_code__icontains=term)
                | Q(description__icontains=term)
                | Q(tenderer__name__icontains=term)
                | Q(tenderer__name_en__icontains=term)
            )
        return queryset

    def sort_by(self, queryset, name, value):
        return queryset.order_by(*SORTS.get(value, SORTS["-published"]))


def tender_public_list() -> QuerySet[Tender]:
    return (
        Tender.objects.filter(status__in=PUBLIC_STATUSES)
        .select_related("tenderer", "agency")
        .order_by(*SORTS["-published"])
    )


def tender_search(params) -> TenderFilter:
    """Bound filter over the public tenders; ``.qs`` is the result, ``.errors`` the bad
    parameters."""
    return TenderFilter(params, queryset=tender_public_list())


def tenders_of_organisation(organisation_id: int) -> QuerySet[Tender]:
    return (
        Tender.objects.filter(Q(tenderer_id=organisation_id) | Q(agency_id=organisation_id))
        .select_related("tenderer", "agency")
        .order_by("-created_at")
    )


def tenders_of_user(user) -> QuerySet[Tender]:
    """"My tenders": a tenderer's own (its organisation's, drafts included), a bidder's
    obtained ones; nobody else has any."""
    if is_tenderer(user):
        return tenders_of_organisation(user.organisation_id)
    if is_bidder(user):
        return tenders_obtained_by(user.organisation_id)
    return Tender.objects.none()


def tenders_obtained_by(organisation_id: int) -> QuerySet[Tender]:
    return (
        Tender.objects.filter(registrations__organisation_id=organisation_id)
        .select_related("tenderer")
        .order_by("deadline")
    )


def tender_register(tender: Tender) -> QuerySet[DocumentRegistration]:
    """Who obtained the documents. Only for callers that passed ``access_register``."""
    return tender.registrations.select_related("organisation", "user").order_by("obtained_at")


def clarifications_visible(tender: Tender, user) -> QuerySet[Clarification]:
    """Answered questions for everyone; a bidder also sees its own open questions;
    the tenderer sees every question (but never who asked, on any page)."""
    from .policies import is_owner

    qs = tender.clarifications.all()
    if is_owner(user, tender):
        return qs
    mine = Q(asked_by_id=user.pk) if user.is_authenticated else Q(pk__in=[])
    return qs.filter(Q(answered_at__isnull=False) | mine)


def has_obtained(user, tender: Tender) -> bool:
    """The user's organisation has obtained the tender documents (Law 22's register)."""
    return bool(
        user.is_authenticated
        and user.organisation_id
        and DocumentRegistration.objects.filter(
            tender=tender, organisation_id=user.organisation_id
        ).exists()
    )


def key_share_of(tender: Tender, user) -> TenderKeyShare | None:
    """The user's encrypted share of the tender's opening key, if they are a custodian."""
    if not user.is_authenticated:
        return None
    return TenderKeyShare.objects.filter(tender=tender, custodian=user).first()


# ------------------------------------------------------------ reads for supervision
# supervision reads tenders only through these (import contract in pyproject.toml).


def tenders() -> QuerySet[Tender]:
    """Every tender, drafts included, to filter further. Used by supervision (audit
    viewer, cases, complaints, inspections, open data), which may not import the model."""
    return Tender.objects.all()


def tender_audit_type() -> str:
    """The ``object_type`` audit events give tenders. Used by supervision's audit viewer."""
    from audit.services import audit_object_type

    return audit_object_type(Tender)


def tender_documents(tender_id: int) -> QuerySet[TenderDocument]:
    """The tender's documents. Used by supervision (case evidence a supervisor may pick)."""
    return TenderDocument.objects.filter(tender_id=tender_id)


def tender_document(pk: int) -> TenderDocument | None:
    """One tender document with its tender, or None. Used by supervision (case evidence)."""
    return TenderDocument.objects.select_related("tender").filter(pk=pk).first()
