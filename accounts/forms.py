from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts import services
from accounts.models import Organisation


class RegistrationForm(forms.Form):
    name = forms.CharField(label=_("Organisation name"), max_length=200)
    name_en = forms.CharField(label=_("English name"), max_length=200, required=False)
    credit_code = forms.CharField(
        label=_("Unified social credit code"),
        max_length=40,
        help_text=_("18 characters, GB 32100-2015"),
    )
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[c for c in Organisation.Kind.choices if c[0] in services.SELF_REGISTRATION_KINDS],
    )
    legal_representative = forms.CharField(
        label=_("Legal representative"), max_length=100, required=False
    )
    username = forms.CharField(label=_("Username"), max_length=150)
    display_name = forms.CharField(label=_("Your name"), max_length=100, required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput)

    def save(self):
        data = dict(self.cleaned_data)
        try:
            return services.organisation_register(credit_code_value=data.pop("credit_code"), **data)
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                self.add_error(None if field == "__all__" else field, messages)
            return None


class MandateGrantForm(forms.Form):
    """A tenderer mandates an agency (委托代理); periods are whole days, local time."""

    agency = forms.ModelChoiceField(
        label=_("Tendering agency"),
        queryset=Organisation.objects.filter(kind=Organisation.Kind.AGENCY),
    )
    project_code = forms.CharField(
        label=_("Project code"), max_length=60, required=False,
        help_text=_("Empty: every project of yours."),
    )
    valid_from = forms.DateField(label=_("Valid from"), required=False,
                                 widget=forms.DateInput(attrs={"type": "date"}))
    valid_until = forms.DateField(label=_("Valid until (inclusive)"), required=False,
                                  widget=forms.DateInput(attrs={"type": "date"}),
                                  help_text=_("Empty: until you revoke it."))

    def mandate_kwargs(self) -> dict:
        """The grant's arguments: a period from the start of its first day to the end of
        its last, in the platform's time zone."""
        from datetime import datetime, time, timedelta

        from django.utils import timezone

        def start_of(day):
            return timezone.make_aware(datetime.combine(day, time.min)) if day else None

        until = self.cleaned_data.get("valid_until")
        return {
            "agency": self.cleaned_data["agency"],
            "project_code": self.cleaned_data.get("project_code") or "",
            "valid_from": start_of(self.cleaned_data.get("valid_from")),
            "valid_until": start_of(until + timedelta(days=1)) if until else None,
        }

    def add_service_errors(self, exc: ValidationError) -> None:
        """Show a service's refusal beside the field it names (or above the form)."""
        for field, errors in exc.message_dict.items():
            self.add_error(field if field in self.fields else None, errors)


class TwoFactorCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code from your authenticator app"), max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                      "autofocus": True}),
    )


class PublicKeyForm(forms.Form):
    """The public half of a key made on the person's side (in this browser, or with
    ``python -m ggzy_bid keygen``); the purposes offered are those the person's role
    may register."""

    purpose = forms.ChoiceField(label=_("Purpose"))
    public_key = forms.CharField(
        label=_("Public key"), max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false",
                                     "class": "mono"}),
        help_text=_("A PEM public key, or base64 of the 65-byte uncompressed P-256 point. "
                    "Never paste a private key."),
    )
    label = forms.CharField(label=_("Label"), max_length=100, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        from accounts.models import PublicKey

        allowed = services.key_purposes_for(user)
        self.fields["purpose"].choices = [c for c in PublicKey.Purpose.choices
                                          if c[0] in allowed]
        if "signing" in allowed:
            self.fields["purpose"].initial = "signing"

    def add_service_errors(self, exc: ValidationError) -> None:
        for field, errors in exc.message_dict.items():
            self.add_error(field if field in self.fields else None, errors)
