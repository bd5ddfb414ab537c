from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts import selectors, services
from accounts.forms import MandateGrantForm, PublicKeyForm, RegistrationForm
from accounts.models import Organisation
from accounts.policies import is_tenderer


@require_http_methods(["GET", "POST"])
def register(request):
    form = RegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        result = form.save()
        if result:
            _org, user = result
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("Your organisation is registered."))
            return redirect("bidding:dashboard")
    return render(request, "accounts/register.html", {"form": form})


def _require_tenderer_or_agency(user) -> None:
    if not is_tenderer(user):
        raise PermissionDenied(_("Only tenderers and agencies have mandates."))


@login_required
@require_http_methods(["GET", "POST"])
def mandates(request):
    """Both sides of the agency mandate: the tenderer grants and revokes, the agency
    accepts; each sees the mandates it is party to."""
    user = request.user
    _require_tenderer_or_agency(user)
    is_client = user.organisation.kind == Organisation.Kind.TENDERER
    form = MandateGrantForm(request.POST or None) if is_client else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied(_("Only a tenderer can mandate an agency."))
        if form.is_valid():
            try:
                services.mandate_grant(user=user, **form.mandate_kwargs())
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, _("Mandate granted: it counts once the agency "
                                            "accepts it."))
                return redirect("accounts:mandates")
    now = timezone.now()
    rows = [{"m": m, "in_force": m.in_force(at=now, project_code=m.project_code or None),
             "can_accept": m.agency_id == user.organisation_id
             and m.status == m.Status.GRANTED,
             "can_revoke": m.tenderer_id == user.organisation_id
             and m.status != m.Status.REVOKED}
            for m in selectors.mandates_of(user)]
    return render(request, "accounts/mandates.html",
                  {"form": form, "rows": rows, "is_client": is_client})


@login_required
@require_POST
def mandate_accept(request, mandate_id):
    mandate = selectors.access_mandate(request.user, mandate_id)
    try:
        services.mandate_accept(user=request.user, mandate=mandate)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Mandate accepted."))
    return redirect("accounts:mandates")


@login_required
@require_POST
def mandate_revoke(request, mandate_id):
    mandate = selectors.access_mandate(request.user, mandate_id)
    try:
        services.mandate_revoke(user=request.user, mandate=mandate)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Mandate revoked: the agency no longer acts for you."))
    return redirect("accounts:mandates")


@login_required
@require_http_methods(["GET", "POST"])
def keys(request):
    """The person's keys: the list (active and retired) and the registration of the
    public half of a new one, made in this browser (the private key is saved to a
    passphrase-protected file and never sent) or by ``python -m ggzy_bid keygen``."""
    user = request.user
    purposes = services.key_purposes_for(user)
    if not purposes:
        raise PermissionDenied(_("Your role registers no keys."))
    form = PublicKeyForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        try:
            point = services.public_key_decode(form.cleaned_data["public_key"])
            key = services.public_key_register(
                user=user, point=point, purpose=form.cleaned_data["purpose"],
                label=form.cleaned_data["label"])
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Key %(fingerprint)s registered as your %(purpose)s.")
                             % {"fingerprint": key.fingerprint[:16],
                                "purpose": key.get_purpose_display()})
            return redirect("accounts:keys")
    return render(request, "accounts/keys.html", {
        "form": form, "keys": selectors.keys_of(user),
        "can_sign": "signing" in purposes,
        "keys_i18n": {
            "short": _("The passphrase needs at least 8 characters."),
            "mismatch": _("The two passphrases differ."),
            "making": _("Making the key and saving the key file…"),
            "registering": _("Registering the public key…"),
            "label": _("made in the browser"),
            "failed": _("The key could not be made:"),
        }})
