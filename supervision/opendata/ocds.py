"""The platform's public records as Open Contracting Data Standard (OCDS) 1.1 releases.

This module alone owns the mapping. One tender is one contracting process; its ``ocid``
is ``settings.OCDS_PREFIX`` + ``-`` + the tender number. ``ocds-xxxxxx`` in the default
prefix is a placeholder: a real publisher registers its own prefix with the OCDS Help
Desk and sets ``OCDS_PREFIX`` before publishing anything.

Each stage of the procedure that the platform makes public is one release, dated when
it became public, with a stable id (``<ocid>-<stage>[-<n>]``):

========================  =======================  ======================================
release id suffix         tag                      when
========================  =======================  ======================================
``tender``                tender                   the announcement is published
``amendment-<n>``         tenderAmendment          amendment n is published
``opening``               tenderUpdate             the opening record is closed: bidders
                                                   become ``tenderer`` parties
``candidates``            award                    the candidates' publicity opens
                                                   (awards ``pending``)
``award``                 award                    the award notices are issued
``contract``              contract                 both parties signed the contract
``contract-amendment-n``  contractAmendment        both parties signed amendment n
``payment-<id>``          implementation           a payment is recorded
``cancellation``          tenderCancellation       the tender is cancelled
``failed``                tenderUpdate             the tender failed (``unsuccessful``)
========================  =======================  ======================================

What never appears (the releases are built from the public facts of each stage only):
drafts; before the opening, anything about bids or who obtained the documents (Law 22);
sealed prices; bonds; the evaluation committee and the award committee (experts'
names are confidential, Law 37 / Interim 8: the committee is not exported at all);
scores other than the published candidates' prices; votes; the contract document itself.

The package declares no extensions (the validator would fetch them), so lots, bids and
enquiries are not exported: ``tender.hasEnquiries`` and ``numberOfTenderers`` say what
the core schema can. Document hashes go in ``documents[].description`` (no core field).

Amounts are JSON numbers in yuan (``currency`` CNY); dates are RFC 3339 with the
platform's time zone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime, time
from decimal import Decimal
from typing import IO

from django.conf import settings
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from accounts.models import Organisation
from bidding.award.selectors import award_noticed, publicity_of, signed_contract_of
from bidding.opening.selectors import closed_opening_session
from bidding.tenders.reference import Category, EvaluationMethod, ProcedureType
from bidding.tenders.selectors import TenderStatus, tenders

S = TenderStatus
OCDS_VERSION = "1.1"
DEFAULT_PREFIX = "ocds-xxxxxx-ggzy"
DEFAULT_LICENSE = "https://creativecommons.org/licenses/by/4.0/"
# Organisations are identified by their unified social credit code (GB 32100-2015);
# org-id.guide lists that register as CN-SAMR.
ORG_SCHEME = "CN-SAMR"

STATUS = {  # TenderStatus -> OCDS tenderStatus (closed codelist)
    S.PUBLISHED: "active", S.BIDDING_CLOSED: "active", S.OPENING: "active",
    S.OPENED: "active", S.EVALUATION: "active", S.CANDIDATES: "active", S.AWARD: "active",
    S.SUSPENDED: "active", S.AWARDED: "complete", S.CONTRACTED: "complete",
    S.CANCELLED: "cancelled", S.FAILED: "unsuccessful",
}
METHOD = {ProcedureType.OPEN: "open", ProcedureType.INVITED: "selective"}
METHOD_DETAILS = {ProcedureType.OPEN: "公开招标", ProcedureType.INVITED: "邀请招标"}
CRITERIA = {EvaluationMethod.COMPREHENSIVE: "ratedCriteria",
            EvaluationMethod.LOWEST_PRICE: "priceOnly"}
CATEGORY = {Category.GOODS: "goods", Category.SERVICES: "services"}  # the rest: works


# ------------------------------------------------------------------ settings


def prefix() -> str:
    return getattr(settings, "OCDS_PREFIX", DEFAULT_PREFIX)


def ocid(tender) -> str:
    return f"{prefix()}-{tender.reference}"


def publisher() -> dict:
    out = {"name": getattr(settings, "OCDS_PUBLISHER_NAME", "")
           or getattr(settings, "PLATFORM_NAME", "") or "ggzy"}
    uri = getattr(settings, "OCDS_PUBLISHER_URI", "")
    if uri:
        out["uri"] = uri
    return out


def base_url() -> str:
    """Absolute URL of the platform (``OCDS_BASE_URL``), for documents and package URIs."""
    return getattr(settings, "OCDS_BASE_URL", "http://localhost:8000").rstrip("/")


# ------------------------------------------------------------------ small values


def parse_since(value: str) -> datetime:
    """A date or date-time; naive values are in the platform's time zone."""
    value = (value or "").strip()
    try:
        moment = parse_datetime(value)
        if moment is None:
            day = parse_date(value)
            moment = datetime.combine(day, time.min) if day else None
    except ValueError:
        moment = None
    if moment is None:
        raise ValueError(f"--since: not a date or date-time: {value!r} "
                         "(use YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][+08:00])")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment



def when(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    return timezone.localtime(dt).isoformat(timespec="seconds")


def money(amount, currency: str = "CNY") -> dict:
    value = Decimal(str(amount))
    number = int(value) if value == value.to_integral_value() else float(value)
    return {"amount": number, "currency": currency or "CNY"}


def _org_id(org: Organisation) -> str:
    return f"{ORG_SCHEME}-{org.credit_code}"


def org_ref(org: Organisation) -> dict:
    return {"id": _org_id(org), "name": org.name}


def _party(org: Organisation, roles: list[str]) -> dict:
    party = {"id": _org_id(org), "name": org.name,
             "identifier": {"scheme": ORG_SCHEME, "id": org.credit_code,
                            "legalName": org.name},
             "roles": roles}
    if org.address:
        party["address"] = {"streetAddress": org.address, "countryName": "中国"}
    return party


def _parties(roles: dict[int, tuple[Organisation, list[str]]]) -> list[dict]:
    return [_party(org, r) for org, r in roles.values()]


def _add_role(roles: dict, org: Organisation, role: str) -> None:
    org_, have = roles.setdefault(org.pk, (org, []))
    if role not in have:
        have.append(role)


# ------------------------------------------------------------------ what is public


def published_tenders() -> QuerySet:
    """Tenders that have been published (never drafts), oldest first."""
    return (tenders().exclude(status=S.DRAFT).filter(published_at__isnull=False)
            .select_related("tenderer", "agency").order_by("published_at", "pk"))


def tenders_changed_since(since: datetime) -> QuerySet:
    """Published tenders with a release dated at or after ``since`` (a superset: the
    releases themselves are filtered by date in ``releases_for``)."""
    return published_tenders().filter(
        Q(published_at__gte=since) | Q(status_changed_at__gte=since)
        | Q(updated_at__gte=since) | Q(amendments__published_at__gte=since)
        | Q(contract__versions__created_at__gte=since)
        | Q(contract__payments__recorded_at__gte=since)
        | Q(contract__versions__tenderer_signed_at__gte=since)
        | Q(contract__versions__winner_signed_at__gte=since)).distinct()


def _closed_opening(tender):
    """The opening, once its record is closed and published: only then are the bidders
    public (before, who bid is secret, Law 22)."""
    return closed_opening_session(tender)


def _bidders_at_opening(session) -> list[Organisation]:
    seen: dict[int, Organisation] = {}
    for row in session.bids.select_related("bid__bidder").order_by("bid__bidder__name"):
        seen.setdefault(row.bid.bidder_id, row.bid.bidder)
    return list(seen.values())


# ------------------------------------------------------------------ the tender section


def _documents(tender, up_to_amendment: int, base: str) -> list[dict]:
    out = []
    for doc in tender.documents.select_related("amendment").order_by("uploaded_at", "pk"):
        number = doc.amendment.number if doc.amendment_id else 0
        if number > up_to_amendment:
            continue
        url = base + reverse("api-document-download", kwargs={
            "tender_id": tender.reference, "document_id": str(doc.pk)})
        out.append({
            "id": f"doc-{doc.pk}",
            "documentType": "biddingDocuments" if number == 0 else "clarifications",
            "title": doc.name,
            "description": f"SHA-256: {doc.sha256}; {doc.size} bytes",
            "url": url,
            "datePublished": when(tender.published_at if number == 0
                                  else doc.amendment.published_at),
            "format": doc.content_type or "application/octet-stream",
            "language": "zh",
        })
    return out


def _criteria_details(tender) -> str:
    lines = []
    for c in tender.criteria.all():
        points = f" ({c.max_score} 分)" if c.max_score is not None else " (合格/不合格)"
        lines.append(f"{c.number}. {c.name}{points}")
    return "\n".join(lines)


def _tender_section(tender, *, status: str, amendments: list, base: str,
                    opening=None, bidders: list[Organisation] | None = None) -> dict:
    """The ``tender`` object as it stood after ``amendments`` (a list of Amendment)."""
    last = amendments[-1] if amendments else None
    first = tender.amendments.order_by("number").first()
    if last is not None:
        deadline = last.new_deadline
    else:  # the deadline as announced, before any amendment moved it
        deadline = first.old_deadline if first is not None else tender.deadline
    procuring = tender.agency or tender.tenderer
    section = {
        "id": tender.reference,
        "title": tender.title,
        "status": status,
        "procuringEntity": org_ref(procuring),
        "value": money(tender.estimate, tender.currency),
        "procurementMethod": METHOD.get(tender.procedure_type, "open"),
        "procurementMethodDetails": METHOD_DETAILS.get(tender.procedure_type, ""),
        "mainProcurementCategory": CATEGORY.get(tender.category, "works"),
        "awardCriteria": CRITERIA.get(tender.evaluation_method, "ratedCriteria"),
        "awardCriteriaDetails": _criteria_details(tender),
        "submissionMethod": ["electronicSubmission"],
        "tenderPeriod": {"startDate": when(tender.published_at), "endDate": when(deadline)},
        # Questions are taken until the bid deadline; answers are published without
        # the asker.
        "enquiryPeriod": {"startDate": when(tender.published_at), "endDate": when(deadline)},
        "hasEnquiries": tender.clarifications.filter(answered_at__isnull=False).exists(),
        "documents": _documents(tender, last.number if last else 0, base),
    }
    if tender.description:
        section["description"] = tender.description
    if amendments:
        section["amendments"] = [
            {"id": f"amendment-{a.number}", "date": when(a.published_at),
             "rationale": a.text,
             **({"description": f"截止时间 {when(a.old_deadline)} -> {when(a.new_deadline)}"}
                if a.new_deadline != a.old_deadline else {})}
            for a in amendments]
    if opening is not None and bidders is not None:
        section["tenderers"] = [org_ref(o) for o in bidders]
        section["numberOfTenderers"] = len(bidders)
    return section


# ------------------------------------------------------------------ awards and contracts


def _award_id(tender, bid_public_id: str) -> str:
    return f"{tender.reference}-award-{bid_public_id}"


def _candidate_awards(tender, publicity, *, status: str,
                      winner: str | None = None, decision=None,
                      orgs: dict[str, Organisation]) -> list[dict]:
    awards = []
    for row in publicity.candidates:
        bid = row["bid"]
        is_winner = bid == winner
        award = {"id": _award_id(tender, bid),
                 "title": f"{tender.title} 中标候选人" + (f" 第{row['rank']}名"
                                                          if row.get("rank") else ""),
                 "status": "active" if is_winner else status,
                 "date": when(decision.notices_at if is_winner and decision
                              else publicity.published_at),
                 "value": money(row["price"], tender.currency)}
        if is_winner and decision is not None and decision.record.get("award_price"):
            award["value"] = money(decision.record["award_price"], tender.currency)
        org = orgs.get(row.get("credit_code", ""))
        if org is not None:
            award["suppliers"] = [org_ref(org)]
        awards.append(award)
    return awards


def _contract_section(tender, contract, award_id: str, version,
                      amendments: list) -> dict:
    terms = version.terms or {}
    out = {"id": str(contract.public_id), "awardID": award_id,
           "title": f"{tender.title} 合同",
           "status": "active",
           "value": money(terms.get("price", "0"), tender.currency),
           "dateSigned": when(contract.signed_at)}
    if amendments:
        out["amendments"] = [{"id": f"contract-amendment-{v.number}",
                              "date": when(max(v.tenderer_signed_at, v.winner_signed_at)),
                              "rationale": f"合同变更 {v.number}: {v.document_name}"}
                             for v in amendments]
    return out


# ------------------------------------------------------------------ releases


def _release(process, suffix: str, tag: str, date: datetime, parties: list[dict],
             **sections) -> dict:
    the_ocid = ocid(process)
    release = {"ocid": the_ocid, "id": f"{the_ocid}-{suffix}", "date": when(date),
               "tag": [tag], "initiationType": "tender", "language": "zh",
               "parties": parties, "buyer": org_ref(process.tenderer)}
    release.update(sections)
    return release


def releases_for(tender, *, since: datetime | None = None,
                 base: str | None = None) -> list[dict]:
    """Every public release of one published tender, in date order (at or after
    ``since`` if given). A draft has none. ``base``: the platform's URL for links
    (default ``OCDS_BASE_URL``)."""
    base = (base or base_url()).rstrip("/")
    if tender.status == S.DRAFT or tender.published_at is None:
        return []
    roles: dict[int, tuple[Organisation, list[str]]] = {}
    _add_role(roles, tender.tenderer, "buyer")
    _add_role(roles, tender.agency or tender.tenderer, "procuringEntity")
    amendments = list(tender.amendments.order_by("number"))
    out: list[tuple[datetime, dict]] = []

    out.append((tender.published_at, _release(
        tender, "tender", "tender", tender.published_at, _parties(roles),
        tender=_tender_section(tender, status="active", amendments=[], base=base))))
    for i, amendment in enumerate(amendments):
        out.append((amendment.published_at, _release(
            tender, f"amendment-{amendment.number}", "tenderAmendment",
            amendment.published_at, _parties(roles),
            tender=_tender_section(tender, status="active", amendments=amendments[:i + 1],
                                   base=base))))

    session = _closed_opening(tender)
    bidders = _bidders_at_opening(session) if session else None
    if session is not None:
        for org in bidders:
            _add_role(roles, org, "tenderer")
        out.append((session.closed_at, _release(
            tender, "opening", "tenderUpdate", session.closed_at, _parties(roles),
            tender=_tender_section(tender, status="active", amendments=amendments,
                                   base=base, opening=session, bidders=bidders))))

    def tender_now(status: str) -> dict:
        return _tender_section(tender, status=status, amendments=amendments, base=base,
                               opening=session, bidders=bidders)

    publicity = publicity_of(tender)
    decision = award_noticed(tender)
    orgs = {o.credit_code: o for o in (bidders or [])}
    if decision is not None:
        orgs.setdefault(decision.winner.bidder.credit_code, decision.winner.bidder)
    if publicity is not None and session is not None:
        out.append((publicity.published_at, _release(
            tender, "candidates", "award", publicity.published_at, _parties(roles),
            tender=tender_now("active"),
            awards=_candidate_awards(tender, publicity, status="pending", orgs=orgs))))

    if decision is not None and session is not None:
        winner_bid = str(decision.winner.public_id)
        _add_role(roles, decision.winner.bidder, "supplier")
        if publicity is not None:
            awards = _candidate_awards(tender, publicity, status="unsuccessful",
                                       winner=winner_bid, decision=decision, orgs=orgs)
        else:
            awards = []
        if not any(a["id"] == _award_id(tender, winner_bid) for a in awards):
            price = decision.record.get("award_price")
            awards.append({"id": _award_id(tender, winner_bid), "status": "active",
                           "date": when(decision.notices_at),
                           "suppliers": [org_ref(decision.winner.bidder)],
                           **({"value": money(price, tender.currency)} if price else {})})
        out.append((decision.notices_at, _release(
            tender, "award", "award", decision.notices_at, _parties(roles),
            tender=tender_now("complete"), awards=awards)))

        contract = signed_contract_of(tender)
        if contract is not None:
            award_id = _award_id(tender, winner_bid)
            versions = [v for v in contract.versions.order_by("number") if v.complete]
            out.append((contract.signed_at, _release(
                tender, "contract", "contract", contract.signed_at, _parties(roles),
                contracts=[_contract_section(tender, contract, award_id, versions[0], [])])))
            for v in versions[1:]:
                signed = max(v.tenderer_signed_at, v.winner_signed_at)
                done = [x for x in versions[1:] if x.number <= v.number]
                out.append((signed, _release(
                    tender, f"contract-amendment-{v.number}", "contractAmendment", signed,
                    _parties(roles),
                    contracts=[_contract_section(tender, contract, award_id, v, done)])))
            paid = [p for p in contract.payments.order_by("paid_at", "pk")
                    if p.paid_at is not None]
            current = versions[-1]
            for n, payment in enumerate(paid):
                transactions = [{
                    "id": f"payment-{p.pk}", "source": base + "/",
                    "date": when(p.paid_at), "value": money(p.amount, tender.currency),
                    "payer": org_ref(tender.tenderer),
                    "payee": org_ref(contract.winner)} for p in paid[: n + 1]]
                section = _contract_section(tender, contract, award_id, current,
                                            versions[1:])
                section["implementation"] = {"transactions": transactions}
                out.append((payment.recorded_at, _release(
                    tender, f"payment-{payment.pk}", "implementation", payment.recorded_at,
                    _parties(roles), contracts=[section])))

    changed = tender.status_changed_at or tender.updated_at
    if tender.status == S.CANCELLED:
        out.append((changed, _release(tender, "cancellation", "tenderCancellation", changed,
                                      _parties(roles), tender=tender_now("cancelled"))))
    elif tender.status == S.FAILED:
        extra = {}
        if publicity is not None and session is not None:
            extra["awards"] = _candidate_awards(tender, publicity, status="unsuccessful",
                                                orgs=orgs)
        out.append((changed, _release(tender, "failed", "tenderUpdate", changed,
                                      _parties(roles), tender=tender_now("unsuccessful"),
                                      **extra)))

    out.sort(key=lambda pair: pair[0])
    return [r for d, r in out if since is None or d >= since]


# ------------------------------------------------------------------ packages


def package_metadata(*, uri: str, published: datetime | None = None) -> dict:
    """The release package's fields besides ``releases`` (license and publication
    policy from ``OCDS_LICENSE`` / ``OCDS_PUBLICATION_POLICY``; empty omits them)."""
    meta = {"uri": uri, "version": OCDS_VERSION, "publisher": publisher(),
            "publishedDate": when(published or timezone.now())}
    license_url = getattr(settings, "OCDS_LICENSE", DEFAULT_LICENSE)
    if license_url:
        meta["license"] = license_url
    policy = getattr(settings, "OCDS_PUBLICATION_POLICY", "")
    if policy:
        meta["publicationPolicy"] = policy
    return meta


def iter_releases(tenders: Iterable, *, since: datetime | None = None,
                  base: str | None = None) -> Iterator[dict]:
    for tender in tenders:
        yield from releases_for(tender, since=since, base=base)


def release_package(tenders: Iterable, *, uri: str, since: datetime | None = None,
                    base: str | None = None) -> dict:
    """A release package in memory (the API's pages; a bounded number of tenders)."""
    return {**package_metadata(uri=uri),
            "releases": list(iter_releases(tenders, since=since, base=base))}


def write_release_package(out: IO[str], tenders: Iterable, *, uri: str,
                          since: datetime | None = None, base: str | None = None,
                          progress=None) -> int:
    """Stream a release package to ``out`` one tender at a time, so memory holds one
    tender's releases, not the whole export. Returns the number of releases written;
    ``progress(tenders_done, releases_done)`` is called after each tender."""
    head = json.dumps(package_metadata(uri=uri), ensure_ascii=False, indent=2)
    out.write(head[:-2] + ',\n  "releases": [')
    count = done = 0
    for tender in tenders:
        for release in releases_for(tender, since=since, base=base):
            out.write(("," if count else "") + "\n    ")
            out.write(json.dumps(release, ensure_ascii=False))
            count += 1
        done += 1
        if progress is not None:
            progress(done, count)
    out.write("\n  ]\n}\n")
    return count


# ------------------------------------------------------------------ records


def merge(releases: list[dict]) -> dict:
    """The compiled release (OCDS merge rules, without a schema): objects merge field
    by field, arrays of objects with ``id`` merge by ``id``, other arrays and values are
    replaced by the later release, ``null`` removes a field."""

    def merge_into(target: dict, source: dict) -> None:
        for key, value in source.items():
            if value is None:
                target.pop(key, None)
            elif isinstance(value, dict):
                node = target.get(key)
                if not isinstance(node, dict):
                    node = target[key] = {}
                merge_into(node, value)
            elif (isinstance(value, list) and value and all(
                    isinstance(v, dict) and "id" in v for v in value)):
                existing = target.get(key) if isinstance(target.get(key), list) else []
                by_id = {item.get("id"): item for item in existing}
                order = [item.get("id") for item in existing]
                for item in value:
                    node = by_id.get(item["id"])
                    if node is None:
                        node = by_id[item["id"]] = {}
                        order.append(item["id"])
                    merge_into(node, item)
                target[key] = [by_id[i] for i in order]
            else:
                target[key] = json.loads(json.dumps(value))

    compiled: dict = {}
    for release in sorted(releases, key=lambda r: r["date"]):
        merge_into(compiled, {k: v for k, v in release.items() if k not in ("id", "tag")})
    if releases:
        compiled["id"] = f"{releases[0]['ocid']}-compiled"
        compiled["tag"] = ["compiled"]
    return compiled


def record_package(tender, *, uri: str, base: str | None = None) -> dict:
    """The record of one tender: its releases embedded and the compiled release."""
    releases = releases_for(tender, base=base)
    meta = package_metadata(uri=uri)
    return {**meta, "records": [{"ocid": ocid(tender), "releases": releases,
                                  "compiledRelease": merge(releases)}]}


def tender_for_ocid(value: str):
    """The published tender an ocid names under the configured prefix, or None."""
    start = prefix() + "-"
    if not value.startswith(start):
        return None
    return published_tenders().filter(reference=value[len(start):]).first()
