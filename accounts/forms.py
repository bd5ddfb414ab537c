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
