"""The evaluation room in a real browser: an expert signs in with a password and a TOTP
code, opens the room, fills the technical sheet (autosaved through the API), reloads the
page and finds every value still there. Screenshots (zh and en, and a phone width) go to
/tmp/room-*.png for a person to look at."""

import time

import pytest

from accounts import totp, two_factor
from tests import factories
from tests.bidding.evaluation.helpers import elect, formed, keys, run_stage
from tests.bidding.evaluation.room_helpers import seed_specialties
from tests.browser.conftest import in_thread

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _kek(tmp_path, settings):
    settings.PLATFORM_AT_REST_KEY_FILE = str(tmp_path / "at_rest_keys.json")
    settings.PLATFORM_AT_REST_KEY_PROVIDER = "file"


def _evaluation():
    seed_specialties()
    committee, users, bidders, _ = formed(anonymous_technical=True)
    committee = run_stage(elect(committee, users), users, "qualification")
    expert = users[1]
    device = two_factor.two_factor_enrol(user=expert)
    # Confirmed with the previous step's code, so the browser's code (this step) is new.
    two_factor.two_factor_confirm(user=expert, code=totp.totp(two_factor.secret_of(device),
                                                              time.time() - 30))
    return committee, expert, bidders


def _sign_in(page, base, user, next_url):
    page.goto(f"{base}/accounts/login/?next={next_url}")
    page.fill("#id_username", user.username)
    page.fill("#id_password", factories.PASSWORD)
    page.click("button[type=submit].btn")
    page.wait_for_url(lambda url: "/accounts/two-factor/verify/" in url)
    device = two_factor.device_of(user)
    page.fill("#id_code", totp.totp(in_thread(two_factor.secret_of, device), time.time()))
    page.click("main button[type=submit].btn")
    page.wait_for_url(lambda url: "/evaluation/" in url)


def test_an_expert_fills_a_sheet_reloads_and_finds_the_values_still_there(
        browser, asgi_live_server):
    committee, expert, bidders = in_thread(_evaluation)
    base = asgi_live_server.url
    room = f"/tenders/{committee.tender_id}/evaluation/"
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    _sign_in(page, base, expert, room)
    page.wait_for_selector("#room-conn.on", timeout=8000)  # the live progress is connected
    assert page.locator("#progress-table tr[data-member='M1']").count() == 1
    page.screenshot(path="/tmp/room-home-zh.png", full_page=True)

    page.goto(f"{base}{room}sheets/technical/")
    codes = in_thread(keys, committee, "technical")
    crit = in_thread(lambda: list(committee.tender.criteria.filter(stage="technical")
                                  .order_by("number")))
    typed = {}
    for i, code in enumerate(codes):
        for c in crit:
            value = f"{min(float(c.max_score), 5 + i):.2f}"
            page.fill(f"#s-{code}-{c.number}", value)
            typed[(code, c.number)] = value
    page.locator(f"#s-{codes[0]}-{crit[0].number}").focus()  # leave the last field
    # Every change saved (autosave on leaving a field and after a pause).
    page.wait_for_selector("#sheet-form[data-saved='1']", timeout=15000)
    assert page.locator("#save-state").inner_text().startswith(("Saved at", "保存于"))
    html = page.content()
    for b in bidders:  # 暗标: the sheet names no bidder
        assert b.organisation.name not in html
    page.screenshot(path="/tmp/room-sheet-zh.png", full_page=True)

    page.reload()
    for (code, number), value in typed.items():
        assert page.input_value(f"#s-{code}-{number}") == value
    assert not errors, errors

    # English, and a phone's width.
    en = browser.new_context(locale="en-US", viewport={"width": 390, "height": 844},
                             storage_state=context.storage_state())
    phone = en.new_page()
    phone.set_extra_http_headers({"Accept-Language": "en"})
    phone.goto(f"{base}{room}sheets/technical/")
    phone.wait_for_selector("#sheet-form")
    assert phone.input_value(f"#s-{codes[0]}-{crit[0].number}") == typed[(codes[0],
                                                                           crit[0].number)]
    phone.screenshot(path="/tmp/room-sheet-en-phone.png", full_page=True)
    desktop = browser.new_context(locale="en-US", storage_state=context.storage_state())
    page_en = desktop.new_page()
    page_en.set_extra_http_headers({"Accept-Language": "en"})
    page_en.goto(f"{base}{room}")
    page_en.wait_for_selector("#room-conn.on", timeout=8000)
    assert "Evaluation room" in page_en.content()
    page_en.screenshot(path="/tmp/room-home-en.png", full_page=True)
