"""Demo data: organisations and users of every role, and tenders in several states.

Everything goes through the services, so the demo's audit chain verifies like any
other. Used by ``manage.py load_demo`` and by browser tests.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from accounts import credit_code
from accounts.models import Organisation, Role, User
from bidding.tenders import lifecycle, services
from bidding.tenders.models import Tender

DEMO_PASSWORD = "ggzy-demo-2026"

ORGANISATIONS = [
    # (key, name, English name, kind, 17-character prefix)
    (
        "centre",
        "福州市公共资源交易中心",
        "Fuzhou Public Resource Trading Centre",
        "trading_centre",
        "12350100MB0000001",
    ),
    (
        "supervisor",
        "福州市住房和城乡建设局",
        "Fuzhou Housing and Urban-Rural Development Bureau",
        "supervisor",
        "11350100MB0000002",
    ),
    (
        "tenderer",
        "福州市城市建设投资集团有限公司",
        "Fuzhou Urban Construction Investment Group",
        "tenderer",
        "91350100MA0000003",
    ),
    ("tenderer2", "福州市第一中学", "Fuzhou No. 1 Middle School", "tenderer", "12350100MB0000004"),
    (
        "agency",
        "福建华信招标代理有限公司",
        "Fujian Huaxin Tendering Agency",
        "agency",
        "91350100MA0000005",
    ),
    (
        "b1",
        "福建建工集团有限责任公司",
        "Fujian Construction Engineering Group",
        "bidder",
        "91350000MA0000011",
    ),
    ("b2", "中建海峡建设发展有限公司", "CSCEC Strait Construction", "bidder", "91350000MA0000012"),
    ("b3", "福州市政工程有限公司", "Fuzhou Municipal Engineering", "bidder", "91350100MA0000013"),
    ("b4", "闽江路桥建设有限公司", "Minjiang Road and Bridge", "bidder", "91350100MA0000014"),
    (
        "b5",
        "榕城水利水电工程有限公司",
        "Rongcheng Water Conservancy",
        "bidder",
        "91350100MA0000015",
    ),
    ("uni", "福州大学", "Fuzhou University", "other", "12350000MB0000016"),
    ("notary", "福州市公证处", "Fuzhou Notary Office", "other", "12350100MB0000017"),
]

USERS = [
    # (username, display name, role, organisation key)
    ("operator", "林晓 (交易中心)", Role.OPERATOR, "centre"),
    ("supervisor", "陈明 (监督)", Role.SUPERVISOR, "supervisor"),
    ("tenderer", "王芳 (招标人)", Role.TENDERER, "tenderer"),
    ("school", "黄磊 (招标人)", Role.TENDERER, "tenderer2"),
    ("agency", "郑洁 (代理)", Role.TENDERER, "agency"),
    ("bidder1", "张伟 (投标人)", Role.BIDDER, "b1"),
    ("bidder2", "李娜 (投标人)", Role.BIDDER, "b2"),
    ("bidder3", "刘强 (投标人)", Role.BIDDER, "b3"),
    ("bidder4", "吴静 (投标人)", Role.BIDDER, "b4"),
    ("bidder5", "周杰 (投标人)", Role.BIDDER, "b5"),
    ("expert1", "赵教授 (专家)", Role.EXPERT, "uni"),
    ("expert2", "钱工 (专家)", Role.EXPERT, "uni"),
    ("expert3", "孙高工 (专家)", Role.EXPERT, "uni"),
    ("expert4", "李研究员 (专家)", Role.EXPERT, "uni"),
    ("tenderrep", "何工 (招标人代表)", Role.TENDERER, "tenderer"),
    ("notary", "吴公证员 (公证)", Role.NOTARY, "notary"),
]


def tender_document_pdf(title: str, reference: str) -> bytes:
    """A small tender document as a PDF, with Chinese text (reportlab's CID font)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    c.setFont("STSong-Light", 18)
    c.drawString(72, 760, "招标文件")
    c.setFont("STSong-Light", 12)
    lines = [
        title,
        f"招标编号：{reference}",
        "第一章 招标公告",
        "第二章 投标人须知",
        "第三章 评标办法",
        "第四章 合同条款及格式",
        "第五章 工程量清单",
        "第六章 技术标准和要求",
        "第七章 投标文件格式",
    ]
    for i, line in enumerate(lines):
        c.drawString(72, 720 - 22 * i, line)
    c.showPage()
    c.save()
    return buf.getvalue()


def _org(key: str) -> Organisation:
    return Organisation.objects.get(
        credit_code=credit_code.make(next(o[4] for o in ORGANISATIONS if o[0] == key))
    )


@transaction.atomic
def load_demo() -> dict:
    """Create the demo organisations, users and tenders. Idempotent: returns early if
    the demo trading centre exists."""
    if Organisation.objects.filter(credit_code=credit_code.make(ORGANISATIONS[0][4])).exists():
        return {"created": False}
    orgs = {}
    for key, name, name_en, kind, prefix in ORGANISATIONS:
        orgs[key] = Organisation.objects.create(
            name=name,
            name_en=name_en,
            kind=kind,
            credit_code=credit_code.make(prefix),
            legal_representative="（演示）",
        )
    users = {}
    for username, display, role, org_key in USERS:
        user = User(
            username=username,
            display_name=display,
            role=role,
            organisation=orgs[org_key],
            email=f"{username}@demo.ggzy.local",
        )
        user.set_password(DEMO_PASSWORD)
        user.save()
        users[username] = user
    User.objects.create_superuser(
        "admin",
        "admin@demo.ggzy.local",
        DEMO_PASSWORD,
        role=Role.OPERATOR,
        organisation=orgs["centre"],
        display_name="Platform administrator",
    )
    # The school mandates the agency that files its tender below (委托代理), and the
    # agency accepts: without that mandate in force it could not act for the school.
    from accounts.services import mandate_accept, mandate_grant

    mandate_accept(user=users["agency"], mandate=mandate_grant(
        user=users["school"], agency=orgs["agency"]))
    # Keys made "on each person's side": in the demo their private halves are written
    # to var/demo-keys/, encrypted with the demo password. A real custodian or bidder
    # keeps them on their own machine; the platform never holds them.
    private = {}
    for username in ("operator", "supervisor", "notary"):
        private[username] = _demo_key(users[username], "custodian")
        _demo_key(users[username], "custodian_signing")
    _demo_trust_file(users)
    for n, username in enumerate(("bidder1", "bidder2", "bidder3", "bidder4", "bidder5"), 1):
        org = users[username].organisation
        org.basic_account = f"6217 0018 0000 1234 {n:03d}"
        org.save(update_fields=["basic_account"])
        private[username] = _demo_key(users[username], "bid")

    now = timezone.now()
    specs = [
        dict(
            user="tenderer",
            title="福州市晋安区凤坂路道路改造工程施工",
            title_en="Fengban Road Reconstruction Works, Jin'an District",
            project="凤坂路道路改造工程",
            region="350100",
            category="works_municipal",
            estimate="38500000",
            days=28,
            award="separate",
            decision="vote_then_lottery",
        ),
        dict(
            user="tenderer",
            title="闽江北岸防洪堤加固工程（二期）",
            title_en="Minjiang North Bank Flood Levee Reinforcement, Phase II",
            project="闽江北岸防洪堤加固工程",
            region="350102",
            category="works_water",
            estimate="126000000",
            days=35,
            award="first_ranked",
            decision="",
            lots=2,
        ),
        dict(
            user="school",
            title="福州市第一中学教学楼改扩建工程",
            title_en="Fuzhou No. 1 Middle School Teaching Building Extension",
            project="教学楼改扩建工程",
            region="350103",
            category="works_building",
            estimate="52300000",
            days=21,
            award="separate",
            decision="vote",
            ago=12,
        ),
        dict(
            user="agency",
            title="福州市第一中学智慧教室设备采购",
            title_en="Smart Classroom Equipment for Fuzhou No. 1 Middle School",
            project="智慧教室设备采购",
            region="350103",
            category="goods",
            estimate="4800000",
            days=22,
            award="first_ranked",
            decision="",
            tenderer_org="tenderer2",
        ),
        dict(
            user="tenderer",
            title="福州地铁4号线沿线绿化养护服务",
            title_en="Landscape Maintenance along Metro Line 4",
            project="地铁4号线绿化养护",
            region="350100",
            category="services",
            estimate="9600000",
            days=30,
            award="first_ranked",
            decision="",
        ),
    ]
    tenders = []
    for i, spec in enumerate(specs, start=1):
        published = now - timedelta(days=spec.get("ago", 0))
        tenders.append(_demo_tender(users[spec["user"]], spec, i, published, orgs))

    # One clarification answered, one amendment that moves the deadline by the rule.
    bidder = users["bidder1"]
    first = tenders[0]
    for username in ("bidder1", "bidder2", "bidder3"):
        services.document_obtain(user=users[username], tender=first)
    question = services.clarification_ask(
        user=bidder,
        tender=first,
        question="工程量清单第3.2项沥青混凝土面层厚度与图纸不一致，以哪个为准？",
    )
    services.clarification_answer(
        user=users["tenderer"],
        tender=first,
        clarification=question,
        answer="以施工图纸为准（厚度 6cm），工程量清单将随补遗更正。",
    )
    # Published 12 days ago with 9 days left: this amendment moves the deadline.
    services.amendment_publish(
        user=users["school"],
        tender=tenders[2],
        text="第五章工程量清单第12项“外墙保温”改为岩棉板，详见更正后的清单。",
        files=[
            SimpleUploadedFile(
                "工程量清单（更正）.pdf",
                tender_document_pdf(tenders[2].title, tenders[2].reference),
                content_type="application/pdf",
            )
        ],
    )
    # A tender whose deadline has passed: published in the past, closed by the clock.
    closed = _demo_tender(
        users["tenderer"],
        dict(
            title="福州市鼓楼区老旧小区改造提升工程（三标段）",
            title_en="Gulou Old Residential Area Renovation, Section 3",
            project="老旧小区改造提升工程",
            region="350102",
            category="works_building",
            estimate="21800000",
            days=21,
            award="first_ranked",
            decision="",
        ),
        6,
        now - timedelta(days=23),
        orgs,
    )
    lifecycle.advance_by_clock(now=now)
    # A tender closing soon after start-up, with three sealed bids: its opening follows.
    soon = _demo_tender(users["tenderer"], dict(
        title="福州市台江区排涝泵站改造工程", title_en="Taijiang Drainage Pumping Station Upgrade",
        project="排涝泵站改造工程", region="350103", category="works_water",
        estimate="12600000", days=21, award="first_ranked", decision="", exact=True), 8,
        now + timedelta(minutes=30) - timedelta(days=21), orgs)
    for username, price, manager in (("bidder1", "11980000.00", "陈建国"),
                                     ("bidder2", "12150000.00", "林志强"),
                                     ("bidder3", "11860000.00", "黄立新")):
        _demo_bid(soon, users[username], private[username], price, manager)
    # A draft only its tenderer sees.
    draft = _demo_tender(
        users["tenderer"],
        dict(
            title="福州市仓山区污水管网完善工程（草稿）",
            title_en="Cangshan Sewer Network (draft)",
            project="污水管网完善工程",
            region="350104",
            category="works_municipal",
            estimate="17000000",
            days=30,
            award="first_ranked",
            decision="",
        ),
        7,
        now,
        orgs,
        publish=False,
    )
    # The demo experts join the pool first; the tenders at the later stages draw their
    # committees from it before the seeded pool (experts without platform accounts, who
    # could not evaluate remotely) is added.
    _demo_experts(users)
    stages = _demo_later_stages(users, private, orgs, now)
    _demo_seed_pool()
    from audit.services import audit_checkpoint

    audit_checkpoint()
    return {
        "created": True,
        "tenders": Tender.objects.count(),
        "closed": closed.reference,
        "draft": draft.reference,
        "stages": stages,
    }


def demo_keys_dir() -> Path:
    return Path(settings.VAR_DIR) / "demo-keys"


def _demo_key(user, purpose: str):
    """Make a key as the person's own tool would, keep its private half in
    var/demo-keys/<username>.pem (passphrase: the demo password), register the public."""
    from accounts.services import public_key_register
    from crypto import keys

    key = keys.generate_private_key()
    folder = demo_keys_dir()
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{user.username}-signing" if purpose == "custodian_signing" else user.username
    (folder / f"{name}.pem").write_bytes(
        keys.private_key_to_pem(key, DEMO_PASSWORD.encode()))
    (folder / f"{name}.pub").write_bytes(keys.public_key_to_pem(key.public_key()))
    public_key_register(user=user, point=keys.public_key_bytes(key.public_key()),
                        purpose=purpose, label="demo")
    return key


def _demo_trust_file(users) -> None:
    """var/demo-keys/custodians.json: the trust file a trading centre hands bidders out
    of band (``python -m ggzy_bid pin-custodians var/demo-keys/custodians.json``)."""
    from crypto import custody, keys

    pinned = {}
    for username in ("operator", "supervisor", "notary"):
        pem = (demo_keys_dir() / f"{username}-signing.pub").read_bytes()
        pinned[users[username].get_username()] = keys.public_key_from_pem(pem)
    (demo_keys_dir() / "custodians.json").write_bytes(custody.trust_file(pinned))


def _demo_endorse(tender) -> None:
    """Each demo custodian endorses the tender's custodian set with its signing key, as
    its own tool does (``python -m ggzy_bid custodian-endorse``)."""
    import base64

    from bidding.tenders import custody
    from crypto import custody as wire
    from crypto import keys

    stmt = custody.statement(tender)
    for seat in custody.seats(tender):
        path = demo_keys_dir() / f"{seat.custodian.get_username()}-signing.pem"
        key = keys.private_key_from_pem(path.read_bytes(), DEMO_PASSWORD.encode())
        custody.endorsement_add(user=seat.custodian, tender=tender,
                                signature=base64.b64encode(wire.endorse(key, stmt)).decode())


def _demo_bid(tender, user, private_key, price: str, manager: str, now=None):
    """Seal and submit a bid exactly as the bidder's tool does (at ``now``, default the
    present)."""
    import hashlib
    import json

    from bidding.bids import services as bids
    from crypto import envelope, keys

    # The documents were obtained during their period, weeks ago in this story.
    services.document_obtain(user=user, tender=tender,
                             now=tender.docs_from + timedelta(hours=2))
    from bidding.tenders import custody

    # Format v2: to the bidder's key, the data key split among the endorsed custodians.
    recipients = [envelope.Recipient("bidder", private_key.public_key())]
    plan = envelope.Custody(tender.opening_threshold, tuple(
        keys.public_key_from_bytes(bytes(s.custodian_key.point)) for s in custody.seats(tender)))
    ids = {"tender_id": tender.reference, "bidder_id": user.organisation.credit_code}
    body = envelope.seal_bytes(
        f"{user.organisation.name} 投标文件（演示）\n投标报价：{price} 元\n".encode() * 200,
        recipients=recipients, custody=plan, **ids)
    sheet = envelope.seal_bytes(json.dumps({
        "total_price": price, "duration_days": 540, "quality": "合格",
        "project_manager": manager, "project_manager_id": f"闽1352020{len(manager):06d}",
        "items": {}}, ensure_ascii=False).encode(), recipients=recipients, custody=plan, **ids)
    upload = bids.bid_upload_start(user=user, tender=tender, size=len(body), price_sheet=sheet,
                                   claims={"tool": "demo", "machine_fingerprint":
                                           hashlib.sha256(user.username.encode()).hexdigest()},
                                   now=now)
    for index in range(upload.chunk_count):
        piece = body[index * upload.chunk_size:(index + 1) * upload.chunk_size]
        bids.bid_upload_chunk(user=user, upload_id=upload.public_id, index=index,
                              stream=io.BytesIO(piece), length=len(piece), sha256=None,
                              now=now)
    return bids.bid_upload_complete(user=user, upload_id=upload.public_id, now=now)


def _demo_tender(user, spec, i, now, orgs, publish=True) -> Tender:
    estimate = Decimal(spec["estimate"])
    lots = [
        services.LotInput(
            name=f"第{n}标段", estimate=(estimate / spec.get("lots", 1)).quantize(Decimal("0.01"))
        )
        for n in range(1, spec.get("lots", 1) + 1)
    ]
    data = services.TenderInput(
        project_code=f"FZ-2026-{1000 + i}",
        project_name=spec["project"],
        title=spec["title"],
        title_en=spec["title_en"],
        description="本项目已具备招标条件，现对该项目进行公开招标。投标人须在投标截止时间前通过本平台递交加密投标文件。",
        region=spec["region"],
        category=spec["category"],
        estimate=estimate,
        max_price=(estimate * Decimal("0.97")).quantize(Decimal("0.01")),
        bond_amount=min(Decimal("800000"), (estimate * Decimal("0.02")).quantize(Decimal("1"))),
        docs_from=now,
        docs_until=now + timedelta(days=7),
        deadline=(now + timedelta(days=spec["days"])).replace(
            minute=30, second=0, microsecond=0) if not spec.get("exact") else
        (now + timedelta(days=spec["days"])).replace(microsecond=0),
        evaluation_method="comprehensive" if spec["category"] != "goods" else "lowest_price",
        price_formula="benchmark_deviation" if spec["category"] != "goods" else "lowest_full_marks",
        price_formula_params={
            "float": "0.00",
            "k_above": "1.2",
            "k_below": "0.8",
            "full_score": "40",
        },
        award_method=spec["award"],
        decision_method=spec["decision"],
        award_committee_mode="drawn" if spec["award"] == "separate" else "",
        award_committee_size=5 if spec["award"] == "separate" else None,
        vote_mode="direct" if spec["decision"] in ("vote", "vote_then_lottery") else "",
        criteria=[
            services.CriterionInput(stage="qualification", name="资格条件",
                                    name_en="Qualification"),
            services.CriterionInput(stage="technical", name="技术方案",
                                    name_en="Technical proposal", max_score=Decimal("40")),
            services.CriterionInput(stage="commercial", name="商务条款",
                                    name_en="Commercial terms", max_score=Decimal("20")),
        ],
        lots=lots,
        tenderer_org=orgs[spec["tenderer_org"]] if spec.get("tenderer_org") else None,
    )
    tender = services.tender_create(user=user, data=data)
    pdf = tender_document_pdf(tender.title, tender.reference)
    services.document_add(
        user=user,
        tender=tender,
        upload=SimpleUploadedFile("招标文件.pdf", pdf, content_type="application/pdf"),
    )
    if publish:
        services.tender_publish(user=user, tender=tender, now=now)
        _demo_endorse(tender)
    return tender


# Demo experts: their specialties, so that a committee of 3 road experts and 1 cost
# expert (with one representative of the tenderer: 5 members, Law 37) can be drawn.
DEMO_EXPERTS = {"expert1": ["A0201", "A0202"], "expert2": ["A0201"], "expert3": ["D01"],
                "expert4": ["A0201"]}
# Who to sign in as to see each later stage (printed by ``manage.py load_demo``).
STAGE_ACCOUNTS = {
    "evaluation": ("expert1", "expert2", "expert3", "expert4", "tenderrep", "tenderer",
                   "operator", "supervisor"),
    "candidates": ("tenderer", "bidder1", "bidder2", "bidder3", "bidder4", "supervisor"),
    "awarded": ("tenderer", "bidder1", "bidder2", "bidder3", "bidder4", "supervisor"),
}


def _demo_experts(users) -> None:
    """The demo experts apply and are admitted through the pool's own services, each
    with a signing key (pledges and evaluation reports are signed with it)."""
    from expert_pool import services as pool

    for username, codes in DEMO_EXPERTS.items():
        user = users[username]
        expert = pool.expert_apply(
            user=user, name=user.display_name.split(" ")[0], title="senior",
            years_experience=12, region="350100", specialties=codes,
            email=f"{username}@example.cn")
        pool.expert_admit(user=users["operator"], expert=expert)
        _demo_key(user, "signing")
    _demo_key(users["tenderrep"], "signing")


def _demo_seed_pool() -> None:
    """A small pool to draw from (a seeded 200, as the benchmark seeds 100,000)."""
    from django.core.management import call_command

    call_command("seed_experts", experts=200, bidders=5, seed=2026, stdout=io.StringIO())


def _demo_signature(user, label: bytes, message: bytes) -> str:
    """Sign as the person's own tool does, with the key kept in var/demo-keys/."""
    import base64

    from crypto import keys, signing

    pem = (demo_keys_dir() / f"{user.username}.pem").read_bytes()
    key = keys.private_key_from_pem(pem, DEMO_PASSWORD.encode())
    return base64.b64encode(signing.sign(key, label, message)).decode()


def _demo_open(tender, users, private, bids, at) -> datetime:
    """The deadline passes (``at``), the bidders decrypt in the window, two confirm the
    record and the others are deemed to: the tender is opened. Returns the time after."""
    from bidding.opening import services as opening
    from crypto import envelope

    lifecycle.tender_transition(tender=tender, to=Tender.Status.BIDDING_CLOSED,
                                by=lifecycle.CLOCK, now=at)
    session = opening.opening_start(tender_id=tender.pk, now=at)
    for username, bid in bids.items():
        key = private[username]
        with bid.envelope.open("rb") as fh:
            bid_key = envelope.unwrap_data_key(fh, key, label="bidder")
        sheet_key = envelope.unwrap_data_key(bytes(bid.price_sheet), key, label="bidder")
        opening.opening_decrypt(user=users[username], tender=tender, bid_key=bid_key.hex(),
                                price_sheet_key=sheet_key.hex(),
                                now=at + timedelta(minutes=5))
    opening.opening_close_window(tender_id=tender.pk, now=session.window_ends_at)
    session.refresh_from_db()
    for username in list(bids)[:2]:
        opening.opening_confirm(user=users[username], tender=tender, remark="无异议",
                                now=session.window_ends_at + timedelta(minutes=1))
    opening.opening_finish(tender_id=tender.pk, now=session.confirm_until)
    return session.confirm_until


def _demo_draw(tender, users, at):
    """The trading centre draws the committee (3 road experts, 1 cost expert, one seat
    for the tenderer's representative); supervisor, operator and notary commit and
    reveal the beacon; the drawn experts confirm and sign the pledge with their keys."""
    from crypto import signing
    from expert_pool import draw as expert_draw
    from expert_pool import services as pool
    from expert_pool.models import DrawMember

    draw = expert_draw.draw_request(
        tender=tender, user=users["operator"], committee_size=5, tenderer_reps=1,
        quotas=[expert_draw.Quota("A0201", 3), expert_draw.Quota("D01", 1)], backups=0,
        now=at)
    values = {name: f"{name}-{tender.reference}-demo-beacon" for name in
              ("supervisor", "operator", "notary")}
    for name, value in values.items():
        expert_draw.beacon_commit(draw=draw, user=users[name], now=at,
                                  commitment=expert_draw.contribution_commitment(value))
    for name, value in values.items():
        expert_draw.beacon_reveal(draw=draw, user=users[name], value=value, now=at)
    for member in (DrawMember.objects.select_related("expert__user", "draw__tender")
                   .filter(draw=draw, status=DrawMember.Status.CALLED)):
        user = member.expert.user
        pool.member_respond(member=member, user=user, accept=True,
                            now=at + timedelta(minutes=10))
        pool.pledge_sign(member=member, user=user, now=at + timedelta(minutes=15),
                         signature_b64=_demo_signature(user, signing.DRAW,
                                                       pool.pledge_message(member)))


def _demo_sheets(committee, stage: str) -> dict:
    """What every member enters: all qualified; scores a little apart per bid."""
    from bidding.evaluation import services as evaluation

    criteria = evaluation.stage_criteria(committee.tender, stage)
    entries = {}
    for i, item in enumerate(evaluation.stage_bids(committee, stage)):
        key = evaluation.bid_key(item, stage)
        if stage == "qualification":
            entries[key] = {"criteria": {str(c.number): {"passed": True} for c in criteria},
                            "rejections": []}
        else:
            entries[key] = {str(c.number): str((c.max_score * Decimal("0.9")
                                                - Decimal("1.5") * i).quantize(Decimal("0.01")))
                            for c in criteria}
    return entries


def _demo_evaluate(tender, users, at, *, stop_after: str = ""):
    """Form the committee, elect expert1 chair, submit and lock the stages (up to
    ``stop_after``), and every member signs the report with their key."""
    from bidding.evaluation import services as evaluation
    from bidding.evaluation.models import EvaluationReport

    committee = evaluation.committee_form(tender=tender, user=users["tenderer"],
                                          tenderer_reps=[users["tenderrep"]], now=at)
    members = list(committee.members.select_related("user"))
    chair = next(m for m in members if m.user.username == "expert1")
    for m in members:
        committee.refresh_from_db()
        if committee.chair_id:
            break
        evaluation.chair_vote(committee=committee, user=m.user, candidate=chair, now=at)
    for n, stage in enumerate(("qualification", "technical", "commercial"), start=1):
        when = at + timedelta(hours=n)
        committee.refresh_from_db()
        for m in members:
            evaluation.sheet_submit(committee=committee, user=m.user, stage=stage,
                                    entries=_demo_sheets(committee, stage), now=when)
        evaluation.stage_lock(committee=committee, user=users["expert1"], stage=stage,
                              now=when)
        if stage == stop_after:
            return None
    report = EvaluationReport.objects.get(tender=tender)
    when = at + timedelta(hours=4)
    for m in members:
        evaluation.report_sign(report=report, user=m.user, now=when, signature_b64=(
            _demo_signature(m.user, evaluation.REPORT_LABEL,
                            evaluation.report_message(report))))
    report.refresh_from_db()
    return report


def _demo_later_stages(users, private, orgs, now) -> list[tuple[str, str, str]]:
    """Three tenders past their deadline, played through the real services at past
    times: one under evaluation (technical scoring open, expert1 chairs), one with its
    candidates in publicity, one awarded with its notices. Returns (stage, reference,
    title) for the command's output."""
    from bidding.award import decision

    def spec(title, title_en, project, award, decision_method=""):
        return dict(title=title, title_en=title_en, project=project, region="350102",
                    category="works_municipal", estimate="15000000", days=21, award=award,
                    decision=decision_method)

    offers = (("bidder1", "14200000.00", "陈建国"), ("bidder2", "14050000.00", "林志强"),
              ("bidder3", "14350000.00", "黄立新"), ("bidder4", "13980000.00", "吴海峰"))
    plan = [
        ("evaluation", 22, spec("福州市鼓楼区东街口人行天桥改造工程",
                                "Dongjiekou Footbridge Reconstruction, Gulou",
                                "东街口人行天桥改造工程", "separate", "vote")),
        ("candidates", 23, spec("福州市晋安区福新路排水管网改造工程",
                                "Fuxin Road Drainage Network Upgrade, Jin'an",
                                "福新路排水管网改造工程", "first_ranked")),
        ("awarded", 31, spec("福州市马尾区江滨东大道路面修复工程",
                             "Jiangbin East Avenue Resurfacing, Mawei",
                             "江滨东大道路面修复工程", "first_ranked")),
    ]
    out = []
    for n, (stage, days_ago, item) in enumerate(plan, start=20):
        published = now - timedelta(days=days_ago)
        tender = _demo_tender(users["tenderer"], item, n, published, orgs)
        bids = {u: _demo_bid(tender, users[u], private[u], price, manager,
                             now=published + timedelta(days=3))
                for u, price, manager in offers}
        at = _demo_open(tender, users, private, bids, tender.deadline)
        _demo_draw(tender, users, at + timedelta(minutes=30))
        report = _demo_evaluate(tender, users, at + timedelta(hours=2),
                                stop_after="qualification" if stage == "evaluation" else "")
        if stage == "awarded":
            tender.refresh_from_db()
            decision.award_direct(user=users["tenderer"], tender=tender,
                                  now=tender.publicity.ends_at + timedelta(hours=1))
        if stage != "evaluation" and (report is None or report.completed_at is None):
            raise RuntimeError(f"demo: the {stage} tender's evaluation report is not signed")
        out.append((stage, tender.reference, tender.title))
    return out
