"""The kinds of notification the stages register.

A stage adds a kind with one call, from its own ``notifications`` module loaded by its
``AppConfig.ready()``::

    register_kind(
        "tender.answer",
        label=_("Answers to questions"),
        default_email=True,
        actions=("clarification.answer",),
        recipients_for_event=answer_message,   # (event) -> Message | [Message] | None
        render=render_answer,                  # (params) -> (title, body), active language
    )

``recipients_for_event`` reads the stage's own data for the audit event (its
``object_type``/``object_id``) and says whom to tell and with which language-neutral
``params``; ``render`` turns the params into a title and a body in the active language
(the dispatcher activates each recipient's). A time-based kind gives ``schedule``
instead: ``(now) -> iterable of Message``, each with a ``key`` that names the occasion
(for example ``"deadline-24h:<tender id>:<deadline>"``), so it fires once per occasion.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class Message:
    """Whom to tell about one occasion, and what (params are JSON, language-neutral)."""

    recipients: Iterable[int]  # user ids
    params: dict = field(default_factory=dict)
    url: str = ""
    tender_reference: str = ""
    key: str = ""  # schedules: the occasion; events: "event:<seq>" if empty


@dataclass(frozen=True)
class Kind:
    code: str
    label: object  # a lazy translation
    default_email: bool
    default_in_app: bool
    render: Callable[[dict], tuple[str, str]]
    actions: tuple[str, ...]
    recipients_for_event: Callable | None
    schedule: Callable[[datetime], Iterable[Message]] | None
    order: int


_kinds: dict[str, Kind] = {}


def register_kind(
    code: str,
    *,
    label,
    default_email: bool,
    render: Callable[[dict], tuple[str, str]],
    actions: Iterable[str] = (),
    recipients_for_event: Callable | None = None,
    schedule: Callable[[datetime], Iterable[Message]] | None = None,
    default_in_app: bool = True,
    order: int = 100,
) -> Kind:
    """Add (or, on an app reload in tests, replace) a kind. Give ``actions`` with
    ``recipients_for_event`` for a kind caused by audit events, or ``schedule`` for a
    time-based one. ``order`` places it in the preferences table."""
    actions = tuple(actions)
    if bool(actions) != bool(recipients_for_event):
        raise ValueError(f"{code}: actions and recipients_for_event go together")
    if not recipients_for_event and not schedule:
        raise ValueError(f"{code}: give recipients_for_event (with actions) or schedule")
    kind = Kind(code, label, default_email, default_in_app, render, actions,
                recipients_for_event, schedule, order)
    _kinds[code] = kind
    return kind


def unregister_kind(code: str) -> None:
    """For tests that register a kind of their own."""
    _kinds.pop(code, None)


def kinds() -> list[Kind]:
    return sorted(_kinds.values(), key=lambda k: (k.order, k.code))


def get_kind(code: str) -> Kind | None:
    return _kinds.get(code)


def kinds_for_action(action: str) -> list[Kind]:
    return [k for k in kinds() if action in k.actions]


def scheduled_kinds() -> list[Kind]:
    return [k for k in kinds() if k.schedule is not None]


def actions() -> set[str]:
    return {a for k in _kinds.values() for a in k.actions}


def excerpt(text: str, n: int = 300) -> str:
    """A quoted text (a question, an answer, a decision) shortened for a notification."""
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"
