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

The same for the two writes of a hot path: ``PreparedUpdate`` (an UPDATE of one table,
``queryset.update`` compiled once) and ``PreparedInsert`` (``save()`` of a new instance
with its INSERT compiled once; each field's value still goes through its own
``pre_save`` and ``get_db_prep_save``).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model
from django.db.models.query import ModelIterable, ValuesListIterable, get_related_populators
from django.db.models.signals import post_save, pre_save
from django.db.models.sql import InsertQuery, UpdateQuery
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


def _bind(params, markers: dict, kinds: dict, connection) -> list[tuple]:
    """Each compiled parameter's slot: ``(name, adapt)`` where a marker was found (as
    the ORM passed it, or as the backend adapted it), ``(None, constant)`` elsewhere.
    A marker not found, or a parameter matching two, is refused."""
    slots: list[tuple] = []
    found: set[str] = set()
    for position, param in enumerate(params):
        matches = []
        for name, kind in kinds.items():
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
    missing = set(kinds) - found
    if missing:
        raise ImproperlyConfigured(
            f"Prepared: {sorted(missing)} not found in the compiled query; the builder "
            "must pass each value to the ORM unchanged")
    return slots


def _params(slots: list[tuple], values: dict, connection) -> list:
    return [adapt(values[name], connection) if name is not None else adapt
            for name, adapt in slots]


class _Compiled:
    __slots__ = ("sql", "slots", "converters", "model_select", "for_update")

    def __init__(self, sql, slots, converters, model_select, for_update):
        self.sql = sql
        self.slots = slots
        self.converters = converters
        self.model_select = model_select
        self.for_update = for_update


class _PerAlias:
    """Compiled once per database alias, under a lock (the first run of each): what
    each subclass's ``_compile(using)`` returns."""

    def __init__(self):
        self._compiled: dict[str, object] = {}
        self._lock = threading.Lock()

    def compiled(self, using: str = DEFAULT_DB_ALIAS):
        compiled = self._compiled.get(using)
        if compiled is None:
            with self._lock:
                compiled = self._compiled.get(using)
                if compiled is None:
                    compiled = self._compiled[using] = self._compile(using)
        return compiled


class _Shaped(_PerAlias):
    """A statement made by ``build(**values)``; ``kinds`` names each value and its
    Python type. At compile time ``build`` gets a marker for each value."""

    def __init__(self, build: Callable, **kinds: type):
        for name, kind in kinds.items():
            if kind not in _KINDS:
                raise ImproperlyConfigured(f"Prepared: {name} has unsupported kind {kind!r}")
        super().__init__()
        self._build = build
        self._kinds = kinds

    def _markers(self) -> dict:
        return {name: _marker(kind, i) for i, (name, kind) in enumerate(self._kinds.items())}

    def _check(self, values: dict) -> None:
        if set(values) != set(self._kinds):
            raise TypeError(f"Prepared: values {sorted(values)} != {sorted(self._kinds)}")


class Prepared(_Shaped):
    """One query shape: ``build(**markers)`` returns the queryset; ``kinds`` names each
    value and its Python type. Thread-safe; compiled once per database alias."""

    def _compile(self, using: str) -> _Compiled:
        connection = connections[using]
        markers = self._markers()
        queryset = self._build(**markers)
        compiler = queryset.query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        slots = _bind(params, markers, self._kinds, connection)
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
        return _Compiled(sql, slots, _converters(fields, connection), model_select,
                         bool(queryset.query.select_for_update))

    def rows(self, *, using: str = DEFAULT_DB_ALIAS, **values) -> list:
        """The query's rows for ``values``: converted tuples, or model instances."""
        self._check(values)
        compiled = self.compiled(using)
        connection = connections[using]
        if compiled.for_update and connection.features.has_select_for_update \
                and connection.get_autocommit():
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction.")
        params = _params(compiled.slots, values, connection)
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            raw = cursor.fetchall()
        rows = _convert(raw, compiled.converters, connection)
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


def _converters(fields: list, connection) -> list:
    """Each selected column's converters (the backend's, then the field's), as Django
    finds them when it evaluates a queryset; found once, at compile time. They are
    called with the connection of the thread that runs the query: the backends'
    converters read only what is the same for every connection of one alias (its
    time zone, the settings)."""
    converters = []
    for position, expression in enumerate(fields):
        if expression is None:
            continue
        convs = (connection.ops.get_db_converters(expression)
                 + expression.get_db_converters(connection))
        if convs:
            converters.append((position, convs, expression))
    return converters


def _convert(raw: list, converters: list, connection) -> list:
    """Apply the compiled converters to ``raw`` rows with this thread's connection."""
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


class PreparedUpdate(_Shaped):
    """One UPDATE shape: ``build(**markers)`` returns ``(queryset, {field: value})``,
    as ``queryset.update(**values)`` would take them; the markers may be in either.
    ``run(**values)`` sends Django's own UPDATE with the real values and returns how
    many rows it changed. Refused at the first run as ``Prepared`` refuses, and for an
    update Django would split into several statements (joins, parent models)."""

    def _compile(self, using: str):
        connection = connections[using]
        markers = self._markers()
        queryset, values = self._build(**markers)
        query = queryset.query.chain(UpdateQuery)
        query.add_update_values(values)
        query.get_initial_alias()
        if query.related_updates or query.count_active_tables() != 1:
            raise ImproperlyConfigured(
                "PreparedUpdate: an update of one table filtered on that table only")
        sql, params = query.get_compiler(using=using).as_sql()
        return sql, _bind(params, markers, self._kinds, connection)

    def run(self, *, using: str = DEFAULT_DB_ALIAS, **values) -> int:
        self._check(values)
        sql, slots = self.compiled(using)
        connection = connections[using]
        with connection.cursor() as cursor:
            cursor.execute(sql, _params(slots, values, connection))
            return cursor.rowcount


class PreparedInsert(_PerAlias):
    """``insert(obj)`` is ``obj.save()`` for a new instance of ``model``, with the
    INSERT compiled once per alias: the same columns, values (each field's
    ``pre_save`` and ``get_db_prep_save``) and returned primary key as Django's own,
    without building an insert query each time. For models with no ``save()`` of
    their own and no parents; an instance whose model has ``pre_save``/``post_save``
    receivers is saved by ``save()`` itself, so that none is skipped. A field value
    that is an SQL expression is refused (``TypeError``): save such an instance."""

    def __init__(self, model):
        super().__init__()
        if model.save is not Model.save or model._meta.parents:
            raise ImproperlyConfigured(
                f"PreparedInsert: {model.__name__} has its own save() or parent models")
        self._model = model

    def _compile(self, using: str):
        connection = connections[using]
        meta = self._model._meta
        if not connection.features.can_return_columns_from_insert:
            raise ImproperlyConfigured("PreparedInsert: the database returns no columns")
        fields = [f for f in meta.local_concrete_fields
                  if not f.generated and f is not meta.auto_field]
        returning = meta.db_returning_fields
        query = InsertQuery(self._model)
        query.insert_values(fields, [self._model()])
        compiler = query.get_compiler(using=using)
        compiler.returning_fields = returning
        ((sql, params),) = compiler.as_sql()
        if len(params) != len(fields) or getattr(compiler, "returning_params", ()):
            raise ImproperlyConfigured(
                "PreparedInsert: a field whose value is not one plain parameter "
                "(a database default or a placeholder of its own)")
        cols = [f.get_col(meta.db_table) for f in returning]
        return sql, fields, returning, _converters(cols, connection)

    def insert(self, obj, *, using: str = DEFAULT_DB_ALIAS):
        if not isinstance(obj, self._model) or not obj._state.adding:
            raise TypeError(f"PreparedInsert: a new {self._model.__name__} only")
        if pre_save.has_listeners(self._model) or post_save.has_listeners(self._model):
            obj.save(force_insert=True, using=using)
            return obj
        sql, fields, returning, converters = self.compiled(using)
        connection = connections[using]
        obj._prepare_related_fields_for_save(operation_name="save")
        params = []
        for field in fields:
            value = field.pre_save(obj, True)
            if hasattr(value, "resolve_expression"):
                raise TypeError(f"PreparedInsert: {field.name} holds an SQL expression")
            params.append(field.get_db_prep_save(value, connection=connection))
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        (row,) = _convert([row], converters, connection)
        for field, value in zip(returning, row, strict=True):
            setattr(obj, field.attname, value)
        obj._state.adding = False
        obj._state.db = using
        return obj
