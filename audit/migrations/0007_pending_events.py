"""Events appended at commit (PostgreSQL): a pending row per event, and a deferred
constraint trigger that, during the commit, moves the chain head and inserts the event
exactly as audit.services._APPEND_SQL does, then deletes the pending row.

The labels are crypto.chain's LABEL_LINK and LABEL_EVENT (format v1), written out here
so this migration keeps meaning what it meant if the module changes."""

from django.db import migrations, models

LINK = "67677a792d61756469742d6c696e6b2d763100"  # b"ggzy-audit-link-v1\x00"
EVENT = "67677a792d61756469742d6576656e742d763100"  # b"ggzy-audit-event-v1\x00"

TIME = "GREATEST(p.time, h.time)"

CREATE = rf"""
CREATE OR REPLACE FUNCTION audit_seal_pending() RETURNS trigger AS $$
DECLARE
    p audit_auditpending := NEW;
    done integer;
BEGIN
    FOR attempt IN 1..2 LOOP
        WITH moved AS (
            UPDATE audit_audithead h
               SET prev_hash = h.hash,
                   seq = h.seq + 1,
                   time = {TIME},
                   hash = encode(sha256('\x{LINK}'::bytea || decode(h.hash, 'hex') || sha256(
                       '\x{EVENT}'::bytea || p.template_head
                       || convert_to((h.seq + 1)::text, 'UTF8') || p.template_middle
                       || convert_to(to_char({TIME} AT TIME ZONE 'UTC',
                                             'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00:00', 'UTF8')
                       || p.template_tail)), 'hex')
             WHERE h.id = 1
         RETURNING h.seq, h.prev_hash, h.hash, h.time
        ), ins AS (
            INSERT INTO audit_auditevent (seq, time, actor_id, actor, action, object_type,
                                          object_id, summary, sealed_tender_id,
                                          payload_digest, prev_hash, hash)
            SELECT moved.seq, moved.time, p.actor_id, p.actor, p.action, p.object_type,
                   p.object_id, p.summary, p.sealed_tender_id, p.payload_digest,
                   moved.prev_hash, moved.hash
              FROM moved
            RETURNING 1
        )
        SELECT count(*) INTO done FROM ins;
        EXIT WHEN done = 1;
        -- The very first event: no head row yet.
        INSERT INTO audit_audithead (id, seq, hash, prev_hash)
        VALUES (1, 0, repeat('0', 64), '') ON CONFLICT (id) DO NOTHING;
    END LOOP;
    IF done <> 1 THEN
        RAISE EXCEPTION 'audit: the chain head could not be moved';
    END IF;
    DELETE FROM audit_auditpending WHERE id = NEW.id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS audit_seal_pending ON audit_auditpending;
CREATE CONSTRAINT TRIGGER audit_seal_pending AFTER INSERT ON audit_auditpending
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION audit_seal_pending();
"""

DROP = """
DROP TRIGGER IF EXISTS audit_seal_pending ON audit_auditpending;
DROP FUNCTION IF EXISTS audit_seal_pending();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("audit", "0006_head_link")]

    operations = [
        migrations.CreateModel(
            name="AuditPending",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True,
                                           serialize=False, verbose_name="ID")),
                ("time", models.DateTimeField()),
                ("actor_id", models.BigIntegerField(blank=True, null=True)),
                ("actor", models.CharField(max_length=150)),
                ("action", models.CharField(max_length=80)),
                ("object_type", models.CharField(max_length=80)),
                ("object_id", models.CharField(max_length=64)),
                ("summary", models.CharField(blank=True, max_length=300)),
                ("sealed_tender_id", models.BigIntegerField(blank=True, null=True)),
                ("payload_digest", models.CharField(max_length=64)),
                ("template_head", models.BinaryField()),
                ("template_middle", models.BinaryField()),
                ("template_tail", models.BinaryField()),
            ],
        ),
        migrations.RunPython(forwards, backwards),
    ]
