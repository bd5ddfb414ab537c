"""The clean hook through which an inspection finding or a spot check opens a case.

The cases app registers its opener once (from its ``AppConfig.ready``)::

    from supervision.inspections.hooks import register_case_opener
    register_case_opener(lambda *, user, source: case_open_from_source(...))

``source`` is one row of ``inspections.selectors.case_sources()`` (see there). Until an
opener is registered, asking to open a case is refused with code ``cases_unavailable``."""

from __future__ import annotations

from collections.abc import Callable

from django.utils.translation import gettext as _

from core.refusals import refuse

_opener: list[Callable] = []


def register_case_opener(fn: Callable) -> None:
    """``fn(*, user, source: dict)`` opens a case and returns it."""
    _opener[:] = [fn]


def open_case(*, user, source: dict):
    if not _opener:
        raise refuse("__all__", _("Cases cannot be opened here yet."), "cases_unavailable")
    return _opener[0](user=user, source=source)
