"""The agency mandate over the REST API and on its page: list, grant, accept, revoke,
and a refusal for each wrong party."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Mandate, Organisation
from audit.models import AuditEvent
from tests import factories
from tests.conftest import api_as

pytestmark = pytest.mark.django_db


# Helpers for this module (tests/factories.py belongs to another team).
def agency_user():
    return factories.tenderer(
        organisation=factories.OrganisationFactory(kind=Organisation.Kind.AGENCY))


def _error(response, status):
    assert response.status_code == status, response.content
    return response.json()["error"]


def _grant(client, agency, **extra):
    return client.post("/api/mandates/", {"agency": agency.organisation.credit_code, **extra},
                       format="json")


def test_grant_accept_list_and_revoke_through_the_api():
    client_user, agency = factories.tenderer(), agency_user()
    tenderer_api, agency_api = api_as(client_user), api_as(agency)
    r = _grant(tenderer_api, agency, project_code="FZ-1",
               valid_until=(timezone.now() + timedelta(days=30)).isoformat())
    assert r.status_code == 201, r.content
    granted = r.json()
    assert granted["status"] == "granted" and granted["in_force"] is False
    assert granted["agency"]["credit_code"] == agency.organisation.credit_code
    [listed] = agency_api.get("/api/mandates/").json()
    assert listed["id"] == granted["id"]
    accepted = agency_api.post(f"/api/mandates/{granted['id']}/accept/").json()
    assert accepted["status"] == "accepted" and accepted["in_force"] is True
    revoked = tenderer_api.post(f"/api/mandates/{granted['id']}/revoke/").json()
    assert revoked["status"] == "revoked" and revoked["in_force"] is False
    assert list(AuditEvent.objects.filter(object_id=granted["id"]).order_by("seq")
                .values_list("action", flat=True)) == [
        "mandate.grant", "mandate.accept", "mandate.revoke"]


def test_api_grant_by_a_non_tenderer_is_refused():
    agency = agency_user()
    for user in (factories.bidder(), agency_user(), factories.operator()):
        _error(_grant(api_as(user), agency), 403)
    assert _error(_grant(APIClient(), agency), 401)
    assert not Mandate.objects.exists()


def test_api_grant_to_a_non_agency_or_unknown_code_is_refused():
    tenderer_api = api_as(factories.tenderer())
    other = factories.tenderer()
    assert _error(_grant(tenderer_api, other), 400)["code"] == "not_an_agency"
    r = tenderer_api.post("/api/mandates/", {"agency": "91350100MA0000000X"}, format="json")
    assert "agency" in _error(r, 400)["fields"]


def test_api_accept_by_the_wrong_organisation_is_refused():
    client_user, agency = factories.tenderer(), agency_user()
    mandate_id = _grant(api_as(client_user), agency).json()["id"]
    # Another agency is not party to it: not found, as for an unknown id.
    _error(api_as(agency_user()).post(f"/api/mandates/{mandate_id}/accept/"), 404)
    # The tenderer that granted it cannot accept it for the agency.
    _error(api_as(client_user).post(f"/api/mandates/{mandate_id}/accept/"), 403)
    # Nor can the agency revoke it.
    _error(api_as(agency).post(f"/api/mandates/{mandate_id}/revoke/"), 403)
    assert Mandate.objects.get().status == Mandate.Status.GRANTED


def test_api_accepting_twice_is_refused():
    client_user, agency = factories.tenderer(), agency_user()
    mandate_id = _grant(api_as(client_user), agency).json()["id"]
    agency_api = api_as(agency)
    assert agency_api.post(f"/api/mandates/{mandate_id}/accept/").status_code == 200
    assert _error(agency_api.post(f"/api/mandates/{mandate_id}/accept/"),
                  400)["code"] == "mandate_not_pending"


def test_a_mandate_is_invisible_to_organisations_not_party_to_it():
    client_user, agency = factories.tenderer(), agency_user()
    _grant(api_as(client_user), agency)
    assert api_as(factories.tenderer()).get("/api/mandates/").json() == []
    assert api_as(factories.bidder()).get("/api/mandates/").json() == []


def test_the_schema_documents_the_mandate_endpoints():
    schema = APIClient().get("/api/schema/?format=json").json()
    for path in ("/api/mandates/", "/api/mandates/{mandate_id}/accept/",
                 "/api/mandates/{mandate_id}/revoke/"):
        assert path in schema["paths"], path


# --- the page ------------------------------------------------------------------------


def _page_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_both_sides_use_the_mandates_page():
    client_user, agency = factories.tenderer(), agency_user()
    page = _page_client(client_user)
    r = page.post("/accounts/mandates/", {"agency": agency.organisation.pk,
                                          "project_code": "", "valid_from": "",
                                          "valid_until": ""})
    assert r.status_code == 302
    mandate = Mandate.objects.get()
    agency_page = _page_client(agency)
    html = agency_page.get("/accounts/mandates/").content.decode()
    assert client_user.organisation.name in html and f"{mandate.public_id}/accept/" in html
    agency_page.post(f"/accounts/mandates/{mandate.public_id}/accept/")
    mandate.refresh_from_db()
    assert mandate.status == Mandate.Status.ACCEPTED
    page.post(f"/accounts/mandates/{mandate.public_id}/revoke/")
    mandate.refresh_from_db()
    assert mandate.status == Mandate.Status.REVOKED


def test_the_page_shows_a_refusal_beside_the_form():
    client_user = factories.tenderer()
    r = _page_client(client_user).post("/accounts/mandates/", {
        "agency": agency_user().organisation.pk, "valid_until": "2000-01-01"},
        HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 200 and not Mandate.objects.exists()
    assert "future" in r.content.decode()


def test_the_page_is_refused_to_other_roles_and_actions_to_other_parties():
    assert _page_client(factories.bidder()).get("/accounts/mandates/").status_code == 403
    assert Client().get("/accounts/mandates/").status_code == 302  # to sign in
    client_user, agency = factories.tenderer(), agency_user()
    mandate = Mandate.objects.create(tenderer=client_user.organisation,
                                     agency=agency.organisation, granted_by=client_user,
                                     granted_at=timezone.now())
    stranger = _page_client(agency_user())
    assert stranger.post(f"/accounts/mandates/{mandate.public_id}/accept/").status_code == 404
    # An agency cannot grant through the page either.
    assert _page_client(agency).post("/accounts/mandates/", {
        "agency": agency.organisation.pk}).status_code == 403
