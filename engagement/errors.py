"""Engagement's refusals: the stable codes of attendance and feedback."""

from config.errors import error_code

SESSION_NOT_STARTED = error_code("session_not_started", "Attendance opens when the session starts.")
NOT_BOOKED = error_code("not_booked", "The student holds no confirmed booking for the session.")
ALREADY_MARKED = error_code(
    "already_marked",
    "The student's attendance is already recorded.",
    constraints=("attendance_one_per_student_and_session",),
)
NOT_ATTENDED = error_code("not_attended", "Feedback is for students marked present or late.")
ALREADY_GIVEN = error_code(
    "already_given",
    "The student has already given feedback on the session.",
    constraints=("feedback_one_per_student_and_session",),
)
