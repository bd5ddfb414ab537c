"""Tenders, lots, documents, amendments, clarifications and opening-key shares: moved here from the ``bidding`` app.

The tables already exist (``bidding/migrations`` 0001-0003 made them, with the names
they keep through ``db_table``), so this migration changes Django's state only and
runs no SQL: an existing database migrates forward with no data change, and a new
one gets its tables from the same history.
"""

from decimal import Decimal
from django.conf import settings
from django.db import migrations, models
import bidding.tenders.models
import django.core.validators
import django.db.models.deletion
import uuid


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('accounts', '0002_organisation_basic_account_alter_user_role_and_more'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ('bidding', '0003_opening'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='Tender',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('public_id', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                        ('reference', models.CharField(max_length=40, unique=True, verbose_name='tender number')),
                        ('project_code', models.CharField(max_length=60, verbose_name='project code')),
                        ('project_name', models.CharField(max_length=200, verbose_name='project name')),
                        ('title', models.CharField(max_length=200, verbose_name='title')),
                        ('title_en', models.CharField(blank=True, max_length=200, verbose_name='English title')),
                        ('description', models.TextField(blank=True, verbose_name='description')),
                        ('procedure_type', models.CharField(choices=[('open', 'Open tendering'), ('invited', 'Invited tendering')], default='open', max_length=20, verbose_name='procedure')),
                        ('region', models.CharField(choices=[('350100', 'Fuzhou'), ('350102', 'Gulou District, Fuzhou'), ('350103', 'Taijiang District, Fuzhou'), ('350104', 'Cangshan District, Fuzhou'), ('350105', 'Mawei District, Fuzhou'), ('350200', 'Xiamen'), ('350300', 'Putian'), ('350400', 'Sanming'), ('350500', 'Quanzhou'), ('350600', 'Zhangzhou'), ('350700', 'Nanping'), ('350800', 'Longyan'), ('350900', 'Ningde')], max_length=6, verbose_name='region')),
                        ('category', models.CharField(choices=[('works_building', 'Works: buildings'), ('works_municipal', 'Works: municipal'), ('works_transport', 'Works: transport'), ('works_water', 'Works: water conservancy'), ('goods', 'Goods'), ('services', 'Services')], max_length=30, verbose_name='category')),
                        ('currency', models.CharField(default='CNY', max_length=3, verbose_name='currency')),
                        ('estimate', models.DecimalField(decimal_places=2, max_digits=16, validators=[django.core.validators.MinValueValidator(Decimal('0.01'))], verbose_name='estimated price')),
                        ('max_price', models.DecimalField(decimal_places=2, max_digits=16, validators=[django.core.validators.MinValueValidator(Decimal('0.01'))], verbose_name='maximum bid price')),
                        ('bond_amount', models.DecimalField(decimal_places=2, default=Decimal('0'), max_digits=14, validators=[django.core.validators.MinValueValidator(Decimal('0'))], verbose_name='bid bond')),
                        ('docs_from', models.DateTimeField(verbose_name='documents obtainable from')),
                        ('docs_until', models.DateTimeField(verbose_name='documents obtainable until')),
                        ('deadline', models.DateTimeField(db_index=True, verbose_name='bid deadline and opening time')),
                        ('decryption_window_minutes', models.PositiveIntegerField(verbose_name='decryption window (minutes)')),
                        ('evaluation_method', models.CharField(choices=[('comprehensive', 'Comprehensive scoring'), ('lowest_price', 'Lowest evaluated price')], max_length=20, verbose_name='evaluation method')),
                        ('price_formula', models.CharField(choices=[('benchmark_deviation', 'Benchmark price with deviation deductions'), ('lowest_full_marks', 'Lowest valid price gets full marks')], max_length=30, verbose_name='price formula')),
                        ('price_formula_params', models.JSONField(default=dict, verbose_name='price formula parameters')),
                        ('award_method', models.CharField(choices=[('first_ranked', 'First-ranked candidate'), ('separate', 'Evaluation separate from award')], max_length=20, verbose_name='award method')),
                        ('decision_method', models.CharField(blank=True, choices=[('vote', 'Vote'), ('lottery', 'Lottery'), ('vote_then_lottery', 'Vote, then lottery'), ('price_competition', 'Price competition'), ('deliberation', 'Collective deliberation')], max_length=20, verbose_name='award decision method')),
                        ('price_sheet_items', models.JSONField(blank=True, default=list, help_text="Extra items each bidder's sealed price sheet must state, besides the standard ones.", verbose_name='price sheet items')),
                        ('decryption_fallback', models.CharField(choices=[('custodians', 'Custodians open it with the opening key'), ('not_opened', 'It is not opened (revoked or withdrawn, by fault)')], default='custodians', max_length=20, verbose_name='if a bidder fails to decrypt')),
                        ('announce_mode', models.CharField(choices=[('as_decrypted', 'Each bid as it is decrypted'), ('at_close', 'All bids when the decryption window closes')], default='as_decrypted', max_length=20, verbose_name='price announcement')),
                        ('public_opening', models.BooleanField(default=True, verbose_name='the public may watch the opening')),
                        ('opening_public_key', models.BinaryField(blank=True, max_length=65, null=True)),
                        ('opening_key_fingerprint', models.CharField(blank=True, max_length=64)),
                        ('opening_threshold', models.PositiveSmallIntegerField(blank=True, null=True)),
                        ('status', models.CharField(choices=[('draft', 'Draft'), ('published', 'Bidding open'), ('bidding_closed', 'Bidding closed'), ('opening', 'Opening'), ('opened', 'Opened'), ('evaluation', 'Under evaluation'), ('candidates', 'Candidates in publicity'), ('award', 'Award decision'), ('awarded', 'Awarded'), ('contracted', 'Contract signed'), ('cancelled', 'Cancelled'), ('failed', 'Failed'), ('suspended', 'Suspended')], db_index=True, default='draft', max_length=20, verbose_name='status')),
                        ('suspended_from', models.CharField(blank=True, max_length=20)),
                        ('status_changed_at', models.DateTimeField(blank=True, null=True)),
                        ('published_at', models.DateTimeField(blank=True, db_index=True, null=True, verbose_name='published at')),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('agency', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='agency_tenders', to='accounts.organisation', verbose_name='tendering agency')),
                        ('created_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('tenderer', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='tenders', to='accounts.organisation', verbose_name='tenderer')),
                    ],
                    options={
                        'verbose_name': 'tender',
                        'verbose_name_plural': 'tenders',
                        'db_table': 'bidding_tender',
                        'ordering': ['-published_at', '-created_at'],
                    },
                ),
                migrations.CreateModel(
                    name='Clarification',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('question', models.TextField(verbose_name='question')),
                        ('asked_at', models.DateTimeField(verbose_name='asked at')),
                        ('answer', models.TextField(blank=True, verbose_name='answer')),
                        ('answered_at', models.DateTimeField(blank=True, null=True, verbose_name='answered at')),
                        ('answered_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('asked_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('tender', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='clarifications', to='tenders.tender')),
                    ],
                    options={
                        'db_table': 'bidding_clarification',
                        'ordering': ['asked_at', 'id'],
                    },
                ),
                migrations.CreateModel(
                    name='Amendment',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('number', models.PositiveIntegerField(verbose_name='amendment number')),
                        ('text', models.TextField(verbose_name='amendment text')),
                        ('published_at', models.DateTimeField(verbose_name='published at')),
                        ('old_deadline', models.DateTimeField(verbose_name='deadline before')),
                        ('new_deadline', models.DateTimeField(verbose_name='deadline after')),
                        ('requested_deadline', models.DateTimeField(blank=True, null=True)),
                        ('deadline_moved_by_rule', models.BooleanField(default=False, verbose_name='deadline moved by the 15-day rule')),
                        ('published_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('tender', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='amendments', to='tenders.tender')),
                    ],
                    options={
                        'db_table': 'bidding_amendment',
                        'ordering': ['number'],
                    },
                ),
                migrations.CreateModel(
                    name='TenderDocument',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=255, verbose_name='file name')),
                        ('file', models.FileField(max_length=400, upload_to=bidding.tenders.models.document_upload_to)),
                        ('sha256', models.CharField(max_length=64, verbose_name='SHA-256')),
                        ('size', models.BigIntegerField(verbose_name='size in bytes')),
                        ('content_type', models.CharField(blank=True, max_length=100)),
                        ('uploaded_at', models.DateTimeField(verbose_name='uploaded at')),
                        ('amendment', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='documents', to='tenders.amendment')),
                        ('tender', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='documents', to='tenders.tender')),
                        ('uploaded_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'bidding_tenderdocument',
                        'ordering': ['uploaded_at', 'id'],
                    },
                ),
                migrations.CreateModel(
                    name='TenderKeyShare',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('x', models.PositiveSmallIntegerField()),
                        ('encrypted_share', models.JSONField()),
                        ('custodian', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('custodian_key', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='accounts.publickey')),
                        ('tender', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='key_shares', to='tenders.tender')),
                    ],
                    options={
                        'db_table': 'bidding_tenderkeyshare',
                        'ordering': ['x'],
                    },
                ),
                migrations.CreateModel(
                    name='Lot',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('number', models.PositiveIntegerField(verbose_name='lot number')),
                        ('name', models.CharField(max_length=200, verbose_name='lot name')),
                        ('estimate', models.DecimalField(blank=True, decimal_places=2, max_digits=16, null=True, verbose_name='lot estimate')),
                        ('tender', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='lots', to='tenders.tender')),
                    ],
                    options={
                        'db_table': 'bidding_lot',
                        'ordering': ['number'],
                        'constraints': [models.UniqueConstraint(fields=('tender', 'number'), name='lot_number_unique')],
                    },
                ),
                migrations.CreateModel(
                    name='DocumentRegistration',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('obtained_at', models.DateTimeField(verbose_name='obtained at')),
                        ('organisation', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='registrations', to='accounts.organisation')),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('tender', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='registrations', to='tenders.tender')),
                    ],
                    options={
                        'db_table': 'bidding_documentregistration',
                        'ordering': ['obtained_at'],
                        'constraints': [models.UniqueConstraint(fields=('tender', 'organisation'), name='one_registration_per_org')],
                    },
                ),
                migrations.AddConstraint(
                    model_name='amendment',
                    constraint=models.UniqueConstraint(fields=('tender', 'number'), name='amendment_number_unique'),
                ),
                migrations.AddConstraint(
                    model_name='tenderkeyshare',
                    constraint=models.UniqueConstraint(fields=('tender', 'custodian'), name='one_share_each'),
                ),
            ],
        ),
    ]
