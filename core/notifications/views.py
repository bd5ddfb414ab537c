"""The notification centre and the preferences table (pages)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from . import registry, selectors, services

PAGE_SIZE = 30


@login_required
def notification_list(request):
    services.language_remember(user=request.user, language=get_language())
    page = Paginator(selectors.inbox(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "notifications/list.html", {
        "page": page,
        "unread": selectors.unread_count(request.user),
    })


@login_required
@require_POST
def notification_read(request, notification_id: int):
    n = services.notification_mark_read(user=request.user, notification_id=notification_id)
    if request.POST.get("open") and n.url and url_has_allowed_host_and_scheme(
            n.url, allowed_hosts={request.get_host()}):
        return redirect(n.url)
    return redirect("notifications:list")


@login_required
@require_POST
def notification_read_all(request):
    count = services.notifications_mark_all_read(user=request.user)
    messages.success(request, _("%(count)d notifications marked as read.") % {"count": count})
    return redirect("notifications:list")


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request):
    if request.method == "POST":
        choices = {
            kind.code: {"in_app": f"{kind.code}:in_app" in request.POST,
                        "email": f"{kind.code}:email" in request.POST}
            for kind in registry.kinds()
        }
        try:
            services.preferences_set(user=request.user, choices=choices,
                                     language=request.POST.get("language") or None)
        except ValidationError as exc:
            for problems in exc.message_dict.values():
                for problem in problems:
                    messages.error(request, problem)
        else:
            messages.success(request, _("Your notification settings are saved."))
            return redirect("notifications:preferences")
    services.language_remember(user=request.user, language=get_language())
    return render(request, "notifications/preferences.html", {
        "rows": services.preferences_of(request.user),
        "language": services.user_language(request.user.pk),
        "languages": settings.LANGUAGES,
        "has_email": bool(request.user.email),
    })
