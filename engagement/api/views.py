"""Attendance, feedback and projects: thin views over engagement's selectors and services."""

from typing import Any

import django_filters
from django.db.models import Prefetch, QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.filters import IdFilter
from config.spectacular import error_responses
from engagement.models import Attendance, Feedback, Project
from engagement.selectors import attendance_visible_to, feedback_visible_to
from engagement.services import (
    attendance_record,
    feedback_give,
    project_create,
    project_delete,
    project_update,
)
from scheduling.models import Session

from .serializers import (
    AttendanceCreateSerializer,
    AttendanceSerializer,
    AttendanceUpdateSerializer,
    FeedbackCreateSerializer,
    FeedbackSerializer,
    ProjectCreateSerializer,
    ProjectSerializer,
    ProjectUpdateSerializer,
)

STATE_WRITE_ERRORS = error_responses(400, 403, 409, 503)


class StaffAndInstructors(BasePermission):
    """Attendance is the instructors' record: students have no access to it."""

    message = "Only staff and instructors may see or record attendance."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return request.user.is_staff or request.user.is_instructor


class AttendanceFilter(django_filters.FilterSet):
    session = IdFilter(field_name="session_id")
    student = IdFilter(field_name="student_id")
    status = django_filters.ChoiceFilter(choices=Attendance.Status.choices)

    class Meta:
        model = Attendance
        fields: list[str] = []


@extend_schema_view(
    list=extend_schema(
        responses={200: AttendanceSerializer(many=True), **error_responses(400, 403)},
        description="Attendance of the sessions the caller teaches or manages (staff: all).",
    ),
    retrieve=extend_schema(responses={200: AttendanceSerializer, **error_responses(403)}),
    create=extend_schema(
        request=AttendanceCreateSerializer,
        responses={201: AttendanceSerializer, **STATE_WRITE_ERRORS},
        description="Record (or correct) a student's attendance: staff, the session's "
        "instructor or its semester's master instructor, once the session has started, for a "
        "student with a confirmed booking.",
    ),
    partial_update=extend_schema(
        request=AttendanceUpdateSerializer,
        responses={200: AttendanceSerializer, **STATE_WRITE_ERRORS},
    ),
)
class AttendanceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = AttendanceSerializer
    permission_classes = [IsAuthenticated, StaffAndInstructors]
    filter_backends = [DjangoFilterBackend]
    filterset_class = AttendanceFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[Attendance]:
        if getattr(self, "swagger_fake_view", False):
            return Attendance.objects.none()
        return attendance_visible_to(self.request.user).select_related("student")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        given = AttendanceCreateSerializer(data=request.data, context={"request": request})
        given.is_valid(raise_exception=True)
        attendance = attendance_record(by=request.user, **given.validated_data)
        return Response(AttendanceSerializer(attendance).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        attendance = self.get_object()
        given = AttendanceUpdateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        attendance = attendance_record(
            session=attendance.session,
            student=attendance.student,
            status=given.validated_data["status"],
            by=request.user,
        )
        return Response(AttendanceSerializer(attendance).data)


class StudentsGiveFeedback(BasePermission):
    message = "Only students give feedback."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return request.method in SAFE_METHODS or request.user.is_student


class FeedbackFilter(django_filters.FilterSet):
    session = IdFilter(field_name="session_id")
    student = IdFilter(field_name="student_id")

    class Meta:
        model = Feedback
        fields: list[str] = []


@extend_schema_view(
    list=extend_schema(
        responses={200: FeedbackSerializer(many=True), **error_responses(400)},
        description="Students see their own feedback, instructors the feedback on the sessions "
        "they teach or manage, staff all.",
    ),
    create=extend_schema(
        request=FeedbackCreateSerializer,
        responses={201: FeedbackSerializer, **STATE_WRITE_ERRORS},
        description="A student marked present or late rates the session (1 to 5), once.",
    ),
)
class FeedbackViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = FeedbackSerializer
    permission_classes = [IsAuthenticated, StudentsGiveFeedback]
    filter_backends = [DjangoFilterBackend]
    filterset_class = FeedbackFilter

    def get_queryset(self) -> QuerySet[Feedback]:
        if getattr(self, "swagger_fake_view", False):
            return Feedback.objects.none()
        return feedback_visible_to(self.request.user).select_related("session", "student")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        given = FeedbackCreateSerializer(data=request.data, context={"request": request})
        given.is_valid(raise_exception=True)
        feedback = feedback_give(student=request.user, **given.validated_data)
        return Response(FeedbackSerializer(feedback).data, status=status.HTTP_201_CREATED)


class StaffAndInstructorsWrite(BasePermission):
    """Everybody reads; writing is for staff and master instructors, which the services
    decide per semester. Students are turned away before their input is even read."""

    message = "Only staff and the semester's master instructor may change projects."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return request.method in SAFE_METHODS or user.is_staff or user.is_instructor


class ProjectFilter(django_filters.FilterSet):
    semester = IdFilter(field_name="semester_id")

    class Meta:
        model = Project
        fields: list[str] = []


PROJECT_WRITE_ERRORS = error_responses(400, 403, 503)


@extend_schema_view(
    list=extend_schema(responses={200: ProjectSerializer(many=True), **error_responses(400)}),
    create=extend_schema(
        request=ProjectCreateSerializer,
        responses={201: ProjectSerializer, **PROJECT_WRITE_ERRORS},
        description="Staff or the semester's master instructor; `sessions` must belong to the "
        "project's semester.",
    ),
    update=extend_schema(
        request=ProjectUpdateSerializer, responses={200: ProjectSerializer, **PROJECT_WRITE_ERRORS}
    ),
    partial_update=extend_schema(
        request=ProjectUpdateSerializer, responses={200: ProjectSerializer, **PROJECT_WRITE_ERRORS}
    ),
    destroy=extend_schema(responses={204: None, **error_responses(403, 503)}),
)
class ProjectViewSet(viewsets.ModelViewSet):
    serializer_class = ProjectSerializer
    permission_classes = [IsAuthenticated, StaffAndInstructorsWrite]
    filter_backends = [DjangoFilterBackend]
    filterset_class = ProjectFilter

    def get_queryset(self) -> QuerySet[Project]:
        # One query for the session ids of the whole page, not one per project.
        return Project.objects.select_related("semester").prefetch_related(
            Prefetch("sessions", queryset=Session.objects.only("id"))
        )

    def _represent(self, project: Project, **kwargs: Any) -> Response:
        return Response(ProjectSerializer(project).data, **kwargs)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        given = ProjectCreateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        project = project_create(by=request.user, **given.validated_data)
        return self._represent(project, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        project = self.get_object()
        given = ProjectUpdateSerializer(
            project, data=request.data, partial=kwargs.get("partial", False)
        )
        given.is_valid(raise_exception=True)
        changes = {k: v for k, v in given.validated_data.items() if k != "semester"}
        project = project_update(project=project, by=request.user, **changes)
        return self._represent(Project.objects.prefetch_related("sessions").get(pk=project.pk))

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        project_delete(project=self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
