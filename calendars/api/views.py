from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from calendars.services import calendar_feed_url, calendar_token_rotate
from config.spectacular import error_responses

from .serializers import CalendarAddressSerializer


# The answer is a credential: no cache keeps it.
@method_decorator(never_cache, name="dispatch")
class CalendarRotateView(APIView):
    @extend_schema(
        operation_id="me_calendar_rotate",
        request=None,
        responses={200: CalendarAddressSerializer, **error_responses(503)},
        description="Give the caller a new secret calendar address (for a leaked one): "
        "calendars subscribed to the old address stop updating (it answers 404).",
    )
    def post(self, request: Request) -> Response:
        token = calendar_token_rotate(user=request.user)
        return Response({"calendar_url": calendar_feed_url(token)})
