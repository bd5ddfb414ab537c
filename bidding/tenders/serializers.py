from __future__ import annotations

import base64
from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Organisation
from bidding.tenders import lifecycle

from .models import (
    Amendment,
    Clarification,
    Criterion,
    DocumentRegistration,
    Lot,
    Tender,
    TenderDocument,
)
from .policies import is_owner
from .services import CriterionInput, LotInput, TenderInput


class OrganisationBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organisation
        fields = ["id", "name", "name_en", "credit_code"]


class LotSerializer(serializers.ModelSerializer):
    class Meta:
        model = Lot
        fields = ["number", "name", "estimate"]
        read_only_fields = ["number"]


class CriterionSerializer(serializers.ModelSerializer):
    """An evaluation criterion the tender declares (Reg 49): ``max_score`` for scored
    stages (technical, commercial), null for pass/fail qualification criteria."""

    max_score = serializers.DecimalField(max_digits=6, decimal_places=2, required=False,
                                         allow_null=True, default=None)

    class Meta:
        model = Criterion
        fields = ["number", "stage", "name", "name_en", "description", "max_score"]
        read_only_fields = ["number"]
        extra_kwargs = {"name_en": {"required": False}, "description": {"required": False}}


class DocumentSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()
    amendment = serializers.IntegerField(source="amendment.number", allow_null=True, default=None)

    class Meta:
        model = TenderDocument
        fields = [
            "id",
            "name",
            "sha256",
            "size",
            "content_type",
            "uploaded_at",
            "amendment",
            "download_url",
        ]

    def get_download_url(self, doc) -> str:
        return f"/api/tenders/{doc.tender_id}/documents/{doc.pk}/download/"


class AmendmentSerializer(serializers.ModelSerializer):
    documents = DocumentSerializer(many=True, read_only=True)
    deadline_changed = serializers.BooleanField(read_only=True)

    class Meta:
        model = Amendment
        fields = [
            "number",
            "text",
            "published_at",
            "old_deadline",
            "new_deadline",
            "deadline_changed",
            "deadline_moved_by_rule",
            "documents",
        ]


class ClarificationSerializer(serializers.ModelSerializer):
    """Never names who asked (the asker only learns that a question is its own)."""

    mine = serializers.SerializerMethodField()

    class Meta:
        model = Clarification
        fields = ["id", "question", "asked_at", "answer", "answered_at", "mine"]

    def get_mine(self, obj) -> bool:
        user = self.context["request"].user
        return bool(user.is_authenticated and obj.asked_by_id == user.pk)


class TransitionSerializer(serializers.Serializer):
    target = serializers.CharField()
    label = serializers.CharField()
    by = serializers.ListField(child=serializers.CharField())


class OpeningKeySerializer(serializers.Serializer):
    public_key = serializers.CharField(help_text="Base64 of the 65-byte P-256 point")
    fingerprint = serializers.CharField(help_text="SHA-256 hex of the point")
    threshold = serializers.IntegerField(help_text="Custodian shares needed to open")
    custodians = serializers.ListField(child=serializers.CharField())


class TenderSerializer(serializers.ModelSerializer):
    tenderer = OrganisationBriefSerializer(read_only=True)
    opening_key = serializers.SerializerMethodField()
    envelope_ids = serializers.SerializerMethodField()
    agency = OrganisationBriefSerializer(read_only=True)
    lots = LotSerializer(many=True, read_only=True)
    criteria = CriterionSerializer(many=True, read_only=True)
    opening_time = serializers.DateTimeField(read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = Tender
        fields = [
            "id",
            "reference",
            "url",
            "status",
            "status_label",
            "project_code",
            "project_name",
            "title",
            "title_en",
            "description",
            "tenderer",
            "agency",
            "procedure_type",
            "region",
            "category",
            "currency",
            "estimate",
            "max_price",
            "bond_amount",
            "docs_from",
            "docs_until",
            "deadline",
            "opening_time",
            "decryption_window_minutes",
            "evaluation_method",
            "price_formula",
            "price_formula_params",
            "award_method",
            "decision_method",
            "score_aggregation",
            "candidate_count",
            "candidates_ranked",
            "anonymous_technical",
            "award_committee_mode",
            "award_committee_size",
            "vote_mode",
            "criteria",
            "published_at",
            "lots",
            "price_sheet_items",
            "decryption_fallback",
            "announce_mode",
            "public_opening",
            "forfeit_bond_if_unopenable",
            "tenderer_contact",
            "tenderer_phone",
            "tenderer_email",
            "agency_contact",
            "agency_phone",
            "agency_email",
            "cancel_reason",
            "opening_key",
            "envelope_ids",
        ]

    def get_url(self, tender) -> str:
        return f"/tenders/{tender.pk}/"

    @extend_schema_field(OpeningKeySerializer(allow_null=True))
    def get_opening_key(self, tender):
        """The public half of the opening key: every bid is sealed to it."""
        if not tender.opening_public_key:
            return None
        return {
            "public_key": base64.b64encode(bytes(tender.opening_public_key)).decode(),
            "fingerprint": tender.opening_key_fingerprint,
            "threshold": tender.opening_threshold,
            "custodians": [s.custodian.get_username() for s in tender.key_shares.all()],
        }

    @extend_schema_field(serializers.DictField(child=serializers.CharField()))
    def get_envelope_ids(self, tender):
        """What a sealed envelope's header must name: this tender_id, and the bidder's
        credit code as bidder_id."""
        return {"tender_id": tender.reference, "bidder_id": "<your credit code>"}


class TenderDetailSerializer(TenderSerializer):
    documents = serializers.SerializerMethodField()
    amendments = AmendmentSerializer(many=True, read_only=True)
    available_transitions = serializers.SerializerMethodField()

    class Meta(TenderSerializer.Meta):
        fields = [*TenderSerializer.Meta.fields, "documents", "amendments", "available_transitions"]

    @extend_schema_field(DocumentSerializer(many=True))
    def get_documents(self, tender):
        return DocumentSerializer(tender.documents.all(), many=True).data

    @extend_schema_field(TransitionSerializer(many=True))
    def get_available_transitions(self, tender):
        user = self.context["request"].user
        if not is_owner(user, tender) and not (
            user.is_authenticated and user.role in ("supervisor", "operator")
        ):
            return []
        return [
            {"target": e.target, "label": str(e.label), "by": sorted(e.by)}
            for e in lifecycle.available_transitions(tender)
        ]


class TenderWriteSerializer(serializers.Serializer):
    """Input for creating or editing a draft tender."""

    project_code = serializers.CharField(max_length=60)
    project_name = serializers.CharField(max_length=200)
    title = serializers.CharField(max_length=200)
    title_en = serializers.CharField(max_length=200, required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True)
    procedure_type = serializers.ChoiceField(
        choices=Tender._meta.get_field("procedure_type").choices, default="open"
    )
    region = serializers.ChoiceField(choices=Tender._meta.get_field("region").choices)
    category = serializers.ChoiceField(choices=Tender._meta.get_field("category").choices)
    estimate = serializers.DecimalField(max_digits=16, decimal_places=2, min_value=Decimal("0.01"))
    max_price = serializers.DecimalField(max_digits=16, decimal_places=2, min_value=Decimal("0.01"))
    bond_amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0"))
    docs_from = serializers.DateTimeField()
    docs_until = serializers.DateTimeField()
    deadline = serializers.DateTimeField(help_text="Bid deadline; also the opening time (Law 34).")
    opening_time = serializers.DateTimeField(
        required=False, help_text="Optional; must equal the deadline (Law 34)."
    )
    decryption_window_minutes = serializers.IntegerField(required=False, min_value=1)
    evaluation_method = serializers.ChoiceField(
        choices=Tender._meta.get_field("evaluation_method").choices
    )
    price_formula = serializers.ChoiceField(choices=Tender._meta.get_field("price_formula").choices)
    price_formula_params = serializers.DictField(required=False, default=dict)
    award_method = serializers.ChoiceField(choices=Tender._meta.get_field("award_method").choices)
    decision_method = serializers.ChoiceField(
        choices=Tender._meta.get_field("decision_method").choices,
        required=False,
        allow_blank=True,
        default="",
    )
    lots = LotSerializer(many=True, required=False)
    criteria = CriterionSerializer(
        many=True, required=False,
        help_text="The evaluation criteria (Reg 49), in order; omitted on an edit: kept.",
    )
    score_aggregation = serializers.ChoiceField(
        choices=Tender._meta.get_field("score_aggregation").choices, default="mean")
    candidate_count = serializers.IntegerField(
        default=3, help_text="Candidates the committee recommends: 1 to 3 (Reg 53).")
    candidates_ranked = serializers.BooleanField(default=True)
    anonymous_technical = serializers.BooleanField(
        default=False, help_text="暗标: technical bids evaluated under code numbers.")
    award_committee_mode = serializers.ChoiceField(
        choices=Tender._meta.get_field("award_committee_mode").choices, required=False,
        allow_blank=True, default="")
    award_committee_size = serializers.IntegerField(required=False, allow_null=True,
                                                    default=None, min_value=1)
    vote_mode = serializers.ChoiceField(
        choices=Tender._meta.get_field("vote_mode").choices, required=False,
        allow_blank=True, default="")
    price_sheet_items = serializers.ListField(
        child=serializers.CharField(max_length=60), required=False, default=list,
        help_text="Extra items each sealed price sheet must state.",
    )
    decryption_fallback = serializers.ChoiceField(
        choices=Tender._meta.get_field("decryption_fallback").choices, default="custodians"
    )
    announce_mode = serializers.ChoiceField(
        choices=Tender._meta.get_field("announce_mode").choices, default="at_close",
        help_text="at_close (default): every price together once the decryption window and "
        "the custodians' opening are over, so no bidder can decide whether to decrypt after "
        "seeing rivals' prices. as_decrypted: each price as soon as its bid is decrypted; "
        "this lets a bidder open selectively and is kept only as an explicit choice.",
    )
    public_opening = serializers.BooleanField(default=True,
                                              help_text="The public may watch the opening.")
    forfeit_bond_if_unopenable = serializers.BooleanField(
        default=True,
        help_text="E-Rules 31: keep the bond of a bid that its bidder sealed so that nobody "
        "can open it (rejected at the opening with the proof).",
    )
    tenderer_contact = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default="",
        help_text="Announcement: the tenderer's contact person for this project.")
    tenderer_phone = serializers.CharField(max_length=40, required=False, allow_blank=True,
                                           default="")
    tenderer_email = serializers.EmailField(required=False, allow_blank=True, default="")
    agency_contact = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default="",
        help_text="Announcement: the agency's contact person for this project.")
    agency_phone = serializers.CharField(max_length=40, required=False, allow_blank=True,
                                         default="")
    agency_email = serializers.EmailField(required=False, allow_blank=True, default="")
    tenderer_org = serializers.PrimaryKeyRelatedField(
        queryset=Organisation.objects.all(),
        required=False,
        allow_null=True,
        help_text="For agencies: the tenderer they act for.",
    )
    agency_org = serializers.PrimaryKeyRelatedField(
        queryset=Organisation.objects.all(),
        required=False,
        allow_null=True,
        help_text="For tenderers: the agency acting for them, if any.",
    )

    def to_input(self) -> TenderInput:
        data = dict(self.validated_data)
        lots = [
            LotInput(name=lot["name"], estimate=lot.get("estimate")) for lot in data.pop("lots", [])
        ]
        criteria = data.pop("criteria", None)
        if criteria is not None:
            criteria = [
                CriterionInput(stage=c["stage"], name=c["name"], max_score=c.get("max_score"),
                               name_en=c.get("name_en", ""),
                               description=c.get("description", ""))
                for c in criteria
            ]
        return TenderInput(lots=lots, criteria=criteria, **data)


class RegistrationSerializer(serializers.ModelSerializer):
    organisation = OrganisationBriefSerializer(read_only=True)
    user = serializers.CharField(source="user.get_username", read_only=True)

    class Meta:
        model = DocumentRegistration
        fields = ["organisation", "user", "obtained_at"]


class ClarificationAskSerializer(serializers.Serializer):
    question = serializers.CharField(max_length=5000)


class ClarificationAnswerSerializer(serializers.Serializer):
    answer = serializers.CharField(max_length=10000)
    affects_bids = serializers.BooleanField(
        default=False,
        help_text="True if the answer may affect bids: the 15-day rule then applies.",
    )


class AmendmentWriteSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=20000)
    new_deadline = serializers.DateTimeField(required=False, allow_null=True)
    files = serializers.ListField(child=serializers.FileField(), required=False, default=list)


class DocumentUploadSerializer(serializers.Serializer):
    file = serializers.FileField()
