"""ASGI entry point: HTTP (Django) and websockets (Channels) in one application."""

import gc
import os

from core.handlers import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradecentre.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from bidding.bids.streaming import ChunkStreaming  # noqa: E402
from core.clock import start_embedded_clock  # noqa: E402
from core.middleware import BodyCapASGI, RejectNulWebsocket  # noqa: E402
from tradecentre.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        # An oversized body is refused before Django spools it to disk (core/middleware.py);
        # a bid chunk is not spooled at all but streamed to its view (bidding/bids/streaming.py).
        "http": BodyCapASGI(ChunkStreaming(django_asgi_app)),
        "websocket": AllowedHostsOriginValidator(
            RejectNulWebsocket(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
        ),
    }
)

start_embedded_clock()

# Long-lived objects created at start-up need no collecting; freezing them keeps
# full collections short when many websocket clients are connected (TECH-NOTES).
gc.collect()
gc.freeze()
# GGZY_GC_THRESHOLD="g0,g1,g2" raises the collector's thresholds (Python's default is
# 700,10,10), so collections come less often while many clients are connected.
if _threshold := os.environ.get("GGZY_GC_THRESHOLD", "").strip():
    gc.set_threshold(*(int(part) for part in _threshold.split(",")))
