"""Every app's exceptions answer in the API's one error shape, through the registry."""

from django.core.exceptions import ValidationError
from rest_framework.test import APIRequestFactory

from core import api_errors


class _Teapot(Exception):
    pass


class _SmallTeapot(_Teapot):
    pass


def test_a_registered_exception_and_its_subclasses_answer_in_the_error_shape(monkeypatch):
    monkeypatch.setattr(api_errors, "_registry", {})
    api_errors.register(_Teapot, lambda exc: api_errors.ApiError(418, "teapot", str(exc),
                                                                 {"pot": ["full"]}))
    response = api_errors.exception_handler(_SmallTeapot("short and stout"), {})
    assert response.status_code == 418
    assert response.data == {"error": {"status": 418, "code": "teapot",
                                       "message": "short and stout",
                                       "fields": {"pot": ["full"]}}}


def test_an_unregistered_exception_is_left_to_the_server_error_handler(monkeypatch):
    monkeypatch.setattr(api_errors, "_registry", {})
    assert api_errors.exception_handler(_Teapot("x"), {}) is None


def test_a_services_refusal_names_the_field_and_its_code():
    exc = ValidationError({"amount": ValidationError("Too little.", code="bond_short")})
    response = api_errors.exception_handler(exc, {"request": APIRequestFactory().get("/")})
    assert response.status_code == 400
    assert response.data["error"]["code"] == "bond_short"
    assert response.data["error"]["fields"] == {"amount": ["Too little."]}


def test_the_stages_register_their_conflicts():
    from bidding.bids.services import UploadConflict
    from bidding.tenders.lifecycle import TransitionNotAllowed

    conflict = api_errors.exception_handler(UploadConflict("gap", code="gap", next_index=3), {})
    assert (conflict.status_code, conflict.data["error"]["fields"]) == (409, {"next_index": [3]})
    refused = api_errors.exception_handler(TransitionNotAllowed("draft", "opened"), {})
    assert refused.status_code == 409
    assert refused.data["error"]["code"] == "transition_not_allowed"
