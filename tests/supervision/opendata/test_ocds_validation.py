"""OCDS validation with libcoveocds, offline: the export of tenders at every stage is
valid OCDS 1.1 with nothing the standard does not define, and a broken package is
reported (so these checks can fail)."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from bidding.tenders import lifecycle
from bidding.tenders import services as tender_services
from bidding.tenders.models import Tender
from supervision.opendata import ocds
from tests import factories
from tests.supervision.opendata import helpers

pytestmark = pytest.mark.django_db
S = Tender.Status


def _every_stage() -> dict[str, Tender]:
    """One tender at each stage, all built through the services."""
    out = {}
    out["published"] = factories.published_tender()
    amended = factories.published_tender()
    asker = factories.bidder_with_key()
    tender_services.document_obtain(user=asker, tender=amended)
    question = tender_services.clarification_ask(user=asker, tender=amended,
                                                 question="工期是否可以调整？")
    tender_services.clarification_answer(user=amended.created_by, tender=amended,
                                         clarification=question, answer="不可以。")
    tender_services.amendment_publish(
        user=amended.created_by, tender=amended, text="补遗一：修改工程量清单。",
        files=[factories.pdf_upload("补遗一.pdf", b"%PDF-1.4 amendment\n%%EOF\n")])
    out["amended"] = amended
    out["opened"] = helpers.opened()[0]
    out["candidates"] = helpers.candidates()[0]
    out["awarded"] = helpers.awarded()[0]
    out["contracted"] = helpers.contracted(amend=True)[0]
    cancelled = factories.published_tender()
    lifecycle.tender_transition(tender=cancelled, to=S.CANCELLED, by=lifecycle.TENDERER,
                                actor=cancelled.created_by, reason="项目调整")
    out["cancelled"] = cancelled
    out["failed"] = helpers.failed_in_evaluation()
    out["failed_unopened"] = helpers.failed_before_opening()[0]
    return out


def _export(**options) -> dict:
    out, err = io.StringIO(), io.StringIO()
    call_command("export_ocds", stdout=out, stderr=err, **options)
    return json.loads(out.getvalue())


def test_every_stage_exports_valid_ocds_with_nothing_undefined():
    tenders = _every_stage()
    package = _export()
    report = helpers.validate(package)
    assert report["version_used"] == "1.1"
    assert helpers.problems(report) == {}
    assert report["unique_ocids_count"] == len(tenders)
    tags = {tag for r in package["releases"] for tag in r["tag"]}
    assert tags == {"tender", "tenderAmendment", "tenderUpdate", "award", "contract",
                    "contractAmendment", "implementation", "tenderCancellation"}
    by_ocid = {}
    for r in package["releases"]:
        by_ocid.setdefault(r["ocid"], []).append(r)
    status = {name: by_ocid[ocds.ocid(t)][-1].get("tender", {}).get("status")
              for name, t in tenders.items()}
    assert status == {"published": "active", "amended": "active", "opened": "active",
                      "candidates": "active", "awarded": "complete", "contracted": None,
                      "cancelled": "cancelled", "failed": "unsuccessful",
                      "failed_unopened": "unsuccessful"}

    # The record packages validate too: the envelope against the record package schema,
    # the compiled releases (with the releases) through libcoveocds.
    compiled = []
    for tender in tenders.values():
        record = ocds.record_package(tender, uri="http://testserver/api/ocds/records/x/")
        assert helpers.record_package_errors(record) == [], tender.reference
        compiled.append(record["records"][0]["compiledRelease"])
    as_releases = {**package, "releases": compiled}
    assert helpers.problems(helpers.validate(as_releases)) == {}


def test_a_broken_record_package_is_reported():
    tender = helpers.awarded()[0]
    record = ocds.record_package(tender, uri="http://testserver/api/ocds/records/x/")
    assert helpers.record_package_errors(record) == []
    del record["records"][0]["ocid"]
    record["records"][0]["compiledRelease"]["tender"]["value"]["amount"] = "many"
    errors = helpers.record_package_errors(record)
    assert any("'ocid' is a required property" in e for e in errors)
    assert any(e.startswith("records/0/compiledRelease/tender/value/amount") for e in errors)


def test_a_broken_package_is_reported_by_the_validator():
    tender = helpers.awarded()[0]
    package = _export(tender=tender.reference)
    assert helpers.problems(helpers.validate(package)) == {}
    release = package["releases"][-1]
    release["tender"]["value"]["amount"] = "九百万"  # not a number
    release["date"] = "yesterday"  # not a date-time
    release["tender"]["status"] = "suspended"  # not in the closed tenderStatus codelist
    release["tender"]["bids"] = [{"id": "b1"}]  # the bids extension, undeclared
    del release["initiationType"]  # required
    report = helpers.validate(package)
    found = helpers.problems(report)
    errors = {(e["field"], e["type"]) for e in found["validation_errors"]}
    assert ("releases/tender/value/amount", "number") in errors
    assert ("releases/date", "date-time") in errors
    assert any(e["type"] == "required" and "initiationType" in e["description"]
               for e in found["validation_errors"])
    assert "releases/tender/status" in found["additional_closed_codelist_values"]
    assert {(f["path"], f["field"]) for f in found["additional_fields"]} == {
        ("/releases/tender", "bids")}
