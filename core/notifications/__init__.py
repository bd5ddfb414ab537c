"""Notifications: an in-app notification centre and email, each user choosing which they get.

Stages say what they tell whom by registering a *kind* (``registry.register_kind``) from
their own ``notifications`` module, loaded by their ``AppConfig.ready()``. The source of
events is the audit log: a clock job (``services.dispatch_events``) reads events after a
stored cursor, asks every kind registered for the event's action whom to tell and what,
and creates one notification per recipient and kind, rendered in the recipient's language.
Time-based kinds (deadline reminders) register a schedule (``registry.register_schedule``)
that a second clock job runs. Email goes out through Django's email backend, best-effort:
the in-app notification exists first; an email that fails is retried on a later tick.

The core imports no domain app: the event log is read through the model named by
``settings.NOTIFICATIONS_EVENT_MODEL`` (default ``"audit.AuditEvent"``), the way
``django.contrib.auth`` reads the user model through ``AUTH_USER_MODEL``.
"""
