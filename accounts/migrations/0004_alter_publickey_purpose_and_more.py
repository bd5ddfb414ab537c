
from django.db import migrations, models


def keep_newest_active_key(apps, schema_editor):
    """Before the index: where a person has several active keys of one purpose (the
    bug that broke every publication), keep the newest active and retire the rest."""
    PublicKey = apps.get_model("accounts", "PublicKey")
    seen = set()
    for key in PublicKey.objects.filter(active=True).order_by("-created_at", "-id"):
        slot = (key.user_id, key.purpose)
        if slot in seen:
            PublicKey.objects.filter(pk=key.pk).update(active=False, revoked_at=key.created_at)
        seen.add(slot)


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0003_mandate'),
    ]

    operations = [
        migrations.AlterField(
            model_name='publickey',
            name='purpose',
            field=models.CharField(choices=[('bid', 'Bid sealing key'), ('custodian', 'Opening-key custodian'), ('custodian_signing', 'Custodian signing key')], max_length=20, verbose_name='purpose'),
        ),
        migrations.RunPython(keep_newest_active_key, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='publickey',
            constraint=models.UniqueConstraint(condition=models.Q(('active', True)), fields=('user', 'purpose'), name='one_active_key_per_purpose'),
        ),
    ]
