from rest_framework import serializers


class CalendarAddressSerializer(serializers.Serializer):
    calendar_url = serializers.CharField(
        help_text="The secret `webcal://` address of the caller's calendar feed; "
        "the previous one answers 404 from now on."
    )
