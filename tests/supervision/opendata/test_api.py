"""``GET /api/ocds/releases/`` and ``GET /api/ocds/records/<ocid>/``: public packages."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from supervision.opendata import ocds
from tests import factories
from tests.supervision.opendata import helpers

pytestmark = pytest.mark.django_db


def test_anyone_gets_a_valid_release_package_paginated_by_tender():
    tenders = [factories.published_tender() for _ in range(3)]
    factories.draft_tender()
    client = APIClient()
    first = client.get("/api/ocds/releases/", {"limit": 2})
    assert first.status_code == 200
    body = first.json()
    assert [r["ocid"] for r in body["releases"]] == [ocds.ocid(t) for t in tenders[:2]]
    assert helpers.problems(helpers.validate(body)) == {}
    nxt = first["Link"].split(";")[0].strip("<>")
    assert "offset=2" in nxt
    second = client.get(nxt).json()
    assert [r["ocid"] for r in second["releases"]] == [ocds.ocid(tenders[2])]
    assert "Link" not in client.get(nxt)


def test_filter_by_tender_number():
    tender = factories.published_tender()
    factories.published_tender()
    body = APIClient().get("/api/ocds/releases/", {"tender": tender.reference}).json()
    assert {r["ocid"] for r in body["releases"]} == {ocds.ocid(tender)}


@pytest.mark.parametrize("query,field", [({"limit": "0"}, "limit"),
                                         ({"limit": "x"}, "limit"),
                                         ({"offset": "-1"}, "offset"),
                                         ({"since": "soon"}, "since")])
def test_bad_parameters_are_refused_with_the_field(query, field):
    response = APIClient().get("/api/ocds/releases/", query)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_a_record_package_compiles_the_releases():
    tender = helpers.awarded()[0]
    response = APIClient().get(f"/api/ocds/records/{ocds.ocid(tender)}/")
    assert response.status_code == 200
    record = response.json()["records"][0]
    assert helpers.record_package_errors(response.json()) == []
    compiled = record["compiledRelease"]
    assert compiled["tag"] == ["compiled"]
    assert compiled["tender"]["status"] == "complete"
    assert [a["status"] for a in compiled["awards"]].count("active") == 1
    assert len(compiled["awards"]) == 3  # the three candidates, two unsuccessful
    assert [r["id"] for r in record["releases"]] == [
        r["id"] for r in ocds.releases_for(tender)]


def test_a_draft_or_unknown_ocid_is_not_found():
    draft = factories.draft_tender()
    client = APIClient()
    assert client.get(f"/api/ocds/records/{ocds.prefix()}-{draft.reference}/").status_code \
        == 404
    assert client.get("/api/ocds/records/ocds-zzzzzz-nothing/").status_code == 404
