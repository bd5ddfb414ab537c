"""Is this a production host? One switch, read in one place.

``GGZY_PRODUCTION=1`` in the environment turns production mode on. In production mode
the platform refuses to invent secrets (``SECRET_KEY``, platform keys) and to load demo
data, and the settings turn on HTTPS-only cookies, HSTS and the proxy header, so that
``manage.py check --deploy`` is clean. Without it (``make run``, tests) nothing changes:
SQLite, plain HTTP on localhost and generated development secrets under ``var/``.

This module imports nothing from Django at import time, so ``tradecentre/settings.py``
can use it before settings exist.
"""

from __future__ import annotations

import os

TRUE = {"1", "true", "yes", "on"}

#: How every uvicorn of the platform runs (the README's production command, ``make run``,
#: the benchmarks, the stack and browser tests; ``tests/core/test_deploy.py`` holds the
#: first two to it). ``websockets-sansio`` is uvicorn's Sans-I/O websockets protocol
#: (its default, ``websockets``, is deprecated): the same close codes, and
#: permessage-deflate with the ``websockets`` library's own settings (4 KiB windows,
#: memLevel 5, as a plain ``websockets`` server negotiates) instead of zlib's 32 KiB ones,
#: so less work per message sent, which is what an opening hall's broadcast to a
#: thousand sockets is made of (``bench_hall_fanout`` with ``BENCH_HALLS=10``, one after
#: the other on 2026-12-08: p99 1.28x the bare server with the default, 0.87x with this).
UVICORN_WS = "websockets-sansio"
UVICORN_OPTIONS = ("--lifespan", "off", "--ws", UVICORN_WS)


def env_flag(name: str, environ=None) -> bool:
    """``name`` is set to 1/true/yes/on in the environment."""
    value = (os.environ if environ is None else environ).get(name)
    return value is not None and value.strip().lower() in TRUE


def production_from_env(environ=None) -> bool:
    """Production mode as the environment says (``GGZY_PRODUCTION``)."""
    return env_flag("GGZY_PRODUCTION", environ)


def is_production() -> bool:
    """True when this process runs as a production host.

    Reads ``settings.GGZY_PRODUCTION`` once settings are configured (so a test can
    switch it), else the environment. Code that would create a secret or a key on first
    use (``core.platform_keys``) must refuse when this is true and tell the operator
    which file or variable to provide instead."""
    try:
        from django.conf import settings

        if settings.configured:
            return bool(getattr(settings, "GGZY_PRODUCTION", production_from_env()))
    except ImportError:  # pragma: no cover - Django is always installed here
        pass
    return production_from_env()


def demo_refusal(*, debug: bool) -> str | None:
    """Why demo data must not be loaded here, or None when it may.

    Demo data (known passwords, demo keys) is refused on a production host: production
    mode is on, or DEBUG is off while ``DATABASE_URL`` is set (a deliberate deployment).
    ``GGZY_ALLOW_DEMO=1`` overrides both (a staging host that wants the demo). ``make run``
    (SQLite, no variables) is never refused."""
    if env_flag("GGZY_ALLOW_DEMO"):
        return None
    if is_production():
        return "production mode is on (GGZY_PRODUCTION)"
    if not debug and os.environ.get("DATABASE_URL", "").strip():
        return "DEBUG is off and DATABASE_URL is set"
    return None
