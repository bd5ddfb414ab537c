"""A database made by the previous schema migrates forward with no data change.

Commit ``bde2d95`` is the last one where a single app ``bidding`` held the 16 models of
tenders, bids and the opening. Since then they live in ``bidding.tenders``,
``bidding.bids`` and ``bidding.opening`` with ``db_table`` keeping the old table names;
their ``0001_initial`` and ``bidding.0004_move_models_to_stage_apps`` change Django's
migration state only, and 0004 moves the content types to the new app labels.

Here the previous code is exported with ``git archive`` and run as it was released
(child processes, its own tree as the working directory, the same interpreter):
``migrate``, ``load_demo``, then an opening played through its own services (sign-in,
bonds, bidders' and custodians' decryption, an objection and its answer, a confirmation,
the signed record) so that all 16 tables hold rows, then ``verify_audit``. The tables
are read with raw SQL (sqlite3 / psycopg, not Django), then today's code migrates the
same database and the tables are read again: every ``bidding_*`` and ``audit_*`` row is
the same, so is each table's schema, the audit chain verifies to the same head with the
same platform key (both runs share ``GGZY_VAR_DIR``), and the content types of the moved
models carry the new labels under the same ids.

SQLite always; PostgreSQL (a throw-away ``ggzy_legacy_<pid>_<random>`` database on the
server of ``DATABASE_URL``) when ``DATABASE_URL`` is PostgreSQL, as in CI's second pass:
``DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/postgres
.venv/bin/pytest tests/migrations -q``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import require

ROOT = Path(__file__).resolve().parents[2]
PREVIOUS = "bde2d95"  # the last commit with one ``bidding`` app
TIMEOUT = 300  # seconds, for each child process
DATABASE_URL = os.environ.get("DATABASE_URL", "")

# Stated here on its own, not imported from the migration under test.
MOVED = {
    "tenders": ["tender", "lot", "amendment", "tenderdocument", "documentregistration",
                "clarification", "tenderkeyshare"],
    "bids": ["bid", "bidupload", "bidbond"],
    "opening": ["openingsession", "bidopening", "openingsignin", "custodianshare",
                "objection", "confirmation"],
}
NEW_LABEL = {model: label for label, models in MOVED.items() for model in models}
MOVED_TABLES = {f"bidding_{model}" for model in NEW_LABEL}
KEPT_PREFIXES = ("bidding_", "audit_")  # every row of these must survive unchanged
NEW_APP_PREFIXES = ("tenders_", "bids_", "opening_")

# Run by the previous code (``manage.py shell -c`` in its tree) after ``load_demo``: the
# demo's tender with three sealed bids is opened through the services of that day, so
# the opening tables and the bonds hold rows too.
PREVIOUS_OPENING = '''
import os
from datetime import timedelta

import bidding
from audit.services import audit_checkpoint
from bidding import bids as bid_services
from bidding import lifecycle, opening
from bidding.demo import DEMO_PASSWORD, demo_keys_dir
from bidding.models import Bid, TenderKeyShare
from crypto import envelope, keys, threshold

assert os.path.realpath(bidding.__file__).startswith(os.path.realpath(os.getcwd()) + os.sep), (
    "not the previous code: " + bidding.__file__)


def private_key(user):
    pem = (demo_keys_dir() / f"{user.username}.pem").read_bytes()
    return keys.private_key_from_pem(pem, DEMO_PASSWORD.encode())


submitted = Bid.objects.filter(status=Bid.Status.SUBMITTED).select_related("tender")
tender = submitted.first().tender
bidders = [b.submitted_by for b in submitted.filter(tender=tender).order_by("submitted_at")]
assert len(bidders) == 3, bidders
before = tender.deadline - timedelta(minutes=10)
for user in bidders:
    bid_services.bond_record(
        user=user, tender=tender, amount=tender.bond_amount, kind="transfer",
        payer_account=user.organisation.basic_account or "6222000011112222",
        payer_name=user.organisation.name, reference="demo", now=before)
    opening.opening_signin(user=user, tender=tender, now=before)
at = tender.deadline + timedelta(seconds=1)
lifecycle.advance_by_clock(now=at)
session = opening.opening_start(tender_id=tender.pk, now=at)
assert session is not None
for user in bidders[:2]:  # two bidders decrypt; the third leaves it to the custodians
    bid = Bid.objects.get(tender=tender, submitted_by=user, status=Bid.Status.SUBMITTED)
    key = private_key(user)
    with bid.envelope.open("rb") as src:
        bid_key = envelope.unwrap_data_key(src, key, label="bidder")
    sheet_key = envelope.unwrap_data_key(bytes(bid.price_sheet), key, label="bidder")
    opening.opening_decrypt(user=user, tender=tender, bid_key=bid_key,
                            price_sheet_key=sheet_key, now=at + timedelta(minutes=1))
objection = opening.opening_objection_raise(
    user=bidders[2], tender=tender, text="demo objection", now=at + timedelta(minutes=2))
opening.opening_objection_answer(user=tender.created_by, tender=tender,
                                 objection_id=objection.pk, answer="noted",
                                 now=at + timedelta(minutes=3))
session.refresh_from_db()
closed = session.window_ends_at + timedelta(seconds=1)
opening.opening_close_window(tender_id=tender.pk, now=closed)
session.refresh_from_db()
assert session.phase == "custodians", session.phase
for stored in TenderKeyShare.objects.filter(tender=tender).select_related("custodian")[:2]:
    share = threshold.share_decrypt(stored.encrypted_share, private_key(stored.custodian),
                                    tender_id=tender.reference,
                                    custodian_id=stored.custodian.username)
    opening.opening_custodian_share(user=stored.custodian, tender=tender,
                                    share=share.to_dict(), now=closed + timedelta(minutes=1))
session.refresh_from_db()
assert session.phase == "confirming", session.phase
opening.opening_confirm(user=bidders[0], tender=tender, now=closed + timedelta(minutes=2))
opening.opening_finish(tender_id=tender.pk, now=session.confirm_until + timedelta(seconds=1))
session.refresh_from_db()
assert session.phase == "closed", session.phase
audit_checkpoint()
print("previous opening played:", tender.reference)
'''


# --- child processes ---------------------------------------------------------------------


def child_env(var: Path, database_url: str | None) -> dict[str, str]:
    """The environment of tests/stack/test_opening_stack.py's children, minus Redis: the
    same variables dropped, so settings fall back to ``GGZY_VAR_DIR`` for the database
    (SQLite), the secret key, the platform key and certificate, and media; Celery eager,
    no embedded clock. ``PYTHONPATH`` is dropped too, so each tree imports only itself."""
    drop = {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "MEDIA_ROOT",
            "GGZY_VAR_DIR", "PLATFORM_KEY_FILE", "PLATFORM_DOCUMENT_CERT_FILE",
            "EMBEDDED_CLOCK", "CELERY_TASK_ALWAYS_EAGER", "DEBUG", "SECRET_KEY",
            "PYTHONPATH", "PYTHONSAFEPATH"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(
        GGZY_VAR_DIR=str(var),
        DJANGO_SETTINGS_MODULE="tradecentre.settings",
        EMBEDDED_CLOCK="false",
        CELERY_TASK_ALWAYS_EAGER="true",
        LOG_LEVEL="WARNING",
        PYTHONDONTWRITEBYTECODE="1",
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def manage(cwd: Path, env: dict[str, str], *args: str,
           check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "manage.py", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=TIMEOUT,
                          stdin=subprocess.DEVNULL)
    if check and proc.returncode:
        raise AssertionError(
            f"manage.py {args[0]} failed in {cwd} (exit {proc.returncode}):\n"
            f"--- stdout ---\n{proc.stdout[-2000:]}\n--- stderr ---\n{proc.stderr[-5000:]}")
    return proc


def export_previous(dest: Path) -> Path:
    require(shutil.which("git") is not None, "git is not installed")
    found = subprocess.run(["git", "-C", str(ROOT), "cat-file", "-e", f"{PREVIOUS}^{{commit}}"],
                           capture_output=True, text=True, timeout=60)
    require(found.returncode == 0,
            f"commit {PREVIOUS} (the previous schema) is not in the history of {ROOT} "
            f"(a shallow checkout needs the full history): {found.stderr.strip()}")
    dest.mkdir(parents=True)
    archive = subprocess.Popen(["git", "-C", str(ROOT), "archive", PREVIOUS],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    untar = subprocess.run(["tar", "-x", "-C", str(dest)], stdin=archive.stdout,
                           capture_output=True, timeout=TIMEOUT)
    archive.stdout.close()
    archive_err = archive.stderr.read().decode(errors="replace")
    archive.stderr.close()
    assert archive.wait(TIMEOUT) == 0, f"git archive {PREVIOUS} failed: {archive_err}"
    assert untar.returncode == 0, f"tar failed: {untar.stderr.decode(errors='replace')}"
    assert (dest / "manage.py").exists() and (dest / "bidding" / "models.py").exists()
    return dest


# --- databases -----------------------------------------------------------------------------


def _with_database(url: str, name: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(DATABASE_URL, autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql)


@contextlib.contextmanager
def postgres_database():
    """A fresh database on the server of DATABASE_URL, dropped afterwards."""
    import psycopg

    name = f"ggzy_legacy_{os.getpid()}_{secrets.token_hex(4)}"
    for attempt in range(5):
        try:
            _admin(f'CREATE DATABASE "{name}"')
            break
        except psycopg.errors.ObjectInUse:  # another CREATE DATABASE copies template1
            if attempt == 4:
                raise
            time.sleep(1 + attempt)
    try:
        yield _with_database(DATABASE_URL, name)
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _digest(columns: list[str], rows) -> tuple[int, str]:
    """Row count and SHA-256 over the column names and every row, in primary key order.
    Values are hashed as ``repr`` of the value, bytes for binary columns."""
    h = hashlib.sha256(repr(tuple(columns)).encode())
    count = 0
    for row in rows:
        values = tuple(bytes(v) if isinstance(v, memoryview | bytearray) else v for v in row)
        h.update(b"\n" + repr(values).encode())
        count += 1
    return count, h.hexdigest()


@dataclass
class Snapshot:
    tables: set[str]
    rows: dict[str, tuple[int, str]] = field(default_factory=dict)  # kept tables only
    schema: dict[str, list] = field(default_factory=dict)  # kept tables only
    sequences: dict[str, int] = field(default_factory=dict)  # next ids of kept tables
    content_types: dict[int, tuple[str, str]] = field(default_factory=dict)
    permissions: dict[int, tuple] = field(default_factory=dict)


def kept(table: str) -> bool:
    return table.startswith(KEPT_PREFIXES)


def snapshot_sqlite(path: Path) -> Snapshot:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = {name for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        snap = Snapshot(tables=tables)
        for table in sorted(t for t in tables if kept(t)):
            info = conn.execute(f'PRAGMA table_info("{table}")').fetchall()
            columns = [c[1] for c in info]
            pk = [c[1] for c in sorted(info, key=lambda c: c[5]) if c[5]] or ["rowid"]
            order = ", ".join(f'"{c}"' for c in pk)
            snap.rows[table] = _digest(
                columns, conn.execute(f'SELECT * FROM "{table}" ORDER BY {order}'))
            snap.schema[table] = [tuple(c) for c in info] + conn.execute(
                "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = ? AND type != "
                "'table' ORDER BY type, name", (table,)).fetchall()
        snap.sequences = {name: seq for name, seq in conn.execute(
            "SELECT name, seq FROM sqlite_sequence") if kept(name)}
        snap.content_types = {pk: (app, model) for pk, app, model in conn.execute(
            "SELECT id, app_label, model FROM django_content_type")}
        snap.permissions = {row[0]: row for row in conn.execute(
            "SELECT id, content_type_id, codename, name FROM auth_permission")}
        return snap
    finally:
        conn.close()


def snapshot_postgres(url: str) -> Snapshot:
    import psycopg

    with psycopg.connect(url, connect_timeout=10) as conn:
        tables = {name for (name,) in conn.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'")}
        snap = Snapshot(tables=tables)
        for table in sorted(t for t in tables if kept(t)):
            columns = conn.execute(
                "SELECT column_name, data_type, character_maximum_length, numeric_precision, "
                "numeric_scale, is_nullable, column_default, is_identity "
                "FROM information_schema.columns WHERE table_schema = current_schema() "
                "AND table_name = %s ORDER BY ordinal_position", (table,)).fetchall()
            pk = [name for (name,) in conn.execute(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a "
                "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
                "WHERE i.indrelid = %s::regclass AND i.indisprimary ORDER BY a.attnum",
                (f'"{table}"',))]
            assert pk, f"{table} has no primary key"
            order = ", ".join(f'"{c}"' for c in pk)
            cursor = conn.execute(f'SELECT * FROM "{table}" ORDER BY {order}')
            snap.rows[table] = _digest([d.name for d in cursor.description], cursor)
            snap.schema[table] = columns + conn.execute(
                "SELECT 'index', indexname, indexdef FROM pg_indexes "
                "WHERE schemaname = current_schema() AND tablename = %s "
                "UNION ALL SELECT 'constraint', conname, pg_get_constraintdef(oid) "
                "FROM pg_constraint WHERE conrelid = %s::regclass "
                "UNION ALL SELECT 'trigger', tgname, pg_get_triggerdef(oid) FROM pg_trigger "
                "WHERE tgrelid = %s::regclass AND NOT tgisinternal ORDER BY 1, 2",
                (table, f'"{table}"', f'"{table}"')).fetchall()
        snap.sequences = {name: value for name, value in conn.execute(
            "SELECT sequencename, last_value FROM pg_sequences "
            "WHERE schemaname = current_schema()") if kept(name)}
        snap.content_types = {pk: (app, model) for pk, app, model in conn.execute(
            "SELECT id, app_label, model FROM django_content_type")}
        snap.permissions = {row[0]: row for row in conn.execute(
            "SELECT id, content_type_id, codename, name FROM auth_permission")}
        return snap


# --- the comparisons (also used by hand to check that they catch a change) ----------------


def row_changes(before: Snapshot, after: Snapshot) -> list[str]:
    """Every kept table whose rows differ, with its counts; [] when all are identical."""
    return [
        f"{table}: {before.rows[table][0]} rows -> "
        f"{after.rows[table][0] if table in after.rows else 'table gone'}"
        f"{'' if table not in after.rows else ' (rows differ)'}"
        for table in sorted(before.rows)
        if after.rows.get(table) != before.rows[table]
    ]


def content_type_changes(before: Snapshot, after: Snapshot) -> list[str]:
    """What is wrong with ``django_content_type`` after the move; [] when all is right:
    the 16 moved models carry their new labels under their old ids, every other row is
    as it was, and no moved model has a second content type."""
    wrong = []
    for pk, (app, model) in sorted(before.content_types.items()):
        expected = (NEW_LABEL[model], model) if app == "bidding" and model in NEW_LABEL else (
            app, model)
        if after.content_types.get(pk) != expected:
            wrong.append(f"id {pk}: {(app, model)} became {after.content_types.get(pk)}, "
                         f"expected {expected}")
    moved_rows = [(pk, ct) for pk, ct in after.content_types.items()
                  if ct[1] in NEW_LABEL and ct[0] in ("bidding", *MOVED)]
    if len(moved_rows) != len(NEW_LABEL):
        wrong.append(f"content types of the moved models: {sorted(moved_rows)}")
    return wrong


# --- the scenario ------------------------------------------------------------------------


#: The migration that moved the models into the stage apps (state only, no SQL).
SPLIT_MIGRATION = "0004_move_models_to_stage_apps"


@dataclass
class Migration:
    backend: str
    before: Snapshot
    after: Snapshot
    audit_before: str
    audit_after: str
    keys_before: dict[str, str]
    keys_after: dict[str, str]
    migrate_check: subprocess.CompletedProcess
    makemigrations_check: subprocess.CompletedProcess


def _key_files(var: Path) -> dict[str, str]:
    names = ("secret_key", "platform_signing_key.pem", "platform_document_cert.pem")
    return {n: hashlib.sha256((var / n).read_bytes()).hexdigest()
            for n in names if (var / n).exists()}


@pytest.fixture(scope="module", params=[
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.services),
])
def migration(request, tmp_path_factory) -> Iterator[Migration]:
    """The previous code makes and fills a database; today's code migrates it."""
    backend = request.param
    if backend == "postgresql" and not DATABASE_URL.startswith("postgres"):
        pytest.skip("needs DATABASE_URL pointing at a PostgreSQL server (CI's second pass)")
    work = tmp_path_factory.mktemp(f"legacy-{backend}")
    old = export_previous(work / "old")
    var = work / "var"
    var.mkdir()
    with contextlib.ExitStack() as stack:
        if backend == "postgresql":
            url = stack.enter_context(postgres_database())

            def snapshot() -> Snapshot:
                return snapshot_postgres(url)
        else:
            url = None

            def snapshot() -> Snapshot:
                return snapshot_sqlite(var / "db.sqlite3")

        env = child_env(var, url)
        manage(old, env, "migrate", "--noinput")
        manage(old, env, "load_demo")
        manage(old, env, "shell", "-c", PREVIOUS_OPENING)
        audit_before = manage(old, env, "verify_audit").stdout
        keys_before = _key_files(var)
        before = snapshot()

        # The split itself, to a fixed target: later migrations may change these tables
        # on purpose, the split must not.
        manage(ROOT, env, "migrate", "bidding", SPLIT_MIGRATION, "--noinput")
        after = snapshot()
        # Then every later migration applies to the legacy data too (the audit app's own
        # later migrations among them, which today's verify_audit needs).
        manage(ROOT, env, "migrate", "--noinput")
        audit_after = manage(ROOT, env, "verify_audit").stdout
        migrate_check = manage(ROOT, env, "migrate", "--check", check=False)
        makemigrations_check = manage(ROOT, env, "makemigrations", "--check", "--dry-run",
                                      check=False)
        yield Migration(backend, before, after, audit_before, audit_after,
                        keys_before, _key_files(var), migrate_check, makemigrations_check)


def _chain(line: str) -> tuple[str, str]:
    found = re.search(r"\bOK: (\d+) events, head ([0-9a-f]{64})", line)
    assert found, f"verify_audit did not report OK: {line!r}"
    return found.group(1), found.group(2)


def test_the_previous_code_leaves_rows_in_every_moved_table(migration):
    """Guards the rest: a comparison of empty tables would prove nothing."""
    rows = {table: count for table, (count, _) in migration.before.rows.items()}
    assert MOVED_TABLES <= migration.before.tables, "the previous schema lacks a moved table"
    assert {t for t in MOVED_TABLES if rows[t] == 0} == set(), rows
    assert rows["bidding_tender"] >= 8 and rows["bidding_bid"] >= 3, rows
    assert rows["bidding_openingsession"] >= 1 and rows["bidding_bidopening"] >= 3, rows
    assert rows["audit_auditevent"] >= 50 and rows["audit_auditcheckpoint"] >= 1, rows
    assert {ct for ct in migration.before.content_types.values() if ct[0] == "bidding"} == {
        ("bidding", model) for model in NEW_LABEL}


def test_a_database_made_by_the_previous_schema_migrates_with_every_row_and_the_audit_chain_intact(
        migration):
    changed = row_changes(migration.before, migration.after)
    assert not changed, "rows changed by the migration:\n" + "\n".join(changed)
    # The same chain, verified by today's code with the same platform key.
    assert _chain(migration.audit_after) == _chain(migration.audit_before)
    assert migration.keys_after == migration.keys_before
    assert "platform_signing_key.pem" in migration.keys_before


def test_the_moved_models_keep_their_tables_their_schema_and_their_next_ids(migration):
    before, after = migration.before, migration.after
    dropped = sorted({t for t in before.tables if kept(t)} - after.tables)
    created = sorted(t for t in after.tables - before.tables
                     if t.startswith((*NEW_APP_PREFIXES, "bidding_")))
    schema = sorted(t for t in before.schema if after.schema.get(t) != before.schema[t])
    sequences = sorted(n for n in before.sequences.keys() | after.sequences.keys()
                       if before.sequences.get(n) != after.sequences.get(n))
    assert (dropped, created, schema, sequences) == ([], [], [], []), (
        f"tables dropped: {dropped}; tables created for the moved models: {created}; "
        f"schema changed: {schema}; sequences moved: {sequences}")


def test_the_moved_models_content_types_take_the_new_app_labels_under_the_same_ids(migration):
    wrong = content_type_changes(migration.before, migration.after)
    assert not wrong, "django_content_type after the move:\n" + "\n".join(wrong)
    # Permissions point at content types by id: none lost, none changed.
    lost = {pk: row for pk, row in migration.before.permissions.items()
            if migration.after.permissions.get(pk) != row}
    assert lost == {}


def test_the_migrated_database_has_no_pending_migration_or_model_change(migration):
    for proc in (migration.migrate_check, migration.makemigrations_check):
        assert proc.returncode == 0, (
            f"{' '.join(proc.args[1:])} (exit {proc.returncode}):\n"
            f"{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
