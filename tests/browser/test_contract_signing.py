"""Both parties sign the contract in a real browser: each makes its signing key on the
keys page (the key file is saved on its side, the public half registered), then signs
the contract with that file on the contract page; the tender becomes contracted."""

import pytest

from accounts.models import PublicKey
from bidding.award import contract as contracts
from bidding.award import decision
from bidding.tenders.models import Tender
from tests import factories
from tests.bidding.award.helpers import after_publicity
from tests.browser.conftest import in_thread

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TERMS = {"price": "9500000.00", "performance_bond": "950000.00",
         "payment_schedule": [{"description": "预付款", "amount": "1900000",
                               "due_on": "2027-01-31"}]}
PASSPHRASE = "contract pass 2026"


def _prepared():
    tender, users, _bids = factories.candidates_tender()
    decision.award_direct(user=tender.created_by, tender=tender, now=after_publicity(tender))
    tender.refresh_from_db()
    contracts.contract_prepare(user=tender.created_by, tender=tender,
                               document=b"%PDF-1.4 contract", document_name="施工合同.pdf",
                               terms=TERMS)
    return tender.pk, tender.created_by.username, users[0].username


def _login(page, base, username):
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", factories.PASSWORD)
    page.click("button[type=submit].btn")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def _make_signing_key(page, base, key_path):
    page.goto(f"{base}/accounts/keys/")
    page.fill("#new-pass", PASSPHRASE)
    page.fill("#new-pass2", PASSPHRASE)
    with page.expect_download() as download:
        page.click("#btn-make-key")
    download.value.save_as(key_path)
    page.wait_for_selector(".msg-success")


def _sign(page, base, tender_id, key_path):
    page.goto(f"{base}/award/{tender_id}/contract/")
    page.set_input_files("#key-0", str(key_path))
    page.fill("#pass-0", PASSPHRASE)
    page.click("#btn-sign-0")
    page.wait_for_selector(".msg-success", timeout=30000)


def test_both_parties_sign_in_their_browsers_and_the_tender_is_contracted(
        browser, live_server, tmp_path):
    base = live_server.url
    tender_id, owner, winner = in_thread(_prepared)
    pages = {}
    for username, locale in ((owner, "zh-CN"), (winner, "en-US")):
        page = browser.new_context(locale=locale, accept_downloads=True).new_page()
        errors = []
        page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
        _login(page, base, username)
        key_path = tmp_path / f"{username}.key"
        _make_signing_key(page, base, key_path)
        assert key_path.read_text().startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
        key = in_thread(lambda u=username: PublicKey.objects.get(
            user__username=u, purpose="signing", active=True))
        _sign(page, base, tender_id, key_path)
        assert not errors
        signed = in_thread(lambda: contracts.ContractVersion.objects.get(
            contract__tender_id=tender_id, number=0))
        party = "tenderer" if username == owner else "winner"
        assert getattr(signed, f"{party}_key_id") == key.pk
        pages[locale] = page
    assert in_thread(lambda: Tender.objects.get(pk=tender_id).status) == "contracted"
    for locale, path in (("zh-CN", "/tmp/contract-zh.png"), ("en-US", "/tmp/contract-en.png")):
        page = pages[locale]
        page.goto(f"{base}/award/{tender_id}/contract/")
        page.wait_for_selector(".badge-contracted")
        assert page.locator(".sign-form").count() == 0
        page.screenshot(path=path, full_page=True)
    assert "Signed" in pages["en-US"].inner_text(".party-tenderer")
