from django.db import migrations, models


class Migration(migrations.Migration):
    """Decrypted bid documents stay encrypted at rest: the file field is renamed from
    ``plaintext`` to ``document`` (a column rename: rows keep their values) and the
    wrapped data key, its KEK id and what was recorded at decryption are added."""

    dependencies = [
        ("opening", "0002_hall_custodian_window_and_rejection"),
    ]

    operations = [
        migrations.RenameField(model_name="bidopening", old_name="plaintext", new_name="document"),
        migrations.AddField(model_name="bidopening", name="document_key_id",
                            field=models.CharField(blank=True, max_length=64)),
        migrations.AddField(model_name="bidopening", name="document_wrapped_key",
                            field=models.CharField(blank=True, max_length=200)),
        migrations.AddField(model_name="bidopening", name="document_header_sha256",
                            field=models.CharField(blank=True, max_length=64)),
        migrations.AddField(model_name="bidopening", name="document_sha256",
                            field=models.CharField(blank=True, max_length=64)),
        migrations.AddField(model_name="bidopening", name="document_size",
                            field=models.BigIntegerField(blank=True, null=True)),
        migrations.AddField(model_name="bidopening", name="document_content_type",
                            field=models.CharField(blank=True, max_length=10)),
    ]
