"""Writes for tenders: drafts, documents, publication, registration, clarifications,
amendments. Views, the API, tasks and commands call these; nothing else writes.

Every function runs in one transaction: it locks what it changes, checks the rules
(``core.statutory``), writes, and appends the audit event. Files saved to
storage inside a transaction that later fails are removed again.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organisation
from accounts.policies import is_bidder, mandate_in_force, may_act_for
from accounts.services import notify
from audit.services import audit_record
from bidding.tenders import lifecycle
from core import statutory, timefmt
from core.refusals import Problems, refuse

from . import custody
from .models import (
    Amendment,
    Clarification,
    Criterion,
    DocumentRegistration,
    Lot,
    Tender,
    TenderDocument,
)
from .policies import is_owner, require_tenderer
from .reference import AwardMethod, CriterionStage, DecisionMethod, EvaluationMethod
from .selectors import has_obtained

S = Tender.Status


@dataclass
class LotInput:
    name: str
    estimate: Decimal | None = None


@dataclass
class CriterionInput:
    """One evaluation criterion the tender documents state (Reg 49)."""

    stage: str
    name: str
    max_score: Decimal | None = None
    name_en: str = ""
    description: str = ""


@dataclass
class TenderInput:
    """Everything a tenderer fills in for a tender; ``agency`` is an Organisation."""

    project_code: str
    project_name: str
    title: str
    region: str
    category: str
    estimate: Decimal
    max_price: Decimal
    bond_amount: Decimal
    docs_from: datetime
    docs_until: datetime
    deadline: datetime
    evaluation_method: str
    price_formula: str
    award_method: str
    lots: list[LotInput] = field(default_factory=list)
    title_en: str = ""
    description: str = ""
    procedure_type: str = "open"
    decision_method: str = ""
    decryption_window_minutes: int | None = None
    price_formula_params: dict = field(default_factory=dict)
    price_sheet_items: list = field(default_factory=list)
    decryption_fallback: str = "custodians"
    announce_mode: str = "at_close"
    public_opening: bool = True
    forfeit_bond_if_unopenable: bool = True
    opening_time: datetime | None = None
    # An agency names the tenderer it acts for; a tenderer may name its agency.
    tenderer_org: object | None = None
    agency_org: object | None = None
    # How the evaluation and the award run (Reg 49, Reg 53, 评定分离). ``criteria`` None
    # keeps a draft's criteria as they are; a list replaces them.
    criteria: list[CriterionInput] | None = None
    score_aggregation: str = "mean"
    candidate_count: int = 3
    candidates_ranked: bool = True
    anonymous_technical: bool = False
    award_committee_mode: str = ""
    award_committee_size: int | None = None
    vote_mode: str = ""
    # The announcement's contacts (ANNOUNCEMENT_FIELDS).
    tenderer_contact: str = ""
    tenderer_phone: str = ""
    tenderer_email: str = ""
    agency_contact: str = ""
    agency_phone: str = ""
    agency_email: str = ""


# What the tender declares about its evaluation and award (fixed at publication).
DECLARED_FIELDS = [
    "score_aggregation",
    "candidate_count",
    "candidates_ranked",
    "anonymous_technical",
    "award_committee_mode",
    "award_committee_size",
    "vote_mode",
]

# Who answers bidders about this project: the announcement names them beside the
# organisations' names and addresses.
ANNOUNCEMENT_FIELDS = [
    "tenderer_contact",
    "tenderer_phone",
    "tenderer_email",
    "agency_contact",
    "agency_phone",
    "agency_email",
]

TENDER_FIELDS = [
    "project_code",
    "project_name",
    "title",
    "title_en",
    "description",
    "procedure_type",
    "region",
    "category",
    "estimate",
    "max_price",
    "bond_amount",
    "docs_from",
    "docs_until",
    "deadline",
    "decryption_window_minutes",
    "evaluation_method",
    "price_formula",
    "price_formula_params",
    "award_method",
    "decision_method",
    "price_sheet_items",
    "decryption_fallback",
    "announce_mode",
    "public_opening",
    "forfeit_bond_if_unopenable",
    *DECLARED_FIELDS,
    *ANNOUNCEMENT_FIELDS,
]


def _lock_as_owner(user, tender: Tender) -> Tender:
    """Lock the tender's row for this transaction; only its tenderer or agency may go on."""
    locked = Tender.objects.select_for_update(no_key=True).get(pk=tender.pk)
    if not is_owner(user, locked):
        raise PermissionDenied(_("Only the tenderer or its agency can do this."))
    return locked


def _check_consistency(data: TenderInput | Tender) -> None:
    """Rules that hold for a draft as well as a published tender."""
    errors = {}
    items = data.price_sheet_items
    if not isinstance(items, list) or not all(
        isinstance(i, str) and 0 < len(i.strip()) <= 60 for i in items
    ) or len(items) > 30:
        errors["price_sheet_items"] = _(
            "Price sheet items are a list of up to 30 names of at most 60 characters."
        )
    if data.max_price is not None and data.estimate is not None:
        if data.max_price <= 0 or data.estimate <= 0:
            errors["estimate"] = _("Prices must be positive.")
    if data.docs_until <= data.docs_from:
        errors["docs_until"] = _("The end of the document period must come after its start.")
    if data.award_method == AwardMethod.SEPARATE and not data.decision_method:
        errors["decision_method"] = _(
            "Evaluation separate from award needs the method the award committee uses."
        )
    candidates_max = statutory.value("CANDIDATES_MAX")
    if not (isinstance(data.candidate_count, int)
            and 1 <= data.candidate_count <= candidates_max):
        errors["candidate_count"] = _(
            "The committee recommends 1 to %(max)s candidates (%(source)s)."
        ) % {"max": candidates_max, "source": statutory.source("CANDIDATES_MAX")}
    # Every problem at once, each beside its field (core.refusals.Problems).
    problems = Problems()
    for name, message in errors.items():
        problems.add(name, message, "invalid")
    if isinstance(data, TenderInput) and data.criteria is not None:
        with problems.check():
            _check_criteria(data.criteria)
    with problems.check():
        statutory.check_bond(estimate=data.estimate, bond=data.bond_amount)
    with problems.check():
        statutory.check_decryption_window(data.decryption_window_minutes)
    with problems.check():
        statutory.check_opening_time(
            deadline=data.deadline, opening_time=getattr(data, "opening_time", None)
        )
    problems.raise_if_any()


def _check_criteria(criteria: list[CriterionInput]) -> None:
    """Each criterion on its own: a stage, a name, and a maximum score exactly when the
    stage scores (pass/fail criteria have none)."""
    stages = set(CriterionStage.values)
    for i, c in enumerate(criteria, start=1):
        where = {"n": i}
        if c.stage not in stages:
            raise refuse("criteria", _("Criterion %(n)s: unknown stage.") % where,
                         "criterion_stage")
        if not (c.name or "").strip() or len(c.name) > 200:
            raise refuse("criteria", _("Criterion %(n)s needs a name of at most 200 "
                                       "characters.") % where, "criterion_name")
        if c.stage == CriterionStage.QUALIFICATION:
            if c.max_score is not None:
                raise refuse("criteria", _(
                    "Criterion %(n)s is pass or fail (qualification): it has no maximum "
                    "score.") % where, "criterion_pass_fail_scored")
        elif (c.max_score is None or not isinstance(c.max_score, Decimal)
              or not c.max_score.is_finite() or c.max_score <= 0
              or c.max_score != c.max_score.quantize(Decimal("0.01"))
              or c.max_score >= Decimal("10000")):
            raise refuse("criteria", _(
                "Criterion %(n)s is scored: give its maximum score (more than 0, at most "
                "two decimals).") % where, "criterion_max_score")


def _check_declared_for_publication(tender: Tender, problems: Problems) -> None:
    """A tender is evaluated and awarded only by what its documents declare (Reg 49):
    before publication the declaration must be complete. A draft may be incomplete.
    Every gap is added to ``problems``, so the tenderer sees them all at once."""
    criteria = list(tender.criteria.all())
    if tender.evaluation_method == EvaluationMethod.COMPREHENSIVE:
        if not any(c.stage == CriterionStage.TECHNICAL for c in criteria):
            problems.add("criteria", _(
                "Comprehensive scoring needs at least one technical criterion."),
                "criteria_missing_technical")
        full = (tender.price_formula_params or {}).get("full_score")
        try:
            ok = full is not None and not isinstance(full, bool) and Decimal(str(full)) > 0
        except ArithmeticError:
            ok = False
        if not ok:
            problems.add("price_formula_params", _(
                "Comprehensive scoring needs the price score's full marks "
                "(price_formula_params.full_score, more than 0)."), "price_full_score_missing")
    if tender.award_method == AwardMethod.SEPARATE:
        if not tender.decision_method:
            problems.add("decision_method", _(
                "Evaluation separate from award needs the method the award committee uses."),
                "decision_method_missing")
        if not tender.award_committee_mode:
            problems.add("award_committee_mode", _(
                "Evaluation separate from award needs to say how the award committee is "
                "formed (drawn or appointed)."), "award_committee_mode_missing")
        if tender.award_committee_mode and not tender.award_committee_size:
            problems.add("award_committee_size", _(
                "State the size of the award committee."), "award_committee_size_missing")
        if tender.decision_method in (DecisionMethod.VOTE, DecisionMethod.VOTE_THEN_LOTTERY) \
                and not tender.vote_mode:
            problems.add("vote_mode", _("A vote needs its mode: direct or round-by-round "
                                        "elimination."), "vote_mode_missing")


def _replace_criteria(tender: Tender, criteria: Iterable[CriterionInput]) -> None:
    tender.criteria.all().delete()
    Criterion.objects.bulk_create(
        Criterion(tender=tender, number=i, stage=c.stage, name=c.name.strip(),
                  name_en=(c.name_en or "").strip()[:200], description=c.description or "",
                  max_score=c.max_score)
        for i, c in enumerate(criteria, start=1)
    )


def _parties(user, data: TenderInput):
    """(tenderer, agency) for a new tender, from who is filing it."""
    org = user.organisation
    if org.kind == Organisation.Kind.AGENCY:
        if data.tenderer_org is None or data.tenderer_org.kind != Organisation.Kind.TENDERER:
            raise ValidationError(
                {"tenderer_org": _("An agency must name the tenderer it acts for.")}
            )
        if not may_act_for(user, data.tenderer_org, project_code=data.project_code):
            raise refuse("tenderer_org", _(
                "Your agency holds no mandate in force from this tenderer for this project: "
                "the tenderer grants it and you accept it first."), "no_mandate")
        return data.tenderer_org, org
    if data.agency_org is not None and data.agency_org.kind != Organisation.Kind.AGENCY:
        raise ValidationError({"agency_org": _("That organisation is not an agency.")})
    if data.agency_org is not None and not mandate_in_force(
        agency_id=data.agency_org.pk, tenderer_id=org.pk, project_code=data.project_code
    ):
        raise refuse("agency_org", _(
            "This agency has not accepted a mandate from you in force for this project."),
            "agency_without_mandate")
    return org, data.agency_org


def _next_reference(tender: Tender) -> str:
    year = timezone.localtime(tender.created_at).year
    return f"{settings.TENDER_REFERENCE_PREFIX}-{year}-{tender.pk:06d}"


def tender_create(*, user, data: TenderInput) -> Tender:
    """Save a new draft tender for the user's organisation (step one of two)."""
    require_tenderer(user)
    if data.decryption_window_minutes is None:
        data.decryption_window_minutes = statutory.value("DECRYPTION_WINDOW_DEFAULT_MINUTES")
    if not data.lots:
        data.lots = [LotInput(name=data.title, estimate=data.estimate)]
    _check_consistency(data)
    with transaction.atomic():
        tenderer, agency = _parties(user, data)
        tender = Tender(
            tenderer=tenderer,
            agency=agency,
            created_by=user,
            reference=f"draft-{os.urandom(8).hex()}",
            **{f: getattr(data, f) for f in TENDER_FIELDS},
        )
        tender.save()
        tender.reference = _next_reference(tender)
        tender.save(update_fields=["reference"])
        _replace_lots(tender, data.lots)
        if data.criteria:
            _replace_criteria(tender, data.criteria)
        audit_record(
            actor=user,
            action="tender.create",
            obj=tender,
            payload=_tender_payload(tender),
            summary=f"{tender.reference} draft",
        )
    return tender


def tender_update(*, user, tender: Tender, data: TenderInput) -> Tender:
    """Change a draft. A published tender changes only through amendments."""
    require_tenderer(user)
    if data.decryption_window_minutes is None:
        data.decryption_window_minutes = tender.decryption_window_minutes
    _check_consistency(data)
    with transaction.atomic():
        locked = _lock_as_owner(user, tender)
        if locked.status != S.DRAFT:
            raise ValidationError(
                _("A published tender cannot be edited; publish an amendment instead."),
                code="not_draft",
            )
        if not may_act_for(user, locked.tenderer_id, project_code=data.project_code):
            raise refuse("project_code", _(
                "Your agency's mandate does not cover this project."), "no_mandate")
        for f in TENDER_FIELDS:
            setattr(locked, f, getattr(data, f))
        locked.save()
        if data.lots:
            _replace_lots(locked, data.lots)
        if data.criteria is not None:
            _replace_criteria(locked, data.criteria)
        audit_record(
            actor=user,
            action="tender.update",
            obj=locked,
            payload=_tender_payload(locked),
            summary=f"{locked.reference} draft edited",
        )
    return locked


def _replace_lots(tender: Tender, lots: Iterable[LotInput]) -> None:
    tender.lots.all().delete()
    Lot.objects.bulk_create(
        Lot(tender=tender, number=i, name=lot.name, estimate=lot.estimate)
        for i, lot in enumerate(lots, start=1)
    )


def _tender_payload(tender: Tender) -> dict:
    data = {f: getattr(tender, f) for f in TENDER_FIELDS}
    data["lots"] = [[lot.number, lot.name, lot.estimate] for lot in tender.lots.all()]
    data["criteria"] = [[c.number, c.stage, c.name, c.name_en, c.description, c.max_score]
                        for c in tender.criteria.all()]
    return data


def check_publishable(tender: Tender, *, now: datetime | None = None) -> None:
    """Every statutory and declaration check publication makes, all at once: raises one
    ValidationError naming each field with a problem (nothing when it may be published).
    The tender form runs it too, to show each problem beside its field."""
    now = now or timezone.now()
    problems = Problems()
    with problems.check():
        _check_consistency(tender)
    _check_declared_for_publication(tender, problems)
    with problems.check():
        statutory.check_deadline_at_publication(
            now=now, docs_from=tender.docs_from, deadline=tender.deadline
        )
    # Reg 16 counts the days documents are actually obtainable: from now at the earliest.
    with problems.check():
        statutory.check_documents_period(
            docs_from=max(tender.docs_from, now),
            docs_until=tender.docs_until,
            deadline=tender.deadline,
        )
    if not tender.documents.exists():
        problems.add("documents", _("Attach the tender documents before publishing."),
                     "no_documents")
    problems.raise_if_any()


def tender_publish(*, user, tender: Tender, now: datetime | None = None) -> Tender:
    """Publish a draft: check every statutory rule, then move it through the lifecycle.

    After the commit a task is scheduled for the deadline, so bidding closes on time
    even if nobody is looking.
    """
    require_tenderer(user)
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock_as_owner(user, tender)
        if locked.status != S.DRAFT:
            raise lifecycle.TransitionNotAllowed(locked.status, S.PUBLISHED)
        check_publishable(locked, now=now)
        custody.opening_key_create(locked)
        lifecycle.tender_transition(
            tender=locked, to=S.PUBLISHED, by=lifecycle.TENDERER, actor=user, now=now
        )
        _schedule_deadline(locked)
    tender.refresh_from_db()
    return tender


def _schedule_deadline(tender: Tender) -> None:
    from core.tasks import schedule_at

    transaction.on_commit(lambda: schedule_at(tender.deadline, object_id=tender.pk))


# --- documents --------------------------------------------------------------


# A file name is one path component on disk: filesystems allow 255 bytes (not
# characters: a CJK character is 3 bytes in UTF-8), less the room Django's storage needs
# to add a suffix when the name is taken.
DOCUMENT_NAME_MAX_BYTES = 200


def _validate_upload(upload) -> None:
    name = os.path.basename(upload.name or "")
    if len(name.encode("utf-8", "surrogatepass")) > DOCUMENT_NAME_MAX_BYTES:
        raise refuse(
            "file",
            _("The file name is too long (at most %(n)s bytes, about %(cjk)s Chinese "
              "characters); rename the file.")
            % {"n": DOCUMENT_NAME_MAX_BYTES, "cjk": DOCUMENT_NAME_MAX_BYTES // 3},
            "file_name_too_long",
        )
    ext = os.path.splitext(name)[1].lower()
    if ext not in settings.TENDER_DOCUMENT_EXTENSIONS:
        raise refuse(
            "file",
            _("Files of type “%(ext)s” are not accepted. Allowed: %(allowed)s.")
            % {"ext": ext or _("none"), "allowed": " ".join(settings.TENDER_DOCUMENT_EXTENSIONS)},
            "file_type",
        )
    if upload.size > settings.TENDER_DOCUMENT_MAX_BYTES:
        raise refuse(
            "file",
            _("The file is %(size)s MB; the limit is %(limit)s MB.")
            % {
                "size": round(upload.size / 1048576, 1),
                "limit": round(settings.TENDER_DOCUMENT_MAX_BYTES / 1048576, 1),
            },
            "file_too_large",
        )
    if upload.size == 0:
        raise refuse("file", _("The file is empty."), "file_empty")


@contextmanager
def _stored_files():
    """Collect names saved to storage; remove them if the block fails."""
    saved: list[str] = []
    try:
        yield saved
    except BaseException:
        for name in saved:
            try:
                default_storage.delete(name)
            except OSError:
                pass
        raise


def _store_document(*, tender, upload, user, now, amendment=None, saved: list) -> TenderDocument:
    _validate_upload(upload)
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    doc = TenderDocument(
        tender=tender,
        amendment=amendment,
        name=os.path.basename(upload.name)[:255],
        sha256=digest.hexdigest(),
        size=upload.size,
        content_type=getattr(upload, "content_type", "") or "",
        uploaded_by=user,
        uploaded_at=now,
    )
    doc.file.save(doc.name, File(upload), save=False)
    saved.append(doc.file.name)
    doc.save()
    audit_record(
        actor=user,
        action="document.add",
        obj=doc,
        payload={
            "tender": tender.reference,
            "name": doc.name,
            "sha256": doc.sha256,
            "size": doc.size,
            "amendment": amendment.number if amendment else None,
        },
        summary=f"{tender.reference}: {doc.name}",
    )
    return doc


def document_add(*, user, tender: Tender, upload) -> TenderDocument:
    """Attach a document to a draft. Published tenders take documents only by amendment."""
    require_tenderer(user)
    with _stored_files() as saved, transaction.atomic():
        locked = _lock_as_owner(user, tender)
        if locked.status != S.DRAFT:
            raise refuse(
                "file",
                _("Published documents are immutable; add new documents with an amendment."),
                "document_immutable",
            )
        return _store_document(
            tender=locked, upload=upload, user=user, now=timezone.now(), saved=saved
        )


def document_remove(*, user, tender: Tender, document: TenderDocument) -> None:
    """Remove a document from a draft. Published documents can never be removed."""
    require_tenderer(user)
    with transaction.atomic():
        locked = _lock_as_owner(user, tender)
        if locked.status != S.DRAFT or document.tender_id != locked.pk:
            raise ValidationError(
                _("Published documents are immutable."), code="document_immutable"
            )
        audit_record(
            actor=user,
            action="document.remove",
            obj=document,
            payload={"sha256": document.sha256, "name": document.name},
        )
        name = document.file.name
        TenderDocument.objects.filter(pk=document.pk).delete()
        transaction.on_commit(lambda: default_storage.delete(name))


# --- registration (obtaining documents) ---------------------------------------


def document_obtain(*, user, tender: Tender, now: datetime | None = None) -> DocumentRegistration:
    """Register the bidder's organisation as having obtained the documents.

    Idempotent: a second call returns the existing registration.
    """
    now = now or timezone.now()
    if not is_bidder(user):
        raise PermissionDenied(_("Only bidders can obtain tender documents."))
    with transaction.atomic():
        locked = Tender.objects.select_for_update(no_key=True).get(pk=tender.pk)
        existing = DocumentRegistration.objects.filter(
            tender=locked, organisation_id=user.organisation_id
        ).first()
        if existing:
            return existing
        if locked.status != S.PUBLISHED:
            raise ValidationError(
                _("Documents can be obtained only while bidding is open."), code="not_open"
            )
        if now < locked.docs_from or now > locked.docs_until:
            raise ValidationError(
                _("Documents are obtainable from %(start)s to %(end)s.")
                % {
                    "start": timefmt.human(locked.docs_from),
                    "end": timefmt.human(locked.docs_until),
                },
                code="outside_docs_period",
            )
        registration = DocumentRegistration.objects.create(
            tender=locked, organisation_id=user.organisation_id, user=user, obtained_at=now
        )
        audit_record(
            actor=user,
            action="document.obtain",
            obj=registration,
            payload={"tender": locked.reference, "organisation": user.organisation_id},
        )
    return registration


# --- clarifications ---------------------------------------------------------


def clarification_ask(*, user, tender: Tender, question: str) -> Clarification:
    """A bidder that obtained the documents asks a question before the deadline."""
    question = (question or "").strip()
    if not question:
        raise ValidationError({"question": _("Write your question.")})
    if not is_bidder(user):
        raise PermissionDenied(_("Only bidders can ask questions."))
    now = timezone.now()
    with transaction.atomic():
        locked = Tender.objects.select_for_update(no_key=True).get(pk=tender.pk)
        if locked.status != S.PUBLISHED or now >= locked.deadline:
            raise ValidationError(
                _("Questions are taken only while bidding is open."), code="not_open"
            )
        if not has_obtained(user, locked):
            raise PermissionDenied(_("Obtain the tender documents before asking questions."))
        item = Clarification.objects.create(
            tender=locked, question=question[:5000], asked_by=user, asked_at=now
        )
        audit_record(
            actor=user,
            action="clarification.ask",
            obj=item,
            payload={"tender": locked.reference, "question": item.question},
        )
    return item


def clarification_answer(
    *,
    user,
    tender: Tender,
    clarification: Clarification,
    answer: str,
    affects_bids: bool = False,
) -> Clarification:
    """Publish an answer to everyone, without naming who asked.

    An answer that may affect bids is a clarification under Law 23: the same
    15-day rule as an amendment applies, and the deadline moves if needed.
    """
    answer = (answer or "").strip()
    if not answer:
        raise ValidationError({"answer": _("Write the answer.")})
    now = timezone.now()
    with transaction.atomic():
        locked = _lock_as_owner(user, tender)
        item = Clarification.objects.select_for_update(no_key=True).get(pk=clarification.pk)
        if item.is_answered:
            raise ValidationError(
                _("This question has been answered already."), code="already_answered"
            )
        if locked.status != S.PUBLISHED:
            raise ValidationError(_("The tender is not open for bidding."), code="not_open")
        moved = None
        if affects_bids:
            moved = _apply_deadline_rule(
                locked, now=now, requested=None, actor=user, cause=f"clarification {item.pk}"
            )
        elif now >= locked.deadline:
            raise ValidationError(_("The bid deadline has passed."), code="after_deadline")
        item.answer = answer[:10000]
        item.answered_at = now
        item.answered_by = user
        item.save(update_fields=["answer", "answered_at", "answered_by"])
        audit_record(
            actor=user,
            action="clarification.answer",
            obj=item,
            payload={
                "tender": locked.reference,
                "answer": item.answer,
                "affects_bids": affects_bids,
                "new_deadline": moved.isoformat() if moved else None,
            },
        )
    return item


# --- amendments -------------------------------------------------------------


def _apply_deadline_rule(locked: Tender, *, now, requested, actor, cause) -> datetime | None:
    """Apply Law 23 / Reg 21 to a locked tender; return the new deadline if it moved."""
    result = statutory.amendment_deadline(now=now, deadline=locked.deadline, requested=requested)
    if not result.moved:
        return None
    old = locked.deadline
    locked.deadline = result.deadline
    if locked.docs_until < now + statutory.days("DOCS_AVAILABLE_MIN_DAYS"):
        locked.docs_until = min(result.deadline, now + statutory.days("DOCS_AVAILABLE_MIN_DAYS"))
    locked.save(update_fields=["deadline", "docs_until"])
    audit_record(
        actor=actor,
        action="tender.deadline_moved",
        obj=locked,
        payload={"from": old.isoformat(), "to": locked.deadline.isoformat(), "cause": cause},
        summary=f"{locked.reference}: deadline {old.isoformat()} -> {locked.deadline.isoformat()}",
    )
    _schedule_deadline(locked)
    return locked.deadline


def amendment_publish(
    *,
    user,
    tender: Tender,
    text: str,
    files: Iterable = (),
    new_deadline: datetime | None = None,
    now: datetime | None = None,
) -> Amendment:
    """Publish an amendment (with or without new documents) to a published tender.

    Law 23 / Reg 21 (``statutory.amendment_deadline``): if it comes less than 15
    days before the deadline, the deadline moves to 15 days after it. An amendment
    at or after the deadline is refused.
    """
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": _("Describe what the amendment changes.")})
    require_tenderer(user)
    now = now or timezone.now()
    files = list(files)
    for upload in files:
        _validate_upload(upload)
    with _stored_files() as saved, transaction.atomic():
        locked = _lock_as_owner(user, tender)
        if locked.status != S.PUBLISHED:
            raise ValidationError(
                _("Only a tender open for bidding can be amended (status: %(status)s).")
                % {"status": locked.get_status_display()},
                code="not_open",
            )
        old_deadline = locked.deadline
        result = statutory.amendment_deadline(
            now=now, deadline=locked.deadline, requested=new_deadline
        )
        number = (locked.amendments.count() or 0) + 1
        amendment = Amendment.objects.create(
            tender=locked,
            number=number,
            text=text[:20000],
            published_at=now,
            published_by=user,
            old_deadline=old_deadline,
            new_deadline=result.deadline,
            requested_deadline=new_deadline,
            deadline_moved_by_rule=result.moved
            and (new_deadline is None or new_deadline < result.required_earliest),
        )
        for upload in files:
            _store_document(
                tender=locked, upload=upload, user=user, now=now, amendment=amendment, saved=saved
            )
        audit_record(
            actor=user,
            action="amendment.publish",
            obj=amendment,
            payload={
                "tender": locked.reference,
                "number": number,
                "text": amendment.text,
                "old_deadline": old_deadline.isoformat(),
                "new_deadline": result.deadline.isoformat(),
            },
            summary=f"{locked.reference}: amendment {number}",
        )
        if result.moved:
            _apply_deadline_rule(
                locked, now=now, requested=new_deadline, actor=user, cause=f"amendment {number}"
            )
    return amendment


# --- cancellation (终止招标), suspension and resumption -----------------------------


@dataclass(frozen=True)
class CancelPreview:
    """What cancelling the tender now would do, for the confirmation step."""

    status: str
    published: bool
    # Organisations told (Reg 31): those that obtained the documents, and the owners.
    notified: int
    # Bid bonds still held become due for refund, with interest, by this time.
    refund_due_by: datetime
    refund_source: str


def _cancellation_recipients(tender: Tender) -> set[int]:
    orgs = set(tender.registrations.values_list("organisation_id", flat=True))
    return orgs | tender.owner_organisations()


def tender_cancel_preview(*, tender: Tender, now: datetime | None = None) -> CancelPreview:
    """What ``tender_cancel`` would do now: who is told, by when bonds are refunded.
    It names no bidder and no count of bids: who bid stays secret (E-Rules 28)."""
    now = now or timezone.now()
    published = tender.status != S.DRAFT
    return CancelPreview(
        status=tender.status,
        published=published,
        notified=len(_cancellation_recipients(tender)) if published else 0,
        refund_due_by=now + statutory.days("BOND_REFUND_AFTER_CANCELLATION_DAYS"),
        refund_source=statutory.source("BOND_REFUND_AFTER_CANCELLATION_DAYS"),
    )


def tender_cancel(
    *, user, tender: Tender, reason: str, confirmed: bool, now: datetime | None = None
) -> Tender:
    """Cancel the tender (终止招标, Reg 31) through the lifecycle: the tenderer or its
    agency, from a draft or while bidding is open (``lifecycle.TRANSITIONS``).

    The reason is required and published. Everyone who obtained the documents is told;
    the lifecycle's hooks make the bid bonds still held due for refund with interest
    (the bids stage: Reg 31's days); bids received are never opened. Irreversible:
    ``confirmed`` must be true. One transaction, audited as ``tender.cancel``.
    """
    reason = (reason or "").strip()
    if not confirmed:
        raise refuse("confirm", _(
            "Not cancelled: confirm that you understand cancelling cannot be undone."),
            "confirm_required")
    if not reason:
        raise refuse("reason", _(
            "Give the reason for cancelling: it is published and sent to everyone told."),
            "reason_required")
    require_tenderer(user)
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock_as_owner(user, tender)
        previous = locked.status
        if not any(e.target == S.CANCELLED
                   for e in lifecycle.available_transitions(locked, by=lifecycle.TENDERER)):
            raise lifecycle.TransitionNotAllowed(previous, S.CANCELLED)
        preview = tender_cancel_preview(tender=locked, now=now)
        lifecycle.tender_transition(tender=locked, to=S.CANCELLED, by=lifecycle.TENDERER,
                                    actor=user, reason=reason[:2000], now=now)
        locked.cancel_reason = reason[:5000]
        locked.save(update_fields=["cancel_reason"])
        recipients = _cancellation_recipients(locked) if preview.published else set()
        subject = _("Tender %(ref)s cancelled") % {"ref": locked.reference}
        body = _(
            "%(title)s is cancelled (Reg 31): %(reason)s Bids received will not be opened. "
            "Bid bonds paid are refunded with interest by %(due)s."
        ) % {"title": locked.title, "reason": reason,
             "due": timefmt.day(preview.refund_due_by)}
        for org in Organisation.objects.filter(pk__in=recipients).order_by("pk"):
            notify(organisation=org, subject=subject, body=body, link=f"/tenders/{locked.pk}/")
        audit_record(
            actor=user,
            action="tender.cancel",
            obj=locked,
            payload={
                "from": previous,
                "reason": locked.cancel_reason,
                "notified": len(recipients),
                "bond_refund_due_by": preview.refund_due_by.isoformat(),
                "bond_refund_source": preview.refund_source,
            },
            summary=f"{locked.reference}: cancelled",
        )
    tender.refresh_from_db()
    return tender


def _require_supervisor(user) -> None:
    if not (user.is_authenticated and user.role == "supervisor"):
        raise PermissionDenied(_("Only the supervisor can suspend or resume a tender."))


def tender_suspend(*, user, tender: Tender, reason: str, now: datetime | None = None) -> Tender:
    """The supervisor orders the procedure suspended (Reg 62), from any status the
    lifecycle allows; the reason is required. The owners are told. Audited."""
    _require_supervisor(user)
    reason = (reason or "").strip()
    if not reason:
        raise refuse("reason", _("Give the reason for the suspension."), "reason_required")
    with transaction.atomic():
        locked = Tender.objects.select_for_update(no_key=True).get(pk=tender.pk)
        if locked.status == S.SUSPENDED:
            raise lifecycle.TransitionNotAllowed(locked.status, S.SUSPENDED)
        previous = locked.status
        lifecycle.tender_transition(tender=locked, to=S.SUSPENDED, by=lifecycle.SUPERVISOR,
                                    actor=user, reason=reason[:2000], now=now)
        _tell_owners(locked, _("Tender %(ref)s suspended by the supervisor")
                     % {"ref": locked.reference}, reason)
        audit_record(actor=user, action="tender.suspend", obj=locked,
                     payload={"from": previous, "reason": reason[:2000]},
                     summary=f"{locked.reference}: suspended (Reg 62)")
    tender.refresh_from_db()
    return tender


def tender_resume(*, user, tender: Tender, reason: str = "",
                  now: datetime | None = None) -> Tender:
    """The supervisor lifts a suspension: the tender returns to the status it had."""
    _require_supervisor(user)
    reason = (reason or "").strip()
    with transaction.atomic():
        locked = Tender.objects.select_for_update(no_key=True).get(pk=tender.pk)
        if locked.status != S.SUSPENDED:
            raise lifecycle.TransitionNotAllowed(locked.status, "resume")
        target = lifecycle.available_transitions(locked, by=lifecycle.SUPERVISOR)[0].target
        lifecycle.tender_transition(tender=locked, to=target, by=lifecycle.SUPERVISOR,
                                    actor=user, reason=reason[:2000], now=now)
        _tell_owners(locked, _("Tender %(ref)s resumed") % {"ref": locked.reference}, reason)
        audit_record(actor=user, action="tender.resume", obj=locked,
                     payload={"to": target, "reason": reason[:2000]},
                     summary=f"{locked.reference}: resumed")
    tender.refresh_from_db()
    return tender


def _tell_owners(tender: Tender, subject: str, body: str) -> None:
    for org in Organisation.objects.filter(pk__in=tender.owner_organisations()):
        notify(organisation=org, subject=subject, body=body, link=f"/tenders/{tender.pk}/")
