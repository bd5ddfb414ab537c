"""What the evaluation tells whoever listens (the room's websocket, supervision), without
knowing who listens."""

from django.dispatch import Signal

#: Someone's progress changed: a draft saved, a stage submitted or locked, the chair
#: elected, a member replaced, the report signed. Sent after the change commits, with
#: ``committee``, ``stage`` (the stage concerned, or "") and ``kind`` (one of
#: "draft_saved", "submitted", "locked", "chair", "member_replaced", "signed",
#: "completed"). Carries no scores: listeners call ``selectors.progress(committee)``.
evaluation_progress = Signal()

#: A member's score was recorded as an outlier when a stage was locked. Sent inside the
#: locking transaction with ``outlier`` (a ScoreOutlier).
score_outlier_recorded = Signal()
