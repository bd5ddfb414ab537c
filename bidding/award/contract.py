"""The contract (Law 46), signed online by both parties, and its amendments.

Wire format of what each party signs (``signing_message``): canonical JSON
(``crypto.chain.canonical_json``) of ``{"v": 1, "tender": <reference>, "contract":
<contract public id>, "version": <0 for the contract, 1.. for amendments>,
"document_sha256": <hex of the uploaded document>, "terms": <the terms JSON>}``, signed
under the label ``ggzy-contract-v1\\0`` (``crypto.signing.sign``: ECDSA P-256, 64-byte
``r || s``, base64 on the wire) with one of the signer's registered keys
(``accounts.PublicKey``: only the signer's active key of purpose ``signing``, which
tenderers and bidders register themselves; a bid-sealing or custodian key is refused).
The platform verifies
each signature; when both the tenderer and the winner have signed version 0 the tender
moves ``awarded -> contracted``. Amendments are signed the same way, one at a time.

Terms: ``{"price": "<yuan>", "performance_bond": "<yuan>", "payment_schedule":
[{"description", "amount", "due_on": "YYYY-MM-DD"}], ...}``; the performance bond is at
most 10% of the price (Reg 58).
"""

from __future__ import annotations

import base64
import hashlib
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import PublicKey
from accounts.selectors import signing_keys
from audit.services import audit_record
from bidding.tenders import lifecycle
from bidding.tenders.models import Tender
from bidding.tenders.policies import is_owner
from core import statutory
from core.refusals import refuse
from crypto import keys as crypto_keys
from crypto import signing
from crypto.chain import canonical_json
from crypto.errors import CryptoError

from .models import AwardDecision, Contract, ContractVersion, Payment

S = Tender.Status
CONTRACT_LABEL = signing.CONTRACT  # b"ggzy-contract-v1\0", listed in crypto.signing.LABELS
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024


def _money(value, field: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise refuse(field, _("Give an amount in yuan."), "invalid_amount") from None
    if not amount.is_finite() or amount < 0:
        raise refuse(field, _("Give an amount in yuan."), "invalid_amount")
    return amount.quantize(Decimal("0.01"))


def check_terms(terms: dict) -> dict:
    """Normalise the terms; refuse a performance bond above 10% of the price (Reg 58)."""
    if not isinstance(terms, dict):
        raise refuse("terms", _("The terms are a JSON object."), "invalid")
    price = _money(terms.get("price"), "price")
    if price <= 0:
        raise refuse("price", _("The contract price must be positive."), "invalid_amount")
    bond = _money(terms.get("performance_bond", "0"), "performance_bond")
    cap = (price * statutory.value("PERFORMANCE_BOND_MAX_RATIO")).quantize(Decimal("0.01"))
    if bond > cap:
        raise refuse("performance_bond", _(
            "The performance bond may be at most %(cap)s yuan, 10%% of the contract price "
            "(%(source)s).") % {"cap": f"{cap:,.2f}",
                                "source": statutory.source("PERFORMANCE_BOND_MAX_RATIO")},
            "performance_bond_over_cap")
    schedule = []
    for row in terms.get("payment_schedule") or []:
        try:
            due = date.fromisoformat(str(row.get("due_on")))
        except (ValueError, AttributeError):
            raise refuse("payment_schedule", _("Each payment has a due date (YYYY-MM-DD)."),
                         "invalid_date") from None
        schedule.append({"description": str(row.get("description", ""))[:200],
                         "amount": str(_money(row.get("amount"), "payment_schedule")),
                         "due_on": due.isoformat()})
    return {**terms, "price": str(price), "performance_bond": str(bond),
            "payment_schedule": schedule}


def signing_message(version: ContractVersion) -> bytes:
    contract = version.contract
    return canonical_json({"v": 1, "tender": contract.tender.reference,
                           "contract": str(contract.public_id), "version": version.number,
                           "document_sha256": version.document_sha256,
                           "terms": version.terms})


def _new_version(contract: Contract, number: int, document: bytes, name: str, terms: dict,
                 now: datetime) -> ContractVersion:
    if not document or len(document) > MAX_DOCUMENT_BYTES:
        raise refuse("document", _("Upload the contract document."), "required")
    version = ContractVersion(contract=contract, number=number, terms=check_terms(terms),
                              document_sha256=hashlib.sha256(document).hexdigest(),
                              document_name=(name or "contract.pdf")[:200], created_at=now)
    version.document.save(f"{contract.tender.reference}-contract-{number}.pdf",
                          ContentFile(document), save=False)
    version.save()
    if number == 0 or version.terms["payment_schedule"] != contract.versions.get(
            number=number - 1).terms.get("payment_schedule"):
        Payment.objects.filter(contract=contract, paid_at__isnull=True).delete()
        for row in version.terms["payment_schedule"]:
            Payment.objects.create(contract=contract, description=row["description"],
                                   amount=Decimal(row["amount"]),
                                   due_on=date.fromisoformat(row["due_on"]), recorded_at=now)
    return version


@transaction.atomic
def contract_prepare(*, user, tender: Tender, document: bytes, document_name: str,
                     terms: dict, now: datetime | None = None) -> ContractVersion:
    """The tenderer puts up the contract document and terms for both parties to sign."""
    now = now or timezone.now()
    if not is_owner(user, tender):
        raise PermissionDenied(_("Only the tenderer or its agency can do this."))
    decision = AwardDecision.objects.filter(tender=tender, notices_at__isnull=False).first()
    if decision is None or tender.status != S.AWARDED:
        raise refuse("__all__", _("The contract follows the award notice."), "not_awarded")
    if Contract.objects.filter(tender=tender).exists():
        raise refuse("__all__", _("The contract has already been drawn up; change it by an "
                                  "amendment."), "contract_exists")
    contract = Contract.objects.create(tender=tender, winner=decision.winner.bidder,
                                       created_at=now)
    version = _new_version(contract, 0, document, document_name, terms, now)
    audit_record(actor=user, action="award.contract_prepared", obj=contract,
                 payload={"version": 0, "document_sha256": version.document_sha256,
                          "terms": version.terms},
                 summary=f"{tender.reference}: contract prepared")
    return version


@transaction.atomic
def contract_amend(*, user, tender: Tender, document: bytes, document_name: str,
                   terms: dict, now: datetime | None = None) -> ContractVersion:
    """A change to the signed contract, to be signed the same way by both parties."""
    now = now or timezone.now()
    if not is_owner(user, tender):
        raise PermissionDenied(_("Only the tenderer or its agency can do this."))
    contract = Contract.objects.select_for_update().filter(tender=tender).first()
    if contract is None or contract.signed_at is None:
        raise refuse("__all__", _("Only a signed contract can be amended."), "not_signed")
    last = contract.versions.order_by("-number").first()
    if not last.complete:
        raise refuse("__all__", _("The previous amendment is not signed by both parties yet."),
                     "previous_unsigned")
    version = _new_version(contract, last.number + 1, document, document_name, terms, now)
    audit_record(actor=user, action="award.contract_amended", obj=contract,
                 payload={"version": version.number, "document_sha256": version.document_sha256,
                          "terms": version.terms},
                 summary=f"{tender.reference}: contract amendment {version.number}")
    return version


def _verify(user, message: bytes, signature_b64: str) -> PublicKey:
    """The signer's active ``signing`` key the signature verifies with; a signature made
    with any other key (a bid-sealing key, a retired key) is refused."""
    keys = list(signing_keys(user))
    if not keys:
        raise refuse("signature", _("Register a signing key first (your keys page): "
                                    "contracts are signed only with a signing key."),
                     "no_signing_key")
    try:
        sig = base64.b64decode(signature_b64 or "", validate=True)
    except ValueError:
        sig = b""
    for key in keys:
        try:
            signing.verify(crypto_keys.public_key_from_bytes(bytes(key.point)), CONTRACT_LABEL,
                           message, sig)
            return key
        except (CryptoError, ValueError):
            continue
    raise refuse("signature", _("The signature does not verify with your registered "
                                "signing key."), "bad_signature")


@transaction.atomic
def contract_sign(*, user, tender: Tender, number: int, signature_b64: str,
                  now: datetime | None = None) -> ContractVersion:
    """A party signs a version; both signed on version 0: the tender is contracted."""
    now = now or timezone.now()
    contract = Contract.objects.select_for_update().filter(tender=tender).first()
    if contract is None:
        raise refuse("__all__", _("There is no contract to sign yet."), "no_contract")
    if is_owner(user, tender):
        party = "tenderer"
    elif getattr(user, "organisation_id", None) == contract.winner_id and user.is_bidder:
        party = "winner"
    else:
        raise PermissionDenied(_("Only the tenderer and the winner sign the contract."))
    version = contract.versions.select_for_update().filter(number=number).first()
    if version is None:
        raise refuse("number", _("No such version of the contract."), "not_found")
    if getattr(version, f"{party}_signed_at"):
        raise refuse("__all__", _("You have already signed this version."), "already_signed")
    key = _verify(user, signing_message(version), signature_b64)
    setattr(version, f"{party}_signature", signature_b64)
    setattr(version, f"{party}_key", key)
    setattr(version, f"{party}_signed_at", now)
    version.save()
    audit_record(actor=user, action="award.contract_signed", obj=contract,
                 payload={"version": number, "party": party, "key": key.fingerprint,
                          "signature": signature_b64},
                 summary=f"{tender.reference}: contract v{number} signed by the {party}")
    if version.complete and number == 0:
        contract.signed_at = now
        contract.save(update_fields=["signed_at"])
        lifecycle.tender_transition(tender=tender, to=S.CONTRACTED, by=lifecycle.SYSTEM,
                                    actor=user, now=now)
    return version


@transaction.atomic
def payment_record(*, user, tender: Tender, amount, description: str,
                   paid_at: datetime | None = None) -> Payment:
    """The tenderer records a payment made under the signed contract."""
    if not is_owner(user, tender):
        raise PermissionDenied(_("Only the tenderer or its agency can do this."))
    contract = Contract.objects.filter(tender=tender, signed_at__isnull=False).first()
    if contract is None:
        raise refuse("__all__", _("Payments are recorded under a signed contract."),
                     "not_signed")
    now = timezone.now()
    amount = _money(amount, "amount")
    if amount <= 0:
        raise refuse("amount", _("The amount must be positive."), "invalid_amount")
    payment = Payment.objects.create(contract=contract, description=(description or "")[:200],
                                     amount=amount, paid_at=paid_at or now, recorded_at=now)
    audit_record(actor=user, action="award.payment_recorded", obj=contract,
                 payload={"amount": str(amount), "description": payment.description,
                          "paid_at": payment.paid_at},
                 summary=f"{tender.reference}: payment recorded")
    return payment
