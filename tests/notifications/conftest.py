import pytest
from django.apps import apps


@pytest.fixture(autouse=True)
def _notifications_installed():
    if not apps.is_installed("core.notifications"):
        pytest.fail("core.notifications is not in INSTALLED_APPS: run with "
                    "--ds tests.notifications.settings, or wire it (notes/h-notify.md)")


@pytest.fixture(autouse=True)
def _email_backend(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
