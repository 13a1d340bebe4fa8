"""`GET /api/v1/semesters/{id}/register/` and `GET /api/v1/me/attendance/`."""

from typing import Any

from django.http import Http404, HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.spectacular import error_responses
from engagement.register import attendance_register, register_scope, student_attendance_record
from scheduling.models import Semester

from ..exports import filename, register_csv
from ..forms import RegisterFilterForm
from .serializers import AttendanceRecordSerializer, RegisterSerializer


class CSVRenderer(BaseRenderer):
    """Chosen by `?format=csv` or `Accept: text/csv`; the view writes the body itself."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None
    ) -> Any:
        # Only errors reach here (the view answers CSV itself): say them as plain lines.
        if isinstance(data, dict):
            return "\n".join(f"{key}: {value}" for key, value in data.items())
        return str(data)


class RegisterView(APIView):
    renderer_classes = [JSONRenderer, CSVRenderer]

    @extend_schema(
        operation_id="semesters_register",
        description="The semester's attendance register: students down, sessions across. "
        "Staff and the master instructor see every session; an instructor who teaches in the "
        "semester sees their own sessions; 404 for anyone else. `?format=csv` or "
        "`Accept: text/csv` answers the same table as CSV.",
        parameters=[
            OpenApiParameter("group", int, description="Only this group's sessions and members."),
            OpenApiParameter(
                "specialization",
                str,
                description="A specialization code: its students and the sessions open to it.",
            ),
            OpenApiParameter("format", str, enum=["json", "csv"]),
        ],
        responses={200: RegisterSerializer, **error_responses(400)},
    )
    def get(self, request: Request, pk: int) -> Response | HttpResponse:
        semester = Semester.objects.filter(pk=pk).first()
        scope = register_scope(request.user, semester) if semester else None
        if semester is None or scope is None:
            raise Http404
        form = RegisterFilterForm(request.query_params, semester=semester)
        if not form.is_valid():
            raise serializers.ValidationError(
                {field: [str(error) for error in errors] for field, errors in form.errors.items()}
            )
        register = attendance_register(
            semester,
            group=form.cleaned_data["group"],
            specialization=form.cleaned_data["specialization"],
            instructor=scope.instructor,
        )
        if request.accepted_renderer.format == "csv":
            response = HttpResponse(register_csv(register), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="{filename(register, "csv")}"'
            return response
        return Response(RegisterSerializer(register).data)


class MyAttendanceView(APIView):
    @extend_schema(
        operation_id="me_attendance",
        description="The caller's own attendance record: every scheduled session they were "
        "booked on (confirmed) or marked for, with totals and rate, as on the register.",
        parameters=[OpenApiParameter("semester", int, description="Only this semester.")],
        responses={200: AttendanceRecordSerializer, **error_responses(400)},
    )
    def get(self, request: Request) -> Response:
        semester = None
        raw = request.query_params.get("semester")
        if raw:
            if not raw.isdigit():
                raise serializers.ValidationError({"semester": ["A valid integer is required."]})
            semester = Semester.objects.filter(pk=int(raw)).first()
            if semester is None:
                raise serializers.ValidationError({"semester": [f"No semester {raw}."]})
        record = student_attendance_record(request.user, semester=semester)
        return Response(AttendanceRecordSerializer(record).data)
