"""Verifiable draws of inspections (双随机) and spot checks, and their verification.

The pattern is the one of ``expert_pool/draw.py`` and ``bidding/award/committee.py``, with
``crypto.randomness``:

1. **Commit** (a supervisor): a fresh secret; its commitment, the params, the digests of
   the candidate lists and the public round that will give the input are stored and written
   to the audit chain (``inspections.*_committed``), before any public input exists.
2. **Public input** (a supervisor records the named round's published value): the input is
   ``"external-v1;" + round + "=" + value``; the selection is made, the secret revealed at
   once (the result is fixed), and the input, result and secret go to the audit chain
   (``inspections.*_drawn``). A draw is never re-run.
3. **Verify**: anyone recomputes every selection from the stored inputs, and checks them
   against both audit events (:func:`verify`).

A plan round draws the tenders (``params + {"what": "tenders"}``, ``m = sample size``) and
then, for each drawn tender, a full permutation of the inspector register
(``params + {"what": "inspectors", "tender": reference}``, ``m = N``); the inspectors are
the first ones of the permutation whom no avoidance rule excludes, one per department where
the plan asks for different departments (:func:`assign`). A spot check draws completed
evaluations (``m = sample size``)."""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from audit.models import AuditEvent
from audit.services import _jsonable, audit_object_type
from crypto import randomness
from crypto.chain import payload_digest
from crypto.errors import CryptoError

from .models import PlanRound, SpotCheck


def public_input_for(round_name: str, value: str) -> str:
    return f"external-v1;{round_name}={value}"


def round_tender_params(r: PlanRound) -> dict:
    return {**r.params, "what": "tenders"}


def round_inspector_params(r: PlanRound, reference: str) -> dict:
    return {**r.params, "what": "inspectors", "tender": reference}


def assign(*, permutation: list[str], departments: dict[str, int], excluded: dict[str, list],
           need: int, distinct: bool) -> list[str]:
    """Walk the permutation: skip the excluded, and (``distinct``) anyone whose department
    already has an inspector; stop at ``need``. The same rule draws and verifies."""
    chosen: list[str] = []
    used: set[int] = set()
    for code in permutation:
        if len(chosen) >= need:
            break
        if code in excluded:
            continue
        dept = departments.get(code)
        if distinct and dept in used:
            continue
        chosen.append(code)
        used.add(dept)
    return chosen


def round_commit_payload(r: PlanRound) -> dict:
    return {"round": r.pk, "plan": r.plan_id, "params": r.params,
            "tender_digest": r.tender_digest, "inspector_digest": r.inspector_digest,
            "inspector_departments": r.inspector_departments, "sample_size": r.sample_size,
            "commitment": r.commitment, "round_name": r.round_name}


def round_drawn_payload(r: PlanRound) -> dict:
    return {"public_input": r.public_input, "drawn": list(r.drawn),
            "assignments": r.assignments, "skipped": r.skipped,
            "secret": bytes(r.secret).hex()}


def spot_commit_payload(s: SpotCheck) -> dict:
    return {"spot_check": s.pk, "params": s.params, "candidates_digest": s.candidates_digest,
            "sample_size": s.sample_size, "commitment": s.commitment,
            "round_name": s.round_name}


def spot_drawn_payload(s: SpotCheck) -> dict:
    return {"public_input": s.public_input, "drawn": list(s.drawn),
            "secret": bytes(s.secret).hex()}


@dataclass
class Verification:
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class Selection:
    params: dict
    candidates: list
    digest: str
    m: int
    expected: list


def _events(obj, action: str):
    return AuditEvent.objects.filter(object_type=audit_object_type(obj),
                                     object_id=str(obj.pk), action=action).order_by("seq")


def _verify(obj, *, commit_action: str, drawn_action: str, commit_payload: dict,
            drawn_payload: dict, selections: Iterable[Selection]) -> Verification:
    v = Verification()
    secret = bytes(obj.secret)
    try:
        if not hmac.compare_digest(randomness.commitment_of(secret), obj.commitment):
            v.problems.append(_("The secret does not match the published commitment."))
    except CryptoError:
        v.problems.append(_("The secret is malformed or not yet revealed."))
        return v
    commit = _events(obj, commit_action).first()
    drawn = _events(obj, drawn_action).first()
    if commit is None:
        v.problems.append(_("No commitment event in the audit chain."))
    elif payload_digest(_jsonable(commit_payload)) != commit.payload_digest:
        v.problems.append(_("The parameters, candidate digests or commitment differ from "
                            "those recorded in the audit chain before the draw."))
    if drawn is None:
        v.problems.append(_("No draw event in the audit chain."))
    elif payload_digest(_jsonable(drawn_payload)) != drawn.payload_digest:
        v.problems.append(_("The public input, result or secret differ from those recorded "
                            "in the audit chain when the draw was made."))
    if commit is not None and drawn is not None and drawn.seq < commit.seq:
        v.problems.append(_("The public input was recorded before the commitment."))
    if not obj.public_input.startswith(public_input_for(obj.round_name, "")):
        v.problems.append(_("The public input is not for the round named at the "
                            "commitment."))
    if v.problems:
        return v
    for s in selections:
        try:
            randomness.verify_selection(
                commitment=obj.commitment, secret=secret, params=s.params,
                candidates_digest=s.digest, public_input=obj.public_input,
                candidates=s.candidates, m=s.m, expected=s.expected)
        except (CryptoError, ValueError) as exc:
            v.problems.append(str(exc))
    return v


def verify_round(r: PlanRound) -> Verification:
    """Recompute a plan round: the tenders drawn, each tender's inspector permutation and
    the assignment the avoidance record and the department rule give."""
    if not r.drawn_at:
        return Verification([_("The draw has not been made yet.")])
    selections = []
    if r.tender_candidates:
        selections.append(Selection(round_tender_params(r), r.tender_candidates,
                                    r.tender_digest, r.sample_size, list(r.drawn)))
    v = _verify(r, commit_action="inspections.round_committed",
                drawn_action="inspections.round_drawn", commit_payload=round_commit_payload(r),
                drawn_payload=round_drawn_payload(r), selections=selections)
    if not v.ok or not r.inspector_candidates:
        return v
    need = r.params.get("inspectors", 2)
    distinct = r.params.get("distinct_departments", True)
    for ref in r.drawn:
        perm = randomness.select(
            secret=bytes(r.secret), params=round_inspector_params(r, ref),
            candidates_digest=r.inspector_digest, public_input=r.public_input,
            candidates=r.inspector_candidates, m=len(r.inspector_candidates))
        expected = assign(permutation=perm, departments=r.inspector_departments,
                          excluded=r.skipped.get(ref, {}), need=need, distinct=distinct)
        if expected != list(r.assignments.get(ref, [])):
            v.problems.append(_("The inspectors of %(ref)s differ from the recomputed draw.")
                              % {"ref": ref})
    return v


def verify_spot_check(s: SpotCheck) -> Verification:
    """Recompute a spot check's sample from its stored inputs."""
    if not s.drawn_at:
        return Verification([_("The draw has not been made yet.")])
    selections = []
    if s.candidates:
        selections.append(Selection(s.params, s.candidates, s.candidates_digest,
                                    s.sample_size, list(s.drawn)))
    return _verify(s, commit_action="inspections.spot_check_committed",
                   drawn_action="inspections.spot_check_drawn",
                   commit_payload=spot_commit_payload(s), drawn_payload=spot_drawn_payload(s),
                   selections=selections)
