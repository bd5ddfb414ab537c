"""Validation of the fields that signed statements carry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .errors import MalformedData

_HEX = frozenset("0123456789abcdef")


def hex_digest(value: Any, what: str) -> str:
    """A 64-digit lowercase hex SHA-256; ``MalformedData`` otherwise."""
    if not isinstance(value, str) or len(value) != 64 or not set(value) <= _HEX:
        raise MalformedData(f"{what} must be 64 lowercase hex digits")
    return value


def non_negative_int(value: Any, what: str) -> int:
    """A non-negative ``int`` (not a bool); ``MalformedData`` otherwise."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise MalformedData(f"{what} must be a non-negative integer")
    return value


def text(value: Any, what: str) -> str:
    """A non-empty string; ``MalformedData`` otherwise."""
    if not isinstance(value, str) or not value:
        raise MalformedData(f"{what} must be a non-empty string")
    return value


def iso_time(value: Any, what: str) -> str:
    """An ISO 8601 timestamp with a UTC offset; ``MalformedData`` otherwise."""
    if not isinstance(value, str):
        raise MalformedData(f"{what} must be an ISO 8601 string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise MalformedData(f"{what} is not an ISO 8601 time: {value!r}") from exc
    if parsed.utcoffset() is None:
        raise MalformedData(f"{what} must carry a UTC offset: {value!r}")
    return value
