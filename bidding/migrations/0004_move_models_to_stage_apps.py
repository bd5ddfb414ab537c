"""The models of this app moved to one app per stage: ``tenders``, ``bids`` and
``opening`` (``bidding/tenders`` ...). Their tables keep their names, so this
migration removes the models from this app's state only and runs no SQL on them.

It also moves their content types to the new app labels (same ids), so permissions
and anything else that points at a content type keep working.
"""

from django.db import migrations

MOVED = {
    "tenders": ["tender", "lot", "amendment", "tenderdocument", "documentregistration",
                "clarification", "tenderkeyshare"],
    "bids": ["bid", "bidupload", "bidbond"],
    "opening": ["openingsession", "bidopening", "openingsignin", "custodianshare",
                "objection", "confirmation"],
}


def move_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for label, models in MOVED.items():
        for model in models:
            if ContentType.objects.using(db).filter(app_label=label, model=model).exists():
                continue
            ContentType.objects.using(db).filter(app_label="bidding", model=model).update(
                app_label=label)


def restore_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for label, models in MOVED.items():
        ContentType.objects.using(db).filter(app_label=label, model__in=models).update(
            app_label="bidding")


class Migration(migrations.Migration):

    dependencies = [
        ('bidding', '0003_opening'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('tenders', '0001_initial'),
        ('bids', '0001_initial'),
        ('opening', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.RemoveField(
                    model_name='tenderdocument',
                    name='amendment',
                ),
                migrations.RemoveField(
                    model_name='bid',
                    name='bidder',
                ),
                migrations.RemoveField(
                    model_name='bid',
                    name='submitted_by',
                ),
                migrations.RemoveField(
                    model_name='bid',
                    name='tender',
                ),
                migrations.RemoveField(
                    model_name='bidopening',
                    name='bid',
                ),
                migrations.RemoveField(
                    model_name='bidupload',
                    name='bid',
                ),
                migrations.RemoveField(
                    model_name='bidbond',
                    name='bidder',
                ),
                migrations.RemoveField(
                    model_name='bidbond',
                    name='tender',
                ),
                migrations.RemoveField(
                    model_name='bidopening',
                    name='session',
                ),
                migrations.RemoveField(
                    model_name='bidupload',
                    name='bidder',
                ),
                migrations.RemoveField(
                    model_name='bidupload',
                    name='tender',
                ),
                migrations.RemoveField(
                    model_name='bidupload',
                    name='user',
                ),
                migrations.RemoveField(
                    model_name='clarification',
                    name='answered_by',
                ),
                migrations.RemoveField(
                    model_name='clarification',
                    name='asked_by',
                ),
                migrations.RemoveField(
                    model_name='clarification',
                    name='tender',
                ),
                migrations.RemoveField(
                    model_name='confirmation',
                    name='bidder',
                ),
                migrations.RemoveField(
                    model_name='confirmation',
                    name='session',
                ),
                migrations.RemoveField(
                    model_name='custodianshare',
                    name='custodian',
                ),
                migrations.RemoveField(
                    model_name='custodianshare',
                    name='session',
                ),
                migrations.RemoveField(
                    model_name='documentregistration',
                    name='organisation',
                ),
                migrations.RemoveField(
                    model_name='documentregistration',
                    name='tender',
                ),
                migrations.RemoveField(
                    model_name='documentregistration',
                    name='user',
                ),
                migrations.RemoveField(
                    model_name='lot',
                    name='tender',
                ),
                migrations.RemoveField(
                    model_name='objection',
                    name='answered_by',
                ),
                migrations.RemoveField(
                    model_name='objection',
                    name='bidder',
                ),
                migrations.RemoveField(
                    model_name='objection',
                    name='raised_by',
                ),
                migrations.RemoveField(
                    model_name='objection',
                    name='session',
                ),
                migrations.RemoveField(
                    model_name='openingsession',
                    name='tender',
                ),
                migrations.RemoveField(
                    model_name='openingsignin',
                    name='session',
                ),
                migrations.RemoveField(
                    model_name='openingsignin',
                    name='bidder',
                ),
                migrations.RemoveField(
                    model_name='openingsignin',
                    name='tender',
                ),
                migrations.RemoveField(
                    model_name='openingsignin',
                    name='user',
                ),
                migrations.RemoveField(
                    model_name='tender',
                    name='agency',
                ),
                migrations.RemoveField(
                    model_name='tender',
                    name='created_by',
                ),
                migrations.RemoveField(
                    model_name='tender',
                    name='tenderer',
                ),
                migrations.RemoveField(
                    model_name='tenderdocument',
                    name='tender',
                ),
                migrations.RemoveField(
                    model_name='tenderkeyshare',
                    name='tender',
                ),
                migrations.RemoveField(
                    model_name='tenderdocument',
                    name='uploaded_by',
                ),
                migrations.RemoveField(
                    model_name='tenderkeyshare',
                    name='custodian',
                ),
                migrations.RemoveField(
                    model_name='tenderkeyshare',
                    name='custodian_key',
                ),
                migrations.DeleteModel(
                    name='Amendment',
                ),
                migrations.DeleteModel(
                    name='Bid',
                ),
                migrations.DeleteModel(
                    name='BidBond',
                ),
                migrations.DeleteModel(
                    name='BidOpening',
                ),
                migrations.DeleteModel(
                    name='BidUpload',
                ),
                migrations.DeleteModel(
                    name='Clarification',
                ),
                migrations.DeleteModel(
                    name='Confirmation',
                ),
                migrations.DeleteModel(
                    name='CustodianShare',
                ),
                migrations.DeleteModel(
                    name='DocumentRegistration',
                ),
                migrations.DeleteModel(
                    name='Lot',
                ),
                migrations.DeleteModel(
                    name='Objection',
                ),
                migrations.DeleteModel(
                    name='OpeningSession',
                ),
                migrations.DeleteModel(
                    name='OpeningSignin',
                ),
                migrations.DeleteModel(
                    name='Tender',
                ),
                migrations.DeleteModel(
                    name='TenderDocument',
                ),
                migrations.DeleteModel(
                    name='TenderKeyShare',
                ),
            ],
        ),
        migrations.RunPython(move_content_types, restore_content_types),
    ]
