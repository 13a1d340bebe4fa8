"""Bookings and credits: thin views over bookings' QuerySets, selectors and services."""

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.http import Http404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission, IsAdminUser, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bookings.idempotency import IDEMPOTENCY_PARAMETERS, IDEMPOTENCY_RESPONSES, idempotent
from bookings.models import Booking, CreditTransaction
from bookings.selectors import credit_transactions_visible_to
from bookings.services import adjust_credits, book_session, cancel_booking, grant_credits
from config.filters import IdFilter, UpdatedSinceFilter
from config.spectacular import error_responses
from config.sync import LIST_VALIDATOR_DESCRIPTION, NOT_MODIFIED, SYNC_PARAMETERS, conditional_list

from .serializers import (
    BookingCancellationSerializer,
    BookingCreateSerializer,
    BookingSerializer,
    CreditAdjustmentSerializer,
    CreditGrantSerializer,
    CreditTransactionSerializer,
)


class BookingFilter(django_filters.FilterSet):
    # Plain ids, not ModelChoiceFilters: no query to validate an id that matches nothing.
    session = IdFilter(field_name="session_id")
    status = django_filters.ChoiceFilter(choices=Booking.Status.choices)
    updated_since = UpdatedSinceFilter()

    class Meta:
        model = Booking
        fields: list[str] = []


class StudentsAndStaffBook(BasePermission):
    """Students book for themselves, staff for a student; instructors only read."""

    message = "Only students, or staff for a student, may book sessions."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return view.action != "create" or user.is_staff or user.is_student


BIGINT_MAX = 2**63 - 1
BOOKING_WRITE_ERRORS = {**error_responses(400, 403), **IDEMPOTENCY_RESPONSES}


@extend_schema_view(
    list=extend_schema(
        parameters=SYNC_PARAMETERS,
        responses={200: BookingSerializer(many=True), **NOT_MODIFIED, **error_responses(400)},
        description="Bookings the caller may see: students their own, instructors those of "
        "the sessions they teach or manage, staff all." + LIST_VALIDATOR_DESCRIPTION,
    ),
)
class BookingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = BookingSerializer
    permission_classes = [IsAuthenticated, StudentsAndStaffBook]
    filter_backends = [DjangoFilterBackend]
    filterset_class = BookingFilter

    def get_queryset(self) -> QuerySet[Booking]:
        if getattr(self, "swagger_fake_view", False):
            return Booking.objects.none()
        # One statement per page: the rows, their waitlist places and the names shown.
        return (
            Booking.objects.visible_to(self.request.user)
            .with_waitlist_position()
            .select_related("session", "student")
        )

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return conditional_list(self, request, self.filter_queryset(self.get_queryset()))

    @extend_schema(
        request=BookingCreateSerializer,
        parameters=IDEMPOTENCY_PARAMETERS,
        responses={201: BookingSerializer, **BOOKING_WRITE_ERRORS},
        description="Book a seat: confirmed and charged while one is free, waitlisted (and not "
        "charged) when the session is full.",
    )
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        given = BookingCreateSerializer(data=request.data, context={"request": request})
        given.is_valid(raise_exception=True)
        booking = book_session(
            student=given.validated_data["student"],
            session=given.validated_data["session"],
            by=request.user,
            visible_to=request.user,
        )
        # Built from what book_session held before its commit: a booking that committed
        # is never reported as a failure because a read after the commit failed.
        return Response(BookingSerializer(booking).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        parameters=IDEMPOTENCY_PARAMETERS,
        responses={
            200: BookingCancellationSerializer,
            **error_responses(403),
            **IDEMPOTENCY_RESPONSES,
        },
        description="Cancel the booking: refunded in full up to BOOKING_CANCELLATION_HOURS before "
        "the start, nothing later; a freed seat goes to the oldest waitlisted student who can pay.",
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        # The lookup (404 for a booking the caller cannot see) is made by the statement
        # that locks its session, not by get_object.
        try:
            result = cancel_booking(
                booking=booking_id(pk), by=request.user, visible_to=request.user
            )
        except Booking.DoesNotExist:
            raise Http404("No Booking matches the given query.") from None
        booking = result.booking  # with its session and student, read before the commit
        booking.credits_refunded = result.credits_refunded
        return Response(BookingCancellationSerializer(booking).data)


def booking_id(pk: str | None) -> int:
    """The URL's booking id; what can be no booking's id is a 404, as get_object's."""
    try:
        value = int(pk or "")
    except ValueError:
        raise Http404("No Booking matches the given query.") from None
    if not 0 < value <= BIGINT_MAX:
        raise Http404("No Booking matches the given query.")
    return value


class CreditFilter(django_filters.FilterSet):
    user = IdFilter(field_name="user_id")
    kind = django_filters.ChoiceFilter(choices=CreditTransaction.Kind.choices)

    class Meta:
        model = CreditTransaction
        fields: list[str] = []


@extend_schema_view(
    list=extend_schema(
        responses={200: CreditTransactionSerializer(many=True), **error_responses(400)},
        description="Credit ledger rows, newest first: students see their own, staff all.",
    ),
)
class CreditTransactionViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = CreditTransactionSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = CreditFilter

    def get_queryset(self) -> QuerySet[CreditTransaction]:
        if getattr(self, "swagger_fake_view", False):
            return CreditTransaction.objects.none()
        return credit_transactions_visible_to(self.request.user)

    @extend_schema(
        request=CreditGrantSerializer,
        parameters=IDEMPOTENCY_PARAMETERS,
        responses={
            201: CreditTransactionSerializer,
            **error_responses(400, 403),
            **IDEMPOTENCY_RESPONSES,
        },
        description="Staff: add credits to a student's balance (a ledger row); waitlisted "
        "bookings the credits now pay for are promoted.",
    )
    @action(detail=False, methods=["post"], permission_classes=[IsAuthenticated, IsAdminUser])
    @idempotent
    def grant(self, request: Request) -> Response:
        given = CreditGrantSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        entry = grant_credits(by=request.user, **given.validated_data)
        return Response(CreditTransactionSerializer(entry).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=CreditAdjustmentSerializer,
        parameters=IDEMPOTENCY_PARAMETERS,
        responses={
            201: CreditTransactionSerializer,
            **error_responses(403),
            **IDEMPOTENCY_RESPONSES,
        },
        description="Staff: correct a student's balance by a signed amount (an `adjustment` "
        "ledger row, with a note saying why). A debit the balance does not cover is 409 "
        "`insufficient_credits`; a credit promotes the waitlisted bookings it now pays for.",
    )
    @action(detail=False, methods=["post"], permission_classes=[IsAuthenticated, IsAdminUser])
    @idempotent
    def adjust(self, request: Request) -> Response:
        given = CreditAdjustmentSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        entry = adjust_credits(by=request.user, **given.validated_data)
        return Response(CreditTransactionSerializer(entry).data, status=status.HTTP_201_CREATED)
