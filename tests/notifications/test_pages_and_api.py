"""The notification centre, the preferences table and their API: each user sees and
changes only their own."""

import pytest
from django.test import Client
from django.urls import reverse

from core.notifications import registry, services
from core.notifications.models import Notification, NotificationPreference
from tests import factories
from tests.conftest import api_as

pytestmark = pytest.mark.django_db


def make(user, title="Answer on ZB-1", read=False, kind="tender.answer"):
    from django.utils import timezone

    return Notification.objects.create(
        recipient=user, kind=kind, source=f"test:{title}", language="en", title=title,
        body="body", url="/tenders/1/", created_at=timezone.now(),
        read_at=timezone.now() if read else None)


def client_for(user):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def test_the_api_lists_own_notifications_unread_first_paginated():
    me, other = factories.bidder(), factories.bidder()
    old_read = make(me, "read one", read=True)
    unread = make(me, "unread one")
    make(other, "not mine")
    data = api_as(me).get("/api/notifications/").json()
    assert data["count"] == 2 and "next" in data
    assert [r["id"] for r in data["results"]] == [unread.pk, old_read.pk]
    assert data["results"][0]["created_at"].endswith("+08:00")
    unread_only = api_as(me).get("/api/notifications/?unread=1").json()
    assert [r["id"] for r in unread_only["results"]] == [unread.pk]


def test_the_api_needs_a_signed_in_user(api):
    assert api.get("/api/notifications/").status_code in (401, 403)
    assert api.get("/api/notifications/preferences/").status_code in (401, 403)


def test_marking_read_works_on_own_notifications_and_is_404_for_anyone_elses():
    me, other = factories.bidder(), factories.bidder()
    mine, theirs = make(me), make(other)
    response = api_as(me).post(f"/api/notifications/{theirs.pk}/read/")
    assert response.status_code == 404
    assert api_as(me).post("/api/notifications/999999/read/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None
    response = api_as(me).post(f"/api/notifications/{mine.pk}/read/")
    assert response.status_code == 200 and response.json()["read_at"]
    page = client_for(me).post(reverse("notifications:read", args=[theirs.pk]))
    assert page.status_code == 404


def test_mark_all_read_marks_only_own():
    me, other = factories.bidder(), factories.bidder()
    make(me, "a"), make(me, "b")
    theirs = make(other)
    assert api_as(me).post("/api/notifications/read-all/").json() == {"marked": 2}
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_preferences_api_shows_the_registered_defaults_and_saves_choices():
    me = factories.bidder()
    data = api_as(me).get("/api/notifications/preferences/").json()
    kinds = {k["kind"]: k for k in data["kinds"]}
    assert {"tender.answer", "tender.amendment", "bid.received", "bid.withdrawn",
            "bid.deadline_reminder", "opening.started", "opening.window_closed",
            "opening.record_ready"} <= set(kinds)
    assert kinds["tender.answer"]["in_app"] is True
    assert kinds["tender.answer"]["email"] == registry.get_kind("tender.answer").default_email
    response = api_as(me).put("/api/notifications/preferences/", {
        "language": "en",
        "kinds": [{"kind": "tender.answer", "in_app": False, "email": True}]},
        format="json")
    assert response.status_code == 200
    pref = NotificationPreference.objects.get(user=me, kind="tender.answer")
    assert (pref.in_app, pref.email) == (False, True)
    assert services.user_language(me.pk) == "en"


def test_preferences_api_refuses_unknown_kinds_and_languages_all_at_once():
    me = factories.bidder()
    response = api_as(me).put("/api/notifications/preferences/", {
        "language": "fr",
        "kinds": [{"kind": "no.such", "in_app": True, "email": True},
                  {"kind": "tender.answer", "in_app": False, "email": False}]},
        format="json")
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert "no.such" in fields and "language" in fields
    assert not NotificationPreference.objects.filter(user=me).exists()


def test_the_list_page_shows_own_notifications_and_marks_all_read():
    me, other = factories.bidder(), factories.bidder()
    make(me, "Mine <script>")
    make(other, "Someone else's")
    client = client_for(me)
    page = client.get(reverse("notifications:list"))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Mine &lt;script&gt;" in html and "Someone else" not in html
    assert "1 unread notification" in html
    client.post(reverse("notifications:read_all"))
    assert not Notification.objects.filter(recipient=me, read_at=None).exists()


def test_opening_a_notification_marks_it_read_and_goes_to_its_page():
    me = factories.bidder()
    n = make(me)
    response = client_for(me).post(reverse("notifications:read", args=[n.pk]), {"open": "1"})
    assert response.status_code == 302 and response["Location"] == "/tenders/1/"
    n.refresh_from_db()
    assert n.read_at is not None


def test_the_preferences_page_saves_the_table():
    me = factories.bidder()
    client = client_for(me)
    page = client.get(reverse("notifications:preferences"))
    assert page.status_code == 200 and 'name="tender.answer:email"' in page.content.decode()
    client.post(reverse("notifications:preferences"),
                {"tender.answer:in_app": "on", "language": "zh-hans"})
    pref = NotificationPreference.objects.get(user=me, kind="tender.answer")
    assert (pref.in_app, pref.email) == (True, False)
    assert services.user_language(me.pk) == "zh-hans"
    # Every other kind was saved unticked: both channels off.
    assert not NotificationPreference.objects.get(user=me, kind="bid.received").in_app


def test_pages_need_sign_in():
    response = Client().get(reverse("notifications:list"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_the_header_count_comes_from_the_context_processor():
    from django.test import RequestFactory

    from core.notifications.context_processors import unread

    me = factories.bidder()
    make(me), make(me, "b"), make(me, "c", read=True)
    request = RequestFactory().get("/")
    request.user = me
    assert unread(request)["notifications_unread"]() == 2
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    assert unread(request)["notifications_unread"] == 0


def test_preferences_api_refuses_non_boolean_choices():
    me = factories.bidder()
    response = api_as(me).put("/api/notifications/preferences/", {
        "kinds": [{"kind": "tender.answer", "in_app": "maybe", "email": True}]}, format="json")
    assert response.status_code == 400
    assert not NotificationPreference.objects.filter(user=me).exists()


def test_the_preferences_page_refuses_an_unknown_language_and_saves_nothing():
    me = factories.bidder()
    response = client_for(me).post(reverse("notifications:preferences"),
                                   {"tender.answer:email": "on", "language": "xx"}, follow=True)
    assert "Unknown language: xx" in response.content.decode()
    assert not NotificationPreference.objects.filter(user=me).exists()


HEADER_SNIPPET = (
    "{% load i18n %}{% with unread=notifications_unread %}"
    "<a href=\"{% url 'notifications:list' %}\""
    "{% if request.resolver_match.app_name == 'notifications' %} aria-current=\"page\"{% endif %}>"
    "{% translate \"Notifications\" %}{% if unread %} <span class=\"badge badge-count\" title=\""
    "{% blocktranslate count counter=unread %}{{ counter }} unread notification.{% plural %}"
    "{{ counter }} unread notifications.{% endblocktranslate %}\">{{ unread }}</span>{% endif %}"
    "</a>{% endwith %}"
)


def test_the_header_snippet_for_base_html_shows_the_unread_count():
    """The exact snippet in notes/h-notify.md, rendered with the context processor."""
    from django.template import engines
    from django.test import RequestFactory

    me = factories.bidder()
    make(me), make(me, "b")
    request = RequestFactory().get("/")
    request.user = me
    request.resolver_match = None
    html = engines["django"].from_string(HEADER_SNIPPET).render({}, request)
    assert 'href="/notifications/"' in html
    assert ">2</span>" in html and "2 unread notifications." in html
    make(me, "c", read=True)
    Notification.objects.filter(recipient=me).update(read_at=Notification.objects.first().created_at)
    assert "badge" not in engines["django"].from_string(HEADER_SNIPPET).render({}, request)
