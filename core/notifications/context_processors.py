"""``notifications_unread`` for the header: counted only if a template shows it."""

from functools import partial

from . import selectors


def unread(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"notifications_unread": 0}
    # A callable: the template calls it when it renders the count, not on every page.
    return {"notifications_unread": partial(selectors.unread_count, user)}
