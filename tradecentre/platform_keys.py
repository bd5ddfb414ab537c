"""The platform's own Ed25519 signing key: receipts, audit checkpoints, records.

The key file is ``settings.PLATFORM_KEY_FILE`` (default ``var/platform_signing_key.pem``);
it is created on first use when missing. In production point the setting at a secret
mounted into every web and worker process (all must share one key). The key signs;
it decrypts nothing: no bid can be opened with anything the server holds.
"""

from __future__ import annotations

import base64
import os
import threading
from pathlib import Path

from django.conf import settings

from crypto import keys

_lock = threading.Lock()
_cache: dict[str, object] = {}


def _path() -> Path:
    return Path(settings.PLATFORM_KEY_FILE)


def signing_key():
    """The platform's private signing key (loaded once per process)."""
    path = _path()
    cached = _cache.get(str(path))
    if cached is not None:
        return cached
    with _lock:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            key = keys.generate_signing_key()
            # O_EXCL: if two processes race to create it, one wins and both use it.
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(keys.signing_key_to_pem(key, None))
        key = keys.signing_key_from_pem(path.read_bytes(), None)
        _cache[str(path)] = key
        return key


def verify_key():
    return signing_key().public_key()


def verify_key_b64() -> str:
    return base64.b64encode(keys.verify_key_bytes(verify_key())).decode("ascii")


def verify_key_pem() -> str:
    return keys.public_key_to_pem(verify_key()).decode("ascii")


def fingerprint() -> str:
    return keys.key_fingerprint(verify_key())
