"""The unified social credit code (统一社会信用代码), GB 32100-2015.

18 characters from the 31-character alphabet ``0-9`` and ``ABCDEFGHJKLMNPQRTUWXY``
(no I, O, S, V, Z): position 1 the registration authority, 2 the organisation type,
3-8 the administrative division code (digits), 9-17 the organisation's own code, 18
the check character. Check: with weights ``3**i mod 31`` for positions i = 0..16,
``C18 = 31 - (sum(value(Ci) * Wi) mod 31)``, and 31 is written as ``0``.
"""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
WEIGHTS = [pow(3, i, 31) for i in range(17)]


class InvalidCreditCode(ValueError):
    pass


def check_character(first17: str) -> str:
    """The check character for the first 17 characters of a code."""
    total = sum(_VALUE[c] * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def normalise(code: str) -> str:
    return (code or "").strip().upper()


def validate(code: str) -> str:
    """Return the normalised code, or raise ``InvalidCreditCode`` saying what is wrong."""
    code = normalise(code)
    if len(code) != 18:
        raise InvalidCreditCode(f"must be 18 characters, got {len(code)}")
    bad = sorted({c for c in code if c not in _VALUE})
    if bad:
        raise InvalidCreditCode(
            "contains characters not allowed in a credit code: " + " ".join(bad)
        )
    if not code[2:8].isdigit():
        raise InvalidCreditCode("characters 3-8 must be the administrative division code")
    expected = check_character(code[:17])
    if code[17] != expected:
        raise InvalidCreditCode(f"check character is {code[17]}, expected {expected}")
    return code


def make(first17: str) -> str:
    """Complete a 17-character prefix with its check character (demo data, tests)."""
    first17 = normalise(first17)
    return first17 + check_character(first17)
