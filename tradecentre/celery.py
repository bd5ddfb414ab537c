"""The Celery application. Workers: ``celery -A tradecentre worker``; beat:
``celery -A tradecentre beat``. With no ``REDIS_URL`` tasks run eagerly in-process."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradecentre.settings")

app = Celery("tradecentre")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
