"""Bonds get a random public id for the API and URLs: sequential ids let anyone
holding one count bonds (and so bidders). Existing rows get a fresh UUID each."""

import uuid

from django.db import migrations, models


def fill_public_ids(apps, schema_editor):
    BidBond = apps.get_model("bids", "BidBond")
    for bond in BidBond.objects.filter(public_id__isnull=True).only("pk"):
        BidBond.objects.filter(pk=bond.pk).update(public_id=uuid.uuid4())


class Migration(migrations.Migration):

    dependencies = [
        ("bids", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="bidbond",
            name="public_id",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.RunPython(fill_public_ids, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="bidbond",
            name="public_id",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
    ]
