"""Catalogue and session endpoints: thin views over scheduling's QuerySets and services."""

from typing import Any

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from accounts.models import User
from bookings.idempotency import IDEMPOTENCY_PARAMETER, idempotent
from bookings.models import Booking
from bookings.services import cancel_session, session_update
from config.errors import PermissionDenied
from config.spectacular import PROTECTED_409, error_response, error_responses
from config.sync import LIST_VALIDATOR_DESCRIPTION, NOT_MODIFIED, SYNC_PARAMETERS, conditional_list
from scheduling.access import can_view_roster, check_can_manage
from scheduling.filters import GroupFilter, SessionFilter, SessionFilterBackend
from scheduling.models import Group, Semester, Session, Specialization
from scheduling.querysets import SESSION_STATISTICS, SessionQuerySet
from scheduling.series import semester_copy, semester_copy_plan, series_with_occurrences
from scheduling.services import (
    group_create,
    group_delete,
    group_update,
    semester_create,
    semester_delete,
    semester_update,
    session_create,
    session_delete,
    session_duplicate,
)

from .serializers import (
    GroupSerializer,
    RosterEntrySerializer,
    SemesterCopySerializer,
    SemesterSerializer,
    SessionCancellationSerializer,
    SessionConflictErrorSerializer,
    SessionDuplicateSerializer,
    SessionInputSerializer,
    SessionSerializer,
    SessionUpdateSerializer,
    SpecializationSerializer,
    changes_of,
)
from .series import (
    REFUSED_409,
    SemesterCopyPreviewSerializer,
    SemesterCopyResultSerializer,
    SeriesSerializer,
)


class StaffWritesOrReadOnly(BasePermission):
    """Any authenticated user reads; only staff write."""

    message = "Only staff may change this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return request.method in SAFE_METHODS or user.is_staff


class ManagesSessions(BasePermission):
    """Any authenticated user reads; staff and the semester's master instructor write.

    Checked before the body is read, so that a caller who may not write gets 403
    whatever the body holds, never a validation error about it. A write on a session
    looks it up first (404 unless the caller sees it). A new session's semester is in
    the body: only an instructor can be a master instructor, and scheduling.services
    checks the semester once the body is read. Refusals carry the domain error's code.
    """

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if request.method in SAFE_METHODS or view.kwargs.get("pk") is not None:
            return True
        if not (user.is_staff or user.role == User.Role.INSTRUCTOR):
            raise PermissionDenied("Only staff or a semester's master instructor may add sessions.")
        return True

    def has_object_permission(self, request: Request, view: APIView, session: Session) -> bool:
        if request.method not in SAFE_METHODS:
            check_can_manage(request.user, session.semester)
        return True


CATALOGUE_WRITE_ERRORS = error_responses(400, 403)
# A group edit locks the group's row: busy (503), or gone meanwhile (409).
GROUP_UPDATE_ERRORS = error_responses(400, 403, 409, 503)


@extend_schema_view(
    create=extend_schema(responses={201: SpecializationSerializer, **CATALOGUE_WRITE_ERRORS}),
    update=extend_schema(responses={200: SpecializationSerializer, **CATALOGUE_WRITE_ERRORS}),
    partial_update=extend_schema(
        responses={200: SpecializationSerializer, **CATALOGUE_WRITE_ERRORS}
    ),
    destroy=extend_schema(responses={204: None, **error_responses(403), **PROTECTED_409}),
)
class SpecializationViewSet(viewsets.ModelViewSet):
    queryset = Specialization.objects.all()
    serializer_class = SpecializationSerializer
    permission_classes = [StaffWritesOrReadOnly]
    filter_backends: list = []


@extend_schema_view(
    create=extend_schema(responses={201: SemesterSerializer, **CATALOGUE_WRITE_ERRORS}),
    update=extend_schema(responses={200: SemesterSerializer, **CATALOGUE_WRITE_ERRORS}),
    partial_update=extend_schema(responses={200: SemesterSerializer, **CATALOGUE_WRITE_ERRORS}),
    destroy=extend_schema(responses={204: None, **error_responses(403), **PROTECTED_409}),
)
class SemesterViewSet(viewsets.ModelViewSet):
    queryset = Semester.objects.all()
    serializer_class = SemesterSerializer
    permission_classes = [StaffWritesOrReadOnly]
    filter_backends: list = []

    def perform_create(self, serializer: BaseSerializer) -> None:
        serializer.instance = semester_create(by=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer: BaseSerializer) -> None:
        serializer.instance = semester_update(
            semester=serializer.instance, by=self.request.user, **serializer.validated_data
        )

    def perform_destroy(self, instance: Semester) -> None:
        semester_delete(semester=instance, by=self.request.user)

    @extend_schema(
        description="Staff. Copy every series of this semester into `target_semester`, each "
        "date shifted by `weeks` whole weeks (weekdays and wall-clock times stay). All or "
        "nothing: any problem refuses the whole copy, 400 with `occurrences` naming each "
        "series and date, or 409 `instructor_busy`/`location_busy` with `problems`. "
        "`dry_run` answers 200 with the series and problems, unsaved.",
        request=SemesterCopySerializer,
        responses={
            201: SemesterCopyResultSerializer,
            200: SemesterCopyPreviewSerializer,
            **error_responses(400, 403, 503),
            **REFUSED_409,
        },
    )
    @action(detail=True, methods=["post"], url_path="copy-series")
    def copy_series(self, request: Request, pk: str | None = None) -> Response:
        source = self.get_object()
        given = SemesterCopySerializer(data=request.data)
        given.is_valid(raise_exception=True)
        fields = {
            "by": request.user,
            "source": source,
            "target": given.validated_data["target_semester"],
            "weeks": given.validated_data["weeks"],
        }
        if given.validated_data["dry_run"]:
            plan = semester_copy_plan(**fields)
            body = {
                "series": [
                    {
                        "title": each.series.title,
                        "first_date": each.series.first_date,
                        "occurrences": [
                            {"date_start": s.date_start, "date_end": s.date_end}
                            for s in each.occurrences
                        ],
                    }
                    for each in plan.plans
                ],
                "problems": [problem.as_dict() for problem in plan.problems],
            }
            return Response(SemesterCopyPreviewSerializer(body).data)
        created = semester_copy(**fields)
        series = series_with_occurrences().filter(pk__in=[each.pk for each in created])
        body = {"series": SeriesSerializer(series.order_by("first_date", "pk"), many=True).data}
        return Response(body, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(responses={200: GroupSerializer(many=True), **error_responses(400)}),
    create=extend_schema(
        description="Staff. Members are students (400 `members` otherwise).",
        responses={201: GroupSerializer, **CATALOGUE_WRITE_ERRORS},
    ),
    update=extend_schema(
        description="Staff. `members` replaces the whole list; the semester cannot change "
        "(400 `semester`).",
        responses={200: GroupSerializer, **GROUP_UPDATE_ERRORS},
    ),
    partial_update=extend_schema(
        description="As PUT, for the fields sent.",
        responses={200: GroupSerializer, **GROUP_UPDATE_ERRORS},
    ),
    destroy=extend_schema(
        description="Staff. Refused with 409 `protected` while sessions refer to the group, "
        "with their count in `blocking`.",
        responses={204: None, **error_responses(403), **PROTECTED_409},
    ),
)
class GroupViewSet(viewsets.ModelViewSet):
    # One query for the members of the whole page, not one per group.
    queryset = Group.objects.prefetch_related("members")
    serializer_class = GroupSerializer
    permission_classes = [StaffWritesOrReadOnly]
    filter_backends = [DjangoFilterBackend]
    filterset_class = GroupFilter

    def perform_create(self, serializer: BaseSerializer) -> None:
        serializer.instance = group_create(by=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer: BaseSerializer) -> None:
        # The semester is fixed once created: sent unchanged it is accepted, changed a 400.
        serializer.instance = group_update(
            group=serializer.instance, by=self.request.user, **serializer.validated_data
        )

    def perform_destroy(self, instance: Group) -> None:
        group_delete(group=instance, by=self.request.user)


SESSION_WRITE_ERRORS = error_responses(400, 403, 503)
SESSION_CONFLICT_409 = {
    409: error_response(
        409,
        SessionConflictErrorSerializer,
        "The current state refuses the request; `code` says why, and `conflicts` names "
        "the sessions in the way of `instructor_busy` and `location_busy`.",
    )
}


@extend_schema_view(
    list=extend_schema(
        description="Sessions the caller may see, with their statistics. Staff and "
        "instructors see all; students see sessions of active current semesters they are "
        "eligible for, plus any session they have booked. `meeting_link` is null unless the "
        "caller is staff, the session's instructor or master instructor, or holds a "
        "confirmed booking. An invalid filter value is a 400."
        + LIST_VALIDATOR_DESCRIPTION
        + " `updated_since` reads the session's own `updated_at`: statistics move with "
        "bookings (sync those through `/bookings/?updated_since=`).",
        parameters=SYNC_PARAMETERS,
        responses={200: SessionSerializer(many=True), **NOT_MODIFIED, **error_responses(400)},
    ),
    retrieve=extend_schema(
        description="One session the caller may see (404 otherwise), with its statistics."
    ),
    create=extend_schema(
        description="Staff or the semester's master instructor. A target specialization "
        "needs an active qualification of the instructor (403 `not_qualified`). A session "
        "overlapping another of its instructor, or another at the same location, is 409 "
        "`instructor_busy` / `location_busy` with the sessions in `conflicts`, unless staff "
        "set `allow_overlap` with an `overlap_reason`.",
        request=SessionInputSerializer,
        responses={201: SessionSerializer, **SESSION_WRITE_ERRORS, **SESSION_CONFLICT_409},
    ),
    update=extend_schema(
        description="Staff or the semester's master instructor. The semester cannot change "
        "(400); raising `capacity` promotes the waitlist, lowering it below the confirmed "
        "bookings is 409 `capacity_below_confirmed`; a cancelled session is 409.",
        request=SessionUpdateSerializer,
        responses={200: SessionSerializer, **SESSION_WRITE_ERRORS, **SESSION_CONFLICT_409},
    ),
    partial_update=extend_schema(
        description="As PUT, for the fields sent.",
        request=SessionUpdateSerializer,
        responses={200: SessionSerializer, **SESSION_WRITE_ERRORS, **SESSION_CONFLICT_409},
    ),
    destroy=extend_schema(
        description="Staff or the semester's master instructor. Refused with 409 `protected` "
        "while any booking (of any status), attendance, feedback or project refers to the "
        "session, with each relation's count in `blocking`; cancel it instead.",
        responses={204: None, **error_responses(403, 503), **PROTECTED_409},
    ),
)
class SessionViewSet(viewsets.ModelViewSet):
    """Sessions the caller may see (SPEC §4), with their statistics.

    Writes go through scheduling.services: staff or the semester's master
    instructor; the semester is fixed once created.
    """

    serializer_class = SessionSerializer
    permission_classes = [ManagesSessions]
    filter_backends = [SessionFilterBackend]
    filterset_class = SessionFilter

    def get_queryset(self) -> QuerySet[Session]:
        if getattr(self, "swagger_fake_view", False):
            return Session.objects.none()
        user = self.request.user
        sessions: SessionQuerySet = Session.objects.visible_to(user)
        if self.action == "bookings":
            # Only the permission check reads the session: no statistics needed.
            return sessions.select_related("semester")
        # One statement per page: statistics, the viewer's booking (for meeting_link)
        # and the few columns of related rows that the representation shows.
        sessions = sessions.with_stats().with_viewer_booking(user).with_display_columns()
        if self.action not in ("list", "retrieve"):
            # Writes validate against the semester's dates: load it with the session.
            sessions = sessions.select_related("semester")
        return sessions

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        sessions = self.filter_queryset(self.get_queryset())
        return conditional_list(self, request, sessions, rows=sessions.as_rows())

    def _with_fresh_statistics(self, session: Session) -> Session:
        """Re-read the statistics after a write, without the semester (read once)."""
        figures = (
            Session.objects.filter(pk=session.pk).with_stats().values(*SESSION_STATISTICS).get()
        )
        for name, value in figures.items():
            setattr(session, name, value)
        return session

    def _represent(self, session: Session, **kwargs: Any) -> Response:
        return Response(
            SessionSerializer(session, context=self.get_serializer_context()).data, **kwargs
        )

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        given = SessionInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        session = session_create(by=request.user, **given.validated_data)
        return self._represent(self._with_fresh_statistics(session), status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        session = self.get_object()
        given = SessionUpdateSerializer(
            session, data=request.data, partial=kwargs.get("partial", False)
        )
        given.is_valid(raise_exception=True)
        session = session_update(session=session, by=request.user, **changes_of(given))
        return self._represent(self._with_fresh_statistics(session))

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        session_delete(session=self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=None,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={200: SessionCancellationSerializer, **error_responses(400, 403, 409, 422, 503)},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        """Cancel the session: confirmed bookings refunded in full, open ones cancelled."""
        result = cancel_session(session=self.get_object(), by=request.user)
        session = self.get_queryset().get(pk=result.session.pk)
        body = {
            "session": SessionSerializer(session, context=self.get_serializer_context()).data,
            "bookings_cancelled": result.bookings_cancelled,
            "credits_refunded": result.credits_refunded,
        }
        return Response(body)

    @extend_schema(
        description="Staff or the semester's master instructor. A new session with this "
        "one's fields and length at `date_start`, or `weeks` later at the same local time "
        "(default: one week), checked as any new session (semester dates, qualification, "
        "conflicts: 409 `instructor_busy`/`location_busy`).",
        request=SessionDuplicateSerializer,
        responses={201: SessionSerializer, **SESSION_WRITE_ERRORS, **SESSION_CONFLICT_409},
    )
    @action(detail=True, methods=["post"])
    def duplicate(self, request: Request, pk: str | None = None) -> Response:
        """Copy the session to another date (default: the same weekday next week)."""
        given = SessionDuplicateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        copy = session_duplicate(session=self.get_object(), by=request.user, **given.validated_data)
        copy = self.get_queryset().get(pk=copy.pk)
        return self._represent(copy, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: RosterEntrySerializer(many=True), **error_responses(403)})
    @action(detail=True, methods=["get"], filter_backends=[])
    def bookings(self, request: Request, pk: str | None = None) -> Response:
        """The session's bookings, oldest first, with each waitlisted one's position."""
        session = self.get_object()
        if not can_view_roster(request.user, session):
            raise PermissionDenied("Only staff and the session's instructors may see its bookings.")
        roster = (
            Booking.objects.filter(session=session)
            .with_waitlist_position()
            .select_related("student")
        )
        page = self.paginate_queryset(roster)
        return self.get_paginated_response(RosterEntrySerializer(page, many=True).data)
