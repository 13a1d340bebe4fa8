"""The reference system's list before its fix: a count query per statistic per session."""

import json

from django.core.serializers.json import DjangoJSONEncoder


def naive_page(page: int, page_size: int) -> str:
    from bookings.models import Booking
    from engagement.models import Attendance, Feedback, ProjectSession
    from scheduling.models import Session

    offset = (page - 1) * page_size
    total = Session.objects.count()
    results = []
    for session in Session.objects.order_by("date_start", "id")[offset : offset + page_size]:
        bookings = Booking.objects.filter(session=session)
        confirmed = bookings.filter(status="confirmed").count()
        ratings = list(Feedback.objects.filter(session=session).values_list("rating", flat=True))
        results.append(
            {
                "id": session.id,
                "title": session.title,
                "description": session.description,
                "semester": session.semester_id,
                "instructor": session.instructor_id,
                "instructor_name": session.instructor.get_full_name()
                or session.instructor.username,
                "group": session.group_id,
                "target_specialization": session.target_specialization.code
                if session.target_specialization_id
                else None,
                "mixed_specialization": session.mixed_specialization,
                "session_type": session.session_type,
                "status": session.status,
                "date_start": session.date_start,
                "date_end": session.date_end,
                "capacity": session.capacity,
                "credit_cost": session.credit_cost,
                "location": session.location,
                "meeting_link": session.meeting_link,
                "booking_count": bookings.exclude(status="cancelled").count(),
                "confirmed_count": confirmed,
                "waitlist_count": bookings.filter(status="waitlisted").count(),
                "available_spots": max(session.capacity - confirmed, 0),
                "attendance_count": Attendance.objects.filter(
                    session=session, status__in=["present", "late"]
                ).count(),
                "feedback_count": len(ratings),
                "average_rating": sum(ratings) / len(ratings) if ratings else None,
                "project_count": ProjectSession.objects.filter(session=session).count(),
                "created_at": session.created_at,
                "updated_at": session.updated_at,
            }
        )
    return json.dumps({"count": total, "results": results}, cls=DjangoJSONEncoder)
