"""The student pages: thin views over the same QuerySets and services as the API.

Every page needs a student login (`StudentAreaMixin`; instructors and staff get a
403 page that links to their own landing). Objects are fetched through what the
student may see (`Session.objects.visible_to`, `Booking.objects.visible_to`), so a
stranger's id is a 404. Writes call `book_session`, `cancel_booking`,
`feedback_give` and `update_profile`; what they refuse becomes a message through
one mapping (`student.outcomes`).
"""

import copy
from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, UserPassesTestMixin
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse_lazy
from django.utils import timezone
from django.views.generic import DetailView, FormView, ListView, TemplateView

from accounts.models import User
from accounts.services import update_profile
from bookings.models import Booking
from bookings.services import book_session, cancel_booking, is_eligible
from config.errors import DomainError
from config.pagination import PageIdsFirstPaginator
from engagement.models import Feedback
from engagement.register import CELL_LABELS, student_attendance_by_semester
from engagement.services import feedback_give
from scheduling.access import can_see_meeting_link
from scheduling.filters import SessionFilter, local_day_bounds, page_filter_form
from scheduling.models import Session

from . import selectors
from .forms import FeedbackForm, ProfileForm
from .offers import (
    booking_offer,
    cancel_label,
    cancellation_outcome,
    cancellation_policy,
    credits,
    local_moment,
    ordinal,
)
from .outcomes import refusal_message

# The schedule's filters: the API's own (scheduling.filters.SessionFilter), by name.
SCHEDULE_FILTERS = (
    "semester",
    "session_type",
    "target_specialization",
    "date_from",
    "date_to",
    "has_spots",
    "search",
)


class StudentAreaMixin(LoginRequiredMixin, UserPassesTestMixin):
    """Anonymous visitors go to the login page; instructors and staff get 403."""

    permission_denied_message = "These pages are for students."
    request: HttpRequest

    def test_func(self) -> bool:
        user = self.request.user
        return user.is_student and not user.is_staff


def in_days(sessions: list[Session]) -> list[tuple[date, list[Session]]]:
    """Sessions in date order, grouped by their day in the page's time zone."""
    days: list[tuple[date, list[Session]]] = []
    for session in sessions:
        day = timezone.localdate(session.date_start)
        if not days or days[-1][0] != day:
            days.append((day, []))
        days[-1][1].append(session)
    return days


def filter_data(query: Any) -> dict[str, str]:
    """The page's filter fields as the FilterSet takes them (days in the student's zone)."""
    return local_day_bounds({name: query.get(name) for name in SCHEDULE_FILTERS if query.get(name)})


class ScheduleView(StudentAreaMixin, ListView):
    """Upcoming sessions the student may book, by day; the queries do not grow with the page."""

    template_name = "student/schedule.html"
    context_object_name = "sessions"
    paginate_by = 20
    paginator_class = PageIdsFirstPaginator

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.filterset = SessionFilter(
            filter_data(request.GET), queryset=selectors.bookable_sessions(request.user)
        )
        # The inputs' ids are f-<name>: the error summary links to each.
        self.filter_form = page_filter_form(self.filterset, auto_id="f-%s")
        response = super().get(request, *args, **kwargs)
        if not self.filterset.is_valid():
            response.status_code = 400  # the page says which field, as the API would
        return response

    def get_queryset(self) -> QuerySet[Session]:
        # An invalid filter value shows nothing rather than everything.
        return self.filterset.qs if self.filterset.is_valid() else Session.objects.none()

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        query = self.request.GET.copy()
        query.pop("page", None)
        context.update(
            days=in_days(list(context["sessions"])),
            filters={name: self.request.GET.get(name, "") for name in SCHEDULE_FILTERS},
            filter_form=self.filter_form,
            filter_errors=self.filterset.errors,
            filter_query=query.urlencode(),
            semesters=selectors.catalogue_semesters(self.request.user),
            specializations=selectors.specializations(),
            session_types=Session.SessionType.choices,
        )
        return context


class SessionDetailView(StudentAreaMixin, DetailView):
    """The details, the policy in words, and one button that says what will happen."""

    template_name = "student/session_detail.html"
    context_object_name = "session"

    def get_queryset(self) -> QuerySet[Session]:
        return selectors.session_for(self.request.user)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(session_context(self.object, self.request.user))
        return context


def session_context(session: Session, student: User) -> dict[str, Any]:
    """The student's live booking of the session and what the button offers."""
    booking = (
        Booking.objects.live()
        .filter(session=session, student=student)
        .with_waitlist_position()
        .first()
    )
    bookable = booking is None and session.status == Session.Status.SCHEDULED
    eligible = is_eligible(student, session) if bookable and not session.has_started() else True
    offer = booking_offer(session=session, student=student, booking=booking, eligible=eligible)
    if booking is not None:
        booking.session = session
    return {
        "booking": booking,
        "offer": offer,
        "policy": cancellation_policy(session),
        "show_link": bool(session.meeting_link) and can_see_meeting_link(student, session),
        "cancel_label": cancel_label(booking) if booking and not session.has_started() else "",
    }


class BookView(StudentAreaMixin, DetailView):
    """GET: the confirmation step; POST: `book_session`, then the outcome as a message."""

    template_name = "student/book_confirm.html"
    context_object_name = "session"

    def get_queryset(self) -> QuerySet[Session]:
        return selectors.session_for(self.request.user)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(session_context(self.object, self.request.user))
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        session = self.object = self.get_object()
        student = request.user
        try:
            booking = book_session(student=student, session=session, by=student)
        except DomainError as error:
            messages.error(request, refusal_message(error))
            return redirect("student:session", pk=session.pk)
        when = local_moment(session.date_start)
        if booking.status == Booking.Status.CONFIRMED:
            student.refresh_from_db(fields=["credit_balance"])
            charged = "free"
            if booking.credits_charged:
                charged = f"{credits(booking.credits_charged)} charged"
            messages.success(
                request,
                f"Booked: “{session.title}”, {when} ({charged}; your balance is "
                f"{student.credit_balance}).",
            )
        else:
            messages.info(
                request,
                f"You are {ordinal(booking.waitlist_position)} on the waitlist for "
                f"“{session.title}”, {when}. Nothing is charged unless a seat frees"
                + (f"; then {credits(session.credit_cost)}." if session.credit_cost else "."),
            )
        return redirect("student:bookings")


class MyBookingsView(StudentAreaMixin, TemplateView):
    """Upcoming, waitlisted (live places) and past bookings: two queries in all."""

    template_name = "student/bookings.html"
    past_limit = 50

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        now = timezone.now()
        bookings = selectors.bookings_of(self.request.user)
        coming = list(
            bookings.live()
            .filter(session__date_start__gt=now)
            .order_by("session__date_start", "session_id")
        )
        for booking in coming:
            booking.cancel_label = cancel_label(booking, now)
        past = list(
            bookings.filter(status=Booking.Status.CONFIRMED, session__date_start__lte=now).order_by(
                "-session__date_start", "-session_id"
            )[: self.past_limit]
        )
        context.update(
            upcoming=[b for b in coming if b.status == Booking.Status.CONFIRMED],
            waitlisted=[b for b in coming if b.status == Booking.Status.WAITLISTED],
            past=past,
            past_limit=self.past_limit,
        )
        return context


class CancelBookingView(StudentAreaMixin, DetailView):
    """GET: what cancelling now refunds; POST: `cancel_booking`, then the outcome."""

    template_name = "student/cancel_confirm.html"
    context_object_name = "booking"

    def get_queryset(self) -> QuerySet[Booking]:
        return selectors.bookings_of(self.request.user).live()

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["outcome"] = cancellation_outcome(self.object)
        context["started"] = self.object.session.has_started()
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        booking = self.get_object()
        title = booking.session.title
        was_waitlisted = booking.status == Booking.Status.WAITLISTED
        try:
            result = cancel_booking(booking=booking, by=request.user)
        except DomainError as error:
            messages.error(request, refusal_message(error))
            return redirect("student:bookings")
        if was_waitlisted:
            messages.success(request, f"You left the waitlist for “{title}”.")
        elif result.credits_refunded:
            messages.success(
                request,
                f"Cancelled “{title}”: {credits(result.credits_refunded)} refunded.",
            )
        else:
            messages.success(request, f"Cancelled “{title}”: no refund.")
        return redirect("student:bookings")


class FeedbackView(StudentAreaMixin, FormView):
    """Rate an attended session once, through `feedback_give`."""

    template_name = "student/feedback.html"
    form_class = FeedbackForm

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated and self.test_func():
            self.session = get_object_or_404(
                Session.objects.visible_to(request.user), pk=kwargs["pk"]
            )
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["session"] = self.session
        context["given"] = Feedback.objects.filter(
            session=self.session, student=self.request.user
        ).first()
        return context

    def form_valid(self, form: FeedbackForm) -> HttpResponse:
        try:
            feedback_give(
                session=self.session,
                student=self.request.user,
                rating=form.cleaned_data["rating"],
                comment=form.cleaned_data["comment"],
            )
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
            return self.form_invalid(form)
        except DomainError as error:
            messages.error(self.request, refusal_message(error))
            return redirect("student:bookings")
        messages.success(
            self.request, f"Thank you: your feedback on “{self.session.title}” is saved."
        )
        return redirect("student:bookings")


class CreditsView(StudentAreaMixin, ListView):
    """The balance and the ledger, each row with the balance it left."""

    template_name = "student/credits.html"
    context_object_name = "entries"
    paginate_by = 25
    paginator_class = Paginator

    def get_queryset(self) -> QuerySet:
        return selectors.ledger_of(self.request.user)


class AttendanceView(StudentAreaMixin, TemplateView):
    """The student's own row of each semester's register: every session's mark and the
    attendance rate, from the register's own code (`engagement.register`), so the numbers
    are the ones staff see. One query for the whole record."""

    template_name = "student/attendance.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        semesters = student_attendance_by_semester(self.request.user)
        for semester in semesters:
            for entry in semester.record.entries:
                entry.label = (
                    CELL_LABELS[entry.status] if entry.started else "Booked, not started yet"
                )
        context["semesters"] = semesters
        return context


class ProjectsView(StudentAreaMixin, ListView):
    template_name = "student/projects.html"
    context_object_name = "projects"

    def get_queryset(self) -> QuerySet:
        return selectors.projects_of(self.request.user)


class ProfileView(StudentAreaMixin, FormView):
    """Name, email and time zone; notification settings are a page of their own."""

    template_name = "student/profile.html"
    form_class = ProfileForm
    success_url = reverse_lazy("student:profile")

    def get_form_kwargs(self) -> dict[str, Any]:
        # A copy: an invalid form must not leave its values on the signed-in user.
        return {**super().get_form_kwargs(), "instance": copy.copy(self.request.user)}

    def form_valid(self, form: ProfileForm) -> HttpResponse:
        update_profile(
            user=self.request.user,
            changes={name: form.cleaned_data[name] for name in form.changed_data},
        )
        messages.success(self.request, "Your profile is saved.")
        return super().form_valid(form)
