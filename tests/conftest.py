import os
import shutil

import pytest

from tests import factories

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(condition: bool, reason: str) -> None:
    """Skip with a reason where a system package or service is missing; in CI, fail."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _media_root(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _eager_celery(settings):
    """Tests run tasks in-process unless they ask for a broker themselves."""
    from tradecentre.celery import app

    app.conf.task_always_eager = True
    settings.CELERY_TASK_ALWAYS_EAGER = True


@pytest.fixture
def tenderer_user(db):
    return factories.tenderer()


@pytest.fixture
def bidder_user(db):
    return factories.bidder()


@pytest.fixture
def api():
    from rest_framework.test import APIClient

    return APIClient()


def api_as(user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def chromium_path():
    path = shutil.which("chromium") or "/usr/bin/chromium"
    require(os.path.exists(path), "Debian package chromium is not installed")
    return path


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _audit_triggers(request):
    """Keep the append-only triggers in place for every test, but let Django flush the
    tables after a transactional test on SQLite (which deletes rows; PostgreSQL
    truncates, which row triggers do not see)."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None:
        yield
        return
    from django.db import connection

    transactional = marker.kwargs.get("transaction", False)
    request.getfixturevalue("transactional_db" if transactional else "db")
    if connection.vendor == "sqlite":
        import importlib

        triggers = importlib.import_module("audit.migrations.0002_append_only_trigger")
        with connection.cursor() as cursor:
            for statement in triggers.SQLITE_CREATE:
                cursor.execute(statement.replace("CREATE TRIGGER", "CREATE TRIGGER IF NOT EXISTS"))
    yield
    if transactional and connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            for statement in triggers.SQLITE_DROP:
                cursor.execute(statement)


@pytest.fixture(autouse=True)
def _english_messages():
    """Unit tests read messages in English; page tests choose a language per request."""
    from django.utils import translation

    with translation.override("en"):
        yield
