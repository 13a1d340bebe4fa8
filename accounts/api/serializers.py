from rest_framework import serializers

from accounts.models import User
from config.fields import StrictCharField


class TokenRequestSerializer(serializers.Serializer):
    username = StrictCharField()
    password = StrictCharField(style={"input_type": "password"}, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send it as `Authorization: Token <token>`.")


class MeSerializer(serializers.ModelSerializer):
    specialization = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True
    )

    class Meta:
        model = User
        fields = ["id", "username", "role", "specialization", "credit_balance"]
        read_only_fields = fields
