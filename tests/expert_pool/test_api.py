"""The REST endpoints: refusals in the one error shape, the sealed list, verification."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from expert_pool.models import Draw
from tests import factories
from tests.conftest import api_as

from .conftest import make_pool, request, run_beacon

pytestmark = pytest.mark.django_db


def _body(**kw):
    body = {"committee_size": 5, "tenderer_reps": 0, "backups": 1,
            "quotas": [{"specialty": "A0201", "count": 3}, {"specialty": "D01", "count": 2}]}
    body.update(kw)
    return body


def _post(tender, user, **kw):
    with time_machine.travel(tender.opening_time - timedelta(hours=24), tick=False):
        return api_as(user).post(f"/api/tenders/{tender.pk}/expert-draw/", _body(**kw),
                                 format="json")


def test_the_operator_requests_a_draw(tender, operator, pool):
    r = _post(tender, operator)
    assert r.status_code == 201, r.json()
    data = r.json()
    assert data["status"] == "awaiting_input" and len(data["commitment"]) == 64
    assert "committee" not in data and data["secret"] is None


@pytest.mark.parametrize("kw,code", [
    ({"committee_size": 4}, "committee_size"),
    ({"tenderer_reps": 2, "committee_size": 5,
      "quotas": [{"specialty": "A0201", "count": 2}, {"specialty": "D01", "count": 1}]},
     "committee_composition"),
    ({"backups": 9}, "not_enough_experts"),
])
def test_refusals_answer_400_in_the_error_shape(tender, operator, pool, kw, code):
    r = _post(tender, operator, **kw)
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["status"] == 400 and err["code"] == code and err["message"]
    assert not Draw.objects.exists()


def test_a_draw_too_early_answers_400(tender, operator, pool):
    with time_machine.travel(tender.opening_time - timedelta(hours=50), tick=False):
        r = api_as(operator).post(f"/api/tenders/{tender.pk}/expert-draw/", _body(),
                                  format="json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "draw_too_early"


def test_a_second_draw_answers_400(tender, operator, pool):
    assert _post(tender, operator).status_code == 201
    r = _post(tender, operator)
    assert r.status_code == 400 and r.json()["error"]["code"] == "draw_exists"


def test_anyone_but_the_trading_centre_gets_403(tender, pool):
    for user in (factories.bidder(), tender.created_by, factories.supervisor()):
        assert _post(tender, user).status_code == 403


def test_the_supervisor_verifies_and_the_bidder_cannot(tender, operator, pool):
    draw = run_beacon(request(tender, operator))
    r = api_as(factories.supervisor()).get(f"/api/expert-draws/{draw.pk}/verify/")
    assert r.status_code == 200 and r.json()["ok"] is True
    assert api_as(factories.bidder()).get(
        f"/api/expert-draws/{draw.pk}/verify/").status_code == 403


def test_no_role_reads_names_before_evaluation(tender, operator, pool):
    draw = run_beacon(request(tender, operator))
    for user in (operator, factories.supervisor()):
        data = api_as(user).get(f"/api/expert-draws/{draw.pk}/").json()
        assert "committee" not in data and data["progress"]["called"] == 5
    for user in (factories.bidder(), tender.created_by, factories.expert()):
        assert api_as(user).get(f"/api/expert-draws/{draw.pk}/").status_code == 404


def test_the_schema_documents_the_draw_endpoints():
    from rest_framework.test import APIClient

    r = APIClient().get("/api/schema/?format=json")
    assert "/api/tenders/{tender_id}/expert-draw/" in r.json()["paths"]


def test_a_pool_without_experts_names_the_short_specialty(tender, operator):
    make_pool(3, specialties=("A0201",))
    r = _post(tender, operator, backups=0)
    assert r.status_code == 400 and "D01" in r.json()["error"]["message"]


def test_only_a_supervisor_abandons_a_draw_through_the_api(tender, operator, pool):
    draw = request(tender, operator)
    r = api_as(operator).post(f"/api/expert-draws/{draw.pk}/abandon/", {"reason": "x"},
                              format="json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "forbidden"
    r = api_as(factories.supervisor()).post(f"/api/expert-draws/{draw.pk}/abandon/",
                                            {"reason": "公证员未揭示"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "failed"
