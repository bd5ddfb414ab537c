"""Building tenders at each stage through the real services, and validating OCDS output
with the standard's own validator (``libcoveocds``) offline, against the schema archive
shipped in ``supervision/opendata/schema/``."""

from __future__ import annotations

import base64
import json
import tempfile
import zipfile
from datetime import timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path

import time_machine
from django.utils import timezone
from libcoveocds.api import ocds_json_output
from libcoveocds.config import LibCoveOCDSConfig

import supervision.opendata
from bidding.award import contract as contracts
from bidding.award import decision
from bidding.bids.models import Bid
from bidding.evaluation.models import EvaluationReport
from bidding.tenders import lifecycle
from bidding.tenders.models import Tender
from crypto import signing
from tests import factories

S = Tender.Status
SCHEMA_ZIP = (Path(supervision.opendata.__file__).parent / "schema"
              / "standard-1__1__5-schema.zip")
PRICES = ("9500000.00", "9300000.00", "9600000.00", "9400000.00")
TERMS = {"price": "9300000.00", "performance_bond": "930000.00",
         "payment_schedule": [{"description": "预付款", "amount": "1860000",
                               "due_on": "2027-01-31"}]}


@cache
def cove_config() -> LibCoveOCDSConfig:
    """The validator's configuration, pointed at the local archive (no download)."""
    return LibCoveOCDSConfig({"context": "api", "standard_zip": SCHEMA_ZIP.as_uri()})


def validate(package: dict) -> dict:
    """libcoveocds's report on ``package`` (release or record package)."""
    with tempfile.TemporaryDirectory() as out:
        return ocds_json_output(out, json_data=json.loads(json.dumps(package)),
                                schema_version="1.1", lib_cove_ocds_config=cove_config())


@cache
def _schemas() -> dict[str, dict]:
    with zipfile.ZipFile(SCHEMA_ZIP) as z:
        return {Path(name).name: json.loads(z.read(name)) for name in z.namelist()
                if name.endswith(".json") and "/codelists/" not in name}


def record_package_errors(package: dict) -> list[str]:
    """Schema errors of a record package, offline. libcoveocds 0.17 resolves the record
    package schema's ``versionedRelease`` reference over the network even with a local
    archive, so record packages are checked here with ``jsonschema`` (Draft 4) and a
    registry that maps the standard's URLs to the archive's files; the records' releases
    and compiled releases also go through ``validate`` as a release package."""
    from jsonschema import Draft4Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    base = "https://standard.open-contracting.org/schema/1__1__5/"
    registry = Registry().with_resources(
        (base + name, Resource.from_contents(schema, default_specification=DRAFT4))
        for name, schema in _schemas().items())
    validator = Draft4Validator(_schemas()["record-package-schema.json"], registry=registry)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(package)]


def problems(report: dict) -> dict:
    """Everything in the report that means the data is not clean OCDS 1.1: schema
    errors, fields the schema does not define, values outside closed or open codelists,
    deprecated fields, and the additional checks (empty fields and the like)."""
    return {key: report.get(key) for key in (
        "validation_errors", "additional_fields", "additional_closed_codelist_values",
        "additional_open_codelist_values", "deprecated_fields", "additional_checks",
        "extensions") if report.get(key)}


# --- tenders at each stage ------------------------------------------------------------


def opened(prices=PRICES, **overrides):
    """A published tender whose opening record is closed (bids decrypted, announced).
    Returns (tender, bidder users in price order, their bids)."""
    tender, users = factories.opened_tender(prices=prices, **overrides)
    bids = [Bid.objects.get(tender=tender, bidder=u.organisation) for u in users]
    return tender, users, bids


def candidates(**overrides):
    """An opened tender whose evaluation report recommends the three lowest bids
    (ranked), moved to ``candidates`` by the lifecycle (the publicity opens)."""
    tender, users, bids = opened(**overrides)
    Tender.objects.filter(pk=tender.pk).update(status=S.EVALUATION)
    tender.refresh_from_db()
    order = sorted(range(len(bids)), key=lambda i: Decimal(PRICES[i]))[:3]
    EvaluationReport.objects.create(tender=tender, completed_at=timezone.now(),
                                    candidates=[
        {"bid": str(bids[i].public_id), "rank": rank, "score": f"{90 - rank}.00",
         "price": PRICES[i]} for rank, i in enumerate(order, start=1)])
    lifecycle.tender_transition(tender=tender, to=S.CANDIDATES, by=lifecycle.SYSTEM)
    return tender, users, bids, [bids[i] for i in order]


def awarded(**overrides):
    """Candidates published, the publicity over, the first-ranked awarded; notices out."""
    tender, users, bids, ranked = candidates(**overrides)
    d = decision.award_direct(user=tender.created_by, tender=tender,
                              now=tender.publicity.ends_at + timedelta(minutes=1))
    tender.refresh_from_db()
    return tender, users, bids, d


def _sign(user, version) -> str:
    key = factories.signing_key_for(user)
    return base64.b64encode(signing.sign(key, contracts.CONTRACT_LABEL,
                                         contracts.signing_message(version))).decode()


def contracted(*, amend: bool = False, pay: bool = True, **overrides):
    """Awarded, the contract signed by both parties, one payment recorded; with
    ``amend`` also a contract amendment signed by both."""
    tender, users, bids, d = awarded(**overrides)
    with time_machine.travel(d.notices_at + timedelta(days=1), tick=True):
        _contract(tender, users, d, amend=amend, pay=pay)
    tender.refresh_from_db()
    return tender, users, bids, d


def _contract(tender, users, d, *, amend: bool, pay: bool) -> None:
    winner = next(u for u in users if u.organisation_id == d.winner.bidder_id)
    v = contracts.contract_prepare(user=tender.created_by, tender=tender,
                                   document=b"%PDF-1.4 contract", document_name="合同.pdf",
                                   terms=TERMS)
    for signer in (tender.created_by, winner):
        contracts.contract_sign(user=signer, tender=tender, number=0,
                                signature_b64=_sign(signer, v))
    if pay:
        contracts.payment_record(user=tender.created_by, tender=tender, amount="1860000",
                                 description="预付款")
    if amend:
        v1 = contracts.contract_amend(user=tender.created_by, tender=tender,
                                      document=b"%PDF-1.4 amendment",
                                      document_name="补充协议.pdf",
                                      terms={**TERMS, "price": "9350000.00"})
        for signer in (tender.created_by, winner):
            contracts.contract_sign(user=signer, tender=tender, number=v1.number,
                                    signature_b64=_sign(signer, v1))


def failed_in_evaluation():
    """Opened, then failed in the evaluation (every bid rejected)."""
    tender = opened()[0]
    Tender.objects.filter(pk=tender.pk).update(status=S.EVALUATION)  # committee: elsewhere
    tender.refresh_from_db()
    lifecycle.tender_transition(tender=tender, to=S.FAILED, by=lifecycle.SYSTEM,
                                reason="所有投标均被否决")
    return tender


def failed_before_opening():
    """One sealed bid by the deadline: the opening cannot start (Reg 44) and the tender
    fails. Returns (tender, the bidder user)."""
    from bidding.opening import services as opening

    tender = factories.published_tender()
    user = factories.bidder_with_key()
    factories.submit_bid(tender, user)
    lifecycle.advance_by_clock(now=tender.deadline)
    assert opening.opening_start(tender_id=tender.pk, now=tender.deadline) is None
    tender.refresh_from_db()
    assert tender.status == S.FAILED
    return tender, user
