import os

import pytest

from core.deploy import UVICORN_WS
from tests.conftest import require

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture
def browser(chromium_path):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - playwright is pinned in requirements
        require(False, "playwright is not installed")
    # Playwright's sync API keeps an event loop in this thread; the test's own ORM
    # calls are still synchronous and safe.
    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:  # child processes of later tests must not inherit it
        if before is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = before


@pytest.fixture
def asgi_live_server(transactional_db, settings):
    """The real ASGI application (HTTP and websockets) served by uvicorn in a thread of
    this process, so it shares the test database and the in-memory channel layer."""
    import socket
    import threading
    import time

    import uvicorn

    settings.EMBEDDED_CLOCK = False
    from tradecentre.asgi import application

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(application, host="127.0.0.1", port=port, lifespan="off",
                            ws=UVICORN_WS,
                            log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)

    class Live:
        url = f"http://localhost:{port}"

    yield Live
    server.should_exit = True
    thread.join(timeout=10)


def in_thread(fn, *args, **kwargs):
    """Run ``fn`` in a fresh thread: Playwright's sync API keeps an event loop in the
    test's thread, where Django's async-to-sync bridges (broadcasts) cannot run."""
    import threading

    result = {}

    def run():
        try:
            result["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # re-raised in the caller
            result["error"] = exc

    t = threading.Thread(target=run)
    t.start()
    t.join()
    if "error" in result:
        raise result["error"]
    return result.get("value")
