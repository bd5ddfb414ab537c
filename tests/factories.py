"""Factories for tests. Tenders are built through the services, so every test tender
has passed the same rules a real one does and has its audit events."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

import factory
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts import credit_code
from accounts import services as account_services
from accounts.models import Organisation, PublicKey, Role, User
from bidding.tenders import services
from bidding.tenders.models import Tender
from crypto import keys as crypto_keys

_codes = itertools.count(1)

PASSWORD = "correct-horse-battery"


def new_credit_code() -> str:
    return credit_code.make(f"91350100MA{next(_codes):07d}")


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"测试单位{n}有限公司")
    name_en = factory.Sequence(lambda n: f"Test Company {n}")
    credit_code = factory.LazyFunction(new_credit_code)
    kind = Organisation.Kind.BIDDER


KIND_FOR_ROLE = {
    Role.TENDERER: Organisation.Kind.TENDERER,
    Role.BIDDER: Organisation.Kind.BIDDER,
    Role.SUPERVISOR: Organisation.Kind.SUPERVISOR,
    Role.OPERATOR: Organisation.Kind.TRADING_CENTRE,
    Role.EXPERT: Organisation.Kind.OTHER,
    Role.NOTARY: Organisation.Kind.OTHER,
}


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.BIDDER
    organisation = factory.LazyAttribute(lambda o: OrganisationFactory(kind=KIND_FOR_ROLE[o.role]))
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


def tenderer(**kw) -> User:
    return UserFactory(role=Role.TENDERER, **kw)


def bidder(**kw) -> User:
    return UserFactory(role=Role.BIDDER, **kw)


def supervisor(**kw) -> User:
    return UserFactory(role=Role.SUPERVISOR, **kw)


def operator(**kw) -> User:
    return UserFactory(role=Role.OPERATOR, **kw)


def expert(**kw) -> User:
    return UserFactory(role=Role.EXPERT, **kw)


def tender_input(now=None, **overrides) -> services.TenderInput:
    """A valid tender, relative to ``now``: deadline 25 days out, bond at 1%."""
    now = now or timezone.now()
    values = dict(
        project_code="FZ-TEST-001",
        project_name="测试道路工程",
        title="测试道路改造工程施工招标",
        title_en="Test Road Reconstruction Works",
        region="350100",
        category="works_municipal",
        estimate=Decimal("10000000.00"),
        max_price=Decimal("9800000.00"),
        bond_amount=Decimal("100000.00"),
        docs_from=now,
        docs_until=now + timedelta(days=7),
        deadline=now + timedelta(days=25),
        evaluation_method="comprehensive",
        price_formula="benchmark_deviation",
        price_formula_params={"full_score": "30", "k_above": "1.2", "k_below": "0.8"},
        award_method="first_ranked",
        lots=[services.LotInput(name="第1标段")],
        criteria=default_criteria(),
    )
    values.update(overrides)
    return services.TenderInput(**values)


def pdf_upload(
    name="招标文件.pdf", content=b"%PDF-1.4 test document\n%%EOF\n"
) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def draft_tender(user=None, now=None, with_document=True, **overrides) -> Tender:
    """A draft ready to publish (the custodians it needs are registered too)."""
    ensure_custodians()
    user = user or tenderer()
    tender = services.tender_create(user=user, data=tender_input(now=now, **overrides))
    if with_document:
        services.document_add(user=user, tender=tender, upload=pdf_upload())
    return tender


# Private keys of test custodians and bidders, as their own machines would hold them.
PRIVATE_KEYS: dict[str, object] = {}
# Custodians' signing keys (purpose custodian_signing), as their machines hold them.
SIGNING_KEYS: dict[str, object] = {}


def register_key(user, purpose: str):
    """Make a P-256 key on the user's side and register its public half."""
    private = crypto_keys.generate_private_key()
    account_services.public_key_register(
        user=user, point=crypto_keys.public_key_bytes(private.public_key()), purpose=purpose
    )
    if purpose == "custodian_signing":
        SIGNING_KEYS[user.username] = private
    else:
        PRIVATE_KEYS[user.username] = private
    return private


def ensure_custodians(n: int = 3) -> list[User]:
    """The trading centre, a supervisor and a notary, each with a custodian key and a
    custodian signing key."""
    have = list(
        User.objects.filter(
            public_keys__purpose=PublicKey.Purpose.CUSTODIAN, public_keys__active=True
        ).distinct()
    )
    roles = [Role.OPERATOR, Role.SUPERVISOR, Role.NOTARY]
    while len(have) < n:
        role = roles[len(have) % 3]
        user = UserFactory(role=role)
        register_key(user, "custodian")
        have.append(user)
    for user in have:
        _ensure_signing_key(user)
    return have


def _ensure_signing_key(user):
    active = PublicKey.objects.filter(
        user=user, purpose=PublicKey.Purpose.CUSTODIAN_SIGNING, active=True
    ).first()
    if active is None or user.username not in SIGNING_KEYS:
        register_key(user, "custodian_signing")
    return SIGNING_KEYS[user.username]


def endorse_all(tender: Tender) -> None:
    """Every custodian of the tender endorses its current custodian set, as each
    custodian's own tool does (``python -m ggzy_bid custodian-endorse``)."""
    import base64

    from bidding.tenders import custody
    from crypto import custody as wire

    stmt = custody.statement(tender)
    for seat in custody.seats(tender):
        key = _ensure_signing_key(seat.custodian)
        custody.endorsement_add(user=seat.custodian, tender=tender,
                                signature=base64.b64encode(wire.endorse(key, stmt)).decode())


def trust_file() -> bytes:
    """A custodian trust file pinning every test custodian's signing key."""
    from crypto import custody as wire

    return wire.trust_file({name: key.public_key() for name, key in SIGNING_KEYS.items()})


def custodian_share(tender: Tender, custodian: User) -> dict:
    """What a custodian's tool hands over at the opening: its decrypted shares of every
    bid still pending (format v2), and its legacy opening-key share (v1 bids)."""
    import base64

    from bidding.bids.models import Bid
    from crypto import custody as wire
    from crypto import envelope
    from crypto import threshold as legacy

    private = PRIVATE_KEYS[custodian.username]
    bids = {}
    for bid in Bid.objects.filter(tender=tender, status="submitted"):
        pending = getattr(bid, "opening", None)
        if pending is not None and pending.status != "pending":
            continue
        with bid.envelope.open("rb") as fh:
            header = envelope.read_header(fh)
        if header.version != envelope.VERSION_CUSTODY:
            continue
        x, share = wire.unwrap_share(header, private)
        _, sheet = wire.unwrap_share(bytes(bid.price_sheet), private)
        bids[bid.sha256] = {"x": x, "envelope": base64.b64encode(share).decode(),
                            "price_sheet": base64.b64encode(sheet).decode()}
    out = {"v": 2, "bids": bids}
    stored = tender.key_shares.get(custodian=custodian)
    if stored.encrypted_share:  # a legacy tender with a v1 opening key
        out["opening_key_share"] = legacy.share_decrypt(
            stored.encrypted_share, private, tender_id=tender.reference,
            custodian_id=custodian.username).to_dict()
    return out


def bidder_with_key(**kw) -> User:
    user = bidder(**kw)
    register_key(user, "bid")
    return user


def published_tender(user=None, now=None, **overrides) -> Tender:
    user = user or tenderer()
    tender = draft_tender(user=user, now=now, **overrides)
    tender = services.tender_publish(user=user, tender=tender, now=now)
    endorse_all(tender)
    return tender


def seal_for(
    tender: Tender,
    user: User,
    plaintext: bytes,
    *,
    chunk_size: int = 64 * 1024,
    tender_id: str | None = None,
    bidder_id: str | None = None,
    bidder_key=None,
    version: int = 2,
) -> bytes:
    """Seal bytes as the bidder's tool does (format v2): to the bidder's key, the data
    key split among the tender's endorsed custodian set. ``version=1`` seals the legacy
    way, to the bidder's key and the tender's opening key (only tenders published with
    ``settings.LEGACY_OPENING_KEY`` have one)."""
    import io

    from bidding.tenders import custody
    from crypto import envelope

    own = bidder_key or PRIVATE_KEYS[user.username]
    recipients = [envelope.Recipient("bidder", own.public_key())]
    plan = None
    if version == 1:
        recipients.append(envelope.Recipient(
            "opening", crypto_keys.public_key_from_bytes(bytes(tender.opening_public_key))))
    else:
        if not custody.fully_endorsed(tender):
            endorse_all(tender)
        plan = envelope.Custody(
            tender.opening_threshold,
            tuple(crypto_keys.public_key_from_bytes(bytes(s.custodian_key.point))
                  for s in custody.seats(tender)),
        )
    out = io.BytesIO()
    envelope.seal(
        io.BytesIO(plaintext),
        out,
        tender_id=tender_id or tender.reference,
        bidder_id=bidder_id or user.organisation.credit_code,
        recipients=recipients,
        chunk_size=chunk_size,
        custody=plan,
    )
    return out.getvalue()


def price_sheet_for(tender: Tender, user: User, version: int = 2, **items) -> bytes:
    import json

    sheet = {
        "total_price": "9500000.00",
        "duration_days": 365,
        "quality": "合格",
        "project_manager": "张三",
        "project_manager_id": "闽135000000001",
    }
    sheet.update(items)
    return seal_for(tender, user, json.dumps(sheet, ensure_ascii=False).encode(),
                    version=version)


def submit_bid(tender: Tender, user: User, plaintext: bytes = b"BID PLAINTEXT", **kw):
    """Obtain documents if needed, upload a sealed bid in one chunk, complete it."""
    import hashlib
    import io

    from bidding.bids import services as bids
    from bidding.tenders import services as bidding_services

    bidding_services.document_obtain(user=user, tender=tender)
    blob = seal_for(tender, user, plaintext, **kw)
    upload = bids.bid_upload_start(
        user=user, tender=tender, size=len(blob),
        price_sheet=price_sheet_for(tender, user, version=kw.get("version", 2)),
    )
    for index in range(upload.chunk_count):
        piece = blob[index * upload.chunk_size : (index + 1) * upload.chunk_size]
        bids.bid_upload_chunk(
            user=user,
            upload_id=upload.public_id,
            index=index,
            stream=io.BytesIO(piece),
            length=len(piece),
            sha256=hashlib.sha256(piece).hexdigest(),
        )
    return bids.bid_upload_complete(user=user, upload_id=upload.public_id)


# --- award (helper H2) ---------------------------------------------------------------


def candidates_tender(n_candidates: int = 3, ranked: bool = True, n_bids: int = 3,
                      award_method: str = "first_ranked", decision_method: str = "",
                      committee_mode: str = "", committee_size: int | None = None,
                      vote_mode: str = "", now=None, prices=None):
    """A tender whose evaluation report stands and whose candidates are in publicity.

    Bids are sealed and submitted for real; the opening and the evaluation committee
    belong to other stages' tests, so the tender is set to ``evaluation`` directly and
    then moved ``evaluation -> candidates`` through the lifecycle (its hooks run: the
    award stage publishes the candidates). Returns ``(tender, bidders, bids)``; the
    candidates are the first ``n_candidates`` bids, ranked in that order if ``ranked``.
    """
    from bidding.evaluation.models import EvaluationReport
    from bidding.tenders import lifecycle

    now = now or timezone.now()
    tender = published_tender()
    users = [bidder_with_key() for _ in range(n_bids)]
    bids = [submit_bid(tender, u) for u in users]
    Tender.objects.filter(pk=tender.pk).update(
        status=Tender.Status.EVALUATION, award_method=award_method,
        decision_method=decision_method, award_committee_mode=committee_mode,
        award_committee_size=committee_size, vote_mode=vote_mode,
        candidates_ranked=ranked, candidate_count=n_candidates)
    tender.refresh_from_db()
    prices = prices or [Decimal("9500000.00") - 10000 * i for i in range(n_candidates)]
    EvaluationReport.objects.create(tender=tender, completed_at=now, candidates=[
        {"bid": str(b.public_id), "rank": (i + 1) if ranked else None,
         "score": f"{90 - i}.00", "price": str(prices[i])}
        for i, b in enumerate(bids[:n_candidates])])
    lifecycle.tender_transition(tender=tender, to=Tender.Status.CANDIDATES,
                                by=lifecycle.SYSTEM, now=now)
    return tender, users, bids


def award_pool(tender: Tender, n: int = 5) -> list:
    """``n`` people of the tender's tenderer in its award pool (AwardPoolMember)."""
    from bidding.award.models import AwardPoolMember

    out = []
    for i in range(n):
        person = tenderer(organisation=tender.tenderer)
        out.append(AwardPoolMember.objects.create(
            organisation=tender.tenderer, user=person, name=f"定标委员{i + 1}",
            title="高级工程师"))
    return out


# People's own signing keys (purpose ``signing``: contracts, evaluation reports), as
# their machines hold them; apart from bid keys and custodian signing keys.
PERSONAL_SIGNING_KEYS: dict[str, object] = {}


def signing_key_for(user):
    """A P-256 key on the user's side with its public half registered as the user's
    ``signing`` key through the key registration service (tenderers, bidders, experts);
    returns the private key. The same key while it stays active."""
    active = PublicKey.objects.filter(user=user, purpose=PublicKey.Purpose.SIGNING,
                                      active=True).first()
    private = PERSONAL_SIGNING_KEYS.get(user.username)
    if active is not None and private is not None and active.fingerprint == \
            crypto_keys.key_fingerprint(private.public_key()):
        return private
    private = crypto_keys.generate_private_key()
    account_services.public_key_register(
        user=user, point=crypto_keys.public_key_bytes(private.public_key()),
        purpose=PublicKey.Purpose.SIGNING)
    PERSONAL_SIGNING_KEYS[user.username] = private
    return private


def default_criteria() -> list:
    """Two pass/fail qualification criteria, two technical and one commercial (70 points;
    the price score's 30 make 100)."""
    C = services.CriterionInput
    return [
        C(stage="qualification", name="营业执照与资质证书", name_en="Licence and qualification"),
        C(stage="qualification", name="项目经理资格", name_en="Project manager"),
        C(stage="technical", name="施工组织设计", name_en="Works plan", max_score=Decimal("30")),
        C(stage="technical", name="质量安全措施", name_en="Quality and safety",
          max_score=Decimal("20")),
        C(stage="commercial", name="业绩与信誉", name_en="Record and reputation",
          max_score=Decimal("20")),
    ]


def opened_tender(prices=("9500000.00", "9300000.00", "9600000.00", "9400000.00",
                          "9450000.00"), **overrides):
    """A tender in ``opened`` with one decrypted bid per price (``BidOpening.price_sheet``
    holds it), built directly: the opening's own tests cover how it gets there. Returns
    (tender, bidder users in price order)."""
    import hashlib

    from bidding.bids.models import Bid
    from bidding.opening.models import BidOpening, OpeningSession

    tender = published_tender(**overrides)
    now = timezone.now()
    session = OpeningSession.objects.create(
        tender=tender, phase=OpeningSession.Phase.CLOSED, started_at=now,
        window_ends_at=now, closed_at=now, merkle_root="0" * 64, merkle_size=len(prices))
    users = []
    for i, price in enumerate(prices):
        user = bidder()
        digest = hashlib.sha256(f"{tender.pk}-{i}".encode()).hexdigest()
        bid = Bid.objects.create(
            tender=tender, bidder=user.organisation, submitted_by=user, version=1,
            envelope=f"bids/{digest}", sha256=digest, size=1, price_sheet=b"",
            price_sheet_sha256=digest, bidder_key_fingerprint="", status=Bid.Status.SUBMITTED,
            submitted_at=now + timedelta(seconds=i), receipt={})
        BidOpening.objects.create(session=session, bid=bid, status=BidOpening.Status.DECRYPTED,
                                  decrypted_by="bidder", decrypted_at=now, announced_at=now,
                                  announce_order=i + 1,
                                  price_sheet={"total_price": str(price), "duration_days": 300})
        users.append(user)
    Tender.objects.filter(pk=tender.pk).update(status=Tender.Status.OPENED)
    tender.refresh_from_db()
    return tender, users


def complete_draw(tender, *, experts: int = 5, reps: int = 0, backups: int = 1,
                  backups_confirmed: int = 0):
    """A completed expert draw for ``tender`` (every seat confirmed and pledged), built
    directly: expert_pool's tests cover the draw itself. ``experts`` technical experts
    in one group with ``backups`` standby backups, the first ``backups_confirmed`` of them
    confirmed and pledged too (ready to replace a member). Returns (draw, seat users,
    backup draw members)."""
    from expert_pool.models import Draw, DrawMember, Expert, Specialty

    now = timezone.now()
    spec = Specialty.objects.get(code="A0201")
    draw = Draw.objects.create(
        tender=tender, requested_by=operator(), requested_at=now, status=Draw.Status.COMPLETE,
        params={"committee_size": experts + reps, "tenderer_reps": reps, "backups": backups,
                "quotas": [{"specialty": spec.code, "count": experts}]},
        groups=[{"specialty": spec.code, "count": experts, "backups": backups, "digest": "",
                 "candidates": []}],
        exclusions_digest="0" * 64, commitment="0" * 64, secret=b"s", beacon="commit_reveal",
        drawn_at=now)
    users, backup_seats = [], []
    for i in range(experts + backups):
        user = expert()
        n = next(_codes)
        ex = Expert.objects.create(code=f"E{n:06d}", name=f"评标专家{n}", user=user,
                                   title=Expert.Title.SENIOR, years_experience=12,
                                   region=tender.region, status=Expert.Status.ACTIVE)
        ex.specialties.set([spec])
        seated = i < experts or i - experts < backups_confirmed
        m = DrawMember.objects.create(
            draw=draw, expert=ex, group=0, position=i,
            status=DrawMember.Status.CONFIRMED if seated else DrawMember.Status.STANDBY,
            pledged_at=now if seated else None)
        if i < experts:
            users.append(user)
        else:
            backup_seats.append(m)
    return draw, users, backup_seats


# --- the whole procedure (helper H7) -------------------------------------------------


def submit_priced_bid(tender: Tender, user: User, price: str, plaintext: bytes | None = None):
    """Like ``submit_bid``, with the sealed price sheet quoting ``price`` (total_price)."""
    import hashlib
    import io

    from bidding.bids import services as bids
    from bidding.tenders import services as bidding_services

    bidding_services.document_obtain(user=user, tender=tender)
    blob = seal_for(tender, user, plaintext or f"投标文件 {user.username} {price}".encode())
    upload = bids.bid_upload_start(user=user, tender=tender, size=len(blob),
                                   price_sheet=price_sheet_for(tender, user, total_price=price))
    for index in range(upload.chunk_count):
        piece = blob[index * upload.chunk_size : (index + 1) * upload.chunk_size]
        bids.bid_upload_chunk(user=user, upload_id=upload.public_id, index=index,
                              stream=io.BytesIO(piece), length=len(piece),
                              sha256=hashlib.sha256(piece).hexdigest())
    return bids.bid_upload_complete(user=user, upload_id=upload.public_id)
