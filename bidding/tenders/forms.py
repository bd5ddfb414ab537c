from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation

from .models import Tender
from .reference import CriterionStage
from .services import DECLARED_FIELDS, TENDER_FIELDS, CriterionInput, LotInput, TenderInput

# What a line of the criteria box may start with, besides the stage codes.
STAGE_WORDS = {"资格": CriterionStage.QUALIFICATION, "技术": CriterionStage.TECHNICAL,
               "商务": CriterionStage.COMMERCIAL}

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


def add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's refusal beside the field it names (or above the form)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


class TenderForm(forms.ModelForm):
    lots_text = forms.CharField(
        label=_("Lots"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text=_(
            "One lot per line: name, optionally followed by | and its estimate. "
            "Empty: one lot named after the tender."
        ),
    )
    price_items_text = forms.CharField(
        label=_("Extra price sheet items"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text=_("Besides total price, duration, quality target and project manager: one "
                    "item per line that every bidder's sealed price sheet must state."),
    )
    criteria_text = forms.CharField(
        label=_("Evaluation criteria"),
        widget=forms.Textarea(attrs={"rows": 5}),
        required=False,
        help_text=_(
            "One criterion per line: stage | name | maximum score | English name. Stage is "
            "qualification (资格, pass or fail: leave the score empty), technical (技术) or "
            "commercial (商务). Only these criteria may be used in the evaluation (Reg 49)."
        ),
    )
    tenderer_org = forms.ModelChoiceField(
        label=_("Tenderer (for agencies)"),
        queryset=Organisation.objects.filter(kind=Organisation.Kind.TENDERER),
        required=False,
    )

    class Meta:
        model = Tender
        fields = [f for f in TENDER_FIELDS
                  if f not in ("price_formula_params", "price_sheet_items")]
        widgets = {
            "docs_from": DateTimeLocalInput(),
            "docs_until": DateTimeLocalInput(),
            "deadline": DateTimeLocalInput(),
            "description": forms.Textarea(attrs={"rows": 5}),
        }

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("docs_from", "docs_until", "deadline"):
            self.fields[name].input_formats = DATETIME_FORMATS
        self.fields["decryption_window_minutes"].required = False
        self.fields["decryption_fallback"].required = False
        self.fields["announce_mode"].required = False
        for name in DECLARED_FIELDS:
            self.fields[name].required = False
        if self.instance.pk and not self.initial.get("criteria_text"):
            self.initial["criteria_text"] = "\n".join(
                " | ".join([c.stage, c.name, "" if c.max_score is None else str(c.max_score),
                            c.name_en]).rstrip(" |")
                for c in self.instance.criteria.all()
            )
        if (
            user is None
            or user.organisation is None
            or (user.organisation.kind != Organisation.Kind.AGENCY)
        ):
            del self.fields["tenderer_org"]
        else:
            # An agency picks only among tenderers whose mandate it has accepted (the
            # service still checks the period and project: accounts.policies.may_act_for).
            from accounts.selectors import mandators_of

            self.fields["tenderer_org"].queryset = mandators_of(user.organisation_id)
            self.fields["tenderer_org"].help_text = _(
                "Tenderers whose mandate your agency has accepted (委托代理).")
        if self.instance.pk and not self.initial.get("price_items_text"):
            self.initial["price_items_text"] = "\n".join(self.instance.price_sheet_items or [])
        if self.instance.pk and not self.initial.get("lots_text"):
            self.initial["lots_text"] = "\n".join(
                f"{lot.name} | {lot.estimate}" if lot.estimate else lot.name
                for lot in self.instance.lots.all()
            )

    def clean_price_items_text(self) -> list[str]:
        return [line.strip()[:60] for line in self.cleaned_data["price_items_text"].splitlines()
                if line.strip()]

    def clean_criteria_text(self) -> list[CriterionInput] | None:
        text = self.cleaned_data["criteria_text"]
        if not text.strip():
            return None
        criteria = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            parts = [p.strip() for p in line.split("|")] + ["", "", ""]
            stage = STAGE_WORDS.get(parts[0], parts[0])
            try:
                score = Decimal(parts[2]) if parts[2] else None
            except InvalidOperation:
                raise ValidationError(
                    _("Line %(n)s: the maximum score “%(v)s” is not a number.")
                    % {"n": number, "v": parts[2]}
                ) from None
            criteria.append(CriterionInput(stage=str(stage), name=parts[1][:200],
                                           max_score=score, name_en=parts[3][:200]))
        return criteria

    def clean_lots_text(self) -> list[LotInput]:
        lots = []
        for number, line in enumerate(self.cleaned_data["lots_text"].splitlines(), start=1):
            if not line.strip():
                continue
            name, _sep, estimate = line.partition("|")
            try:
                value = Decimal(estimate.strip().replace(",", "")) if estimate.strip() else None
            except InvalidOperation:
                raise ValidationError(
                    _("Line %(n)s: the estimate “%(v)s” is not a number.")
                    % {"n": number, "v": estimate.strip()}
                ) from None
            lots.append(LotInput(name=name.strip()[:200], estimate=value))
        return lots

    def _post_clean(self):
        # The model instance is not saved by this form: services do that.
        pass

    def to_input(self) -> TenderInput:
        data = {f: self.cleaned_data.get(f) for f in TENDER_FIELDS if f in self.cleaned_data}
        data.setdefault("price_formula_params", self.instance.price_formula_params or {})
        data["price_sheet_items"] = self.cleaned_data.get("price_items_text") or []
        data["title_en"] = data.get("title_en") or ""
        data["description"] = data.get("description") or ""
        data["decision_method"] = data.get("decision_method") or ""
        data["decryption_fallback"] = data.get("decryption_fallback") or "custodians"
        data["announce_mode"] = data.get("announce_mode") or "at_close"
        data["score_aggregation"] = data.get("score_aggregation") or "mean"
        if data.get("candidate_count") is None:
            data["candidate_count"] = 3
        data["candidates_ranked"] = bool(data.get("candidates_ranked"))
        data["anonymous_technical"] = bool(data.get("anonymous_technical"))
        data["award_committee_mode"] = data.get("award_committee_mode") or ""
        data["vote_mode"] = data.get("vote_mode") or ""
        return TenderInput(
            criteria=self.cleaned_data.get("criteria_text"),
            lots=self.cleaned_data.get("lots_text") or [],
            tenderer_org=self.cleaned_data.get("tenderer_org"),
            **data,
        )

    def add_service_errors(self, exc: ValidationError) -> None:
        add_service_errors(self, exc)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(d, initial) for d in data]
        return [single(data, initial)] if data else []


class DocumentForm(forms.Form):
    file = forms.FileField(label=_("Tender document"))


class AmendmentForm(forms.Form):
    text = forms.CharField(label=_("What changes"), widget=forms.Textarea(attrs={"rows": 6}))
    new_deadline = forms.DateTimeField(
        label=_("New bid deadline (optional)"),
        required=False,
        widget=DateTimeLocalInput(),
        input_formats=DATETIME_FORMATS,
        help_text=_(
            "Leave empty to keep it. If the amendment comes less than 15 days before "
            "the deadline, the deadline moves to 15 days after it (Law 23, Reg 21)."
        ),
    )
    files = MultipleFileField(label=_("New or replacement documents"), required=False)


class QuestionForm(forms.Form):
    question = forms.CharField(
        label=_("Your question"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000
    )


class AnswerForm(forms.Form):
    answer = forms.CharField(
        label=_("Answer"), widget=forms.Textarea(attrs={"rows": 3}), max_length=10000
    )
    affects_bids = forms.BooleanField(
        label=_("This answer may affect bids (the 15-day rule applies)"), required=False
    )
