"""Request bodies of the evaluation API (responses are the selectors' plain dicts)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from .models import EvaluationClarification, Stage


class CommitteeFormSerializer(serializers.Serializer):
    tenderer_reps = serializers.ListField(
        child=serializers.IntegerField(), required=False, default=list,
        help_text="User ids of the tenderer's representatives (as many as the draw left).")


class ChairVoteSerializer(serializers.Serializer):
    candidate = serializers.CharField(help_text="The member label you vote for, e.g. M3.")


class SheetSerializer(serializers.Serializer):
    entries = serializers.DictField(
        help_text="Qualification: {key: {criteria: {number: {passed, reason}}, rejections: "
        "[{code, reason}]}}. Scoring: {key: {number: \"12.50\"}}. Keys from the stage's bids.")


class SubmitSerializer(serializers.Serializer):
    entries = serializers.DictField(required=False, allow_null=True, default=None,
                                    help_text="Omit to submit the saved draft.")


class ClarificationRequestSerializer(serializers.Serializer):
    bid = serializers.CharField(help_text="The bid's key or code number.")
    question = serializers.CharField(max_length=10000)
    deadline = serializers.DateTimeField()


# Named apart from the tender questions' serializers (bidding.tenders.serializers) in the
# OpenAPI schema, where two components of one name would merge into a wrong one.
@extend_schema_serializer(component_name="EvaluationClarificationAnswer")
class ClarificationAnswerSerializer(serializers.Serializer):
    answer = serializers.CharField(max_length=20000)
    attachment = serializers.FileField(required=False, allow_null=True)


@extend_schema_serializer(component_name="EvaluationClarification")
class ClarificationSerializer(serializers.ModelSerializer):
    bid = serializers.CharField(source="evaluated_bid.code", read_only=True)
    has_attachment = serializers.SerializerMethodField()

    class Meta:
        model = EvaluationClarification
        fields = ["id", "bid", "question", "requested_at", "deadline", "answer", "answered_at",
                  "attachment_name", "attachment_sha256", "has_attachment"]

    def get_has_attachment(self, obj) -> bool:
        return bool(obj.attachment)


class ReplaceSerializer(serializers.Serializer):
    member = serializers.CharField(help_text="Label of the member replaced, e.g. M4.")
    reason = serializers.CharField(max_length=2000)
    replacement_seat = serializers.IntegerField(
        required=False, allow_null=True, help_text="DrawMember id of a confirmed backup.")
    replacement_user = serializers.IntegerField(
        required=False, allow_null=True, help_text="User id (representatives only).")


class SignSerializer(serializers.Serializer):
    signature = serializers.CharField(
        help_text="Base64 of the P-256 r||s signature, label ggzy-evaluation-report-v1, over "
        "the message GET report/ returns.")
    dissent = serializers.CharField(required=False, allow_blank=True, default="")


class RefuseSerializer(serializers.Serializer):
    dissent = serializers.CharField(
        required=False, allow_blank=True, default="",
        help_text="Written dissent. Empty: recorded as agreeing (Reg 53).")


STAGE_CHOICES = [Stage.QUALIFICATION, Stage.TECHNICAL, Stage.COMMERCIAL]
