"""The reports pages: thin views over engagement.register and reports.selectors.

A semester the viewer may not see is a 404 (as a stranger's session is in the
instructor area): the register for staff, the master instructor and, limited to
their own sessions, an instructor who teaches in the semester; the dashboard for
staff and the master instructor.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.generic import ListView, TemplateView, View

from engagement.register import (
    CELL_LABELS,
    Register,
    RegisterScope,
    attendance_register,
    can_see_dashboard,
    register_scope,
)
from scheduling.models import Semester, Session

from .charts import bar_chart
from .exports import filename, register_csv, register_table, register_xlsx, text
from .forms import RegisterFilterForm
from .selectors import semester_dashboard

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def semester_or_404(pk: int) -> Semester:
    semester = Semester.objects.filter(pk=pk).select_related("master_instructor").first()
    if semester is None:
        raise Http404("No such semester.")
    return semester


def reports_semesters(user: Any) -> QuerySet[Semester]:
    """The semesters whose register the user may open (register_scope as a filter)."""
    semesters = Semester.objects.order_by("-start_date", "code")
    if user.is_staff:
        return semesters
    return semesters.filter(
        Q(master_instructor=user)
        | Q(pk__in=Session.objects.filter(instructor=user).values("semester_id"))
    )


class ReportsIndexView(LoginRequiredMixin, ListView):
    template_name = "reports/index.html"
    context_object_name = "semesters"

    def get_queryset(self) -> QuerySet[Semester]:
        return reports_semesters(self.request.user)


class RegisterMixin(LoginRequiredMixin):
    """Fetch the semester, the viewer's scope and the filters; build the register."""

    request: HttpRequest

    def load(self, pk: int) -> tuple[Semester, RegisterScope, RegisterFilterForm]:
        semester = semester_or_404(pk)
        scope = register_scope(self.request.user, semester)
        if scope is None:
            raise Http404("No such semester.")
        return semester, scope, RegisterFilterForm(self.request.GET, semester=semester)

    def register(
        self, semester: Semester, scope: RegisterScope, form: RegisterFilterForm
    ) -> Register:
        return attendance_register(
            semester,
            group=form.cleaned_data["group"],
            specialization=form.cleaned_data["specialization"],
            instructor=scope.instructor,
        )


class RegisterView(RegisterMixin, View):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        semester, scope, form = self.load(pk)
        context: dict[str, Any] = {"semester": semester, "form": form, "scope": scope}
        if not form.is_valid():
            return render(request, "reports/register.html", context, status=400)
        register = self.register(semester, scope, form)
        table = register_table(register)
        students = len(register.rows)
        context.update(
            register=register,
            header=table[0],
            student_rows=[
                (row, [text(value) for value in values])
                for row, values in zip(register.rows, table[1 : 1 + students], strict=True)
            ],
            total_rows=[[text(value) for value in values] for values in table[1 + students :]],
            first_total=2 + len(register.sessions),
            legend=CELL_LABELS,
            can_see_dashboard=can_see_dashboard(request.user, semester),
            query=request.GET.urlencode(),
        )
        return render(request, "reports/register.html", context)


class RegisterDownloadView(RegisterMixin, View):
    extension = "csv"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        semester, scope, form = self.load(pk)
        if not form.is_valid():
            return HttpResponse(form.errors.as_text(), status=400, content_type="text/plain")
        register = self.register(semester, scope, form)
        if self.extension == "csv":
            response = HttpResponse(register_csv(register), content_type="text/csv; charset=utf-8")
        else:
            response = HttpResponse(register_xlsx(register), content_type=XLSX)
        response["Content-Disposition"] = (
            f'attachment; filename="{filename(register, self.extension)}"'
        )
        return response


class DashboardView(LoginRequiredMixin, TemplateView):
    template_name = "reports/dashboard.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        semester = semester_or_404(kwargs["pk"])
        if not can_see_dashboard(self.request.user, semester):
            raise Http404("No such semester.")
        dashboard = semester_dashboard(semester)
        weeks = [row.label for row in dashboard.fill_by_week]
        charts = {
            "fill_week": bar_chart(
                slug="fill-week",
                title="Fill rate by week",
                desc="Confirmed seats over capacity of the week's scheduled sessions.",
                labels=weeks,
                series={"Fill rate": [row.rate for row in dashboard.fill_by_week]},
                percent=True,
            ),
            "fill_type": bar_chart(
                slug="fill-type",
                title="Fill rate by session type",
                desc="Confirmed seats over capacity, by type of session.",
                labels=[row.label for row in dashboard.fill_by_type],
                series={"Fill rate": [row.rate for row in dashboard.fill_by_type]},
                percent=True,
            ),
            "credits": bar_chart(
                slug="credits",
                title="Credits by week",
                desc="Credits charged for bookings, refunded, and granted, week by week.",
                labels=[row["week"].isoformat() for row in dashboard.credits_by_week],
                series={
                    "Charged": [row["charged"] for row in dashboard.credits_by_week],
                    "Refunded": [row["refunded"] for row in dashboard.credits_by_week],
                    "Granted": [row["granted"] for row in dashboard.credits_by_week],
                },
            ),
            "hours": bar_chart(
                slug="hours",
                title="Busiest hours",
                desc="Confirmed seats by the hour the session starts (local time).",
                labels=[f"{row['hour']:02d}:00" for row in dashboard.busiest_hours],
                series={"Seats": [row["seats"] for row in dashboard.busiest_hours]},
            ),
        }
        return {
            **super().get_context_data(**kwargs),
            "semester": semester,
            "dashboard": dashboard,
            "charts": charts,
        }
