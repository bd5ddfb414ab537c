"""Bids, their uploads and bonds: moved here from the ``bidding`` app.

The tables already exist (``bidding/migrations`` 0001-0003 made them, with the names
they keep through ``db_table``), so this migration changes Django's state only and
runs no SQL: an existing database migrates forward with no data change, and a new
one gets its tables from the same history.
"""

from django.conf import settings
from django.db import migrations, models
import bidding.bids.models
import django.db.models.deletion
import uuid


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('accounts', '0002_organisation_basic_account_alter_user_role_and_more'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ('bidding', '0003_opening'),
        ('tenders', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='BidBond',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('amount', models.DecimalField(decimal_places=2, max_digits=14)),
                        ('kind', models.CharField(choices=[('transfer', 'Bank transfer'), ('bank_guarantee', 'Bank guarantee'), ('insurance', 'Guarantee insurance')], max_length=20)),
                        ('payer_account', models.CharField(max_length=40)),
                        ('payer_name', models.CharField(max_length=200)),
                        ('reference', models.CharField(blank=True, max_length=100)),
                        ('paid_at', models.DateTimeField()),
                        ('from_basic_account', models.BooleanField()),
                        ('status', models.CharField(choices=[('held', 'Held'), ('refund_due', 'Refund due'), ('refunded', 'Refunded'), ('forfeited', 'Kept')], default='held', max_length=20)),
                        ('refund_due_by', models.DateTimeField(blank=True, null=True)),
                        ('refunded_at', models.DateTimeField(blank=True, null=True)),
                    ],
                    options={
                        'db_table': 'bidding_bidbond',
                    },
                ),
                migrations.CreateModel(
                    name='BidUpload',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('public_id', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                        ('size', models.BigIntegerField()),
                        ('chunk_size', models.PositiveIntegerField()),
                        ('next_index', models.PositiveIntegerField(default=0)),
                        ('received_bytes', models.BigIntegerField(default=0)),
                        ('chunk_digests', models.JSONField(default=list)),
                        ('storage_name', models.CharField(max_length=300)),
                        ('price_sheet', models.BinaryField(max_length=65536)),
                        ('claims', models.JSONField(blank=True, default=dict)),
                        ('upload_ip', models.GenericIPAddressField(blank=True, null=True)),
                        ('user_agent', models.CharField(blank=True, max_length=400)),
                        ('status', models.CharField(choices=[('open', 'Uploading'), ('completed', 'Completed'), ('aborted', 'Aborted')], default='open', max_length=20)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                    ],
                    options={
                        'db_table': 'bidding_bidupload',
                    },
                ),
                migrations.CreateModel(
                    name='Bid',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('public_id', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                        ('version', models.PositiveIntegerField()),
                        ('envelope', models.FileField(max_length=300, upload_to=bidding.bids.models.bid_upload_to)),
                        ('sha256', models.CharField(max_length=64)),
                        ('size', models.BigIntegerField()),
                        ('price_sheet', models.BinaryField(max_length=65536)),
                        ('price_sheet_sha256', models.CharField(max_length=64)),
                        ('bidder_key_fingerprint', models.CharField(max_length=64)),
                        ('status', models.CharField(choices=[('submitted', 'Submitted'), ('superseded', 'Replaced'), ('withdrawn', 'Withdrawn')], db_index=True, max_length=20)),
                        ('submitted_at', models.DateTimeField()),
                        ('withdrawn_at', models.DateTimeField(blank=True, null=True)),
                        ('receipt', models.JSONField()),
                        ('upload_ip', models.GenericIPAddressField(blank=True, null=True)),
                        ('user_agent', models.CharField(blank=True, max_length=400)),
                        ('claims', models.JSONField(blank=True, default=dict)),
                        ('bidder', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='bids', to='accounts.organisation')),
                        ('submitted_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'bidding_bid',
                        'ordering': ['tender', 'bidder', 'version'],
                    },
                ),
                migrations.AddField(
                    model_name='bid',
                    name='tender',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='bids', to='tenders.tender'),
                ),
                migrations.AddField(
                    model_name='bidbond',
                    name='bidder',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='bonds', to='accounts.organisation'),
                ),
                migrations.AddField(
                    model_name='bidbond',
                    name='tender',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='bonds', to='tenders.tender'),
                ),
                migrations.AddField(
                    model_name='bidupload',
                    name='bid',
                    field=models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='upload', to='bids.bid'),
                ),
                migrations.AddField(
                    model_name='bidupload',
                    name='bidder',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='accounts.organisation'),
                ),
                migrations.AddField(
                    model_name='bidupload',
                    name='tender',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='tenders.tender'),
                ),
                migrations.AddField(
                    model_name='bidupload',
                    name='user',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
                ),
                migrations.AddConstraint(
                    model_name='bid',
                    constraint=models.UniqueConstraint(fields=('tender', 'bidder', 'version'), name='bid_version_unique'),
                ),
                migrations.AddConstraint(
                    model_name='bid',
                    constraint=models.UniqueConstraint(condition=models.Q(('status', 'submitted')), fields=('tender', 'bidder'), name='one_current_bid'),
                ),
                migrations.AddConstraint(
                    model_name='bidbond',
                    constraint=models.UniqueConstraint(fields=('tender', 'bidder'), name='one_bond_per_bidder'),
                ),
            ],
        ),
    ]
