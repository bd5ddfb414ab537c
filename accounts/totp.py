"""Time-based one-time passwords (TOTP, RFC 6238, on HOTP, RFC 4226), standard library only.

The platform's parameters are the ones every authenticator app takes by default: HMAC-SHA1,
a 30-second step from the Unix epoch, 6 digits, a 20-byte (160-bit) secret shown in base32.
A code is accepted for its own step and one step either side (clock drift), and never for
a step at or before the last one accepted (``verify`` returns the step so the caller can
store it): a code seen once is dead, even within its 90 seconds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import urllib.parse

STEP = 30
DIGITS = 6
WINDOW = 1
SECRET_BYTES = 20
_DIGESTS = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}


def new_secret() -> bytes:
    """A fresh random shared secret."""
    return secrets.token_bytes(SECRET_BYTES)


def to_base32(secret: bytes) -> str:
    """The secret as authenticator apps take it: base32, no padding."""
    return base64.b32encode(bytes(secret)).decode("ascii").rstrip("=")


def hotp(secret: bytes, counter: int, *, digits: int = DIGITS, algorithm: str = "SHA1") -> str:
    """RFC 4226: the ``digits``-digit code for ``counter`` (dynamic truncation)."""
    mac = hmac.new(bytes(secret), struct.pack(">Q", counter), _DIGESTS[algorithm]).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def time_step(at: float, *, step: int = STEP, t0: int = 0) -> int:
    """The RFC 6238 counter ``T`` for the Unix time ``at``."""
    return int((int(at) - t0) // step)


def totp(secret: bytes, at: float, *, step: int = STEP, digits: int = DIGITS,
         algorithm: str = "SHA1") -> str:
    """RFC 6238: the code valid at the Unix time ``at``."""
    return hotp(secret, time_step(at, step=step), digits=digits, algorithm=algorithm)


def normalise(code) -> str:
    """What the user typed, without spaces or dashes (apps show "123 456")."""
    return "".join(ch for ch in str(code or "") if not ch.isspace() and ch != "-")


def matching_step(secret: bytes, code, at: float, *, window: int = WINDOW,
                  step: int = STEP, digits: int = DIGITS) -> int | None:
    """The step within ``window`` of ``at`` whose code is ``code``, or None. Compares in
    constant time and tries every step in the window whatever matches."""
    code = normalise(code)
    if len(code) != digits or not code.isascii() or not code.isdigit():
        return None
    now = time_step(at, step=step)
    found = None
    for t in range(now - window, now + window + 1):
        if hmac.compare_digest(hotp(secret, t, digits=digits), code) and found is None:
            found = t
    return found


def provisioning_uri(secret: bytes, *, account: str, issuer: str) -> str:
    """The ``otpauth://totp/...`` URI an authenticator app reads (often from a QR code)."""
    label = urllib.parse.quote(f"{issuer}:{account}", safe="")
    query = urllib.parse.urlencode({
        "secret": to_base32(secret), "issuer": issuer, "algorithm": "SHA1",
        "digits": DIGITS, "period": STEP,
    }, quote_via=urllib.parse.quote)
    return f"otpauth://totp/{label}?{query}"


def from_base32(text: str) -> bytes:
    """The secret from the base32 text the enrolment page shows (spaces and case ignored)."""
    cleaned = "".join(text.split()).upper()
    return base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))


def main(argv: list[str] | None = None) -> int:
    """``python -m accounts.totp SECRET``: print the current code for a base32 secret.

    An authenticator for a closed network or a test machine (any RFC 6238 app does the
    same); it only computes, it never talks to the platform."""
    import sys
    import time

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m accounts.totp BASE32SECRET", file=sys.stderr)
        return 2
    try:
        secret = from_base32(args[0])
    except ValueError:
        print("error: not a base32 secret", file=sys.stderr)
        return 2
    print(totp(secret, time.time()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
