"""One deadline, one string: the tender page, the bid receipt's human part and the opening
record say the bid deadline the same way; the API says it in ISO 8601 with the offset."""

import re
import subprocess

import pytest
import time_machine
from django.test import Client

from bidding.bids.pdf.receipt import receipt_pdf
from bidding.opening.pdf.record import record_data
from core import tasks, timefmt
from tests import factories
from tests.conftest import require

pytestmark = pytest.mark.django_db
ISO_WITH_OFFSET = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?\+08:00")


def pdf_text(data: bytes, tmp_path) -> str:
    import shutil
    require(shutil.which("pdftotext") is not None, "pdftotext (poppler-utils) is not installed")
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"],
                          capture_output=True, text=True, check=True).stdout


def test_the_deadline_reads_the_same_on_the_page_in_the_receipt_and_in_the_record(tmp_path):
    tender = factories.published_tender()
    bid = [factories.submit_bid(tender, factories.bidder_with_key()) for _ in range(3)][0]
    said = timefmt.human(tender.deadline, lang="zh-hans")
    assert said.endswith(" 北京时间")

    page = Client(HTTP_ACCEPT_LANGUAGE="zh-hans").get(f"/tenders/{tender.pk}/").content.decode()
    assert f'<time datetime="{timefmt.iso(tender.deadline)}">{said}</time>' in page

    assert said in pdf_text(receipt_pdf(bid), tmp_path)

    with time_machine.travel(tender.deadline, tick=False):
        tasks.clock_tick()
    tender.refresh_from_db()
    assert record_data(tender.opening).deadline == said


def test_the_english_page_says_the_deadline_in_cst():
    tender = factories.published_tender()
    page = Client(HTTP_ACCEPT_LANGUAGE="en").get(f"/tenders/{tender.pk}/").content.decode()
    assert timefmt.human(tender.deadline, lang="en") in page
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d CST", page)


def test_the_tender_page_counts_down_from_the_server_clock():
    tender = factories.published_tender()
    page = Client(HTTP_ACCEPT_LANGUAGE="en").get(f"/tenders/{tender.pk}/").content.decode()
    box = re.search(r'<span class="clock-countdown"[^>]*>', page).group(0)
    assert f'data-deadline="{timefmt.iso(tender.deadline)}"' in box
    assert ISO_WITH_OFFSET.search(re.search(r'data-server-now="([^"]+)"', box).group(1))
    assert 'aria-live="off"' in page and "/static/js/countdown.js" in page
    assert f"The bid deadline is {timefmt.human(tender.deadline, lang='en')}." in page


def test_the_hall_counts_down_to_the_opening_from_the_server_clock():
    tender = factories.published_tender(public_opening=True)
    page = Client(HTTP_ACCEPT_LANGUAGE="en").get(f"/tenders/{tender.pk}/opening/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-deadline="{timefmt.iso(tender.deadline)}"' in html
    assert "until the opening" in html or "The opening starts at" in html
    assert "/static/js/countdown.js" in html


def test_the_hall_counts_down_to_the_window_close_once_the_opening_started():
    tender = factories.published_tender(public_opening=True)
    for _ in range(3):  # enough bids for the opening to go ahead
        factories.submit_bid(tender, factories.bidder_with_key())
    with time_machine.travel(tender.deadline, tick=False):
        tasks.clock_tick()
        tender.refresh_from_db()
        html = Client(HTTP_ACCEPT_LANGUAGE="en").get(
            f"/tenders/{tender.pk}/opening/").content.decode()
    assert f'data-deadline="{timefmt.iso(tender.opening.window_ends_at)}"' in html
    assert "The decryption window closes at" in html


def test_the_api_speaks_iso_8601_with_the_offset():
    tender = factories.published_tender()
    body = Client().get(f"/api/tenders/{tender.pk}/").json()
    assert ISO_WITH_OFFSET.fullmatch(body["deadline"]), body["deadline"]
    assert body["deadline"] == tender.deadline.astimezone(timefmt.centre_zone()).isoformat()
