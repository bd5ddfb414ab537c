from rest_framework import serializers

from accounts.models import Organisation, User


class OrganisationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organisation
        fields = ["id", "name", "name_en", "credit_code", "kind", "legal_representative"]


class MeSerializer(serializers.ModelSerializer):
    organisation = OrganisationSerializer(read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "display_name", "email", "role", "organisation"]


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"})


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()
    user = MeSerializer()


class RegistrationSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    name_en = serializers.CharField(max_length=200, required=False, allow_blank=True)
    credit_code = serializers.CharField(max_length=40)
    kind = serializers.ChoiceField(choices=Organisation.Kind.choices)
    legal_representative = serializers.CharField(max_length=100, required=False, allow_blank=True)
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(style={"input_type": "password"})
    display_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True)
