from django.contrib import messages
from django.contrib.auth import login
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.forms import RegistrationForm


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
