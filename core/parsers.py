"""The API's JSON parser: DRF's, with the input a hostile client can send refused as 400.

* Nesting deeper than ``JSON_MAX_DEPTH`` (default 64): 50,000 ``[`` would otherwise
  raise ``RecursionError`` deep in the decoder and answer 500.
* A NUL character in any string or key: PostgreSQL refuses NUL in text, so it would
  reach the database and fail there with a 500.

Set as the default parser in ``REST_FRAMEWORK``; both refusals raise DRF's
``ParseError``, which ``core.api_errors`` answers in the one error shape.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError

DEFAULT_MAX_DEPTH = 64


class TooDeep(ParseError):
    default_code = "too_deep"


class NulInText(ParseError):
    default_code = "nul_byte"


def check_json(data, max_depth: int) -> None:
    """Refuse ``data`` nested deeper than ``max_depth`` or holding a NUL in a string.

    Iterative, so checking never recurses however deep the input is."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                raise NulInText(_("Text may not contain a NUL character."))
            continue
        if not isinstance(value, (dict, list)):
            continue
        if depth > max_depth:
            raise TooDeep(_("The JSON is nested too deeply (at most %(n)s levels).")
                          % {"n": max_depth})
        if isinstance(value, dict):
            for key, item in value.items():
                if "\x00" in key:
                    raise NulInText(_("Text may not contain a NUL character."))
                stack.append((item, depth + 1))
        else:
            stack.extend((item, depth + 1) for item in value)


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing deep nesting and NUL characters with 400."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise TooDeep(_("The JSON is nested too deeply.")) from None
        check_json(data, int(getattr(settings, "JSON_MAX_DEPTH", DEFAULT_MAX_DEPTH)))
        return data


def loads(text: str):
    """``json.loads`` with the same refusals as the API's parser (for websocket messages):
    raises ``ParseError`` (``code`` ``parse_error``, ``too_deep`` or ``nul_byte``)."""
    import json

    try:
        data = json.loads(text)
    except RecursionError:
        raise TooDeep(_("The JSON is nested too deeply.")) from None
    except (TypeError, ValueError) as exc:
        raise ParseError(_("Not JSON: %(reason)s") % {"reason": exc}) from None
    check_json(data, int(getattr(settings, "JSON_MAX_DEPTH", DEFAULT_MAX_DEPTH)))
    return data
