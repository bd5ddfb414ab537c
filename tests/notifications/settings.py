"""The project's settings plus what core.notifications needs, until the lead wires it into
tradecentre/settings.py (the lines are in /work/notes/h-notify.md). Run these tests with
``--ds tests.notifications.settings``; once wired, the plain settings do."""

from tradecentre.settings import *  # noqa: F403
from tradecentre.settings import INSTALLED_APPS, TEMPLATES

if "core.notifications" not in INSTALLED_APPS:
    INSTALLED_APPS = [*INSTALLED_APPS]
    INSTALLED_APPS.insert(INSTALLED_APPS.index("core") + 1, "core.notifications")
_processors = TEMPLATES[0]["OPTIONS"]["context_processors"]
if "core.notifications.context_processors.unread" not in _processors:
    _processors.append("core.notifications.context_processors.unread")
ROOT_URLCONF = "tests.notifications.urls"
