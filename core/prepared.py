"""Querysets compiled to SQL once per process, then run with new values.

Django builds a queryset and compiles its SQL every time it is evaluated. For the short
queries of a hot request that costs several times the query itself: on the 2-core
machine a one-row ``values_list`` took about 0.23 ms to build and 0.34 ms to compile
against 0.09 ms to execute. A bid submission at the deadline makes a dozen of them.

``Prepared(build, name=type, ...)`` is one query shape. The first time it runs on a
database it calls ``build`` with a *marker* for each named value (an int, string, date,
datetime or UUID no real value takes), compiles the queryset and finds every marker
among the compiled parameters. From then on it sends that SQL with the real values in
their places; the SQL is Django's own, so lookups, quoting, ``Meta.ordering`` and locks
(``select_for_update``) are exactly what the queryset says.

``build`` must pass each value to the ORM as it is (no ``.upper()``, no arithmetic: the
marker would be transformed and not found) and must not make a value's presence change
the SQL (``None`` compiles to ``IS NULL``; a list to a variable ``IN``). A marker that is
not found, or a parameter that matches two markers, is an ``ImproperlyConfigured`` error
at the first run, which the tests of every caller make.

Rows come back as tuples converted as Django converts them (``from_db_value``, the
backend's converters), or, for a queryset of model instances without
``select_related``, as instances built with ``Model.from_db`` (deferred fields load
lazily, as ``only()`` would).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet
from django.db.models.query import ModelIterable, ValuesListIterable, get_related_populators
from django.db.transaction import TransactionManagementError

_KINDS = (int, str, date, datetime, uuid.UUID)
_VALUE_ITERABLES = (ValuesListIterable,)


def _marker(kind: type, i: int):
    """A value of ``kind`` that no real parameter takes (the ``i``-th of its call)."""
    if kind is int:
        return 7_340_032_000_000_001 + 7_919 * i
    if kind is str:
        return f"\x1fprepared-marker-{i}\x1f"
    if kind is datetime:
        return datetime(1, 2, 3, 4, 5, 6, 700_000 + i, tzinfo=UTC)
    if kind is date:
        return date(1, 2, 1 + i % 27)
    if kind is uuid.UUID:
        return uuid.UUID(int=0xF1E2D3C4_B5A6_4978_8695_A4B3C2D1E0F0 + i)
    raise ImproperlyConfigured(f"Prepared: unsupported kind {kind!r} (use one of {_KINDS})")


def _identity(value, connection):
    return value


def _adapters(kind: type) -> list[Callable]:
    """How the ORM may have turned a value of ``kind`` into a parameter, most likely
    first: each ``adapt(value, connection)``, run with the connection of the thread
    that sends the query."""
    if kind is datetime:
        return [_identity, lambda v, c: c.ops.adapt_datetimefield_value(v)]
    if kind is date:
        return [_identity, lambda v, c: c.ops.adapt_datefield_value(v)]
    if kind is uuid.UUID:
        return [_identity, lambda v, c: v.hex, lambda v, c: str(v)]
    return [_identity]


class _Compiled:
    __slots__ = ("sql", "slots", "fields", "model_select", "for_update")

    def __init__(self, sql, slots, fields, model_select, for_update):
        self.sql = sql
        self.slots = slots
        self.fields = fields
        self.model_select = model_select
        self.for_update = for_update


class Prepared:
    """One query shape: ``build(**markers)`` returns the queryset; ``kinds`` names each
    value and its Python type. Thread-safe; compiled once per database alias."""

    def __init__(self, build: Callable[..., QuerySet], **kinds: type):
        for name, kind in kinds.items():
            if kind not in _KINDS:
                raise ImproperlyConfigured(f"Prepared: {name} has unsupported kind {kind!r}")
        self._build = build
        self._kinds = kinds
        self._compiled: dict[str, _Compiled] = {}
        self._lock = threading.Lock()

    def _compile(self, using: str) -> _Compiled:
        connection = connections[using]
        markers = {name: _marker(kind, i) for i, (name, kind) in enumerate(self._kinds.items())}
        queryset = self._build(**markers)
        compiler = queryset.query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        slots: list[tuple] = []
        found: set[str] = set()
        for position, param in enumerate(params):
            matches = []
            for name, kind in self._kinds.items():
                for adapt in _adapters(kind):
                    adapted = adapt(markers[name], connection)
                    if type(param) is type(adapted) and param == adapted:
                        matches.append((name, adapt))
                        break
            if len(matches) > 1:
                raise ImproperlyConfigured(
                    f"Prepared: parameter {position} matches {[m[0] for m in matches]}")
            if matches:
                slots.append(matches[0])
                found.add(matches[0][0])
            else:
                slots.append((None, param))  # a constant of the shape
        missing = set(self._kinds) - found
        if missing:
            raise ImproperlyConfigured(
                f"Prepared: {sorted(missing)} not found in the compiled query; the builder "
                "must pass each value to the ORM unchanged")
        fields = [s[0] for s in compiler.select[:compiler.col_count]]
        model_select = None
        if queryset._iterable_class is ModelIterable:
            # As ``ModelIterable`` builds its rows, with what it computes per evaluation
            # computed once: the columns of each model, the select_related populators
            # (stateless between rows), the annotations' positions.
            info = compiler.klass_info
            select_fields = info["select_fields"]
            names = [compiler.select[i][0].target.attname for i in select_fields]
            model_select = (info["model"], select_fields[0], select_fields[-1] + 1, names,
                            get_related_populators(info, compiler.select, using),
                            dict(compiler.annotation_col_map or {}))
        elif queryset._iterable_class not in _VALUE_ITERABLES:
            raise ImproperlyConfigured(
                "Prepared: a queryset of models or of values_list() tuples only")
        return _Compiled(sql, slots, fields, model_select, bool(queryset.query.select_for_update))

    def compiled(self, using: str = DEFAULT_DB_ALIAS) -> _Compiled:
        compiled = self._compiled.get(using)
        if compiled is None:
            with self._lock:
                compiled = self._compiled.get(using)
                if compiled is None:
                    compiled = self._compiled[using] = self._compile(using)
        return compiled

    def rows(self, *, using: str = DEFAULT_DB_ALIAS, **values) -> list:
        """The query's rows for ``values``: converted tuples, or model instances."""
        if set(values) != set(self._kinds):
            raise TypeError(f"Prepared: values {sorted(values)} != {sorted(self._kinds)}")
        compiled = self.compiled(using)
        connection = connections[using]
        if compiled.for_update and connection.features.has_select_for_update \
                and connection.get_autocommit():
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction.")
        params = [adapt(values[name], connection) if name is not None else adapt
                  for name, adapt in compiled.slots]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            raw = cursor.fetchall()
        rows = _convert(raw, compiled.fields, connection)
        if compiled.model_select is None:
            return rows
        return self._objects(compiled, rows, using)

    def first(self, *, using: str = DEFAULT_DB_ALIAS, **values):
        """The query's first row for ``values`` (as ``rows`` gives it), or None."""
        rows = self.rows(using=using, **values)
        return rows[0] if rows else None

    @staticmethod
    def _objects(compiled: _Compiled, rows: list, using: str) -> list:
        model, start, end, names, populators, annotations = compiled.model_select
        objects = []
        for row in rows:
            obj = model.from_db(using, names, row[start:end])
            for populator in populators:
                populator.populate(row, obj)
            for name, position in annotations.items():
                setattr(obj, name, row[position])
            objects.append(obj)
        return objects


def _convert(raw: list, fields: list, connection) -> list:
    """Apply the backend's and the fields' converters to ``raw`` rows, as Django does
    when it evaluates a queryset (with this thread's connection)."""
    converters = []
    for position, expression in enumerate(fields):
        if expression is None:
            continue
        convs = (connection.ops.get_db_converters(expression)
                 + expression.get_db_converters(connection))
        if convs:
            converters.append((position, convs, expression))
    if not converters:
        return [tuple(r) for r in raw]
    out = []
    for row in raw:
        row = list(row)
        for position, convs, expression in converters:
            value = row[position]
            for convert in convs:
                value = convert(value, expression, connection)
            row[position] = value
        out.append(tuple(row))
    return out
