"""Pages of the two-factor sign-in: set up the authenticator, enter a code after the
password. Thin: ``accounts.two_factor`` does the work."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts import two_factor
from accounts.forms import TwoFactorCodeForm


def _next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return resolve_url("bidding:dashboard")


def _form_refusal(form, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        for message in errors:
            form.add_error(None if field == "__all__" else field, message)


class TwoFactorLoginView(LoginView):
    """The password sign-in; a user with an authenticator goes on to enter a code."""

    template_name = "accounts/login.html"

    def form_valid(self, form):
        response = super().form_valid(form)
        if two_factor.is_enrolled(self.request.user):
            return redirect(f"{reverse('accounts:two_factor_verify')}?"
                            f"{urlencode({'next': self.get_success_url()})}")
        return response


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_setup(request):
    """Enrolment: the secret and the otpauth:// URI, then the first code to confirm."""
    if two_factor.is_enrolled(request.user):
        return render(request, "accounts/two_factor_setup.html",
                      {"enrolled": True, "next": _next(request),
                       "verified": two_factor.verified(request)})
    form = TwoFactorCodeForm(request.POST or None)
    try:
        device = two_factor.two_factor_enrol(user=request.user)
    except ValidationError:
        return redirect("accounts:two_factor_verify")
    if request.method == "POST" and form.is_valid():
        try:
            two_factor.two_factor_confirm(user=request.user, code=form.cleaned_data["code"])
        except ValidationError as exc:
            _form_refusal(form, exc)
        else:
            two_factor.mark_session(request)
            messages.success(request, _("Two-factor sign-in is set up."))
            return redirect(_next(request))
    return render(request, "accounts/two_factor_setup.html",
                  {"enrolled": False, "form": form, "next": _next(request),
                   **two_factor.enrolment(device)})


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_verify(request):
    """The code after the password."""
    if not two_factor.is_enrolled(request.user):
        return redirect(f"{reverse('accounts:two_factor_setup')}?"
                        f"{urlencode({'next': _next(request)})}")
    form = TwoFactorCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            two_factor.two_factor_verify(user=request.user, code=form.cleaned_data["code"])
        except ValidationError as exc:
            _form_refusal(form, exc)
        else:
            two_factor.mark_session(request)
            return redirect(_next(request))
    return render(request, "accounts/two_factor_verify.html",
                  {"form": form, "next": _next(request)})
