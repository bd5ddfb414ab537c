"""The opening session, each bid's fate, sign-ins, shares, objections, confirmations: moved here from the ``bidding`` app.

The tables already exist (``bidding/migrations`` 0001-0003 made them, with the names
they keep through ``db_table``), so this migration changes Django's state only and
runs no SQL: an existing database migrates forward with no data change, and a new
one gets its tables from the same history.
"""

from django.conf import settings
from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('accounts', '0002_organisation_basic_account_alter_user_role_and_more'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ('bidding', '0003_opening'),
        ('tenders', '0001_initial'),
        ('bids', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='OpeningSession',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('phase', models.CharField(choices=[('decrypting', 'Decryption window open'), ('custodians', 'Custodians opening undecrypted bids'), ('confirming', 'Bidders confirming the record'), ('closed', 'Closed')], default='decrypting', max_length=20)),
                        ('started_at', models.DateTimeField()),
                        ('window_ends_at', models.DateTimeField()),
                        ('confirm_until', models.DateTimeField(blank=True, null=True)),
                        ('closed_at', models.DateTimeField(blank=True, null=True)),
                        ('merkle_root', models.CharField(max_length=64)),
                        ('merkle_size', models.PositiveIntegerField()),
                        ('record', models.FileField(blank=True, max_length=300, upload_to='records/')),
                        ('record_sha256', models.CharField(blank=True, max_length=64)),
                    ],
                    options={
                        'db_table': 'bidding_openingsession',
                    },
                ),
                migrations.CreateModel(
                    name='OpeningSignin',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('signed_in_at', models.DateTimeField()),
                    ],
                    options={
                        'db_table': 'bidding_openingsignin',
                    },
                ),
                migrations.CreateModel(
                    name='BidOpening',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('status', models.CharField(choices=[('pending', 'Awaiting decryption'), ('decrypted', 'Decrypted'), ('revoked', "Not decrypted: bidder's fault (revoked)"), ('withdrawn', "Not decrypted: not the bidder's fault (withdrawn)")], default='pending', max_length=20)),
                        ('decrypted_by', models.CharField(blank=True, max_length=20)),
                        ('decrypted_at', models.DateTimeField(blank=True, null=True)),
                        ('price_sheet', models.JSONField(blank=True, null=True)),
                        ('announced_at', models.DateTimeField(blank=True, null=True)),
                        ('announce_order', models.PositiveIntegerField(blank=True, null=True)),
                        ('plaintext', models.FileField(blank=True, max_length=300, upload_to='opened/')),
                        ('reason', models.CharField(blank=True, max_length=300)),
                        ('bid', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='opening', to='bids.bid')),
                    ],
                    options={
                        'db_table': 'bidding_bidopening',
                        'ordering': ['announce_order', 'bid__submitted_at'],
                    },
                ),
                migrations.CreateModel(
                    name='Confirmation',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('confirmed_at', models.DateTimeField()),
                        ('deemed', models.BooleanField(default=False)),
                        ('remark', models.CharField(blank=True, max_length=500)),
                        ('bidder', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='accounts.organisation')),
                    ],
                    options={
                        'db_table': 'bidding_confirmation',
                    },
                ),
                migrations.CreateModel(
                    name='CustodianShare',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('share', models.JSONField()),
                        ('submitted_at', models.DateTimeField()),
                        ('custodian', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'bidding_custodianshare',
                    },
                ),
                migrations.CreateModel(
                    name='Objection',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('text', models.TextField()),
                        ('raised_at', models.DateTimeField()),
                        ('answer', models.TextField(blank=True)),
                        ('answered_at', models.DateTimeField(blank=True, null=True)),
                        ('answered_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('bidder', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='accounts.organisation')),
                        ('raised_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'bidding_objection',
                        'ordering': ['raised_at'],
                    },
                ),
                migrations.AddField(
                    model_name='openingsession',
                    name='tender',
                    field=models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='opening', to='tenders.tender'),
                ),
                migrations.AddField(
                    model_name='objection',
                    name='session',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='objections', to='opening.openingsession'),
                ),
                migrations.AddField(
                    model_name='custodianshare',
                    name='session',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='shares', to='opening.openingsession'),
                ),
                migrations.AddField(
                    model_name='confirmation',
                    name='session',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='confirmations', to='opening.openingsession'),
                ),
                migrations.AddField(
                    model_name='bidopening',
                    name='session',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='bids', to='opening.openingsession'),
                ),
                migrations.AddField(
                    model_name='openingsignin',
                    name='bidder',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='accounts.organisation'),
                ),
                migrations.AddField(
                    model_name='openingsignin',
                    name='session',
                    field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.CASCADE, related_name='signins', to='opening.openingsession'),
                ),
                migrations.AddField(
                    model_name='openingsignin',
                    name='tender',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='signins', to='tenders.tender'),
                ),
                migrations.AddField(
                    model_name='openingsignin',
                    name='user',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
                ),
                migrations.AddConstraint(
                    model_name='custodianshare',
                    constraint=models.UniqueConstraint(fields=('session', 'custodian'), name='one_share_per_custodian'),
                ),
                migrations.AddConstraint(
                    model_name='confirmation',
                    constraint=models.UniqueConstraint(fields=('session', 'bidder'), name='one_confirmation'),
                ),
                migrations.AddConstraint(
                    model_name='openingsignin',
                    constraint=models.UniqueConstraint(fields=('tender', 'bidder'), name='one_signin_per_bidder'),
                ),
            ],
        ),
    ]
