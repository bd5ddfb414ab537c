"""Pages: the public 一公开 pages (plans, draw proofs, results) and the filings queue and an
inspection's checklist for inspectors. Forms post to the services; refusals show inline."""

from __future__ import annotations

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Organisation, User
from bidding.tenders.selectors import TenderStatus

from . import draws, policies, selectors, services
from .models import (
    ChecklistItem,
    Filing,
    Inspection,
    InspectionPlan,
    Inspector,
    SupervisedParty,
    SupervisionMatter,
)


def public_index(request):
    """Anyone: the plans with drawn rounds and the published results."""
    return render(request, "inspections/public_index.html", {
        "plans": selectors.public_plans(),
        "results": selectors.published_inspections()[:100]})


def public_plan(request, plan_id: int):
    """Anyone: a plan, each round's draw proof and whether it verifies, the inspected
    tenders and their published outcomes."""
    plan = get_object_or_404(selectors.public_plans(), pk=plan_id)
    rounds = [{"round": r, "secret": bytes(r.secret).hex(),
               "verification": draws.verify_round(r)}
              for r in plan.rounds.filter(drawn_at__isnull=False)]
    return render(request, "inspections/public_plan.html", {
        "plan": plan, "rounds": rounds, "checklist": selectors.checklist(plan),
        "inspections": plan.inspections.select_related("tender").prefetch_related(
            "inspectors__department")})


def inspection_detail(request, inspection_id: int):
    """A published result for anyone; an open inspection for its inspectors (checklist
    form) and supervisors."""
    inspection = get_object_or_404(Inspection.objects.select_related("tender", "plan"),
                                   pk=inspection_id)
    mine = (request.user.is_authenticated
            and inspection.inspectors.filter(user=request.user).exists())
    if inspection.status != Inspection.Status.PUBLISHED and not (
            mine or policies.is_oversight(request.user)):
        raise Http404
    error = None
    if request.method == "POST" and mine:
        try:
            if "conclude" in request.POST:
                services.inspection_conclude(user=request.user, inspection=inspection,
                                             text=request.POST.get("text", ""))
            else:
                item = get_object_or_404(ChecklistItem, pk=request.POST.get("item"))
                evidence = [int(x) for x in request.POST.get("evidence", "").split()
                            if x.isdigit()]
                services.finding_record(user=request.user, inspection=inspection, item=item,
                                        result=request.POST.get("result", ""),
                                        note=request.POST.get("note", ""), evidence=evidence)
            return redirect("inspections:inspection", inspection_id=inspection.pk)
        except ValidationError as exc:
            error = " ".join(m for ms in exc.message_dict.values() for m in ms)
    findings = {f.item_id: f for f in inspection.findings.all()}
    rows = [{"item": i, "finding": findings.get(i.pk)}
            for i in selectors.checklist(inspection.plan)]
    return render(request, "inspections/inspection.html", {
        "inspection": inspection, "rows": rows, "mine": mine, "error": error,
        "open": inspection.status == Inspection.Status.OPEN})


def filings(request):
    """Supervisors: the filings, newest first, with acknowledge / return."""
    if not policies.is_supervisor(request.user):
        raise PermissionDenied(_("Only a supervisor can do this."))
    error = None
    if request.method == "POST":
        f = get_object_or_404(Filing, pk=request.POST.get("filing"))
        try:
            if request.POST.get("action") == "return":
                services.filing_return(user=request.user, filing=f,
                                       reasons=request.POST.get("reasons", ""))
            else:
                services.filing_acknowledge(user=request.user, filing=f)
            return redirect("inspections:filings")
        except ValidationError as exc:
            error = " ".join(m for ms in exc.message_dict.values() for m in ms)
    return render(request, "inspections/filings.html", {
        "filings": selectors.filings_for_supervisor()[:200], "error": error})


def plans_admin(request):
    """Supervisors: every plan (drafts and waiting rounds included)."""
    if not policies.is_oversight(request.user):
        raise PermissionDenied(_("Only a supervisor or the trading centre can do this."))
    return render(request, "inspections/plans.html", {
        "plans": InspectionPlan.objects.prefetch_related("rounds", "departments"),
        "mine": selectors.inspections_for(request.user)})


# ---------------------------------------------------------------- registers and new plans
# Supervisors (and the trading centre, read-only) see the registers; the forms post to the
# services, whose refusals are shown beside the field they name.


def _require_oversight(request) -> None:
    if not policies.is_oversight(request.user):
        raise PermissionDenied(_("Only a supervisor or the trading centre can do this."))


def _departments():
    return Organisation.objects.filter(kind=Organisation.Kind.SUPERVISOR).order_by("name")


def _refusal_to_form(form: forms.Form, exc: ValidationError, aliases: dict | None = None):
    """Put a service refusal beside the field it names (or above the form)."""
    aliases = aliases or {}
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.error_dict.items():
        field = aliases.get(field, field)
        form.add_error(field if field in form.fields else None, errors)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _words(text: str) -> list[str]:
    return [w for w in text.replace(",", " ").replace("，", " ").split() if w]


class MatterForm(forms.Form):
    code = forms.CharField(label=gettext_lazy("Matter code"), max_length=30)
    name = forms.CharField(label=gettext_lazy("Matter name"), max_length=200)
    name_en = forms.CharField(label=gettext_lazy("English name"), max_length=200,
                              required=False)
    legal_basis = forms.CharField(label=gettext_lazy("Legal basis"), max_length=300)
    departments = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Departments"), queryset=Organisation.objects.none(),
        widget=forms.CheckboxSelectMultiple)
    items = forms.CharField(
        label=gettext_lazy("Checklist"), widget=forms.Textarea(attrs={"rows": 6}),
        help_text=gettext_lazy("One item per line; an English text may follow after "
                               "\" | \"."))

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.fields["departments"].queryset = _departments()

    def checklist(self) -> list[dict]:
        items = []
        for line in _lines(self.cleaned_data["items"]):
            text, _sep, text_en = line.partition("|")
            items.append({"text": text.strip(), "text_en": text_en.strip()})
        return items


def matters_page(request):
    """The list of supervision matters with their checklists, and a form to add one."""
    _require_oversight(request)
    form = MatterForm(request.POST or None)
    if request.method == "POST":
        policies.require_supervisor(request.user)
        if form.is_valid():
            d = form.cleaned_data
            try:
                services.matter_create(
                    user=request.user, code=d["code"], name=d["name"], name_en=d["name_en"],
                    legal_basis=d["legal_basis"], departments=list(d["departments"]),
                    items=form.checklist())
                return redirect("inspections:matters")
            except ValidationError as exc:
                _refusal_to_form(form, exc)
    return render(request, "inspections/matters.html", {
        "matters": SupervisionMatter.objects.prefetch_related("departments", "items"),
        "matter_form": form, "can_edit": policies.is_supervisor(request.user)})


class InspectorForm(forms.Form):
    username = forms.CharField(label=gettext_lazy("Username"), max_length=150,
                               help_text=gettext_lazy("A supervisor of a supervision "
                                                      "department."))
    specialties = forms.CharField(label=gettext_lazy("Specialties"), max_length=200,
                                  required=False)
    interests = forms.CharField(
        label=gettext_lazy("Declared interests"), required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Unified social credit codes of organisations the inspector "
                               "has an interest in, one per line."))

    def clean_username(self):
        try:
            return User.objects.get(username=self.cleaned_data["username"].strip())
        except User.DoesNotExist:
            raise forms.ValidationError(_("No user with this username.")) from None

    def clean_interests(self):
        codes = _words(self.cleaned_data["interests"])
        orgs = list(Organisation.objects.filter(credit_code__in=codes))
        unknown = set(codes) - {o.credit_code for o in orgs}
        if unknown:
            raise forms.ValidationError(_("Unknown credit code: %(codes)s") % {
                "codes": ", ".join(sorted(unknown))})
        return orgs


def inspectors_page(request):
    """The inspector register: register a supervisor by username, activate or deactivate."""
    _require_oversight(request)
    form = InspectorForm(request.POST if "username" in request.POST else None)
    if request.method == "POST":
        policies.require_supervisor(request.user)
        if "inspector" in request.POST:
            inspector = get_object_or_404(Inspector, pk=request.POST.get("inspector"))
            services.inspector_set_active(user=request.user, inspector=inspector,
                                          active=request.POST.get("active") == "1")
            return redirect("inspections:inspectors")
        if form.is_valid():
            d = form.cleaned_data
            try:
                services.inspector_register(user=request.user, person=d["username"],
                                            specialties=d["specialties"],
                                            interests=d["interests"])
                return redirect("inspections:inspectors")
            except ValidationError as exc:
                _refusal_to_form(form, exc, {"person": "username",
                                             "department": "username"})
    return render(request, "inspections/inspectors.html", {
        "inspectors": Inspector.objects.select_related("user", "department")
        .prefetch_related("interests"),
        "form": form, "can_edit": policies.is_supervisor(request.user)})


class PartyForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind of party"),
                             choices=SupervisedParty.Kind.choices)
    name = forms.CharField(label=gettext_lazy("Name of the party"), max_length=200)
    identifier = forms.CharField(label=gettext_lazy("Credit code or expert number"),
                                 max_length=40)
    note = forms.CharField(label=gettext_lazy("Note"), max_length=300, required=False)


def parties_page(request):
    """The register of supervised parties: sync from the platform, add one by hand."""
    _require_oversight(request)
    form = PartyForm(request.POST if "identifier" in request.POST else None)
    if request.method == "POST":
        policies.require_supervisor(request.user)
        if "sync" in request.POST:
            services.parties_sync()
            return redirect("inspections:parties")
        if form.is_valid():
            try:
                services.party_add(user=request.user, **form.cleaned_data)
                return redirect("inspections:parties")
            except ValidationError as exc:
                _refusal_to_form(form, exc)
    return render(request, "inspections/parties.html", {
        "parties": SupervisedParty.objects.all(), "form": form,
        "can_edit": policies.is_supervisor(request.user)})


class PlanForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Plan name"), max_length=200)
    period_start = forms.DateField(label=gettext_lazy("Period starts"),
                                   widget=forms.DateInput(attrs={"type": "date"}))
    period_end = forms.DateField(label=gettext_lazy("Period ends"),
                                 widget=forms.DateInput(attrs={"type": "date"}))
    departments = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Departments taking part"), queryset=Organisation.objects.none(),
        widget=forms.CheckboxSelectMultiple)
    matters = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Supervision matters"), queryset=SupervisionMatter.objects.none(),
        widget=forms.CheckboxSelectMultiple)
    sample_count = forms.IntegerField(
        label=gettext_lazy("Tenders per round"), required=False, min_value=1,
        help_text=gettext_lazy("Give either a number of tenders or a share, not both."))
    sample_ratio = forms.DecimalField(
        label=gettext_lazy("Share of the population per round"), required=False,
        max_digits=4, decimal_places=3, help_text=gettext_lazy("For example 0.05 for 5%."))
    inspectors_per_inspection = forms.IntegerField(
        label=gettext_lazy("Inspectors per inspection"), initial=services.MIN_INSPECTORS)
    distinct_departments = forms.BooleanField(
        label=gettext_lazy("Inspectors from different departments"), required=False,
        initial=True)
    statuses = forms.MultipleChoiceField(
        label=gettext_lazy("Tender statuses in the population"),
        choices=TenderStatus.choices, required=False, widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("None ticked: awarded and contracted tenders."))
    categories = forms.CharField(label=gettext_lazy("Categories"), required=False,
                                 help_text=gettext_lazy("Separated by spaces or commas; "
                                                        "empty for all."))
    regions = forms.CharField(label=gettext_lazy("Regions"), required=False,
                              help_text=gettext_lazy("Separated by spaces or commas; empty "
                                                     "for all."))
    date_basis = forms.ChoiceField(
        label=gettext_lazy("The period applies to"), initial="awarded",
        choices=[("published", gettext_lazy("the publication of the tender")),
                 ("awarded", gettext_lazy("the award decision"))])

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.fields["departments"].queryset = _departments()
        self.fields["matters"].queryset = SupervisionMatter.objects.filter(active=True)

    def population(self) -> dict:
        d = self.cleaned_data
        return {"statuses": list(d["statuses"]), "categories": _words(d["categories"]),
                "regions": _words(d["regions"]), "date": d["date_basis"]}


def plan_new(request):
    """A new inspection plan several departments share."""
    _require_oversight(request)
    own = policies.department_of(request.user)
    form = PlanForm(request.POST or None,
                    initial={"departments": [own.pk] if own else []})
    if request.method == "POST":
        policies.require_supervisor(request.user)
        if form.is_valid():
            d = form.cleaned_data
            try:
                services.plan_create(
                    user=request.user, name=d["name"], period_start=d["period_start"],
                    period_end=d["period_end"], departments=list(d["departments"]),
                    matters=list(d["matters"]), sample_count=d["sample_count"],
                    sample_ratio=d["sample_ratio"],
                    inspectors_per_inspection=d["inspectors_per_inspection"],
                    distinct_departments=d["distinct_departments"],
                    population=form.population())
                return redirect("inspections:manage")
            except ValidationError as exc:
                _refusal_to_form(form, exc, {"population": "statuses"})
    return render(request, "inspections/plan_new.html", {
        "form": form, "can_edit": policies.is_supervisor(request.user)})
