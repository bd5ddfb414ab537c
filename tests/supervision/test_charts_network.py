"""The co-bidding network and flags-over-time charts: server-drawn SVG, escaped labels,
group colours, a deterministic layout, and pages for oversight only."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from supervision import charts, market
from supervision.models import Flag
from tests import factories
from tests.supervision.test_market import RING, _ring_market

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert("x")</script>'


def _client(user):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def _hostile_rows():
    rows = _ring_market()
    for r in rows:
        if r["bidder"] == RING[0]:
            r["bidder_name"] = HOSTILE
    return rows


def test_the_network_svg_colours_the_group_and_escapes_hostile_names():
    net = market.network(_hostile_rows())
    svg = str(charts.network_svg(net["nodes"], net["edges"]))
    assert svg.startswith("<svg") and "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert svg.count('class="bidder-node"') == len(net["nodes"])
    assert svg.count('class="cobid-edge"') == len(net["edges"])
    assert svg.count(f'fill="{charts.GROUP_COLOURS[0]}"') == len(RING)


def test_the_network_layout_is_the_same_whatever_the_order_of_the_nodes():
    net = market.network(_ring_market())
    a = charts.network_svg(net["nodes"], net["edges"])
    b = charts.network_svg(list(reversed(net["nodes"])), net["edges"])
    assert a == b


def test_an_empty_network_says_so():
    assert "No opened tender yet." in charts.network_svg([], [])


def test_flags_over_time_draw_one_bar_per_month_including_empty_months():
    dates = [dt.date(2026, 1, 5), dt.date(2026, 1, 9), dt.date(2026, 4, 1)]
    counts = charts.month_counts(dates)
    assert counts == [("2026-01", 2), ("2026-02", 0), ("2026-03", 0), ("2026-04", 1)]
    svg = str(charts.flags_by_month_svg(counts))
    assert svg.count('class="month-bar"') == 4 and "2026-04" in svg


def test_the_network_page_shows_the_graph_and_the_group_to_a_supervisor(monkeypatch):
    monkeypatch.setattr(market, "platform_rows", lambda report=None: _hostile_rows())
    response = _client(factories.supervisor()).get("/supervision/network/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<svg class="network-chart"' in html and HOSTILE not in html
    assert "&lt;script&gt;" in html and RING[1] in html


def test_the_network_page_refuses_a_bidder():
    response = _client(factories.bidder()).get("/supervision/network/")
    assert response.status_code == 403


def test_the_risk_queue_shows_flags_over_time():
    Flag.objects.create(kind=Flag.Kind.SCREEN, screen="R018", severity="low", tender_id=1,
                        tender_reference="T-1", subjects=["x"], evidence={},
                        explanation_zh="z", explanation_en="e", raised_at=timezone.now())
    response = _client(factories.supervisor()).get("/supervision/flags/")
    html = response.content.decode()
    assert response.status_code == 200 and '<svg class="flags-chart"' in html
    assert html.count('class="month-bar"') == 1
