"""The supervisor's risk queue in a real browser: a tender screened after a real opening
is in the queue, and its drill-down shows the flags and the server-drawn price chart."""

import pytest

from supervision.models import Flag
from tests import factories
from tests.browser.conftest import in_thread
from tests.supervision.test_flags_screening import close_opening

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_supervisor_opens_the_queue_and_sees_a_tenders_price_chart(browser,
                                                                   asgi_live_server):
    tender, _, _ = in_thread(close_opening, title="排涝泵站改造工程")
    assert Flag.objects.filter(tender_id=tender.pk, screen="identical_prices").exists()
    supervisor = factories.supervisor()
    base = asgi_live_server.url
    page = browser.new_context(locale="en-US").new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", supervisor.username)
    page.fill("#id_password", factories.PASSWORD)
    page.click("button[type=submit].btn")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)

    page.click("nav.site-nav a[href='/supervision/flags/']")
    page.wait_for_selector("#risk-queue")
    row = page.locator("#risk-queue tbody tr").first
    assert tender.reference in row.inner_text() and "identical_prices" in row.inner_text()
    page.screenshot(path="/tmp/shots/supervision-queue.png", full_page=True)

    row.locator("a").first.click()
    chart = page.locator("#price-distribution svg.price-chart")
    chart.wait_for(state="visible")
    box = chart.bounding_box()
    assert box and box["width"] > 200 and box["height"] > 50
    assert page.locator("svg.price-chart circle.bid-dot").count() == 3
    assert page.locator("svg.price-chart circle.bid-dot").first.is_visible()
    assert "carry identical prices" in page.locator("#flags").inner_text()
    page.screenshot(path="/tmp/shots/supervision-drill-down.png", full_page=True)
    assert errors == []


def test_a_supervisor_sees_the_co_bidding_network_with_the_group_coloured(
        browser, asgi_live_server, monkeypatch):
    from supervision import charts, market
    from tests.supervision.test_market import RING, _ring_market

    names = {RING[0]: "甲建设有限公司", RING[1]: "乙工程有限公司",
             RING[2]: '<b>丙</b> "Ltd" & Co'}
    rows = _ring_market()
    for r in rows:
        r["bidder_name"] = names.get(r["bidder"], r["bidder_name"])
    monkeypatch.setattr(market, "platform_rows", lambda report=None: rows)
    supervisor = factories.supervisor()
    page = browser.new_context(locale="en-US").new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{asgi_live_server.url}/accounts/login/")
    page.fill("#id_username", supervisor.username)
    page.fill("#id_password", factories.PASSWORD)
    page.click("button[type=submit].btn")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)

    page.goto(f"{asgi_live_server.url}/supervision/flags/")
    page.wait_for_selector("#flags-over-time svg.flags-chart")
    page.click("a[href='/supervision/network/']")
    chart = page.locator("#network svg.network-chart")
    chart.wait_for(state="visible")
    box = chart.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 300
    nodes = page.locator("svg.network-chart g.bidder-node")
    assert nodes.count() == len({r["bidder"] for r in rows})
    assert page.locator(f"svg.network-chart circle[fill='{charts.GROUP_COLOURS[0]}']").count() == 3
    # The hostile name is shown as text, not markup.
    assert '<b>丙</b> "Ltd" & Co' in page.locator("#groups").inner_text()
    assert page.locator("#network b").count() == 0
    page.screenshot(path="/tmp/shots/supervision-network.png", full_page=True)
    assert errors == []
