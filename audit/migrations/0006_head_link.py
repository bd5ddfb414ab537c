from django.db import migrations, models


class Migration(migrations.Migration):
    """The head also keeps the hash before it and the last event's time, so that an
    append on PostgreSQL is one statement (audit.services._append_postgresql)."""

    dependencies = [
        ("audit", "0005_tree_heads"),
    ]

    operations = [
        migrations.AddField(
            model_name="audithead",
            name="prev_hash",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.AddField(
            model_name="audithead",
            name="time",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
