"""The Django admin shows users and organisations but cannot change them: changes go
through the services, which check them and record them in the audit chain."""

import pytest
from django.test import Client

from accounts.models import Organisation, User
from audit.models import AuditEvent
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client():
    superuser = factories.operator(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(superuser)
    return client


def test_the_admin_lists_and_shows_users_and_organisations(admin_client):
    user = factories.bidder()
    assert admin_client.get("/admin/accounts/user/").status_code == 200
    page = admin_client.get(f"/admin/accounts/user/{user.pk}/change/")
    assert page.status_code == 200 and user.username in page.content.decode()
    assert b'name="_save"' not in page.content
    org = admin_client.get(f"/admin/accounts/organisation/{user.organisation_id}/change/")
    assert org.status_code == 200 and b'name="_save"' not in org.content


def test_the_admin_cannot_change_a_user(admin_client):
    user = factories.bidder(display_name="张三")
    events = AuditEvent.objects.count()
    response = admin_client.post(f"/admin/accounts/user/{user.pk}/change/", {
        "username": user.username, "display_name": "李四", "role": "operator",
        "organisation": user.organisation_id, "is_active": "on", "is_superuser": "on",
    })
    assert response.status_code == 403
    user.refresh_from_db()
    assert user.display_name == "张三" and user.role == "bidder" and not user.is_superuser
    assert AuditEvent.objects.count() == events


def test_the_admin_cannot_add_delete_or_set_passwords(admin_client):
    user = factories.bidder()
    assert admin_client.get("/admin/accounts/user/add/").status_code == 403
    assert admin_client.post("/admin/accounts/user/add/", {
        "username": "intruder", "password1": "x-Very-long-1", "password2": "x-Very-long-1",
    }).status_code == 403
    assert admin_client.post(f"/admin/accounts/user/{user.pk}/delete/",
                             {"post": "yes"}).status_code == 403
    assert admin_client.post(f"/admin/accounts/user/{user.pk}/password/", {
        "password1": "x-Very-long-1", "password2": "x-Very-long-1",
    }).status_code == 403
    assert admin_client.post("/admin/accounts/organisation/add/",
                             {"name": "X", "credit_code": "x"}).status_code == 403
    assert admin_client.post(f"/admin/accounts/organisation/{user.organisation_id}/delete/",
                             {"post": "yes"}).status_code == 403
    assert User.objects.filter(pk=user.pk).exists()
    assert not User.objects.filter(username="intruder").exists()
    assert Organisation.objects.filter(pk=user.organisation_id).exists()


def test_the_admin_offers_no_bulk_delete(admin_client):
    user = factories.bidder()
    response = admin_client.post("/admin/accounts/user/", {
        "action": "delete_selected", "_selected_action": [user.pk], "post": "yes"})
    assert User.objects.filter(pk=user.pk).exists()
    assert b"delete_selected" not in admin_client.get("/admin/accounts/user/").content
    assert response.status_code in (200, 302, 403)
