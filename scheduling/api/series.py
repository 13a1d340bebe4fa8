"""`/api/v1/series/`: recurring sessions. Thin views over scheduling.series (create,
preview) and bookings.series (scoped edits and cancellations)."""

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from bookings.series import (
    RULE_CHANGE_FIELDS,
    SCOPES,
    series_cancel,
    series_cancel_plan,
    series_update,
    series_update_plan,
)
from config.fields import StrictModelSerializer, StrictPrimaryKeyRelatedField
from config.spectacular import error_response, error_responses
from scheduling.models import Session, SessionSeries, Specialization
from scheduling.series import (
    SERIES_FIELDS,
    TEMPLATE_FIELDS,
    series_create,
    series_plan,
    series_with_occurrences,
)

from .serializers import ConflictingSessionSerializer


class StaffOrInstructor(BasePermission):
    """Series are planning: staff and instructors read them; the services decide writes."""

    message = "Only staff and instructors may see series."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and (user.is_staff or user.is_instructor))


class OccurrenceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Session
        fields = ["id", "title", "date_start", "date_end", "status"]
        read_only_fields = fields


class SeriesSerializer(serializers.ModelSerializer):
    target_specialization = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True
    )
    occurrences = OccurrenceSerializer(many=True, read_only=True)

    class Meta:
        model = SessionSeries
        fields = [
            "id",
            "semester",
            *SERIES_FIELDS,
            "split_from",
            "occurrences",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class SeriesInputSerializer(StrictModelSerializer):
    instructor = StrictPrimaryKeyRelatedField(
        queryset=User.objects.filter(role=User.Role.INSTRUCTOR)
    )
    target_specialization = serializers.SlugRelatedField(
        slug_field="code", queryset=Specialization.objects.all(), allow_null=True, required=False
    )
    weekdays = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=7), min_length=1, max_length=7
    )
    skipped_dates = serializers.ListField(
        child=serializers.DateField(), required=False, max_length=400
    )
    dry_run = serializers.BooleanField(
        required=False, default=False, help_text="Preview: the occurrences and problems, unsaved."
    )

    class Meta:
        model = SessionSeries
        fields = ["semester", *SERIES_FIELDS, "dry_run"]


class ProblemSerializer(serializers.Serializer):
    date = serializers.DateField()
    code = serializers.CharField()
    detail = serializers.CharField()
    conflicts = ConflictingSessionSerializer(many=True)


class PreviewOccurrenceSerializer(serializers.Serializer):
    date_start = serializers.DateTimeField()
    date_end = serializers.DateTimeField()


class SeriesPreviewSerializer(serializers.Serializer):
    occurrences = PreviewOccurrenceSerializer(many=True)
    problems = ProblemSerializer(many=True)


class SeriesCopyPreviewSerializer(serializers.Serializer):
    title = serializers.CharField()
    first_date = serializers.DateField()
    occurrences = PreviewOccurrenceSerializer(many=True)


class SemesterCopyPreviewSerializer(serializers.Serializer):
    series = SeriesCopyPreviewSerializer(many=True)
    problems = ProblemSerializer(many=True)


class SemesterCopyResultSerializer(serializers.Serializer):
    series = SeriesSerializer(many=True)


class SeriesRefusedSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()
    problems = ProblemSerializer(many=True, required=False)
    conflicts = ConflictingSessionSerializer(many=True, required=False)


class ScopeSerializer(serializers.Serializer):
    scope = serializers.ChoiceField(choices=SCOPES)
    occurrence = serializers.PrimaryKeyRelatedField(
        queryset=Session.objects.all(),
        required=False,
        allow_null=True,
        help_text="The occurrence `this` and `following` count from.",
    )
    dry_run = serializers.BooleanField(
        required=False, default=False, help_text="Preview: what would happen, unsaved."
    )


class SeriesChangeSerializer(SeriesInputSerializer):
    """The scope and the fields to change (only those sent)."""

    scope = serializers.ChoiceField(choices=SCOPES)
    occurrence = serializers.PrimaryKeyRelatedField(
        queryset=Session.objects.all(), required=False, allow_null=True
    )

    class Meta(SeriesInputSerializer.Meta):
        fields = [
            "scope",
            "occurrence",
            *TEMPLATE_FIELDS,
            "start_time",
            "duration_minutes",
            *RULE_CHANGE_FIELDS,
            "dry_run",
        ]


class MovedOccurrenceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    date_start = serializers.DateTimeField()
    date_end = serializers.DateTimeField()


class SeriesChangePreviewSerializer(serializers.Serializer):
    """A scoped change's dry run: the occurrences changed in place (`moved` when their
    time changes), new ones, cancelled ones, who is told and refunded, every problem."""

    scope = serializers.CharField()
    changed = serializers.ListField(child=serializers.IntegerField())
    moved = MovedOccurrenceSerializer(many=True)
    created = PreviewOccurrenceSerializer(many=True)
    cancelled = serializers.ListField(child=serializers.IntegerField())
    problems = ProblemSerializer(many=True)
    students_told = serializers.IntegerField()
    students_refunded = serializers.IntegerField()
    credits_refunded = serializers.IntegerField()


class SeriesChangeResultSerializer(serializers.Serializer):
    series = SeriesSerializer()
    sessions = serializers.ListField(child=serializers.IntegerField())
    credits_refunded = serializers.IntegerField()


REFUSED_409 = {409: error_response(409, SeriesRefusedSerializer)}
WRITE_ERRORS = error_responses(400, 403, 503)


@extend_schema_view(
    list=extend_schema(responses={200: SeriesSerializer(many=True), **error_responses(400, 403)}),
    retrieve=extend_schema(responses={200: SeriesSerializer, **error_responses(403)}),
    create=extend_schema(
        description="Staff or the semester's master instructor. Every occurrence follows the "
        "rules of a single session; one problem refuses the whole series: 400 with "
        "`occurrences` naming each failing date, or 409 `instructor_busy`/`location_busy` "
        "with `problems`. `dry_run` answers 200 with the occurrences and problems, unsaved.",
        request=SeriesInputSerializer,
        responses={
            201: SeriesSerializer,
            200: SeriesPreviewSerializer,
            **WRITE_ERRORS,
            **REFUSED_409,
        },
    ),
    partial_update=extend_schema(
        description="Edit with a `scope`: `this` occurrence, it and the `following` ones, or "
        "`all` remaining. Started occurrences are never touched; booked ones move in place. "
        "With `following`, a new rule (`weekdays`, `until_date` or `count`, `skipped_dates`) "
        "lays its dates over the following occurrences: they move onto them in order, extra "
        "dates are created, left-over occurrences are cancelled with refunds. `dry_run` "
        "answers what would happen, unsaved.",
        request=SeriesChangeSerializer,
        responses={
            200: PolymorphicProxySerializer(
                component_name="SeriesChangeOrPreview",
                serializers=[SeriesChangeResultSerializer, SeriesChangePreviewSerializer],
                resource_type_field_name=None,
            ),
            **WRITE_ERRORS,
            **REFUSED_409,
        },
    ),
)
class SeriesViewSet(viewsets.ModelViewSet):
    serializer_class = SeriesSerializer
    permission_classes = [StaffOrInstructor]
    filter_backends: list = []
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[SessionSeries]:
        # Two statements a page: the series, and their occurrences in date order. The
        # semester too: the scoped changes check who manages it.
        return series_with_occurrences().select_related("semester").order_by("-first_date", "-pk")

    def _represent(self, series: SessionSeries) -> dict[str, Any]:
        return SeriesSerializer(self.get_queryset().get(pk=series.pk)).data

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        given = SeriesInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        fields = dict(given.validated_data)
        dry_run = fields.pop("dry_run")
        if dry_run:
            plan = series_plan(by=request.user, **fields)
            body = {
                "occurrences": [
                    {"date_start": s.date_start, "date_end": s.date_end} for s in plan.occurrences
                ],
                "problems": [p.as_dict() for p in plan.problems],
            }
            return Response(SeriesPreviewSerializer(body).data)
        series = series_create(by=request.user, **fields)
        return Response(self._represent(series), status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        series = self.get_object()
        given = SeriesChangeSerializer(data=request.data, partial=True)
        given.is_valid(raise_exception=True)
        changes = dict(given.validated_data)
        if changes.pop("dry_run", False):
            plan = series_update_plan(
                series=series,
                by=request.user,
                scope=changes.pop("scope", ""),
                occurrence=changes.pop("occurrence", None),
                **changes,
            )
            return Response(SeriesChangePreviewSerializer(plan.as_dict()).data)
        result = series_update(
            series=series,
            by=request.user,
            scope=changes.pop("scope", ""),
            occurrence=changes.pop("occurrence", None),
            **changes,
        )
        return Response(self._result(series, result))

    def _result(self, series: SessionSeries, result: Any) -> dict[str, Any]:
        # After a split, the new series that now holds the changed occurrences.
        return {
            "series": self._represent(result.series or series),
            "sessions": [s.pk for s in result.sessions],
            "credits_refunded": result.credits_refunded,
        }

    @extend_schema(
        request=ScopeSerializer,
        responses={
            200: PolymorphicProxySerializer(
                component_name="SeriesCancelOrPreview",
                serializers=[SeriesChangeResultSerializer, SeriesChangePreviewSerializer],
                resource_type_field_name=None,
            ),
            **WRITE_ERRORS,
            **REFUSED_409,
        },
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        """Cancel with a scope; each occurrence refunded as a single cancellation."""
        series = self.get_object()
        given = ScopeSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        if given.validated_data["dry_run"]:
            plan = series_cancel_plan(
                series=series,
                by=request.user,
                scope=given.validated_data["scope"],
                occurrence=given.validated_data.get("occurrence"),
            )
            return Response(SeriesChangePreviewSerializer(plan.as_dict()).data)
        result = series_cancel(
            series=series,
            by=request.user,
            scope=given.validated_data["scope"],
            occurrence=given.validated_data.get("occurrence"),
        )
        return Response(self._result(series, result))
