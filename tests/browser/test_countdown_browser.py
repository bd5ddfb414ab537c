"""The countdown runs from the server's clock: a browser whose own clock is days off still
shows the time left by the server, in the page's language, with the static sentence kept
for screen readers only."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext

from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def expected(lang: str) -> str:
    """The sentence as the catalogue has it (English: "%(left)s until the bid deadline";
    Chinese once merged: "距投标截止还有 %(left)s"), with the time left as a pattern."""
    with translation.override(lang):
        sentence = gettext("%(left)s until the bid deadline")
        days = ngettext("%(n)s day", "%(n)s days", 2)
    left = re.escape(days).replace(re.escape("%(n)s"), r"(\d+)") + r" \d\d:\d\d:\d\d"
    return "^" + re.escape(sentence).replace(re.escape("%(left)s"), left) + "$"


@pytest.mark.parametrize(("lang", "django_lang"), [("en", "en"), ("zh-CN", "zh-hans")])
def test_a_wrong_browser_clock_does_not_move_the_countdown(browser, live_server, lang,
                                                           django_lang):
    pattern = expected(django_lang)
    tender = factories.published_tender()
    left = (tender.deadline - timezone.now()).days
    context = browser.new_context(locale=lang, extra_http_headers={"Accept-Language": lang})
    page = context.new_page()
    # The browser believes it is three days later than the server does.
    page.clock.install(time=timezone.now() + timedelta(days=3))
    page.goto(f"{live_server.url}/tenders/{tender.pk}/")
    page.clock.run_for(1500)
    text = page.locator(".clock-countdown .countdown").inner_text()
    match = re.match(pattern, text)
    assert match, (text, pattern)
    days = int(match.group(1))
    assert days in (left, left - 1), text  # not left - 3: the skew is corrected
    still = page.locator(".clock-countdown .countdown-static")
    assert still.bounding_box()["width"] <= 1  # off screen, still in the accessibility tree
    assert page.locator(".clock-countdown .countdown").get_attribute("aria-live") == "off"
    context.close()
