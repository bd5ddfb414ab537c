"""``manage.py seed_experts``: a realistic expert pool for the benchmark and demos.

Default: 100,000 experts and the relations of 500 bidders (current and former staff,
shareholders, directors, relatives of legal representatives), employers, supervision
departments, penalties (about 1%) and calendars (about 5%). ``--experts`` and
``--bidders`` make it small for tests. Deterministic for a given ``--seed``.
"""

from __future__ import annotations

import random
import time
from datetime import date, timedelta

from django.core.management.base import BaseCommand
from django.db import connection, transaction

from accounts import credit_code
from accounts.models import Organisation, Role, User
from expert_pool.models import (
    Employment,
    Expert,
    Penalty,
    Relation,
    Specialty,
    Unavailability,
)

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"  # noqa: E501
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志文斌宇浩凯鹏辉俊峰琳婷雪晨阳海燕红玲飞鑫波宁坤"  # noqa: E501
# Fujian's prefectures weigh most (a Fuzhou centre's pool), then other provinces.
REGIONS = (["350102", "350103", "350104", "350105", "350111", "350121"] * 6
           + ["350203", "350206", "350302", "350402", "350502", "350602", "350702",
              "350802", "350902"] * 2
           + ["110101", "310101", "320102", "330102", "340102", "360102", "440103",
              "420102", "430102", "510104"])
EMPLOYER_KINDS = ["大学", "设计研究院", "工程咨询有限公司", "建设集团有限公司", "造价咨询有限公司",
                  "会计师事务所", "医院", "信息技术有限公司", "规划设计院", "水利水电勘测设计院"]


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


class Command(BaseCommand):
    help = "Seed a realistic expert pool (default 100,000 experts, 500 bidders)."

    def add_arguments(self, parser):
        parser.add_argument("--experts", type=int, default=100_000)
        parser.add_argument("--bidders", type=int, default=500)
        parser.add_argument("--employers", type=int, default=0,
                            help="employer organisations (default experts/40)")
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args, experts: int, bidders: int, employers: int, seed: int, **opts):
        rng = random.Random(seed)
        t0 = time.perf_counter()
        employers = employers or max(10, experts // 40)
        start = Organisation.objects.count() + 1
        serial = iter(range(start, start + 10_000_000))

        def org(kind, name, **kw):
            return Organisation(name=name, kind=kind, legal_representative=_name(rng),
                                credit_code=credit_code.make(f"91350100EX{next(serial):07d}"),
                                **kw)

        with transaction.atomic():
            emp = Organisation.objects.bulk_create(
                [org(Organisation.Kind.OTHER, f"福建{_name(rng)}{rng.choice(EMPLOYER_KINDS)}{i}")
                 for i in range(employers)], batch_size=2000)
            sup = Organisation.objects.bulk_create(
                [org(Organisation.Kind.SUPERVISOR, f"福州市第{i + 1}行政监督局")
                 for i in range(20)])
            bid = Organisation.objects.bulk_create(
                [org(Organisation.Kind.BIDDER, f"福建{_name(rng)}建设工程有限公司{i}")
                 for i in range(bidders)], batch_size=2000)
            base = User.objects.count()
            User.objects.bulk_create(
                [User(username=f"seed-bidder-{base + i}", role=Role.BIDDER, organisation=o,
                      password="!") for i, o in enumerate(bid)], batch_size=2000)
        self.stdout.write(f"organisations: {employers} employers, 20 supervision departments, "
                          f"{bidders} bidders ({time.perf_counter() - t0:.1f} s)")

        leaves = list(Specialty.objects.filter(children__isnull=True).exclude(
            kind=Specialty.Kind.OTHER).values_list("pk", "kind"))
        technical = [pk for pk, k in leaves if k == Specialty.Kind.TECHNICAL]
        economic = [pk for pk, k in leaves if k == Specialty.Kind.ECONOMIC]
        first = Expert.objects.count()
        through = Expert.specialties.through
        batch = 5000
        for lo in range(0, experts, batch):
            rows = []
            for n in range(lo, min(experts, lo + batch)):
                r = rng.random()
                employer = (rng.choice(emp) if r < 0.85 else rng.choice(sup) if r < 0.86
                            else rng.choice(bid) if r < 0.89 else None)
                title = rng.choices(["full_senior", "senior", "intermediate"], [25, 70, 5])[0]
                rows.append(Expert(
                    code=f"E{first + n + 1:07d}", name=_name(rng), employer=employer,
                    title=title, years_experience=rng.choice(range(5, 36)),
                    region=rng.choice(REGIONS), phone=f"13{rng.randrange(10**9):09d}",
                    status=rng.choices(["active", "suspended", "pending", "retired"],
                                       [92, 3, 3, 2])[0],
                    admission=rng.choice(["application", "recommendation", "import"])))
            with transaction.atomic():
                made = Expert.objects.bulk_create(rows, batch_size=batch)
                links = []
                for e in made:
                    pool = economic if rng.random() < 0.25 else technical
                    for pk in rng.sample(pool, rng.choice((1, 1, 2, 3))):
                        links.append(through(expert_id=e.pk, specialty_id=pk))
                through.objects.bulk_create(links, batch_size=10000, ignore_conflicts=True)
        self.stdout.write(f"experts: {experts} ({time.perf_counter() - t0:.1f} s)")

        ids = list(Expert.objects.order_by("pk").values_list("pk", flat=True)[first:])
        today = date.today()
        emps, rels, pens, cal = [], [], [], []
        for o in bid:  # the relations of each bidder
            for pk in rng.sample(ids, min(len(ids), 6)):
                emps.append(Employment(expert_id=pk, organisation=o,
                                       since=today - timedelta(days=rng.randrange(2000, 5000)),
                                       until=today - timedelta(days=rng.randrange(30, 2500))))
            for pk in rng.sample(ids, min(len(ids), 3)):
                rels.append(Relation(expert_id=pk, organisation=o, kind=rng.choice(
                    [Relation.Kind.SHAREHOLDER, Relation.Kind.DIRECTOR, Relation.Kind.RELATIVE])))
            for pk in rng.sample(ids, min(len(ids), 2)):
                rels.append(Relation(expert_id=pk, kind=Relation.Kind.LEGAL_REPRESENTATIVE,
                                     person_name=o.legal_representative))
        for pk in ids:
            r = rng.random()
            if r < 0.2:
                emps.append(Employment(expert_id=pk, organisation=rng.choice(emp),
                                       until=today - timedelta(days=rng.randrange(30, 4000))))
            if r < 0.01:
                pens.append(Penalty(expert_id=pk, reason="评标中违规", imposed_on=today -
                                    timedelta(days=rng.randrange(1, 700)),
                                    until=rng.choice([None, today + timedelta(days=300),
                                                      today - timedelta(days=10)])))
            if rng.random() < 0.05:
                s = today + timedelta(days=rng.randrange(0, 60))
                cal.append(Unavailability(expert_id=pk, start=s,
                                          end=s + timedelta(days=rng.randrange(0, 10))))
        with transaction.atomic():
            Employment.objects.bulk_create(emps, batch_size=10000)
            Relation.objects.bulk_create(rels, batch_size=10000)
            Penalty.objects.bulk_create(pens, batch_size=10000)
            Unavailability.objects.bulk_create(cal, batch_size=10000)
        if connection.vendor == "postgresql":
            # Fresh statistics, as a live database has: the draw's plans depend on them.
            with connection.cursor() as cursor:
                for model in (Expert, Expert.specialties.through, Employment, Relation,
                              Penalty, Unavailability, Organisation):
                    cursor.execute(f'ANALYZE "{model._meta.db_table}"')
        self.stdout.write(self.style.SUCCESS(
            f"seeded {experts} experts, {bidders} bidders' relations ({len(emps)} employments, "
            f"{len(rels)} relations, {len(pens)} penalties, {len(cal)} calendar entries) in "
            f"{time.perf_counter() - t0:.1f} s"))
