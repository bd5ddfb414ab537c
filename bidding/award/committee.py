"""The tenderer's award committee (定标委员会) under 评定分离.

Formed the way the tender declared (``award_committee_mode``):

* **appointed**: the tenderer names the members from its own pool and the chair;
* **drawn**: commit-reveal, as ``expert_pool/draw.py`` does and with ``crypto.randomness``:

  1. ``committee_draw_commit`` (tenderer): a fresh secret; its commitment, the params
     (tender, size, purpose) and the digest of the pool's member codes are stored and
     written to the audit chain, **before** any public input exists;
  2. ``committee_draw_input`` (a supervisor, who watches the draw): records the public
     input (the value of a public lottery round named ``params["round"]``); the members
     are ``randomness.select(..., m=size)``, the first drawn chairs the committee; the
     secret is revealed at once (the result is fixed, nothing is left to hide);
  3. ``verify_committee_draw`` recomputes the draw from the stored inputs and checks them
     against the audit event of step 1. A draw is never re-run.

The size rule lives in ``check_size`` only.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditEvent
from audit.services import _jsonable, audit_object_type, audit_record
from bidding.tenders.models import Tender
from core import statutory
from core.refusals import refuse
from crypto import randomness
from crypto.chain import payload_digest
from crypto.errors import CryptoError

from . import policies
from .models import AwardCommittee, AwardPoolMember, CommitteeMember

S = Tender.Status


def check_size(size) -> int:
    """The award committee has an odd number of members, at least the local minimum."""
    minimum = statutory.value("AWARD_COMMITTEE_MIN_SIZE")
    if not isinstance(size, int) or size < minimum or size % 2 == 0:
        raise refuse("award_committee_size", _(
            "An award committee has an odd number of members, at least %(min)s (%(source)s); "
            "%(n)s is not allowed.") % {"min": minimum, "n": size,
                                         "source": statutory.source("AWARD_COMMITTEE_MIN_SIZE")},
            "committee_size")
    return size


def _check_tender(tender: Tender, mode: str) -> None:
    if tender.award_method != "separate":
        raise refuse("__all__", _("This tender awards to the first-ranked candidate; it has "
                                  "no award committee."), "no_committee")
    if tender.status not in (S.CANDIDATES, S.AWARD):
        raise refuse("__all__", _("The award committee is formed once the candidates are "
                                  "known and before the decision."), "wrong_status")
    if tender.award_committee_mode != mode:
        raise refuse("__all__", _("The tender declared that its award committee is %(mode)s.")
                     % {"mode": tender.get_award_committee_mode_display()}, "wrong_mode")
    check_size(tender.award_committee_size)
    if AwardCommittee.objects.filter(tender=tender, formed_at__isnull=False).exists():
        raise refuse("__all__", _("The award committee is already formed."), "already_formed")


# ---------------------------------------------------------------- pool


@transaction.atomic
def pool_add(*, user, person, name: str, title: str = "") -> AwardPoolMember:
    """The tenderer adds one of its people to its award pool."""
    if not policies.is_tenderer(user) or person.organisation_id != user.organisation_id:
        raise refuse("user", _("Only the tenderer's own staff can be in its award pool."),
                     "not_own_staff")
    if not (name or "").strip():
        raise refuse("name", _("Give the member's name."), "required")
    member, _created = AwardPoolMember.objects.update_or_create(
        organisation_id=user.organisation_id, user=person,
        defaults={"name": name.strip(), "title": title.strip(), "active": True})
    audit_record(actor=user, action="award.pool_member_added", obj=member,
                 payload={"code": member.code, "name": member.name, "title": member.title},
                 summary=f"award pool: {member.code}")
    return member


def pool_of(tender: Tender):
    return AwardPoolMember.objects.filter(organisation_id=tender.tenderer_id, active=True)


# ---------------------------------------------------------------- appointed


@transaction.atomic
def committee_appoint(*, user, tender: Tender, member_ids: list[int], chair_id: int,
                      now: datetime | None = None) -> AwardCommittee:
    """The tenderer appoints its committee from its pool and names the chair."""
    now = now or timezone.now()
    policies.require_owner(user, tender)
    _check_tender(tender, "appointed")
    ids = list(dict.fromkeys(int(i) for i in member_ids))
    if len(ids) != tender.award_committee_size:
        raise refuse("members", _("The tender declared a committee of %(n)s members; %(got)s "
                                  "were named.") % {"n": tender.award_committee_size,
                                                    "got": len(ids)}, "committee_size")
    people = {m.pk: m for m in pool_of(tender).filter(pk__in=ids)}
    if len(people) != len(ids):
        raise refuse("members", _("Every member must be in the tenderer's award pool."),
                     "not_in_pool")
    if chair_id not in people:
        raise refuse("chair", _("The chair must be one of the members."), "chair_not_member")
    committee, _created = AwardCommittee.objects.get_or_create(
        tender=tender, defaults={"mode": "appointed", "size": len(ids)})
    for order, pk in enumerate(ids):
        p = people[pk]
        CommitteeMember.objects.create(committee=committee, user=p.user, pool_member=p,
                                       name=p.name, title=p.title, is_chair=pk == chair_id,
                                       order=order)
    committee.formed_at = now
    committee.save(update_fields=["formed_at"])
    audit_record(actor=user, action="award.committee_appointed", obj=committee,
                 payload={"tender": tender.reference, "members": [people[i].code for i in ids],
                          "chair": people[chair_id].code},
                 summary=f"{tender.reference}: award committee appointed")
    return committee


# ---------------------------------------------------------------- drawn


def commit_payload(committee: AwardCommittee) -> dict:
    """What the commit event's payload digest covers: all fixed before the input."""
    return {"committee": committee.pk, "params": committee.params,
            "candidates_digest": committee.candidates_digest,
            "commitment": committee.commitment}


def drawn_payload(committee: AwardCommittee) -> dict:
    """What the draw event's payload digest covers: the input, the result, the secret."""
    return {"public_input": committee.public_input, "drawn": list(committee.drawn),
            "secret": bytes(committee.secret).hex()}


@transaction.atomic
def committee_draw_commit(*, user, tender: Tender, round_name: str,
                          now: datetime | None = None, rng=None) -> AwardCommittee:
    """Step 1: commit to a secret over the tenderer's pool, before the public input."""
    now = now or timezone.now()
    policies.require_owner(user, tender)
    _check_tender(tender, "drawn")
    if AwardCommittee.objects.filter(tender=tender).exists():
        raise refuse("__all__", _("The award committee's draw is already committed; a draw "
                                  "is never re-run."), "draw_rerun")
    round_name = (round_name or "").strip()
    if not round_name:
        raise refuse("round", _("Name the public round whose value will be the public input "
                                "(for example the lottery draw of a given day)."), "required")
    codes = [m.code for m in pool_of(tender)]
    size = tender.award_committee_size
    if len(codes) < size:
        raise refuse("__all__", _("The tenderer's award pool has %(n)s active members; the "
                                  "committee needs %(size)s.") % {"n": len(codes), "size": size},
                     "pool_too_small")
    secret, commitment = randomness.commit(rng)
    committee = AwardCommittee.objects.create(
        tender=tender, mode="drawn", size=size, candidates=sorted(codes),
        candidates_digest=randomness.candidates_digest(codes), commitment=commitment,
        secret=secret, committed_at=now,
        params={"purpose": "award_committee", "tender": tender.reference, "size": size,
                "round": round_name, "v": 1})
    audit_record(actor=user, action="award.committee_committed", obj=committee,
                 payload=commit_payload(committee),
                 summary=f"{tender.reference}: award committee draw committed")
    return committee


@transaction.atomic
def committee_draw_input(*, user, tender: Tender, value: str,
                         now: datetime | None = None) -> AwardCommittee:
    """Step 2: a supervisor records the public round's value; the draw is made."""
    now = now or timezone.now()
    policies.require_oversight(user)
    committee = AwardCommittee.objects.select_for_update().filter(tender=tender).first()
    if committee is None or committee.mode != "drawn":
        raise refuse("__all__", _("No award committee draw is waiting for its public input."),
                     "no_draw")
    if committee.public_input:
        raise refuse("__all__", _("The draw has been made; a draw is never re-run."),
                     "draw_rerun")
    value = (value or "").strip()
    if not value:
        raise refuse("value", _("Give the public round's value."), "required")
    committee.public_input = f"external-v1;{committee.params['round']}={value}"
    committee.drawn = randomness.select(
        secret=bytes(committee.secret), params=committee.params,
        candidates_digest=committee.candidates_digest, public_input=committee.public_input,
        candidates=committee.candidates, m=committee.size)
    people = {m.code: m for m in pool_of(tender)}
    for order, code in enumerate(committee.drawn):
        p = people[code]
        CommitteeMember.objects.create(committee=committee, user=p.user, pool_member=p,
                                       name=p.name, title=p.title, is_chair=order == 0,
                                       order=order)
    committee.formed_at = now
    committee.save(update_fields=["public_input", "drawn", "formed_at"])
    audit_record(actor=user, action="award.committee_drawn", obj=committee,
                 payload=drawn_payload(committee),
                 summary=f"{tender.reference}: award committee drawn")
    return committee


@dataclass
class Verification:
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_draw(*, obj, commit_action: str, drawn_action: str, commit_payload: dict,
                drawn_payload: dict, m: int, expected: list[str]) -> Verification:
    """Recompute a commit-reveal draw (a committee or a lottery) from its stored inputs:
    the secret against the commitment, the commitment event in the audit chain (before
    the input), the draw event's input, result and secret, the round named at the
    commitment, and the selection itself."""
    v = Verification()
    secret = bytes(obj.secret)
    try:
        if not hmac.compare_digest(randomness.commitment_of(secret), obj.commitment):
            v.problems.append(_("The secret does not match the published commitment."))
    except CryptoError:
        v.problems.append(_("The secret is malformed."))
        return v
    event = AuditEvent.objects.filter(object_type=audit_object_type(obj),
                                      object_id=str(obj.pk), action=commit_action).first()
    if event is None:
        v.problems.append(_("No commitment event in the audit chain."))
    elif payload_digest(_jsonable(commit_payload)) != event.payload_digest:
        v.problems.append(_("The parameters, candidate digest or commitment differ from those "
                            "recorded in the audit chain before the draw."))
    elif AuditEvent.objects.filter(object_type=event.object_type, object_id=event.object_id,
                                   action=drawn_action, seq__lt=event.seq).exists():
        v.problems.append(_("The public input was recorded before the commitment."))
    drawn = AuditEvent.objects.filter(object_type=audit_object_type(obj), object_id=str(obj.pk),
                                      action=drawn_action).first()
    if drawn is None:
        v.problems.append(_("No draw event in the audit chain."))
    elif payload_digest(_jsonable(drawn_payload)) != drawn.payload_digest:
        v.problems.append(_("The public input, result or secret differ from those recorded in "
                            "the audit chain when the draw was made."))
    if not obj.public_input.startswith(f"external-v1;{obj.params.get('round')}="):
        v.problems.append(_("The public input is not for the round named at the commitment."))
    if v.problems:
        return v
    try:
        randomness.verify_selection(
            commitment=obj.commitment, secret=secret, params=obj.params,
            candidates_digest=obj.candidates_digest, public_input=obj.public_input,
            candidates=obj.candidates, m=m, expected=expected)
    except CryptoError as exc:
        v.problems.append(str(exc))
    return v


def verify_committee_draw(committee: AwardCommittee) -> Verification:
    """Recompute the committee draw from its stored inputs; say what differs, if anything."""
    v = verify_draw(obj=committee, commit_action="award.committee_committed",
                    drawn_action="award.committee_drawn",
                    commit_payload=commit_payload(committee),
                    drawn_payload=drawn_payload(committee), m=committee.size,
                    expected=list(committee.drawn))
    if v.ok:
        seated = list(committee.members.order_by("order").values_list("pool_member_id",
                                                                       flat=True))
        if [f"P{pk:06d}" for pk in seated] != list(committee.drawn):
            v.problems.append(_("The seated members differ from the recomputed draw."))
    return v
