"""The verifiable draw of a tender's evaluation committee (Law 37, Reg 46).

Protocol, in the order things happen (nobody can steer it, anybody can check it):

1. **Request** (operator). The request is checked against Law 37 (size at least 5 and
   odd, counting the tenderer's representatives; technical and economic experts at
   least 2/3), the earliest time before the opening, and that the committee has no
   live draw already. The eligible experts are computed per specialty quota
   (qualified, active, in the region asked for) and every avoidance rule runs
   (``expert_pool.avoidance``). A quota that cannot be met is refused naming the
   specialty and how many are missing, and nothing is saved.
2. **Commit.** A fresh secret is generated and its commitment
   (``crypto.randomness.commit``), each group's candidate-list digest, the exclusion
   list's digest and the parameters are stored and written to the audit chain, all
   **before** the public input exists. From here the draw is fixed except for the
   public input, and it can never be re-run.
3. **Public input** from a beacon (one interface, ``Beacon``):
   ``commit_reveal`` (embedded default) — each party (by default the supervisor, the
   trading centre and a notary) commits ``SHA-256(value)`` with its own tool, and only
   once every party has committed may they reveal; the input is
   ``"commit-reveal-v1;" + ";".join(party=value, sorted by party)``. Nobody knows it
   before the last reveal and no single party can choose it. ``external`` — a public
   round named at request time (a lottery draw, a drand round) whose published value
   the operator records: ``"external-v1;" + round + "=" + value``.
4. **Select.** Groups are drawn in request order with ``crypto.randomness.select``,
   params = the draw's params plus ``"group": i``. Experts already drawn by an earlier
   group are skipped: group ``i`` draws ``m = min(N, need + overlap)`` where
   ``overlap`` is how many of its candidates earlier groups took, drops those, and
   keeps the first ``need = count + backups`` (seat holders first, then backups in
   order). The pre-check in step 1 guarantees enough remain.
5. **Reveal** the secret after the award (a lifecycle hook); the supervisor's page and
   ``manage.py verify_draw`` recompute everything from the stored inputs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role
from audit.models import AuditEvent
from audit.services import audit_record
from bidding.tenders.models import Tender
from core import platform_keys, statutory, timefmt
from core.refusals import refuse
from crypto import randomness, signing
from crypto.chain import canonical_json, payload_digest
from crypto.errors import CryptoError

from . import avoidance, policies
from .models import BeaconContribution, Draw, DrawMember, Expert, Specialty

S = Tender.Status
# A draw may be requested while the tender is on its way to the opening or just opened.
DRAWABLE = frozenset({S.PUBLISHED, S.BIDDING_CLOSED, S.OPENING, S.OPENED})
REGION_MODES = ("local", "remote", "any")

def _statutory(name: str):
    """The number in force and the article it comes from (core/statutory.py)."""
    return statutory.value(name), statutory.source(name)


# ---------------------------------------------------------------- request checks


@dataclass(frozen=True)
class Quota:
    specialty: str
    count: int


def check_committee(*, committee_size: int, tenderer_reps: int, quotas: list[Quota]) -> None:
    """Law 37: at least 5 members, odd, at least 2/3 technical or economic experts; the
    quotas fill every seat the tenderer's representatives do not."""
    minimum, source = _statutory("COMMITTEE_MIN_SIZE")
    if committee_size < minimum or committee_size % 2 == 0:
        raise refuse("committee_size", _(
            "An evaluation committee has at least %(min)s members and an odd number of them "
            "(%(source)s); %(n)s is not allowed.") % {
                "min": minimum, "source": source, "n": committee_size}, "committee_size")
    if tenderer_reps < 0:
        raise refuse("tenderer_reps", _("The number of representatives cannot be negative."),
                     "committee_size")
    experts = committee_size - tenderer_reps
    drawn = sum(q.count for q in quotas)
    if drawn != experts:
        raise refuse("quotas", _(
            "The quotas add up to %(drawn)s experts but the committee needs %(need)s "
            "(%(size)s members less %(reps)s representatives of the tenderer).") % {
                "drawn": drawn, "need": experts, "size": committee_size,
                "reps": tenderer_reps}, "quotas_mismatch")
    kinds = dict(Specialty.objects.filter(code__in=[q.specialty for q in quotas])
                 .values_list("code", "kind"))
    unknown = [q.specialty for q in quotas if q.specialty not in kinds]
    if unknown:
        raise refuse("quotas", _("Unknown specialty code: %(codes)s.") % {
            "codes": ", ".join(unknown)}, "unknown_specialty")
    if any(q.count < 1 for q in quotas):
        raise refuse("quotas", _("Each quota draws at least one expert."), "quotas_mismatch")
    fraction, source = _statutory("COMMITTEE_TECH_ECON_MIN_FRACTION")
    tech = sum(q.count for q in quotas if kinds[q.specialty] != Specialty.Kind.OTHER)
    if Fraction(tech, committee_size) < Fraction(fraction):
        raise refuse("quotas", _(
            "Only %(tech)s of %(size)s members would be technical or economic experts; at "
            "least %(fraction)s are required (%(source)s).") % {
                "tech": tech, "size": committee_size, "fraction": str(fraction),
                "source": source}, "committee_composition")


def earliest_draw_time(tender: Tender, region_mode: str) -> datetime:
    name = "DRAW_EARLIEST_HOURS_REMOTE" if region_mode == "remote" else "DRAW_EARLIEST_HOURS"
    hours, _source = _statutory(name)
    hours = int(getattr(settings, "EXPERT_" + name, hours))
    return tender.opening_time - timedelta(hours=hours)


def qualified_q(tender: Tender, region_mode: str, prefix: str = "") -> Q:
    """Active experts with Law 37's title and years, in the region the draw asks for
    (``prefix`` reaches the expert through a relation, e.g. ``"expert__"``)."""
    years, _source = _statutory("EXPERT_MIN_YEARS")
    q = Q(**{f"{prefix}status": Expert.Status.ACTIVE,
             f"{prefix}title__in": [Expert.Title.SENIOR, Expert.Title.FULL_SENIOR],
             f"{prefix}years_experience__gte": years})
    if region_mode == "local":  # the same city (prefecture): first four digits of the code
        q &= Q(**{f"{prefix}region__startswith": tender.region[:4]})
    elif region_mode == "remote":  # 远程异地: another province
        q &= ~Q(**{f"{prefix}region__startswith": tender.region[:2]})
    return q


def qualified_experts(tender: Tender, region_mode: str):
    return Expert.objects.filter(qualified_q(tender, region_mode))


@dataclass
class Eligibility:
    # Per quota, in request order: the codes of the eligible candidates.
    pools: list[list[str]]
    # Expert code -> reason codes, for every qualified expert the rules excluded.
    excluded: dict[str, list[str]]


def eligibility(tender: Tender, quotas: list[Quota], region_mode: str, *,
                now: datetime) -> Eligibility:
    """Who may be drawn for each quota, and who was excluded and why.

    One query finds every qualified holder of any quota's specialties (a quota's code
    covers the codes below it: codes are hierarchical prefixes); the avoidance rules
    then run once over all of them."""
    specs = list(Specialty.objects.values_list("pk", "code"))
    quota_of: dict[int, list[int]] = {}
    for i, q in enumerate(quotas):
        for pk, code in specs:
            if code.startswith(q.specialty):
                quota_of.setdefault(pk, []).append(i)
    # One join of the specialty links with the experts: PostgreSQL hashes both sides.
    rows = Expert.specialties.through.objects.filter(
        qualified_q(tender, region_mode, "expert__"), specialty_id__in=list(quota_of),
    ).values_list("expert_id", "expert__code", "specialty_id")
    per_quota: list[dict[int, str]] = [{} for _q in quotas]
    codes: dict[int, str] = {}
    for pk, code, spec in rows:
        codes[pk] = code
        for i in quota_of[spec]:
            per_quota[i][pk] = code
    ctx = avoidance.context_for(tender, now=now)
    excluded_ids = avoidance.exclusions(ctx, set(codes))
    pools = [[c for pk, c in p.items() if pk not in excluded_ids] for p in per_quota]
    excluded = {codes[pk]: sorted(r) for pk, r in excluded_ids.items()}
    return Eligibility(pools=pools, excluded=excluded)


def _check_quotas(quotas: list[Quota], backups: int, pools: list[list[str]]) -> None:
    """Refuse before anything is saved if some quota cannot be met whatever the draw.

    Earlier groups may take up to ``need`` experts each from a later group's pool, so
    group ``i`` can count on ``N_i - min(overlap with earlier pools, earlier needs)``.
    """
    seen: set[str] = set()
    earlier_need = 0
    for q, pool in zip(quotas, pools, strict=True):
        need = q.count + backups
        pool_set = set(pool)
        available = len(pool_set) - min(len(pool_set & seen), earlier_need)
        if available < need:
            raise refuse("quotas", _(
                "Not enough eligible experts in specialty %(code)s: %(need)s needed "
                "(%(count)s seats and %(backups)s backups), %(available)s available, "
                "%(missing)s missing.") % {
                    "code": q.specialty, "need": need, "count": q.count, "backups": backups,
                    "available": available, "missing": need - available},
                "not_enough_experts")
        seen |= pool_set
        earlier_need += need


def exclusions_list(excluded: dict[str, list[str]]) -> list[dict]:
    return [{"expert": code, "reasons": excluded[code]} for code in sorted(excluded)]


def exclusions_digest(rows: list[dict]) -> str:
    return hashlib.sha256(b"ggzy-draw-exclusions-v1\x00" + canonical_json(rows)).hexdigest()


def commit_payload(draw: Draw) -> dict:
    """What the commit event's payload digest covers: everything fixed before the input."""
    return {
        "draw": draw.pk,
        "tender": draw.tender.reference,
        "params": draw.params,
        "groups": [{"specialty": g["specialty"], "count": g["count"], "backups": g["backups"],
                    "digest": g["digest"], "size": len(g["candidates"])} for g in draw.groups],
        "exclusions_digest": draw.exclusions_digest,
        "commitment": draw.commitment,
        "beacon": draw.beacon,
        "beacon_round": draw.beacon_round,
    }


# ---------------------------------------------------------------- beacons


class Beacon(ABC):
    """Where a draw's public input comes from. ``public_input`` is None until ready."""

    name = ""

    @abstractmethod
    def public_input(self, draw: Draw) -> str | None:
        """The public input once it exists, else None."""

    @abstractmethod
    def problems(self, draw: Draw) -> list[str]:
        """What a verifier finds wrong with the stored input (empty when it checks)."""


def contribution_commitment(value: str) -> str:
    """A party commits ``hex(SHA-256(utf8(value)))`` before anyone reveals."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def beacon_parties() -> list[str]:
    return list(getattr(settings, "EXPERT_DRAW_BEACON_PARTIES",
                        [Role.SUPERVISOR, Role.OPERATOR, Role.NOTARY]))


class CommitRevealBeacon(Beacon):
    name = "commit_reveal"

    def _input(self, rows) -> str:
        return "commit-reveal-v1;" + ";".join(f"{c.party}={c.value}" for c in rows)

    def public_input(self, draw: Draw) -> str | None:
        rows = sorted(draw.contributions.all(), key=lambda c: c.party)
        parties = draw.params.get("beacon_parties", [])
        if [c.party for c in rows] != sorted(parties) or any(not c.value for c in rows):
            return None
        return self._input(rows)

    def problems(self, draw: Draw) -> list[str]:
        out = []
        rows = sorted(draw.contributions.all(), key=lambda c: c.party)
        for c in rows:
            if not hmac.compare_digest(contribution_commitment(c.value), c.commitment):
                out.append(_("The %(party)s's revealed value does not match its commitment.")
                           % {"party": c.party})
        if rows and max(c.committed_at for c in rows) > min(
                c.revealed_at or c.committed_at for c in rows):
            out.append(_("A value was revealed before every party had committed."))
        if self._input(rows) != draw.public_input:
            out.append(_("The public input differs from the parties' revealed values."))
        return out


class ExternalBeacon(Beacon):
    """A public source named at request time: a lottery draw or a drand-style round."""

    name = "external"

    def public_input(self, draw: Draw) -> str | None:
        return draw.public_input or None

    @staticmethod
    def input_for(round_name: str, value: str) -> str:
        return f"external-v1;{round_name}={value}"

    def problems(self, draw: Draw) -> list[str]:
        prefix = f"external-v1;{draw.beacon_round}="
        if not draw.public_input.startswith(prefix):
            return [_("The public input is not for the round named when the draw was "
                      "requested.")]
        return []


BEACONS = {b.name: b for b in (CommitRevealBeacon(), ExternalBeacon())}


def configured_beacon() -> Beacon:
    return BEACONS[getattr(settings, "EXPERT_DRAW_BEACON", "commit_reveal")]


# ---------------------------------------------------------------- writes


@transaction.atomic
def draw_request(
    *,
    tender: Tender,
    user,
    committee_size: int,
    tenderer_reps: int,
    quotas: list[Quota],
    backups: int,
    region_mode: str = "local",
    beacon_round: str = "",
    now: datetime | None = None,
    rng=None,
) -> Draw:
    """Request a committee draw: check it, compute who is eligible, commit (steps 1-2).

    Nothing is saved if any check fails. The draw waits for its public input.
    """
    now = now or timezone.now()
    if not policies.can_request_draw(user):
        raise refuse("__all__", _("Only the trading centre requests expert draws."),
                     "forbidden")
    if region_mode not in REGION_MODES:
        raise refuse("region_mode", _("Region must be local, remote or any."), "invalid")
    if backups < 0:
        raise refuse("backups", _("Backups cannot be negative."), "invalid")
    if tender.status not in DRAWABLE:
        raise refuse("__all__", _("A committee is drawn between publication and the start "
                                  "of evaluation; this tender is “%(s)s”.")
                     % {"s": tender.get_status_display()}, "draw_not_allowed_now")
    locked = Tender.objects.select_for_update(no_key=True).get(pk=tender.pk)
    live = Draw.objects.filter(tender=locked).exclude(status=Draw.Status.FAILED)
    if live.exists():
        raise refuse("__all__", _("This tender's committee has already been drawn (draw "
                                  "%(id)s); a draw is never run twice.") % {
                                      "id": live.first().pk}, "draw_exists")
    earliest = earliest_draw_time(locked, region_mode)
    if now < earliest:
        raise refuse("__all__", _(
            "Too early: experts may be drawn from %(t)s, not more than %(h)s hours before "
            "the opening.") % {
                "t": timefmt.human(earliest),
                "h": int((locked.opening_time - earliest).total_seconds() // 3600)},
            "draw_too_early")
    check_committee(committee_size=committee_size, tenderer_reps=tenderer_reps, quotas=quotas)
    codes = [q.specialty for q in quotas]
    if len(set(codes)) != len(codes):
        raise refuse("quotas", _("Each specialty appears in one quota only."), "invalid")
    beacon = configured_beacon()
    if beacon.name == "external" and not beacon_round.strip():
        raise refuse("beacon_round", _("Name the public round whose result will be the "
                                       "draw's public input."), "required")
    elig = eligibility(locked, quotas, region_mode, now=now)
    _check_quotas(quotas, backups, elig.pools)

    secret, commitment = randomness.commit(rng)
    attempt = Draw.objects.filter(tender=locked).count() + 1
    params = {
        "purpose": "expert-draw",
        "tender": locked.reference,
        "attempt": attempt,
        "committee_size": committee_size,
        "tenderer_reps": tenderer_reps,
        "backups": backups,
        "region_mode": region_mode,
        "region": locked.region,
        "quotas": [{"specialty": q.specialty, "count": q.count} for q in quotas],
    }
    if beacon.name == "commit_reveal":
        params["beacon_parties"] = sorted(beacon_parties())
    groups = []
    for q, pool in zip(quotas, elig.pools, strict=True):
        pool = sorted(pool, key=lambda c: c.encode("utf-8"))
        groups.append({"specialty": q.specialty, "count": q.count, "backups": backups,
                       "digest": randomness.candidates_digest(pool) if pool else "",
                       "candidates": pool})
    rows = exclusions_list(elig.excluded)
    draw = Draw.objects.create(
        tender=locked, attempt=attempt, requested_by=user, requested_at=now, params=params,
        groups=groups, exclusions=rows, exclusions_digest=exclusions_digest(rows),
        commitment=commitment, secret=secret, beacon=beacon.name,
        beacon_round=beacon_round.strip(),
    )
    event = audit_record(
        actor=user, action="expert_draw.committed", obj=draw, payload=commit_payload(draw),
        summary=f"{locked.reference} draw {draw.pk}: commitment {commitment}",
    )
    draw.commit_event_seq = event.seq
    draw.save(update_fields=["commit_event_seq"])
    return draw


def _get_locked(draw: Draw, *, full: bool = False) -> Draw:
    """Lock the draw row; the candidate lists (large) are read only when needed."""
    qs = Draw.objects.select_for_update(of=("self",)).select_related("tender")
    if not full:
        qs = qs.defer("groups", "exclusions")
    return qs.get(pk=draw.pk)


@transaction.atomic
def beacon_commit(*, draw: Draw, user, commitment: str, now: datetime | None = None):
    """A party commits to its random value (embedded commit-reveal beacon)."""
    now = now or timezone.now()
    draw = _get_locked(draw)
    party = policies.beacon_party_of(user, draw)
    if draw.status != Draw.Status.AWAITING_INPUT or draw.beacon != "commit_reveal":
        raise refuse("__all__", _("This draw takes no more contributions."), "beacon_closed")
    commitment = commitment.strip().lower()
    if len(commitment) != 64 or any(ch not in "0123456789abcdef" for ch in commitment):
        raise refuse("commitment", _("A commitment is 64 hexadecimal characters (SHA-256)."),
                     "invalid")
    if draw.contributions.filter(party=party).exists():
        raise refuse("__all__", _("The %(party)s has already committed.") % {"party": party},
                     "beacon_already_committed")
    c = BeaconContribution.objects.create(draw=draw, party=party, user=user,
                                          commitment=commitment, committed_at=now)
    audit_record(actor=user, action="expert_draw.beacon_committed", obj=draw,
                 payload={"party": party, "commitment": commitment},
                 summary=f"draw {draw.pk}: {party} committed {commitment}")
    return c


@transaction.atomic
def beacon_reveal(*, draw: Draw, user, value: str, now: datetime | None = None) -> Draw:
    """A party reveals its value; once every party has, the draw runs (step 4)."""
    now = now or timezone.now()
    draw = _get_locked(draw)
    party = policies.beacon_party_of(user, draw)
    if draw.status != Draw.Status.AWAITING_INPUT:
        raise refuse("__all__", _("This draw takes no more contributions."), "beacon_closed")
    rows = {c.party: c for c in draw.contributions.all()}
    missing = [p for p in draw.params.get("beacon_parties", []) if p not in rows]
    if missing:
        raise refuse("__all__", _("Values are revealed only once every party has committed; "
                                  "waiting for: %(p)s.") % {"p": ", ".join(missing)},
                     "beacon_not_all_committed")
    c = rows[party]
    value = value.strip()
    if c.value:
        raise refuse("__all__", _("The %(party)s has already revealed.") % {"party": party},
                     "beacon_already_revealed")
    if len(value) < 16 or not hmac.compare_digest(contribution_commitment(value), c.commitment):
        raise refuse("value", _("This value does not match the %(party)s's commitment.")
                     % {"party": party}, "beacon_mismatch")
    c.value, c.revealed_at = value, now
    c.save(update_fields=["value", "revealed_at"])
    audit_record(actor=user, action="expert_draw.beacon_revealed", obj=draw,
                 payload={"party": party, "value": value},
                 summary=f"draw {draw.pk}: {party} revealed")
    public_input = CommitRevealBeacon().public_input(draw)
    if public_input is not None:
        _perform(draw, public_input, now=now)
    return draw


@transaction.atomic
def beacon_record(*, draw: Draw, user, value: str, now: datetime | None = None) -> Draw:
    """The operator records the outside beacon's published value for the named round."""
    now = now or timezone.now()
    draw = _get_locked(draw)
    if not policies.can_request_draw(user):
        raise refuse("__all__", _("Only the trading centre records the beacon."), "forbidden")
    if draw.status != Draw.Status.AWAITING_INPUT or draw.beacon != "external":
        raise refuse("__all__", _("This draw takes no outside input."), "beacon_closed")
    if not value.strip():
        raise refuse("value", _("Enter the published value."), "required")
    public_input = ExternalBeacon.input_for(draw.beacon_round, value.strip())
    audit_record(actor=user, action="expert_draw.beacon_recorded", obj=draw,
                 payload={"round": draw.beacon_round, "value": value.strip()},
                 summary=f"draw {draw.pk}: {draw.beacon_round}")
    _perform(draw, public_input, now=now)
    return draw


@transaction.atomic
def draw_abandon(*, draw: Draw, user, reason: str, now: datetime | None = None) -> Draw:
    """A supervisor closes a draw stuck without its public input (a party never revealed)
    as failed, naming the parties missing; the trading centre may then request a new
    draw, with a new commitment. The failure and who withheld stay on the record."""
    now = now or timezone.now()
    if not getattr(user, "is_authenticated", False) or user.role != Role.SUPERVISOR:
        raise refuse("__all__", _("Only a supervisor abandons a draw."), "forbidden")
    draw = _get_locked(draw)
    if draw.status != Draw.Status.AWAITING_INPUT:
        raise refuse("__all__", _("Only a draw still waiting for its public input can be "
                                  "abandoned."), "draw_not_waiting")
    if not reason.strip():
        raise refuse("reason", _("Give the reason."), "required")
    revealed = {c.party for c in draw.contributions.all() if c.value}
    missing = [p for p in draw.params.get("beacon_parties", []) if p not in revealed]
    draw.status = Draw.Status.FAILED
    draw.failure_reason = _("Abandoned by the supervisor: %(reason)s (no value from: "
                            "%(missing)s)") % {"reason": reason.strip(),
                                              "missing": ", ".join(missing) or "-"}
    draw.save(update_fields=["status", "failure_reason"])
    audit_record(actor=user, action="expert_draw.abandoned", obj=draw,
                 payload={"reason": reason.strip(), "missing": missing},
                 summary=f"draw {draw.pk} abandoned; missing {', '.join(missing)}")
    return draw


def select_groups(*, secret: bytes, params: dict, groups: list[dict],
                  public_input: str) -> tuple[list[list[str]], str]:
    """Step 4: the drawn codes per group (seat holders first), or a failure reason."""
    taken: set[str] = set()
    result = []
    for i, g in enumerate(groups):
        pool = g["candidates"]
        need = g["count"] + g["backups"]
        overlap = len(taken.intersection(pool))
        m = min(len(pool), need + overlap)
        picked = []
        if pool:
            drawn = randomness.select(
                secret=secret, params={**params, "group": i}, candidates_digest=g["digest"],
                public_input=public_input, candidates=pool, m=m)
            picked = [c for c in drawn if c not in taken][:need]
        if len(picked) < need:
            return result, _("Specialty %(code)s: %(missing)s experts missing.") % {
                "code": g["specialty"], "missing": need - len(picked)}
        taken.update(picked)
        result.append(picked)
    return result, ""


def _perform(draw: Draw, public_input: str, *, now: datetime) -> None:
    from . import services

    draw.public_input = public_input
    draw.drawn_at = now
    picked, failure = select_groups(secret=bytes(draw.secret), params=draw.params,
                                    groups=draw.groups, public_input=public_input)
    if failure:
        draw.status, draw.failure_reason = Draw.Status.FAILED, failure
        draw.save(update_fields=["public_input", "drawn_at", "status", "failure_reason"])
        audit_record(actor="system", action="expert_draw.failed", obj=draw,
                     payload={"public_input": public_input, "reason": failure},
                     summary=f"draw {draw.pk} failed: {failure}")
        return
    ids = dict(Expert.objects.filter(code__in=[c for g in picked for c in g])
               .values_list("code", "pk"))
    members = []
    for gi, codes in enumerate(picked):
        for pos, code in enumerate(codes):
            members.append(DrawMember(draw=draw, expert_id=ids[code], group=gi, position=pos))
    DrawMember.objects.bulk_create(members)
    draw.status = Draw.Status.DRAWN
    draw.signature = sign_record(draw, picked)
    draw.save(update_fields=["public_input", "drawn_at", "status", "signature"])
    audit_record(actor="system", action="expert_draw.drawn", obj=draw,
                 payload={"public_input": public_input, "result_digest": result_digest(picked)},
                 summary=f"draw {draw.pk} drawn; result digest {result_digest(picked)}")
    for m in DrawMember.objects.filter(draw=draw).select_related("expert"):
        if m.position < draw.groups[m.group]["count"]:  # seat holders; backups wait
            m.draw = draw
            services.member_call(member=m, now=now)


def result_digest(picked: list[list[str]]) -> str:
    return hashlib.sha256(b"ggzy-draw-result-v1\x00" + canonical_json(picked)).hexdigest()


def record_message(draw: Draw, picked: list[list[str]]) -> bytes:
    return canonical_json({"draw": draw.pk, "commitment": draw.commitment,
                           "public_input": draw.public_input,
                           "result_digest": result_digest(picked)})


def sign_record(draw: Draw, picked: list[list[str]]) -> str:
    sig = signing.sign(platform_keys.signing_key(), signing.DRAW, record_message(draw, picked))
    return base64.b64encode(sig).decode()


@transaction.atomic
def draw_reveal(*, draw: Draw, now: datetime | None = None) -> bool:
    """Publish the secret (after the award); idempotent."""
    draw = _get_locked(draw)
    if draw.secret_revealed_at or draw.status == Draw.Status.AWAITING_INPUT:
        return False
    draw.secret_revealed_at = now or timezone.now()
    draw.save(update_fields=["secret_revealed_at"])
    audit_record(actor="system", action="expert_draw.revealed", obj=draw,
                 payload={"secret": bytes(draw.secret).hex()},
                 summary=f"draw {draw.pk}: secret revealed")
    return True


# ---------------------------------------------------------------- verification


@dataclass
class Verification:
    draw_id: int
    problems: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    secret_revealed: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems


def drawn_codes(draw: Draw) -> list[list[str]]:
    out: list[list[str]] = [[] for _g in draw.groups]
    for m in draw.members.select_related("expert").order_by("group", "position"):
        out[m.group].append(m.expert.code)
    return out


def verify(draw: Draw) -> Verification:
    """Recompute the draw from its stored inputs; say what differs, if anything."""
    v = Verification(draw.pk, secret_revealed=bool(draw.secret_revealed_at))
    secret = bytes(draw.secret)
    try:
        if not hmac.compare_digest(randomness.commitment_of(secret), draw.commitment):
            v.problems.append(_("The secret does not match the published commitment."))
        else:
            v.checked.append(_("secret matches the commitment"))
    except CryptoError:
        v.problems.append(_("The secret is malformed."))
    for i, g in enumerate(draw.groups):
        if g["candidates"] and randomness.candidates_digest(g["candidates"]) != g["digest"]:
            v.problems.append(_("Group %(i)s (%(code)s): the candidate list does not match its "
                                "digest.") % {"i": i + 1, "code": g["specialty"]})
    if exclusions_digest(draw.exclusions) != draw.exclusions_digest:
        v.problems.append(_("The exclusion list does not match its digest."))
    events = list(AuditEvent.objects.filter(object_id=str(draw.pk),
                                            action__startswith="expert_draw.")
                  .order_by("seq"))
    commit = next((e for e in events if e.action == "expert_draw.committed"), None)
    if commit is None:
        v.problems.append(_("No commitment event in the audit chain."))
    else:
        from audit.services import _jsonable

        if payload_digest(_jsonable(commit_payload(draw))) != commit.payload_digest:
            v.problems.append(_("The parameters, digests or commitment differ from those "
                                "recorded in the audit chain before the draw."))
        else:
            v.checked.append(_("inputs match the audit chain's commitment event"))
        inputs = [e for e in events if e.action in (
            "expert_draw.beacon_revealed", "expert_draw.beacon_recorded")]
        if any(e.seq < commit.seq for e in inputs):
            v.problems.append(_("Public input was recorded before the commitment."))
    if draw.status == Draw.Status.AWAITING_INPUT:
        v.problems.append(_("The draw has not been made yet (waiting for the public input)."))
        return v
    beacon = BEACONS.get(draw.beacon)
    if beacon is None:
        v.problems.append(_("Unknown beacon."))
    else:
        v.problems.extend(beacon.problems(draw))
    if v.problems:
        return v
    try:
        expected, failure = select_groups(secret=secret, params=draw.params, groups=draw.groups,
                                          public_input=draw.public_input)
    except CryptoError as exc:
        v.problems.append(str(exc))
        return v
    if draw.status == Draw.Status.FAILED and not draw.members.exists():
        if not failure:
            v.problems.append(_("The draw was recorded as failed but recomputes as a success."))
        return v
    stored = drawn_codes(draw)
    if stored != expected:
        for i, (a, b) in enumerate(zip(stored, expected, strict=False)):
            if a != b:
                v.problems.append(_("Group %(i)s (%(code)s): the stored experts differ from the "
                                    "recomputed draw.") % {"i": i + 1,
                                                           "code": draw.groups[i]["specialty"]})
        if len(stored) != len(expected):
            v.problems.append(_("The stored draw has a different number of groups."))
    else:
        v.checked.append(_("the selection recomputes exactly"))
    try:
        signing.verify(platform_keys.verify_key(), signing.DRAW, record_message(draw, stored),
                       base64.b64decode(draw.signature))
        v.checked.append(_("the platform's signature on the record checks"))
    except (CryptoError, ValueError):
        v.problems.append(_("The platform's signature does not match the record."))
    return v
