"""The agency mandate (委托代理) at the tender stage: an agency files and manages a
tender only for a tenderer whose mandate it holds in force; a tenderer names only an
agency that accepted its mandate."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.models import Mandate, Organisation
from accounts.policies import may_act_for
from accounts.services import mandate_accept, mandate_grant, mandate_revoke
from audit.models import AuditEvent
from bidding.tenders import services
from bidding.tenders.policies import access_tender, access_tender_as_owner, is_owner
from tests import factories

pytestmark = pytest.mark.django_db


# Helpers for this module (tests/factories.py belongs to another team).
def agency_user():
    return factories.tenderer(
        organisation=factories.OrganisationFactory(kind=Organisation.Kind.AGENCY))


def client_user():
    return factories.tenderer()


def mandated(agency, client, **kw) -> Mandate:
    """A mandate from the client's organisation to the agency's, accepted."""
    mandate = mandate_grant(user=client, agency=agency.organisation, **kw)
    return mandate_accept(user=agency, mandate=mandate)


def codes(exc) -> set[str]:
    return {e.code for errors in exc.value.error_dict.values() for e in errors}


def agency_draft(agency, client, **overrides):
    factories.ensure_custodians()
    tender = services.tender_create(user=agency, data=factories.tender_input(
        tenderer_org=client.organisation, **overrides))
    services.document_add(user=agency, tender=tender, upload=factories.pdf_upload())
    return tender


# --- granting, accepting, revoking ---------------------------------------------------


def test_grant_and_accept_are_audited_and_put_the_mandate_in_force():
    agency, client = agency_user(), client_user()
    mandate = mandate_grant(user=client, agency=agency.organisation)
    assert mandate.status == Mandate.Status.GRANTED
    assert not may_act_for(agency, client.organisation)
    mandate_accept(user=agency, mandate=mandate)
    assert may_act_for(agency, client.organisation, project_code="ANY")
    actions = list(AuditEvent.objects.filter(object_id=str(mandate.public_id))
                   .values_list("action", flat=True))
    assert actions == ["mandate.grant", "mandate.accept"]


@pytest.mark.parametrize("who", ["bidder", "agency", "operator"])
def test_grant_by_anyone_but_a_tenderer_is_refused(who):
    agency = agency_user()
    user = {"bidder": factories.bidder, "agency": agency_user,
            "operator": factories.operator}[who]()
    with pytest.raises(PermissionDenied):
        mandate_grant(user=user, agency=agency.organisation)
    assert not Mandate.objects.exists()


def test_grant_to_an_organisation_that_is_not_an_agency_is_refused():
    other_tenderer = client_user()
    with pytest.raises(ValidationError) as exc:
        mandate_grant(user=client_user(), agency=other_tenderer.organisation)
    assert codes(exc) == {"not_an_agency"}


def test_grant_ending_in_the_past_is_refused():
    with pytest.raises(ValidationError) as exc:
        mandate_grant(user=client_user(), agency=agency_user().organisation,
                      valid_until=timezone.now() - timedelta(days=1))
    assert codes(exc) == {"mandate_period"}


def test_accept_by_another_agency_is_refused():
    agency, client = agency_user(), client_user()
    mandate = mandate_grant(user=client, agency=agency.organisation)
    with pytest.raises(PermissionDenied):
        mandate_accept(user=agency_user(), mandate=mandate)
    with pytest.raises(PermissionDenied):
        mandate_accept(user=client, mandate=mandate)
    mandate.refresh_from_db()
    assert mandate.status == Mandate.Status.GRANTED


def test_accepting_twice_is_refused():
    agency, client = agency_user(), client_user()
    mandate = mandated(agency, client)
    with pytest.raises(ValidationError) as exc:
        mandate_accept(user=agency, mandate=mandate)
    assert codes(exc) == {"mandate_not_pending"}


def test_accepting_an_expired_mandate_is_refused():
    agency, client = agency_user(), client_user()
    mandate = mandate_grant(user=client, agency=agency.organisation,
                            valid_until=timezone.now() + timedelta(days=1))
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        with pytest.raises(ValidationError) as exc:
            mandate_accept(user=agency, mandate=mandate)
    assert codes(exc) == {"mandate_expired"}


def test_revoke_by_the_agency_is_refused_and_by_the_tenderer_is_audited():
    agency, client = agency_user(), client_user()
    mandate = mandated(agency, client)
    with pytest.raises(PermissionDenied):
        mandate_revoke(user=agency, mandate=mandate)
    mandate_revoke(user=client, mandate=mandate)
    assert not may_act_for(agency, client.organisation)
    assert AuditEvent.objects.filter(action="mandate.revoke",
                                     object_id=str(mandate.public_id)).exists()
    with pytest.raises(ValidationError) as exc:
        mandate_revoke(user=client, mandate=mandate)
    assert codes(exc) == {"mandate_revoked"}


# --- the tender stage enforces it ---------------------------------------------------


def test_agency_without_a_mandate_cannot_file_a_tender_for_a_tenderer():
    agency, client = agency_user(), client_user()
    with pytest.raises(ValidationError) as exc:
        services.tender_create(user=agency, data=factories.tender_input(
            tenderer_org=client.organisation))
    assert codes(exc) == {"no_mandate"}


def test_agency_with_a_mandate_not_yet_accepted_cannot_file():
    agency, client = agency_user(), client_user()
    mandate_grant(user=client, agency=agency.organisation)
    with pytest.raises(ValidationError) as exc:
        services.tender_create(user=agency, data=factories.tender_input(
            tenderer_org=client.organisation))
    assert codes(exc) == {"no_mandate"}


def test_a_mandate_for_another_tenderer_does_not_count():
    agency, client = agency_user(), client_user()
    mandated(agency, client_user())
    with pytest.raises(ValidationError) as exc:
        services.tender_create(user=agency, data=factories.tender_input(
            tenderer_org=client.organisation))
    assert codes(exc) == {"no_mandate"}


def test_a_mandate_limited_to_one_project_covers_only_that_project():
    agency, client = agency_user(), client_user()
    mandated(agency, client, project_code="FZ-ONE")
    with pytest.raises(ValidationError) as exc:
        services.tender_create(user=agency, data=factories.tender_input(
            tenderer_org=client.organisation, project_code="FZ-OTHER"))
    assert codes(exc) == {"no_mandate"}
    tender = agency_draft(agency, client, project_code="FZ-ONE")
    # Nor can the draft be moved to a project the mandate does not cover.
    with pytest.raises(ValidationError) as exc:
        services.tender_update(user=agency, tender=tender, data=factories.tender_input(
            project_code="FZ-OTHER"))
    assert codes(exc) == {"no_mandate"}


def test_agency_with_an_accepted_mandate_files_and_manages_the_tender():
    agency, client = agency_user(), client_user()
    mandated(agency, client)
    tender = agency_draft(agency, client)
    assert (tender.tenderer, tender.agency) == (client.organisation, agency.organisation)
    assert is_owner(agency, tender) and is_owner(client, tender)
    services.tender_publish(user=agency, tender=tender)


def test_agency_loses_the_tenders_management_when_the_mandate_is_revoked():
    agency, client = agency_user(), client_user()
    mandate = mandated(agency, client)
    draft = agency_draft(agency, client)
    mandate_revoke(user=client, mandate=mandate)
    draft.refresh_from_db()
    assert not is_owner(agency, draft)
    with pytest.raises(PermissionDenied):
        services.tender_update(user=agency, tender=draft, data=factories.tender_input())
    with pytest.raises(PermissionDenied):
        services.tender_publish(user=agency, tender=draft)
    # A draft the agency no longer manages is not even visible to it.
    with pytest.raises(Exception, match="No such tender"):
        access_tender(agency, draft.pk)
    # The tenderer still manages its own tender.
    assert access_tender_as_owner(client, draft.pk) == draft


def test_agency_loses_a_published_tenders_management_after_revocation():
    agency, client = agency_user(), client_user()
    mandate = mandated(agency, client)
    tender = services.tender_publish(user=agency, tender=agency_draft(agency, client))
    assert access_tender_as_owner(agency, tender.pk) == tender
    mandate_revoke(user=client, mandate=mandate)
    with pytest.raises(PermissionDenied):
        access_tender_as_owner(agency, tender.pk)


def test_an_expired_mandate_no_longer_lets_the_agency_act():
    agency, client = agency_user(), client_user()
    mandated(agency, client, valid_until=timezone.now() + timedelta(days=3))
    tender = agency_draft(agency, client)
    with time_machine.travel(timezone.now() + timedelta(days=4)):
        assert not is_owner(agency, tender)
        with pytest.raises(ValidationError) as exc:
            services.tender_create(user=agency, data=factories.tender_input(
                tenderer_org=client.organisation))
        assert codes(exc) == {"no_mandate"}
        with pytest.raises(PermissionDenied):
            services.tender_update(user=agency, tender=tender, data=factories.tender_input())


def test_a_mandate_not_yet_valid_does_not_count():
    agency, client = agency_user(), client_user()
    mandated(agency, client, valid_from=timezone.now() + timedelta(days=1))
    with pytest.raises(ValidationError) as exc:
        services.tender_create(user=agency, data=factories.tender_input(
            tenderer_org=client.organisation))
    assert codes(exc) == {"no_mandate"}


def test_tenderer_cannot_name_an_agency_that_has_not_accepted_its_mandate():
    agency, client = agency_user(), client_user()
    with pytest.raises(ValidationError) as exc:
        services.tender_create(user=client, data=factories.tender_input(
            agency_org=agency.organisation))
    assert codes(exc) == {"agency_without_mandate"}
    mandate = mandate_grant(user=client, agency=agency.organisation)
    with pytest.raises(ValidationError) as exc:
        services.tender_create(user=client, data=factories.tender_input(
            agency_org=agency.organisation))
    assert codes(exc) == {"agency_without_mandate"}
    mandate_accept(user=agency, mandate=mandate)
    tender = services.tender_create(user=client, data=factories.tender_input(
        agency_org=agency.organisation))
    assert tender.agency == agency.organisation
    assert is_owner(agency, tender)


def test_the_tender_form_offers_an_agency_only_the_tenderers_that_mandated_it():
    from django.test import Client

    agency, client, stranger = agency_user(), client_user(), client_user()
    mandated(agency, client)
    page = Client()
    page.force_login(agency)
    html = page.get("/tenders/new/").content.decode()
    # Only the tenderer choice (other fields, such as the candidate count, have values too).
    html = html[html.index('name="tenderer_org"'):]
    html = html[:html.index("</select>")]
    assert f'value="{client.organisation.pk}"' in html
    assert f'value="{stranger.organisation.pk}"' not in html
