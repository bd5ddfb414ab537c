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
    # price_formula_params, one field per parameter (the keys in PRICE_PARAM_FIELDS). The
    # form only reads numbers; what the values must be is the service's rule (publication
    # needs the full score) and the price formula's (bidding.evaluation.formulas).
    price_full_score = forms.DecimalField(
        label=_("Price score: full marks"), required=False, max_digits=8, decimal_places=2,
        help_text=_("Comprehensive scoring: the points the best price earns (e.g. 30)."),
    )
    price_float = forms.DecimalField(
        label=_("Benchmark float"), required=False, max_digits=7, decimal_places=4,
        help_text=_("Benchmark price with deviation deductions: the benchmark is the trimmed "
                    "mean × (1 + float), e.g. -0.02 for 2% below. Empty: 0."),
    )
    price_k_above = forms.DecimalField(
        label=_("Deduction factor above the benchmark"), required=False, max_digits=7,
        decimal_places=4,
        help_text=_("Deduction = full marks × factor × |deviation| for prices above the "
                    "benchmark (e.g. 1.2)."),
    )
    price_k_below = forms.DecimalField(
        label=_("Deduction factor below the benchmark"), required=False, max_digits=7,
        decimal_places=4,
        help_text=_("The same for prices below the benchmark (e.g. 0.8)."),
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

    # form field -> key of price_formula_params
    PRICE_PARAM_FIELDS = {"price_full_score": "full_score", "price_float": "float",
                          "price_k_above": "k_above", "price_k_below": "k_below"}

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        # The price parameters right after the price formula they belong to.
        order = list(self.fields)
        for name in self.PRICE_PARAM_FIELDS:
            order.remove(name)
        at = order.index("price_formula") + 1
        order[at:at] = list(self.PRICE_PARAM_FIELDS)
        self.order_fields(order)
        params = self.instance.price_formula_params or {}
        for name, key in self.PRICE_PARAM_FIELDS.items():
            if key in params and name not in self.initial:
                self.initial[name] = params[key]
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
        data["price_formula_params"] = self.price_formula_params()
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

    def price_formula_params(self) -> dict:
        """The draft's parameters with the form's values: a field left empty drops its
        key; keys the form has no field for (a trim table ...) are kept. Numbers are
        kept as strings (exact decimals in JSON), as the API takes them."""
        params = dict(self.instance.price_formula_params or {})
        for name, key in self.PRICE_PARAM_FIELDS.items():
            value = self.cleaned_data.get(name)
            if value is None:
                params.pop(key, None)
            else:
                params[key] = format(value.normalize(), "f")
        return params

    def add_service_errors(self, exc: ValidationError) -> None:
        if hasattr(exc, "error_dict") and "price_formula_params" in exc.error_dict:
            # The parameters' refusals show beside the full marks, the first of them.
            exc.error_dict["price_full_score"] = exc.error_dict.pop("price_formula_params")
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
