"""The evaluation room in a real browser: an expert signs in with a password and a TOTP
code, opens the room, fills the technical sheet (autosaved through the API), reloads the
page and finds every value still there; loses the connection and finds the draft and the
live progress back; makes a signing key on the keys page and signs the report with it.
Screenshots (zh and en, and a phone width) go to /tmp/room-*.png and
/tmp/report-sign-zh.png for a person to look at."""

import re
import time

import pytest

from accounts import totp, two_factor
from accounts.models import PublicKey
from bidding.evaluation import services
from bidding.evaluation.models import ReportSignature, Sheet
from tests import factories
from tests.bidding.evaluation.helpers import (
    elect,
    formed,
    keys,
    run_stage,
    score_entries,
    to_report,
)
from tests.bidding.evaluation.room_helpers import seed_specialties
from tests.browser.conftest import in_thread

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _kek(tmp_path, settings):
    settings.PLATFORM_AT_REST_KEY_FILE = str(tmp_path / "at_rest_keys.json")
    settings.PLATFORM_AT_REST_KEY_PROVIDER = "file"


def _enrol(expert):
    device = two_factor.two_factor_enrol(user=expert)
    # Confirmed with the previous step's code, so the browser's code (this step) is new.
    two_factor.two_factor_confirm(user=expert, code=totp.totp(two_factor.secret_of(device),
                                                              time.time() - 30))


def _evaluation():
    seed_specialties()
    committee, users, bidders, _ = formed(anonymous_technical=True)
    committee = run_stage(elect(committee, users), users, "qualification")
    expert = users[1]
    _enrol(expert)
    return committee, expert, bidders


def _says_saved(page) -> bool:
    """The sheet says when it was saved ("Saved at HH:MM:SS", in whatever language the
    catalogue gives) and shows no error."""
    return bool(re.search(r"\d\d:\d\d:\d\d", page.locator("#save-state").inner_text())
                and "error" not in (page.get_attribute("#save-state", "class") or ""))


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
    assert _says_saved(page)
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


def _wait_for_connection(page, on: bool, timeout=20000):
    page.wait_for_selector("#room-conn.on" if on else "#room-conn:not(.on)",
                           state="attached", timeout=timeout)


class _Sockets:
    """The room's websockets pass through Playwright (to the real server) so the test
    can drop them as a lost network would: the page sees its socket close."""

    def __init__(self, context):
        self.open = []
        context.route_web_socket(re.compile(r".*/ws/tenders/.*"), self._route)

    def _route(self, ws):
        ws.connect_to_server()
        self.open.append(ws)

    def drop(self, context, page):
        context.set_offline(True)
        for ws in self.open:
            ws.close(code=4000, reason="network lost")
        self.open.clear()
        _wait_for_connection(page, False)
        context.set_offline(False)


def test_after_a_lost_connection_the_draft_is_there_and_the_progress_is_live_again(
        browser, asgi_live_server):
    def prepared():
        seed_specialties()
        committee, users, _bidders, _ = formed()
        committee = run_stage(elect(committee, users), users, "qualification")
        _enrol(users[1])
        return committee, users

    committee, users = in_thread(prepared)
    expert, other = users[1], users[2]
    other_label = in_thread(lambda: committee.members.get(user=other).label)
    base = asgi_live_server.url
    room = f"/tenders/{committee.tender_id}/evaluation/"
    context = browser.new_context(locale="zh-CN")
    sockets = _Sockets(context)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    _sign_in(page, base, expert, f"{room}sheets/technical/")
    _wait_for_connection(page, True)
    key = in_thread(keys, committee, "technical")[0]
    crit = in_thread(lambda: committee.tender.criteria.filter(stage="technical")
                     .order_by("number").first())
    field = f"#s-{key}-{crit.number}"
    value = f"{float(crit.max_score) * 0.75:.2f}"
    page.fill(field, value)
    page.locator(f"#sheet-form input[type=number]:not({field})").first.focus()  # leave it
    page.wait_for_selector("#sheet-form[data-saved='1']", timeout=15000)
    assert _says_saved(page)
    member = in_thread(lambda: committee.members.get(user=expert))
    saved = in_thread(lambda: Sheet.objects.get(member=member, stage="technical").draft)
    assert saved[key][str(crit.number)] == value

    # The connection drops (the websocket closes) and comes back.
    before = page.locator("#save-state").inner_text()
    sockets.drop(context, page)
    _wait_for_connection(page, True)
    # Reconnected, the page fetched the server's draft again (it says so, with the time
    # it was saved) and the value is there.
    page.wait_for_function(
        "(before) => document.getElementById('save-state').textContent !== before",
        arg=before, timeout=15000)
    assert "error" not in page.get_attribute("#save-state", "class")
    assert page.input_value(field) == value
    page.reload()
    assert page.input_value(field) == value

    # The room's progress table, live again after its own lost connection.
    page.goto(f"{base}{room}")
    _wait_for_connection(page, True)
    sockets.drop(context, page)
    _wait_for_connection(page, True)
    row = f"#progress-table tr[data-member='{other_label}'] td[data-stage='technical']"
    assert "state-submitted" not in (page.get_attribute(row, "class") or "")
    # Another member submits while the page is open: the websocket brings the change.
    in_thread(lambda: services.sheet_submit(
        committee=committee, user=other, stage="technical",
        entries=score_entries(committee, "technical")))
    page.wait_for_selector(f"{row}.state-submitted", timeout=15000)
    mine = f"#progress-table tr[data-member='{member.label}'] td[data-stage='technical']"
    assert "state-draft" in page.get_attribute(mine, "class")
    assert not errors, errors


PASSPHRASE = "report pass 2026"


def test_a_member_makes_a_signing_key_and_signs_the_report_in_the_browser(
        browser, asgi_live_server, tmp_path):
    def prepared():
        seed_specialties()
        committee, users, _bidders, _ = formed()
        committee = to_report(committee, users)
        _enrol(users[1])
        return committee, users[1]

    committee, expert = in_thread(prepared)
    member_label = in_thread(lambda: committee.members.get(user=expert).label)
    base = asgi_live_server.url
    report_url = f"/tenders/{committee.tender_id}/evaluation/report/"
    context = browser.new_context(locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    _sign_in(page, base, expert, report_url)

    # A signing key made in this browser: the file saved here, the public half registered.
    page.goto(f"{base}/accounts/keys/")
    page.fill("#new-pass", PASSPHRASE)
    page.fill("#new-pass2", PASSPHRASE)
    key_path = tmp_path / "signing.key"
    with page.expect_download(timeout=30000) as download:
        page.click("#btn-make-key")
    download.value.save_as(key_path)
    page.wait_for_selector(".msg-success", timeout=30000)
    assert key_path.read_text().startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    key = in_thread(lambda: PublicKey.objects.get(user=expert, purpose="signing",
                                                  active=True))

    page.goto(f"{base}{report_url}")
    assert page.get_attribute("#sign-box", "data-label") == "ggzy-evaluation-report-v1"
    page.set_input_files("#sign-key", str(key_path))
    page.fill("#sign-pass", PASSPHRASE)
    page.click("#btn-sign")
    page.wait_for_selector("#sign-msg.msg-success", timeout=30000)
    # The page reloads itself: the signature is listed and the form is gone.
    page.wait_for_selector("#sign-box", state="detached", timeout=15000)
    assert f"{member_label} · " in page.inner_text("#h-sigs + ul")
    page.screenshot(path="/tmp/report-sign-zh.png", full_page=True)
    signature = in_thread(lambda: ReportSignature.objects.select_related("member").get(
        report__tender_id=committee.tender_id, member__user=expert))
    # Verified on the server with the member's registered signing key.
    assert signature.kind == "signed" and signature.key_fingerprint == key.fingerprint
    assert not errors, errors
