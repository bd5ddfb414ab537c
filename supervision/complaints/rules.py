"""What the clock does for complaints: reminders before the working-day deadlines,
overdue marks after them, and objections to the documents left unanswered."""

from core import clock

from . import services


def install() -> None:
    clock.register_job("complaints.deadlines", services.complaints_tick, order=85)
