"""The supervisor's risk queue: tenders ranked by score, a drill-down with each flag's
explanation in the interface language, escaped evidence and a server-drawn price chart,
the same through the API, and nobody else may see it."""

import pytest
from django.test import Client
from django.utils import timezone

from supervision.models import Flag, RiskScore
from tests import factories

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert("x")</script>'


def _risk(tender_id, reference, score, prices=(100.0, 100.0, 130.0), max_price=140.0):
    return RiskScore.objects.create(tender_id=tender_id, tender_reference=reference,
                                    tender_title=f"title {reference}", score=score,
                                    features={"cv": 0.1}, prices=list(prices),
                                    max_price=max_price, computed_at=timezone.now())


def _flag(tender_id, reference, screen="identical_prices", severity="medium", **kw):
    return Flag.objects.create(
        kind=Flag.Kind.SCREEN, screen=screen, severity=severity, tender_id=tender_id,
        tender_reference=reference, subjects=["91350000AAAAAAAA1X"],
        evidence=kw.get("evidence", {"groups": [[{"bid": "b1", "amount": 100.0}]]}),
        explanation_zh=kw.get("zh", "两个报价金额完全相同"),
        explanation_en=kw.get("en", "Two bids carry identical prices"),
        raised_at=timezone.now())


def _client(user=None, lang="en"):
    client = Client(HTTP_ACCEPT_LANGUAGE=lang)
    client.force_login(user or factories.supervisor())
    return client


def test_the_queue_lists_tenders_most_suspicious_first_with_their_flags():
    _risk(1, "LOW-1", 0.2)
    _risk(2, "HIGH-2", 0.9)
    _flag(2, "HIGH-2", screen="same_fingerprint", severity="high")
    html = _client().get("/supervision/flags/").content.decode()
    assert html.index("HIGH-2") < html.index("LOW-1")
    assert "same_fingerprint" in html and "/supervision/flags/2/" in html


def test_a_learned_score_ranks_before_the_unsupervised_score():
    _risk(1, "A-1", 0.9)
    r = _risk(2, "B-2", 0.1)
    r.learned_score = 0.95
    r.save()
    html = _client().get("/supervision/flags/").content.decode()
    assert html.index("B-2") < html.index("A-1")


def test_the_drill_down_explains_in_the_interface_language_and_escapes_evidence():
    _risk(7, "T-7", 0.7)
    _flag(7, "T-7", evidence={"note": HOSTILE}, en=f"English {HOSTILE}", zh="中文解释")
    en = _client(lang="en").get("/supervision/flags/7/").content.decode()
    assert "English &lt;script&gt;" in en and "中文解释" not in en
    assert HOSTILE not in en and "&lt;script&gt;" in en
    zh = _client(lang="zh-hans").get("/supervision/flags/7/").content.decode()
    assert "中文解释" in zh and "English &lt;script" not in zh


def test_the_drill_down_draws_the_price_distribution_as_inline_svg():
    _risk(7, "T-7", 0.7, prices=[100.0, 100.0, 130.0], max_price=140.0)
    html = _client().get("/supervision/flags/7/").content.decode()
    svg = html[html.index("<svg"):html.index("</svg>")]
    assert svg.count('class="bid-dot"') == 3 and "Maximum price" in svg
    assert "140.00" in svg and "<script" not in svg and "<script>" not in html


def test_a_tender_never_screened_has_no_drill_down():
    assert _client().get("/supervision/flags/99/").status_code == 404


def test_an_operator_may_see_the_queue_and_a_bidder_is_refused():
    _risk(1, "A-1", 0.5)
    assert _client(factories.operator()).get("/supervision/flags/").status_code == 200
    assert _client(factories.bidder()).get("/supervision/flags/").status_code == 403
    assert _client(factories.bidder()).get("/supervision/flags/1/").status_code == 403
    assert Client().get("/supervision/flags/").status_code == 302


def test_the_navigation_links_the_queue_for_supervisors_only():
    assert 'href="/supervision/flags/"' in _client().get("/").content.decode()
    assert 'href="/supervision/flags/"' not in _client(factories.bidder()).get(
        "/").content.decode()


def test_the_api_lists_the_queue_ranked_and_gives_one_tenders_detail():
    _risk(1, "LOW-1", 0.2)
    _risk(2, "HIGH-2", 0.9)
    _flag(2, "HIGH-2")
    client = _client()
    body = client.get("/api/supervision/flags/").json()
    rows = body["results"] if isinstance(body, dict) else body
    assert [r["tender_reference"] for r in rows] == ["HIGH-2", "LOW-1"]
    assert rows[0]["flags"][0]["screen"] == "identical_prices"
    detail = client.get("/api/supervision/flags/2/").json()
    assert detail["prices"] == [100.0, 100.0, 130.0] and detail["flags"][0]["severity"] == "medium"
    assert client.get("/api/supervision/flags/3/").status_code == 404


def test_the_api_refuses_a_bidder():
    _risk(1, "A-1", 0.5)
    client = _client(factories.bidder())
    assert client.get("/api/supervision/flags/").status_code == 403
    assert client.get("/api/supervision/flags/1/").status_code == 403


def test_the_api_schema_documents_the_queue():
    schema = _client().get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    assert "/api/supervision/flags/{tender_id}/" in schema and "RiskDetail" in schema


def test_a_tender_with_only_an_opening_flag_has_a_drill_down_without_prices():
    Flag.objects.create(kind=Flag.Kind.UNOPENABLE_BID, severity="high", tender_id=8,
                        tender_reference="T-8", subjects=["c"], evidence={"proof": {}},
                        explanation_zh="无法打开", explanation_en="could not be opened",
                        raised_at=timezone.now())
    html = _client().get("/supervision/flags/8/").content.decode()
    assert "could not be opened" in html and "No announced prices." in html
    assert 'class="bid-dot"' not in html
