"""The notification centre and the preferences table in a real browser, in both
languages, at desk and phone width: no sideways scroll, the choices are saved."""

import pytest
from django.utils import timezone

from core.notifications.models import Notification, NotificationPreference
from tests import factories
from tests.browser.conftest import asgi_live_server, browser  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _login(page, base, user):
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", factories.PASSWORD)
    page.click("button[type=submit].btn")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


@pytest.mark.parametrize("locale,width", [("zh-CN", 390), ("en-US", 1280)])
def test_the_centre_and_the_preferences_in_a_browser(browser, asgi_live_server,  # noqa: F811
                                                     locale, width):
    me = factories.bidder(email="me@example.cn")
    for i in range(3):
        Notification.objects.create(
            recipient=me, kind="tender.answer", source=f"test:{i}", language="en",
            title=f"ZB-2026-{i:04d}: a question was answered about a very long tender title",
            body="Question: 哪个厚度为准？\nAnswer: 以图纸为准", url="/", created_at=timezone.now(),
            tender_reference=f"ZB-2026-{i:04d}")
    errors = []
    ctx = browser.new_context(locale=locale, viewport={"width": width, "height": 844})
    page = ctx.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    base = asgi_live_server.url
    _login(page, base, me)
    page.goto(f"{base}/notifications/")
    assert page.locator(".notification.unread").count() == 3
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=f"/tmp/notifications-{locale[:2]}-{width}.png", full_page=True)
    page.locator(".notification .btn-secondary").first.click()
    page.wait_for_load_state()
    assert page.locator(".notification.unread").count() == 2
    page.goto(f"{base}/notifications/preferences/")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=f"/tmp/notification-preferences-{locale[:2]}-{width}.png",
                    full_page=True)
    page.uncheck('input[name="tender.answer:email"]')
    page.click("form .btn[type=submit]")
    page.wait_for_load_state()
    pref = NotificationPreference.objects.get(user=me, kind="tender.answer")
    assert pref.in_app and not pref.email
    assert errors == []
