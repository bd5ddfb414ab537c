"""Writes on the expert pool: profiles, admission, import, confirmation and pledges.

The draw itself (request, beacon, selection, reveal) is in ``expert_pool.draw``.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
import secrets
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organisation, PublicKey
from audit.services import audit_record
from core import timefmt
from core.refusals import refuse
from crypto import keys as crypto_keys
from crypto import signing
from crypto.chain import canonical_json
from crypto.errors import CryptoError

from . import notify, policies
from .models import Draw, DrawMember, Expert, ImportBatch, Penalty, Specialty, Unavailability

M = DrawMember.Status
# How a drawn expert's own actions appear in the audit trail: the event names the seat
# (draw, group, position); the person is on the seat's row, sealed like the list.
SEALED_ACTOR = "drawn-expert"


def confirm_window() -> timedelta:
    return timedelta(minutes=int(getattr(settings, "EXPERT_CONFIRM_WINDOW_MINUTES", 60)))


# ---------------------------------------------------------------- the pool


def _check_qualified(title: str, years: int, field: str = "__all__") -> None:
    from .draw import _statutory

    minimum, source = _statutory("EXPERT_MIN_YEARS")
    if title not in (Expert.Title.SENIOR, Expert.Title.FULL_SENIOR) or years < minimum:
        raise refuse(field, _("An evaluation expert needs a senior title and at least "
                              "%(years)s years in the field (%(source)s).")
                     % {"years": minimum, "source": source}, "expert_not_qualified")


@transaction.atomic
def expert_apply(*, user, name: str, title: str, years_experience: int, region: str,
                 specialties: list[str], phone: str = "", email: str = "",
                 recommended_by: str = "") -> Expert:
    """An expert applies (or is recommended); the trading centre admits later."""
    if policies.expert_of(user) is not None:
        raise refuse("__all__", _("You already have an expert profile."), "duplicate")
    _check_qualified(title, years_experience)
    found = list(Specialty.objects.filter(code__in=specialties))
    if len(found) != len(set(specialties)) or not found:
        raise refuse("specialties", _("Choose at least one known specialty code."), "invalid")
    n = Expert.objects.count() + 1
    expert = Expert.objects.create(
        code=f"E{n:07d}-{secrets.token_hex(2)}", user=user, name=name, title=title,
        years_experience=years_experience, region=region, phone=phone, email=email,
        employer=user.organisation if user.organisation_id else None,
        admission=(Expert.Admission.RECOMMENDATION if recommended_by
                   else Expert.Admission.APPLICATION),
        recommended_by=recommended_by,
    )
    expert.specialties.set(found)
    audit_record(actor=user, action="expert.applied", obj=expert, payload={"code": expert.code},
                 summary=f"expert {expert.code} applied")
    return expert


PROFILE_FIELDS = ("phone", "email", "region")


@transaction.atomic
def expert_update_profile(*, user, expert: Expert, data: dict) -> Expert:
    """Experts keep their own contact details, region and specialties."""
    if not policies.can_edit_profile(user, expert):
        raise PermissionDenied(_("Only the expert edits this profile."))
    for key in PROFILE_FIELDS:
        if key in data:
            setattr(expert, key, str(data[key]).strip())
    expert.save()
    if "specialties" in data:
        found = list(Specialty.objects.filter(code__in=data["specialties"]))
        if not found or len(found) != len(set(data["specialties"])):
            raise refuse("specialties", _("Choose at least one known specialty code."),
                         "invalid")
        expert.specialties.set(found)
    audit_record(actor=user, action="expert.profile_updated", obj=expert,
                 payload={k: data[k] for k in data if k in (*PROFILE_FIELDS, "specialties")},
                 summary=f"expert {expert.code} updated the profile")
    return expert


@transaction.atomic
def expert_mark_unavailable(*, user, expert: Expert, start: date, end: date,
                            note: str = "") -> Unavailability:
    if not policies.can_edit_profile(user, expert):
        raise PermissionDenied(_("Only the expert edits this calendar."))
    if end < start:
        raise refuse("end", _("The period ends before it starts."), "invalid")
    return Unavailability.objects.create(expert=expert, start=start, end=end, note=note)


@transaction.atomic
def expert_admit(*, user, expert: Expert) -> Expert:
    """The trading centre admits an applicant (or lifts a suspension)."""
    if not policies.can_manage_pool(user):
        raise PermissionDenied(_("Only the trading centre admits experts."))
    _check_qualified(expert.title, expert.years_experience)
    if expert.status == Expert.Status.RETIRED:
        raise refuse("__all__", _("A retired expert cannot be admitted again."), "invalid")
    expert.status = Expert.Status.ACTIVE
    expert.save(update_fields=["status"])
    audit_record(actor=user, action="expert.admitted", obj=expert, payload={},
                 summary=f"expert {expert.code} admitted")
    return expert


@transaction.atomic
def expert_suspend(*, user, expert: Expert, reason: str) -> Expert:
    if not policies.can_manage_pool(user):
        raise PermissionDenied(_("Only the trading centre suspends experts."))
    if not reason.strip():
        raise refuse("reason", _("Give the reason for the suspension."), "required")
    expert.status = Expert.Status.SUSPENDED
    expert.save(update_fields=["status"])
    audit_record(actor=user, action="expert.suspended", obj=expert, payload={"reason": reason},
                 summary=f"expert {expert.code} suspended")
    return expert


CSV_COLUMNS = ("code", "name", "title", "years_experience", "region", "specialties",
               "employer_credit_code", "phone", "email")


def _import_row(row: dict, specialties: dict[str, Specialty]) -> tuple[Expert, list]:
    errors = []
    code = (row.get("code") or "").strip()
    name = (row.get("name") or "").strip()
    if not code:
        errors.append(_("code is empty"))
    elif Expert.objects.filter(code=code).exists():
        errors.append(_("expert %(code)s already exists") % {"code": code})
    if not name:
        errors.append(_("name is empty"))
    title = (row.get("title") or "").strip()
    if title not in Expert.Title.values:
        errors.append(_("title must be one of %(v)s") % {"v": ", ".join(Expert.Title.values)})
    try:
        years = int(row.get("years_experience") or "")
    except ValueError:
        years = -1
        errors.append(_("years_experience is not a whole number"))
    if title in Expert.Title.values and years >= 0:
        try:
            _check_qualified(title, years)
        except Exception as exc:  # the refusal's message, as a row error
            errors.extend(getattr(exc, "messages", [str(exc)]))
    region = (row.get("region") or "").strip()
    if not (len(region) == 6 and region.isdigit()):
        errors.append(_("region must be a 6-digit division code"))
    codes = [c.strip() for c in (row.get("specialties") or "").replace(";", " ").split() if c]
    unknown = [c for c in codes if c not in specialties]
    if not codes or unknown:
        errors.append(_("unknown or missing specialty: %(c)s") % {"c": ", ".join(unknown) or "-"})
    employer = None
    if credit := (row.get("employer_credit_code") or "").strip():
        employer = Organisation.objects.filter(credit_code=credit.upper()).first()
        if employer is None:
            errors.append(_("no organisation with credit code %(c)s") % {"c": credit})
    expert = Expert(code=code, name=name, title=title, years_experience=max(years, 0),
                    region=region, employer=employer, phone=(row.get("phone") or "").strip(),
                    email=(row.get("email") or "").strip(), status=Expert.Status.ACTIVE,
                    admission=Expert.Admission.IMPORT)
    return expert, errors if errors else [[specialties[c] for c in codes]]


def import_csv(*, user, text: str) -> ImportBatch:
    """Import experts from CSV (columns ``CSV_COLUMNS``): valid rows are admitted, each
    invalid row is reported with its line number and what is wrong; progress is saved
    as it goes so the pool page can show it."""
    if not policies.can_manage_pool(user):
        raise PermissionDenied(_("Only the trading centre imports experts."))
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in ("code", "name", "title", "years_experience", "region",
                           "specialties") if c not in (reader.fieldnames or [])]
    if missing:
        raise refuse("file", _("The CSV lacks the columns: %(c)s.") % {"c": ", ".join(missing)},
                     "invalid_csv")
    rows = list(reader)
    batch = ImportBatch.objects.create(created_by=user, total_rows=len(rows))
    specialties = {s.code: s for s in Specialty.objects.all()}
    seen: set[str] = set()
    for i, row in enumerate(rows, start=2):  # line 1 is the header
        with transaction.atomic():
            expert, result = _import_row(row, specialties)
            if expert.code in seen:
                result = [_("expert %(code)s appears twice in the file") % {"code": expert.code}]
            if result and isinstance(result[0], list):
                expert.save()
                expert.specialties.set(result[0])
                seen.add(expert.code)
                batch.imported_rows += 1
            else:
                batch.errors.append({"line": i, "code": expert.code, "errors": [str(e) for e
                                                                               in result]})
            batch.processed_rows += 1
            if batch.processed_rows % 200 == 0:
                batch.save()
    batch.finished = True
    batch.save()
    audit_record(actor=user, action="expert.imported", obj=batch,
                 payload={"imported": batch.imported_rows, "errors": len(batch.errors)},
                 summary=f"expert import: {batch.imported_rows} imported, "
                         f"{len(batch.errors)} refused")
    return batch


# ---------------------------------------------------------------- confirmation


def member_call(*, member: DrawMember, now: datetime) -> DrawMember:
    """Ask a drawn expert to confirm within the window; the message goes after commit."""
    member.status = M.CALLED
    member.called_at = now
    member.respond_by = now + confirm_window()
    member.save(update_fields=["status", "called_at", "respond_by"])
    expert = member.expert
    tender = member.draw.tender
    subject = _("You were drawn as an evaluation expert")
    body = _("%(name)s: you were drawn for the evaluation of tender %(ref)s on %(day)s. "
             "Confirm or decline by %(by)s on the platform. Keep this confidential.") % {
                 "name": expert.name, "ref": tender.reference,
                 "day": timefmt.day(tender.opening_time),
                 "by": timefmt.human(member.respond_by)}
    transaction.on_commit(lambda: notify.send(expert, subject, body))
    return member


def _call_next(draw: Draw, group: int, now: datetime) -> DrawMember | None:
    nxt = (DrawMember.objects.select_related("expert", "draw__tender")
           .filter(draw=draw, group=group, status=M.STANDBY).order_by("position").first())
    if nxt is None:
        spec = draw.groups[group]["specialty"]
        reason = _("Specialty %(code)s: every backup has been called; the committee cannot "
                   "be completed from this draw.") % {"code": spec}
        draw.status, draw.failure_reason = Draw.Status.FAILED, reason
        draw.save(update_fields=["status", "failure_reason"])
        audit_record(actor="system", action="expert_draw.failed", obj=draw,
                     payload={"reason": reason}, summary=f"draw {draw.pk} failed: {reason}")
        return None
    member_call(member=nxt, now=now)
    return nxt


@transaction.atomic
def member_respond(*, member: DrawMember, user, accept: bool, reason: str = "",
                   now: datetime | None = None, by_phone: bool = False) -> DrawMember:
    """The drawn expert confirms or declines (on the platform, or by a keypress on the
    automatic call, ``by_phone``); a decline calls the next backup."""
    now = now or timezone.now()
    member = DrawMember.objects.select_for_update().select_related("draw", "expert").get(
        pk=member.pk)
    if not by_phone and member.expert.user_id != user.pk:
        raise PermissionDenied(_("Only the drawn expert answers."))
    if member.status != M.CALLED:
        raise refuse("__all__", _("There is nothing to answer: this seat is “%(s)s”.")
                     % {"s": member.get_status_display()}, "not_called")
    if now > member.respond_by:
        raise refuse("__all__", _("The time to answer has passed."), "confirm_window_closed")
    if not accept and not reason.strip():
        raise refuse("reason", _("Say why you decline."), "required")
    member.status = M.CONFIRMED if accept else M.DECLINED
    member.responded_at = now
    member.decline_reason = "" if accept else reason.strip()[:300]
    member.save(update_fields=["status", "responded_at", "decline_reason"])
    # The seat, not the person: operators read the audit trail, and the list is sealed.
    audit_record(actor="voice-gateway" if by_phone else SEALED_ACTOR,
                 action="expert_draw.confirmed" if accept else
                 "expert_draw.declined", obj=member.draw,
                 payload={"member": member.pk, "reason": member.decline_reason},
                 summary=f"draw {member.draw_id}: seat {member.group}/{member.position} "
                         + ("confirmed" if accept else "declined"))
    if not accept:
        _call_next(member.draw, member.group, now)
    return member


@transaction.atomic
def voice_keypress(*, message, key: str, now: datetime | None = None) -> DrawMember:
    """The voice gateway reports the key the called expert pressed: 1 confirms, 2
    declines. The call went to the expert's registered phone, which identifies them."""
    now = now or timezone.now()
    if message.channel != "voice" or message.expert_id is None:
        raise refuse("__all__", _("Only an automatic call takes a keypress."), "invalid")
    if key not in ("1", "2"):
        raise refuse("key", _("Press 1 to confirm or 2 to decline."), "invalid")
    member = (DrawMember.objects.select_related("expert").filter(
        expert_id=message.expert_id, status=M.CALLED).order_by("-called_at").first())
    if member is None:
        raise refuse("__all__", _("This expert has no seat waiting for an answer."),
                     "not_called")
    return member_respond(member=member, user=None, accept=key == "1",
                          reason="" if key == "1" else _("declined by phone (key 2)"),
                          now=now, by_phone=True)


def confirmation_tick(*, now: datetime) -> int:
    """Clock job: seats unanswered past their window time out and the next backup is
    called, the reason logged. Idempotent."""
    from core.clock import for_each

    due = DrawMember.objects.filter(status=M.CALLED, respond_by__lt=now,
                                    draw__status=Draw.Status.DRAWN).values_list("pk", flat=True)

    def step(pk):
        with transaction.atomic():
            m = DrawMember.objects.select_for_update().select_related("draw").get(pk=pk)
            if m.status != M.CALLED or m.respond_by >= now:
                return False
            m.status = M.TIMED_OUT
            m.save(update_fields=["status"])
            audit_record(actor="clock", action="expert_draw.timed_out", obj=m.draw,
                         payload={"member": m.pk},
                         summary=f"draw {m.draw_id}: seat {m.group}/{m.position} no answer "
                                 "in time")
            _call_next(m.draw, m.group, now)
            return True

    return len(for_each(due, step, what="draw seat"))


# ---------------------------------------------------------------- no-conflict pledge


def pledge_text(member: DrawMember) -> str:
    return _("I, %(name)s (%(code)s), declare that I have no interest in tender %(ref)s, "
             "none of the avoidance grounds applies to me, and I will keep the evaluation "
             "confidential.") % {"name": member.expert.name, "code": member.expert.code,
                                 "ref": member.draw.tender.reference}


def pledge_message(member: DrawMember) -> bytes:
    """What an expert's key signs (label ``ggzy-draw-v1``): canonical JSON."""
    return canonical_json({"pledge": "no-conflict-v1", "draw": member.draw_id,
                           "tender": member.draw.tender.reference,
                           "expert": member.expert.code})


def _otp_hash(member: DrawMember, otp: str) -> str:
    return hashlib.sha256(f"{member.pk}:{otp}".encode()).hexdigest()


@transaction.atomic
def pledge_otp_send(*, member: DrawMember, user, now: datetime | None = None) -> None:
    """Send a one-time code to the expert's phone (simulated gateway)."""
    now = now or timezone.now()
    member = DrawMember.objects.select_for_update().select_related("expert").get(pk=member.pk)
    if member.expert.user_id != user.pk:
        raise PermissionDenied(_("Only the drawn expert signs the pledge."))
    otp = f"{secrets.randbelow(10**6):06d}"
    member.otp_hash = _otp_hash(member, otp)
    member.otp_expires = now + timedelta(minutes=10)
    member.save(update_fields=["otp_hash", "otp_expires"])
    expert = member.expert
    transaction.on_commit(lambda: notify.CHANNELS["sms"].send(
        expert, "", _("Your pledge code is %(otp)s (10 minutes).") % {"otp": otp}))


@transaction.atomic
def pledge_sign(*, member: DrawMember, user, otp: str = "", signature_b64: str = "",
                now: datetime | None = None) -> DrawMember:
    """A confirmed expert signs the no-conflict pledge with their key or a one-time code;
    the committee is complete when every seat is confirmed and pledged."""
    now = now or timezone.now()
    member = DrawMember.objects.select_for_update().select_related(
        "expert", "draw__tender").get(pk=member.pk)
    if member.expert.user_id != user.pk:
        raise PermissionDenied(_("Only the drawn expert signs the pledge."))
    if member.status != M.CONFIRMED:
        raise refuse("__all__", _("Confirm your seat before signing the pledge."),
                     "not_confirmed")
    if member.pledged_at:
        raise refuse("__all__", _("The pledge is already signed."), "already_pledged")
    if signature_b64:
        try:
            sig = base64.b64decode(signature_b64, validate=True)
        except ValueError:
            sig = b""
        ok = False
        for key in PublicKey.objects.filter(user=user, active=True):
            try:
                signing.verify(crypto_keys.public_key_from_bytes(bytes(key.point)),
                               signing.DRAW, pledge_message(member), sig)
                ok = True
                break
            except (CryptoError, ValueError):
                continue
        if not ok:
            raise refuse("signature", _("The signature does not verify with any of your "
                                        "registered keys."), "bad_signature")
        member.pledge_method, member.pledge_proof = "key", signature_b64
    else:
        if not (member.otp_hash and member.otp_expires and now <= member.otp_expires
                and hmac.compare_digest(member.otp_hash, _otp_hash(member, otp.strip()))):
            raise refuse("otp", _("The code is wrong or has expired."), "bad_otp")
        member.pledge_method, member.pledge_proof = "otp", member.otp_hash
        member.otp_hash = ""
    member.pledged_at = now
    member.save(update_fields=["pledged_at", "pledge_method", "pledge_proof", "otp_hash"])
    audit_record(actor=SEALED_ACTOR, action="expert_draw.pledged", obj=member.draw,
                 payload={"member": member.pk, "method": member.pledge_method},
                 summary=f"draw {member.draw_id}: pledge signed ({member.pledge_method})")
    _complete_if_ready(member.draw)
    return member


def _complete_if_ready(draw: Draw) -> None:
    seated = {}
    for m in draw.members.filter(status=M.CONFIRMED, pledged_at__isnull=False):
        seated[m.group] = seated.get(m.group, 0) + 1
    if all(seated.get(i, 0) >= g["count"] for i, g in enumerate(draw.groups)):
        draw.status = Draw.Status.COMPLETE
        draw.save(update_fields=["status"])
        audit_record(actor="system", action="expert_draw.complete", obj=draw, payload={},
                     summary=f"draw {draw.pk}: committee complete")


@transaction.atomic
def expert_rate(*, expert: Expert, score: int, comment: str = "", tender=None, by=None,
                source: str = ""):
    """Record a rating (1-5) of an expert's work and update the expert's average.

    Callers check who may rate (supervisors' spot checks, for example); ``source`` names
    where the rating comes from in the audit record."""
    from .models import Rating

    if not isinstance(score, int) or not 1 <= score <= 5:
        raise refuse("score", _("A rating is a whole number from 1 to 5."), "invalid_rating")
    locked = Expert.objects.select_for_update().get(pk=expert.pk)
    rating = Rating.objects.create(expert=locked, tender=tender, score=score,
                                   comment=(comment or "")[:300])
    scores = list(Rating.objects.filter(expert=locked).values_list("score", flat=True))
    locked.rating = (Decimal(sum(scores)) / len(scores)).quantize(Decimal("0.01"))
    locked.save(update_fields=["rating"])
    audit_record(actor=by or "system", action="expert.rated", obj=locked,
                 payload={"score": score, "rating": rating.pk, "source": source,
                          "tender": getattr(tender, "reference", None),
                          "average": str(locked.rating)},
                 summary=f"{locked.code} rated {score} ({source or 'rating'})")
    expert.rating = locked.rating
    return rating


def expert_penalise(*, user, code: str, imposed_on: date, until: date | None, reason: str,
                    payload: dict | None = None, summary: str = "") -> Penalty:
    """Record a penalty on the expert with this pool code (never drawn while in force,
    ``avoidance``) and audit it as ``expert.penalised``. Used by supervision's penalty
    decisions (``supervision.cases``), which pass the decision in ``payload``/``summary``.
    Raises ``Expert.DoesNotExist`` for an unknown code (the caller checked its subjects)."""
    expert = Expert.objects.get(code=code)
    penalty = Penalty.objects.create(expert=expert, imposed_on=imposed_on, until=until,
                                     reason=(reason or "")[:300])
    audit_record(actor=user, action="expert.penalised", obj=penalty,
                 summary=summary or f"expert {expert.code} penalised", payload=payload or {})
    return penalty
