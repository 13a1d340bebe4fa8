"""The instructor area (SPEC §5): thin views over the scheduling, booking and engagement services.

Access is declared on each view: every page needs an instructor or staff login
(`InstructorAreaMixin`); sessions are fetched through what the user may see
(`Session.objects.taught_or_managed_by`), so a stranger's id is a 404; views
that change a session also declare `manage = True`, which asks
`can_manage_semester` (403 for an instructor who only teaches it).
"""

import copy
from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, UserPassesTestMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.generic import DetailView, FormView, ListView, View
from django.views.generic.detail import SingleObjectMixin

from activity.selectors import session_history
from bookings.models import Booking
from bookings.selectors import students_told_of
from bookings.series import (
    SeriesChangePlan,
    series_cancel,
    series_cancel_plan,
    series_update,
    series_update_plan,
)
from bookings.services import cancel_session
from bookings.services import session_update as update_session
from calendars.services import calendar_feed_url, calendar_token_for
from config.errors import DomainError
from config.pagination import PageIdsFirstPaginator
from engagement.models import Attendance, Feedback
from engagement.services import attendance_record
from scheduling.access import can_manage_semester, can_mark_attendance
from scheduling.errors import NOT_QUALIFIED, SessionProtected
from scheduling.filters import SessionFilter, local_day_bounds, page_filter_form
from scheduling.models import Semester, Session, SessionSeries
from scheduling.series import (
    INVALID,
    rule_times,
    series_create,
    series_plan,
    series_taught_or_managed_by,
)
from scheduling.services import (
    blocking_relations,
    session_create,
    session_delete,
    session_duplicate,
)

from .forms import (
    WEEKDAYS,
    AttendanceForm,
    DuplicateForm,
    RepeatForm,
    SeriesCancelForm,
    SeriesEditForm,
    SeriesScopeForm,
    SessionForm,
)
from .roster import roster_csv, roster_filename, sign_in_students

# The name of the attendance form's "Mark all present" submit button.
MARK_ALL_PRESENT = "mark_all_present"

BLOCKING_LABELS = {
    "bookings": "bookings (of any status)",
    "attendance": "attendance records",
    "feedback": "feedback entries",
    "projects": "projects",
}


class InstructorAreaMixin(LoginRequiredMixin, UserPassesTestMixin):
    """Anonymous visitors are sent to the login page; students get 403."""

    def test_func(self) -> bool:
        user = self.request.user
        return user.is_staff or user.is_instructor


class SessionAccessMixin(InstructorAreaMixin, SingleObjectMixin):
    """Fetch the session through what the user may see; `manage` declares the write right."""

    model = Session
    manage: bool = False
    context_object_name = "session"

    def get_queryset(self) -> QuerySet[Session]:
        return Session.objects.taught_or_managed_by(self.request.user).select_related(
            "semester", "instructor", "group", "target_specialization"
        )

    def get_object(self, queryset: QuerySet[Session] | None = None) -> Session:
        session = super().get_object(queryset)
        if self.manage and not can_manage_semester(self.request.user, session.semester):
            raise PermissionDenied("Only staff or the semester's master instructor may do this.")
        return session

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["can_manage"] = can_manage_semester(self.request.user, self.object.semester)
        return context


class SessionListView(InstructorAreaMixin, ListView):
    """My sessions: a constant number of queries, statistics for the page's rows only."""

    template_name = "instructor/session_list.html"
    context_object_name = "sessions"
    paginate_by = 25
    paginator_class = PageIdsFirstPaginator

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        data = request.GET.dict()
        # Upcoming first, unless the visitor chose a period (an empty "when" means any time).
        data.setdefault("when", "upcoming")
        self.semesters = list(self._semesters())
        self.filterset = SessionFilter(
            local_day_bounds(data),
            queryset=Session.objects.taught_or_managed_by(request.user)
            .with_stats()
            .select_related("semester", "instructor"),
        )
        self.filter_form = page_filter_form(self.filterset)  # named before it is validated
        response = super().get(request, *args, **kwargs)
        if not self.filterset.is_valid():
            response.status_code = 400  # the page names the field, as the API would
        return response

    def _semesters(self) -> QuerySet[Semester]:
        user = self.request.user
        if user.is_staff:
            return Semester.objects.all()
        return Semester.objects.filter(
            pk__in=Session.objects.filter(instructor=user).values("semester_id")
        ) | Semester.objects.filter(master_instructor=user)

    def get_queryset(self) -> QuerySet[Session]:
        # An invalid filter value (a letter for a semester id) shows nothing rather than everything.
        return self.filterset.qs if self.filterset.is_valid() else Session.objects.none()

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        form = self.filter_form
        form.fields["semester"].widget = forms.Select(
            choices=[("", "All semesters")]
            + [(semester.pk, f"{semester.code} · {semester.name}") for semester in self.semesters]
        )
        form.fields["when"].widget = forms.Select(
            choices=[("", "Any time"), *SessionFilter.base_filters["when"].extra["choices"]]
        )
        query = self.request.GET.copy()
        query.pop("page", None)
        can_create = self.request.user.is_staff or any(
            can_manage_semester(self.request.user, semester) for semester in self.semesters
        )
        # nav_can_create too: the navigation then spends no query of its own here.
        context.update(
            filter_form=form,
            # The date inputs show the days typed, not the moments they stand for.
            filter_days={name: self.request.GET.get(name, "") for name in ("date_from", "date_to")},
            filter_query=query.urlencode(),
            can_create=can_create,
            nav_can_create=can_create,
            # The semesters listed are those the user teaches in or runs: each has a register
            # they may open (engagement.register.register_scope).
            can_see_reports=bool(self.semesters),
            calendar_url=calendar_feed_url(calendar_token_for(user=self.request.user)),
        )
        return context


class SessionFormMixin:
    """Save through the services and put what they refuse on the form."""

    form_class = SessionForm
    template_name = "instructor/session_form.html"

    request: HttpRequest
    problems: list[Any] | None = None

    def save(self, form: SessionForm) -> Session:
        raise NotImplementedError

    def form_valid(self, form: SessionForm) -> HttpResponse:
        try:
            session = self.save(form)
        except ValidationError as error:
            form.add_service_error(error)
            return self.form_invalid(form)
        except DomainError as error:
            field = "target_specialization" if error.code == NOT_QUALIFIED else None
            form.add_error(field, error.message)
            # A series' conflicts: every date and what is in the way.
            self.problems = error.extra.get("problems")
            return self.form_invalid(form)
        return redirect("instructor:session-detail", pk=session.pk)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["problems"] = self.problems
        return context


def ask_if_in_the_past(form: SessionForm, start: datetime | None, semester: Semester) -> None:
    """A start in the past is saved only once the user ticks "Yes, it starts in the past".
    A start before the semester is not asked about: the service refuses it, saying why."""
    if start is None or start > timezone.now() or form.cleaned_data.get("confirm_past"):
        return
    if timezone.localdate(start, timezone.get_default_timezone()) < semester.start_date:
        return
    form.asks_past = True
    raise ValidationError(
        {
            "date_start": "This session starts in the past. Tick “Yes, it starts in the "
            "past” below and save again if that is what you mean."
        }
    )


def series_fields(form: SessionForm, repeat: RepeatForm, instructor: Any) -> dict[str, Any]:
    """The session form and its "Repeat" section as the series service's fields."""
    values = form.session_fields()
    start, end = values.pop("date_start"), values.pop("date_end")
    return {**values, "instructor": instructor, **rule_times(start, end), **repeat.rule()}


def series_preview(user: Any, form: SessionForm, repeat: RepeatForm) -> dict[str, Any]:
    """The dry run behind "Preview dates": the occurrences and every problem, nothing
    written. A rule the service refuses outright puts its errors on the forms."""
    if not (form.is_valid() and repeat.is_valid()):
        return {"incomplete": True}
    if not repeat.is_repeating():
        return {"single": form.cleaned_data["date_start"]}
    try:
        plan = series_plan(
            by=user,
            semester=form.cleaned_data["semester"],
            **series_fields(form, repeat, user),
        )
    except ValidationError as error:
        if not repeat.add_service_error(error):
            form.add_service_error(error)
        return {"refused": error.messages}
    except DomainError as error:
        return {"refused": [error.message]}
    return {"occurrences": plan.occurrences, "problems": plan.problems}


class SessionCreateView(InstructorAreaMixin, SessionFormMixin, FormView):
    """One session, or with "Repeat" a series through the API's service
    (scheduling/series.py); "Preview dates" shows the dates and problems first."""

    repeat: RepeatForm | None = None
    preview: dict[str, Any] | None = None

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        kwargs.update(user=self.request.user, instructor=self.request.user)
        return kwargs

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = self.get_form()
        self.repeat = RepeatForm(request.POST)
        if request.POST.get("action") == "preview":
            self.preview = series_preview(request.user, form, self.repeat)
            return self.render_to_response(self.get_context_data(form=form))
        if form.is_valid() and self.repeat.is_valid():
            return self.form_valid(form)
        return self.form_invalid(form)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(repeat=self.repeat or RepeatForm(), preview=self.preview)
        return context

    def save(self, form: SessionForm) -> Session:
        ask_if_in_the_past(form, form.cleaned_data["date_start"], form.cleaned_data["semester"])
        if self.repeat.is_repeating():
            return self.save_series(form)
        session = session_create(
            by=self.request.user,
            semester=form.cleaned_data["semester"],
            instructor=self.request.user,
            **form.session_fields(),
        )
        messages.success(self.request, f"Session “{session.title}” created.")
        return session

    def save_series(self, form: SessionForm) -> Session:
        try:
            series = series_create(
                by=self.request.user,
                semester=form.cleaned_data["semester"],
                **series_fields(form, self.repeat, self.request.user),
            )
        except ValidationError as error:
            if self.repeat.add_service_error(error):
                raise ValidationError("Check the “Repeat” section.") from error
            raise
        occurrences = list(series.occurrences.order_by("date_start"))
        first, last = occurrences[0], occurrences[-1]
        messages.success(
            self.request,
            f"Series “{series.title}” created: {len(occurrences)} sessions, from "
            f"{timezone.localdate(first.date_start):%-d %B %Y} to "
            f"{timezone.localdate(last.date_start):%-d %B %Y}.",
        )
        return first


class SessionPreviewView(InstructorAreaMixin, View):
    """The "Repeat" preview as an HTML fragment, for the form's script to refresh."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = SessionForm(request.POST, user=request.user, instructor=request.user)
        repeat = RepeatForm(request.POST)
        context = {"preview": series_preview(request.user, form, repeat)}
        return render(request, "instructor/_series_preview.html", context)


class SessionUpdateView(SessionAccessMixin, SessionFormMixin, FormView):
    manage = True

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.object = self.get_object()
        return super().get(request, *args, **kwargs)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.object = self.get_object()
        return super().post(request, *args, **kwargs)

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        kwargs.update(
            # A copy: a refused update must not leave half-applied values on the page's object.
            instance=copy.copy(self.object),
            user=self.request.user,
            instructor=self.object.instructor,
        )
        return kwargs

    def save(self, form: SessionForm) -> Session:
        changes = form.changed_session_fields()
        if not changes:
            messages.info(self.request, "Nothing changed.")
            return self.object
        ask_if_in_the_past(form, changes.get("date_start"), self.object.semester)
        told = students_told_of(self.object, changes)
        if told and not form.cleaned_data.get("confirm_told"):
            form.told = told
            people = "1 student is" if told == 1 else f"{told} students are"
            raise ValidationError(
                f"{people} booked and will be told about this change of time, place or "
                "type. Tick “Yes, save and tell them” below and save again."
            )
        session = update_session(session=copy.copy(self.object), by=self.request.user, **changes)
        messages.success(self.request, f"Session “{session.title}” saved.")
        return session


class SessionDuplicateView(SessionAccessMixin, View):
    """Copy the session to another day at the same local time, checked as a new session."""

    manage = True
    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.object = self.get_object()
        form = DuplicateForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Choose the day to duplicate the session to.")
            return redirect("instructor:session-detail", pk=self.object.pk)
        try:
            duplicate = session_duplicate(
                session=self.object, by=request.user, day=form.cleaned_data["day"]
            )
        except (DomainError, ValidationError) as error:
            text = error.message if isinstance(error, DomainError) else " ".join(error.messages)
            messages.error(request, f"Not duplicated: {text}")
            return redirect("instructor:session-detail", pk=self.object.pk)
        messages.success(
            request,
            f"Session “{duplicate.title}” duplicated to "
            f"{timezone.localtime(duplicate.date_start):%A %-d %B %Y, %H:%M}.",
        )
        return redirect("instructor:session-detail", pk=duplicate.pk)


class SessionDetailView(SessionAccessMixin, DetailView):
    """Information, roster, waitlist, attendance and feedback in a fixed number of queries."""

    template_name = "instructor/session_detail.html"

    def get_queryset(self) -> QuerySet[Session]:
        # The series' size in the same statement, for the "Series: N sessions" link.
        sizes = (
            Session.objects.filter(series_id=OuterRef("series_id"))
            .order_by()
            .values("series_id")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return super().get_queryset().with_stats().annotate(series_size=Subquery(sizes))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        session = self.object
        context.update(attendance_context(session, self.request.user))
        context["feedback"] = list(
            Feedback.objects.filter(session=session).select_related("student")
        )
        context["history"] = session_history(session.pk)
        next_week = timezone.localdate(session.date_start) + timedelta(weeks=1)
        context["duplicate_form"] = DuplicateForm(initial={"day": next_week})
        return context


def attendance_context(session: Session, user: Any, data: Any = None) -> dict[str, Any]:
    """Roster, waitlist and the attendance form: two queries whatever the roster's size."""
    bookings = list(
        Booking.objects.live()
        .filter(session=session)
        .with_waitlist_position()
        .select_related("student")
        .order_by("created_at", "id")
    )
    roster = [b for b in bookings if b.status == Booking.Status.CONFIRMED]
    waitlist = [b for b in bookings if b.status == Booking.Status.WAITLISTED]
    attendance_open = session.has_started() and can_mark_attendance(user, session)
    if data is not None and MARK_ALL_PRESENT in data:
        # "Mark all present": the same form and service as a row-by-row save, every
        # confirmed student set to present.
        data = {
            AttendanceForm.field_name(booking.student): Attendance.Status.PRESENT
            for booking in roster
        }
    context: dict[str, Any] = {
        "roster": roster,
        "waitlist": waitlist,
        "attendance_open": attendance_open,
    }
    if attendance_open and roster:
        current = dict(
            Attendance.objects.filter(session=session).values_list("student_id", "status")
        )
        context["attendance_form"] = AttendanceForm(
            data, students=[b.student for b in roster], current=current
        )
    return context


class AttendanceView(SessionAccessMixin, View):
    """Save the whole roster's attendance at once, each row through attendance_record."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        session = self.object = self.get_object()
        detail = reverse("instructor:session-detail", kwargs={"pk": session.pk})
        form = attendance_context(session, request.user, request.POST).get("attendance_form")
        if form is None:
            if session.has_started():
                messages.error(request, "No student holds a confirmed booking to mark.")
            else:
                messages.error(request, "Attendance opens when the session starts.")
            return HttpResponseRedirect(detail)
        if not form.is_valid():
            messages.error(request, "Choose one of the listed statuses for each student.")
            return HttpResponseRedirect(detail)
        saved = 0
        for student, status in form.marked():
            try:
                attendance_record(session=session, student=student, status=status, by=request.user)
            except (DomainError, ValidationError) as error:
                text = (
                    error.message if isinstance(error, DomainError) else "; ".join(error.messages)
                )
                messages.error(request, f"{student.display_name}: {text}")
            else:
                saved += 1
        if saved:
            noun = "student" if saved == 1 else "students"
            messages.success(request, f"Attendance saved for {saved} {noun}.")
        elif not form.marked():
            messages.info(request, "No attendance changed.")
        return HttpResponseRedirect(detail)


class SignInSheetView(SessionAccessMixin, DetailView):
    """A printable sign-in sheet: the session's details and its confirmed students by name,
    with a blank column to sign. Whoever may open the roster may print it."""

    template_name = "instructor/session_sign_in_sheet.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["students"] = sign_in_students(self.object)
        return context


class RosterCsvView(SessionAccessMixin, View):
    """The roster as CSV: name, email, booking status, waitlist position and attendance."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        session = self.object = self.get_object()
        response = HttpResponse(roster_csv(session), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="{roster_filename(session, "csv")}"'
        )
        return response


class SessionDeleteView(SessionAccessMixin, View):
    """Confirm, then delete; a protected session lists what blocks it and offers cancelling."""

    manage = True
    template_name = "instructor/session_confirm_delete.html"

    def confirmation(self, blocking: dict[str, int]) -> HttpResponse:
        rows = [(BLOCKING_LABELS[name], count) for name, count in blocking.items() if count]
        return render(
            self.request,
            self.template_name,
            {"session": self.object, "blocking": rows, "protected": bool(rows)},
        )

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.object = self.get_object()
        return self.confirmation(blocking_relations(self.object))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.object = self.get_object()
        title = self.object.title
        try:
            session_delete(session=self.object, by=request.user)
        except SessionProtected as error:
            messages.error(request, "The session cannot be deleted: other records refer to it.")
            return self.confirmation(error.blocking)
        except DomainError as error:
            messages.error(request, error.message)
            return redirect("instructor:session-detail", pk=self.object.pk)
        messages.success(request, f"Session “{title}” deleted.")
        return redirect("instructor:session-list")


class SessionCancelView(SessionAccessMixin, View):
    """Cancel instead of deleting: every confirmed booking refunded, every open one cancelled."""

    manage = True
    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.object = self.get_object()
        try:
            result = cancel_session(session=self.object, by=request.user)
        except DomainError as error:
            messages.error(request, error.message)
        else:
            bookings = "booking" if result.bookings_cancelled == 1 else "bookings"
            credits = "credit" if result.credits_refunded == 1 else "credits"
            messages.success(
                request,
                f"Session “{self.object.title}” cancelled: {result.bookings_cancelled} "
                f"{bookings} cancelled, {result.credits_refunded} {credits} refunded.",
            )
        return redirect("instructor:session-detail", pk=self.object.pk)


def series_edit_initial(series: SessionSeries) -> dict[str, Any]:
    """What the series' edit form shows: the series as it stands. Only the fields the user
    changes from these are sent, so the confirmation step posts the same form back."""
    return {
        "scope": "following",
        "title": series.title,
        "description": series.description,
        "start_time": series.start_time,
        "duration_minutes": series.duration_minutes,
        "session_type": series.session_type,
        "location": series.location,
        "meeting_link": series.meeting_link,
        "capacity": series.capacity,
        "credit_cost": series.credit_cost,
        "weekdays": series.weekdays,
        "until_date": series.until_date,
        "skipped_dates": ", ".join(series.skipped_dates),
    }


def plan_summary(plan: SeriesChangePlan) -> list[str]:
    """What a change will do, in words, for the confirmation step."""

    def sessions(n: int) -> str:
        return "1 session" if n == 1 else f"{n} sessions"

    def students(n: int) -> str:
        return "1 student" if n == 1 else f"{n} students"

    lines = []
    if plan.changed:
        lines.append(f"{sessions(len(plan.changed))} will be changed.")
    if plan.moved:
        lines.append(f"{sessions(len(plan.moved))} will move to a new date or time.")
    if plan.created:
        lines.append(f"{sessions(len(plan.created))} will be added.")
    if plan.cancelled:
        lines.append(f"{sessions(len(plan.cancelled))} will be cancelled.")
    if plan.students_told:
        lines.append(f"{students(plan.students_told)} booked on them will be told.")
    if plan.students_refunded:
        credits = "1 credit" if plan.credits_refunded == 1 else f"{plan.credits_refunded} credits"
        lines.append(f"{students(plan.students_refunded)} will be refunded, {credits} in all.")
    return lines or ["Nothing will change: no session in that scope is still to come."]


class SeriesPageMixin(InstructorAreaMixin):
    """A series fetched through what the user may see (a stranger's id is a 404); its
    forms need the right to manage its semester (403 otherwise)."""

    series: SessionSeries

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated and (request.user.is_staff or request.user.is_instructor):
            self.series = get_object_or_404(
                series_taught_or_managed_by(request.user), pk=kwargs["pk"]
            )
        return super().dispatch(request, *args, **kwargs)

    def page(self, status: int = 200, **forms_and_more: Any) -> HttpResponse:
        """The series page: its occurrences with their bookings in one query."""
        occurrences = list(self.series.occurrences.with_stats().order_by("date_start", "pk"))
        now = timezone.now()
        upcoming = [
            s for s in occurrences if s.status == Session.Status.SCHEDULED and s.date_start > now
        ]
        can_manage = can_manage_semester(self.request.user, self.series.semester)
        context: dict[str, Any] = {
            "series": self.series,
            "occurrences": occurrences,
            "now": now,
            "can_manage": can_manage,
            "upcoming": upcoming,
            "weekday_names": [dict(WEEKDAYS)[day] for day in sorted(self.series.weekdays)],
            "academy_zone": timezone.get_default_timezone_name(),
        }
        if can_manage and upcoming:
            context["edit_form"] = SeriesEditForm(
                occurrences=upcoming, initial=series_edit_initial(self.series)
            )
            context["cancel_form"] = SeriesCancelForm(
                occurrences=upcoming, initial={"scope": "this"}
            )
        context.update(forms_and_more)
        return render(self.request, "instructor/series_detail.html", context, status=status)

    def upcoming(self) -> list[Session]:
        now = timezone.now()
        return list(
            self.series.occurrences.filter(
                status=Session.Status.SCHEDULED, date_start__gt=now
            ).order_by("date_start", "pk")
        )


class SeriesDetailView(SeriesPageMixin, View):
    """A series' occurrences (date in the viewer's zone, bookings, status) and, for those
    who manage its semester, the forms that edit or cancel some of them."""

    http_method_names = ["get"]

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self.page()


class SeriesChangeView(SeriesPageMixin, View):
    """Post a series form: first the dry run, shown as a confirmation that says what will
    happen; the "Yes" button posts the same form back with `confirm` and applies it."""

    http_method_names = ["post"]
    form_class: type[SeriesScopeForm]
    form_name: str

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not can_manage_semester(request.user, self.series.semester):
            raise PermissionDenied("Only staff or the semester's master instructor may do this.")
        form = self.build_form(request.POST)
        if not form.is_valid():
            return self.page(400, **{self.form_name: form})
        try:
            if not form.cleaned_data["confirm"]:
                plan = self.plan(form)
                if plan.problems:
                    form.add_error(None, "These dates cannot be scheduled; nothing was changed.")
                    # As the API answers: 400 when a date breaks a rule, 409 for conflicts.
                    invalid = any(problem.code == INVALID for problem in plan.problems)
                    status = 400 if invalid else 409
                    return self.page(status, **{self.form_name: form, "problems": plan.problems})
                return render(
                    request,
                    "instructor/series_confirm.html",
                    {
                        "series": self.series,
                        "form": form,
                        "summary": plan_summary(plan),
                        "action": request.path,
                        "verb": self.verb,
                    },
                )
            return self.apply(form)
        except ValidationError as error:
            for field, messages_ in getattr(error, "error_dict", {None: [error]}).items():
                form.add_error(field if field in form.fields else None, messages_)
            return self.page(400, **{self.form_name: form})
        except DomainError as error:
            form.add_error(None, error.message)
            problems = error.extra.get("problems")
            return self.page(409, **{self.form_name: form, "problems": problems})

    def build_form(self, data: Any) -> SeriesScopeForm:
        return self.form_class(data, occurrences=self.upcoming())

    def scope(self, form: SeriesScopeForm) -> dict[str, Any]:
        data = form.cleaned_data
        occurrence = data["occurrence"] if data["scope"] != "all" else None
        return {"series": self.series, "by": self.request.user, "scope": data["scope"]} | {
            "occurrence": occurrence
        }


class SeriesEditView(SeriesChangeView):
    form_class = SeriesEditForm
    form_name = "edit_form"
    verb = "Yes, save the changes"

    def build_form(self, data: Any) -> SeriesScopeForm:
        return SeriesEditForm(
            data, occurrences=self.upcoming(), initial=series_edit_initial(self.series)
        )

    def plan(self, form: SeriesEditForm) -> SeriesChangePlan:
        return series_update_plan(**self.scope(form), **form.changes())

    def apply(self, form: SeriesEditForm) -> HttpResponse:
        result = series_update(**self.scope(form), **form.changes())
        count = len(result.sessions)
        messages.success(
            self.request,
            f"Series “{self.series.title}”: {count} session{'s' if count != 1 else ''} saved.",
        )
        return redirect("instructor:series-detail", pk=(result.series or self.series).pk)


class SeriesCancelView(SeriesChangeView):
    form_class = SeriesCancelForm
    form_name = "cancel_form"
    verb = "Yes, cancel them"

    def plan(self, form: SeriesCancelForm) -> SeriesChangePlan:
        return series_cancel_plan(**self.scope(form))

    def apply(self, form: SeriesCancelForm) -> HttpResponse:
        result = series_cancel(**self.scope(form))
        count = len(result.sessions)
        messages.success(
            self.request,
            f"Series “{self.series.title}”: {count} session{'s' if count != 1 else ''} "
            f"cancelled, {result.credits_refunded} credits refunded.",
        )
        return redirect("instructor:series-detail", pk=self.series.pk)
