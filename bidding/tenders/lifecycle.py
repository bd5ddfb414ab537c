"""The tender state machine: the one place a tender's status changes.

``TRANSITIONS`` is the table, as data: each status maps to the statuses allowed
next, with who may trigger the move (``CLOCK`` moves happen when a time passes,
whether or not anyone clicks). ``tender_transition`` is the only function that
writes ``Tender.status``; views, the API, consumers and tasks call it. A move to
the status the tender already has is a no-op (idempotent), so a retried or
duplicated task does no harm. A move the table does not allow raises
``TransitionNotAllowed`` naming the current status and the one asked for.

Later stages and supervision extend the machine without this module importing them:

* ``register_guard(source, target, guard)``: a condition the move must meet; the
  guard returns the reason to refuse, or "" to allow (the bids stage adds the
  minimum number of bids, Reg 44);
* ``register_hook(target, hook)``: runs inside the moving transaction after the
  status is written (the bids stage refunds bonds and tells everyone when a tender
  fails).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.services import audit_record
from core.clock import for_each

from .models import Tender
from .realtime import broadcast_tender_state_on_commit

S = Tender.Status

# Who may make a move.
TENDERER = "tenderer"
SUPERVISOR = "supervisor"
OPERATOR = "operator"
CLOCK = "clock"
SYSTEM = "system"  # a service reacting to an event (bids counted, report signed ...)

ACTOR_LABELS = {
    TENDERER: _("the tenderer"),
    SUPERVISOR: _("the supervisor"),
    OPERATOR: _("the trading centre"),
    CLOCK: _("the clock"),
    SYSTEM: _("the platform"),
}


@dataclass(frozen=True)
class Edge:
    target: str
    by: frozenset[str]
    label: str


def _e(target, *by, label):
    return Edge(target, frozenset(by), label)


TRANSITIONS: dict[str, tuple[Edge, ...]] = {
    S.DRAFT: (
        _e(S.PUBLISHED, TENDERER, label=_("Publish")),
        _e(S.CANCELLED, TENDERER, label=_("Cancel")),
    ),
    S.PUBLISHED: (
        _e(S.BIDDING_CLOSED, CLOCK, label=_("Close bidding at the deadline")),
        _e(S.CANCELLED, TENDERER, label=_("Cancel")),
        _e(S.SUSPENDED, SUPERVISOR, label=_("Suspend")),
    ),
    S.BIDDING_CLOSED: (
        _e(S.OPENING, CLOCK, SYSTEM, label=_("Start the opening")),
        _e(S.FAILED, SYSTEM, label=_("Fail: fewer than three bids")),
        _e(S.SUSPENDED, SUPERVISOR, label=_("Suspend")),
    ),
    S.OPENING: (
        _e(S.OPENED, SYSTEM, TENDERER, label=_("Close the opening")),
        _e(S.FAILED, SYSTEM, label=_("Fail: fewer than three valid bids")),
        _e(S.SUSPENDED, SUPERVISOR, label=_("Suspend")),
    ),
    S.OPENED: (
        _e(S.EVALUATION, SYSTEM, TENDERER, label=_("Start evaluation")),
        _e(S.SUSPENDED, SUPERVISOR, label=_("Suspend")),
    ),
    S.EVALUATION: (
        _e(S.CANDIDATES, SYSTEM, label=_("Publish candidates")),
        _e(S.FAILED, SYSTEM, label=_("Fail: all bids rejected")),
        _e(S.SUSPENDED, SUPERVISOR, label=_("Suspend")),
    ),
    S.CANDIDATES: (
        _e(S.AWARD, SYSTEM, TENDERER, label=_("Start the award decision")),
        _e(S.AWARDED, SYSTEM, TENDERER, label=_("Award to the first-ranked candidate")),
        _e(S.SUSPENDED, SUPERVISOR, label=_("Suspend")),
    ),
    S.AWARD: (
        _e(S.AWARDED, SYSTEM, TENDERER, label=_("Issue the award notice")),
        _e(S.FAILED, SYSTEM, label=_("Fail: no valid price in the price competition")),
        _e(S.SUSPENDED, SUPERVISOR, label=_("Suspend")),
    ),
    S.AWARDED: (_e(S.CONTRACTED, TENDERER, SYSTEM, label=_("Record the contract")),),
    S.CONTRACTED: (),
    S.CANCELLED: (),
    S.FAILED: (),
    # Resuming returns to the status held before the suspension (see below).
    S.SUSPENDED: (_e("resume", SUPERVISOR, label=_("Resume")),),
}


def _deadline_passed(tender: Tender, now: datetime) -> str:
    if tender.deadline > now:
        return str(_("The bid deadline has not passed yet."))
    return ""


Guard = Callable[[Tender, datetime], str]
Hook = Callable[..., None]

# Conditions a move must meet besides being in the table: each returns a reason to
# refuse, or "" to allow. Keyed by (source, target).
_guards: dict[tuple[str, str], list[Guard]] = defaultdict(list)
# What happens inside the moving transaction once a tender reaches a status.
_hooks: dict[str, list[Hook]] = defaultdict(list)


def register_guard(source: str, target: str, guard: Guard) -> None:
    """Add ``guard(tender, now) -> reason`` to the move ``source -> target``; a guard
    of the same name replaces the earlier one."""
    if not any(e.target == target for e in TRANSITIONS.get(source, ())):
        raise ValueError(f"no move {source} -> {target} in the table")
    guards = _guards[(source, target)]
    guards[:] = [g for g in guards if g.__name__ != guard.__name__] + [guard]


def register_hook(target: str, hook: Hook) -> None:
    """Call ``hook(tender=, previous=, reason=, now=)`` whenever a tender reaches
    ``target``, inside the transaction that moved it."""
    hooks = _hooks[target]
    hooks[:] = [h for h in hooks if h.__qualname__ != hook.__qualname__] + [hook]


register_guard(S.PUBLISHED, S.BIDDING_CLOSED, _deadline_passed)


def guard_refusal(tender: Tender, to: str, *, now: datetime | None = None) -> str:
    """The first reason a registered guard gives against moving ``tender`` to ``to``."""
    now = now or timezone.now()
    for guard in _guards.get((tender.status, to), ()):
        if reason := guard(tender, now):
            return str(reason)
    return ""

TERMINAL = frozenset(s for s, edges in TRANSITIONS.items() if not edges)
CLOCK_DRIVEN = frozenset(
    (s, e.target) for s, edges in TRANSITIONS.items() for e in edges if CLOCK in e.by
)


class TransitionNotAllowed(Exception):
    def __init__(self, current: str, requested: str, reason: str = "", *, guarded=False):
        self.current = current
        self.requested = requested
        self.reason = reason
        # True when the table allows the move but a registered guard refused it.
        self.guarded = guarded
        message = _("A tender in status “%(current)s” cannot move to “%(requested)s”.") % {
            "current": _label(current),
            "requested": _label(requested),
        }
        if reason:
            message = f"{message} {reason}"
        super().__init__(message)


def _label(status: str) -> str:
    try:
        return str(S(status).label)
    except ValueError:
        return status


def available_transitions(tender: Tender, *, by: str | None = None) -> list[Edge]:
    """The moves the table allows from the tender's status (for ``by``, if given)."""
    edges = TRANSITIONS.get(tender.status, ())
    if by is not None:
        edges = tuple(e for e in edges if by in e.by)
    resolved = []
    for edge in edges:
        if edge.target == "resume":
            edge = Edge(tender.suspended_from or S.PUBLISHED, edge.by, edge.label)
        resolved.append(edge)
    return resolved


def tender_transition(
    *,
    tender: Tender,
    to: str,
    by: str,
    actor=None,
    reason: str = "",
    now: datetime | None = None,
) -> bool:
    """Move ``tender`` to ``to``; return True if it moved, False if already there.

    Locks the tender row, re-reads its status, checks the table, writes the new
    status and appends the audit event, all in one transaction. The caller's
    object is refreshed with the new status.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = Tender.objects.select_for_update(no_key=True).get(pk=tender.pk)
        if locked.status == to:
            tender.status = locked.status
            return False
        edges = available_transitions(locked)
        allowed = [e for e in edges if e.target == to]
        if not allowed:
            raise TransitionNotAllowed(locked.status, to)
        if by not in allowed[0].by:
            raise TransitionNotAllowed(
                locked.status,
                to,
                str(_("This move is not made by %(by)s.") % {"by": ACTOR_LABELS.get(by, by)}),
            )
        previous = locked.status
        if refusal := guard_refusal(locked, to, now=now):
            raise TransitionNotAllowed(previous, to, refusal, guarded=True)
        locked.status = to
        locked.status_changed_at = now
        if to == S.SUSPENDED:
            locked.suspended_from = previous
        elif previous == S.SUSPENDED:
            locked.suspended_from = ""
        if to == S.PUBLISHED and locked.published_at is None:
            locked.published_at = now
        locked.save(update_fields=["status", "status_changed_at", "suspended_from", "published_at"])
        audit_record(
            actor=actor or by,
            action="tender.transition",
            obj=locked,
            payload={"from": previous, "to": to, "by": by, "reason": reason},
            summary=f"{locked.reference}: {previous} -> {to}",
        )
        for hook in _hooks.get(to, ()):
            hook(tender=locked, previous=previous, reason=reason, now=now)
        broadcast_tender_state_on_commit(locked)
    for field in ("status", "status_changed_at", "suspended_from", "published_at"):
        setattr(tender, field, getattr(locked, field))
    return True


def tender_advance_or_fail(
    *, tender: Tender, to: str, by: str, actor=None, reason: str = "", now: datetime | None = None
) -> str:
    """Move ``tender`` to ``to``; if a registered guard refuses (too few bids, say) and
    the table lets the tender fail from here, move it to failed with the guard's reason
    instead. Returns the status the tender is in afterwards. Other refusals propagate.
    """
    try:
        tender_transition(tender=tender, to=to, by=by, actor=actor, reason=reason, now=now)
    except TransitionNotAllowed as exc:
        if not exc.guarded or not any(
            e.target == S.FAILED for e in available_transitions(tender, by=SYSTEM)
        ):
            raise
        tender_transition(tender=tender, to=S.FAILED, by=SYSTEM, reason=exc.reason, now=now)
    return tender.status


def advance_by_clock(*, now: datetime | None = None) -> list[int]:
    """Make every move that a passed time calls for; return the ids of moved tenders.

    Here: published -> bidding closed at the deadline (the opening stage adds its own
    clock job). Safe to run at any moment and any number of times; one tender's
    failure is logged and does not stop the others.
    """
    now = now or timezone.now()
    due = Tender.objects.filter(status=S.PUBLISHED, deadline__lte=now).values_list("pk", flat=True)

    def close(pk) -> bool:
        tender = Tender.objects.get(pk=pk)
        try:
            return tender_transition(tender=tender, to=S.BIDDING_CLOSED, by=CLOCK, now=now)
        except TransitionNotAllowed:
            return False  # another process moved it on (suspended, cancelled) meanwhile

    return for_each(due, close, what="closing bidding of tender")
