"""The evaluation room's live progress: its websocket group and the receiver that
broadcasts every ``signals.evaluation_progress`` to it.

Stateless: each event carries the whole progress snapshot read from the database
(``selectors.progress``: member labels and counts, never scores or names), so a web
process keeps nothing and a client that missed an event is right again at the next one
(or by asking ``{"type": "state"}``). The channel layer (Redis in production) only
carries the events between processes.
"""

from __future__ import annotations

from core.realtime import broadcast_on_commit

from . import selectors
from .models import Committee
from .signals import evaluation_progress


def evaluation_group(tender_id: int) -> str:
    return f"evaluation.{int(tender_id)}"


def progress_event(committee: Committee, *, kind: str = "state", stage: str = "") -> dict:
    """The message every room client gets: what changed (``kind``, ``stage``) and the
    whole progress snapshot."""
    return {"type": "evaluation.progress", "kind": str(kind), "stage": str(stage or ""),
            "tender": committee.tender_id, "progress": selectors.progress(committee)}


def on_progress(sender, *, committee: Committee, stage: str = "", kind: str = "", **kwargs):
    """Receiver of ``evaluation_progress`` (sent after the change commits): broadcast the
    new snapshot to the room's group once the surrounding transaction, if any, commits."""
    broadcast_on_commit(evaluation_group(committee.tender_id),
                        progress_event(committee, kind=kind, stage=stage))


def connect_receivers() -> None:
    """Called from ``EvaluationConfig.ready()``."""
    evaluation_progress.connect(on_progress, dispatch_uid="evaluation.room.progress")
