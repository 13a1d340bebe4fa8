"""Every activity verb, with its one-line meaning. The README's list is generated from here.

A verb is a stable dotted name, `<noun>.<past participle>`: subscribers match on it
(`booking.*`), integrators read it, so a verb is never renamed, only added.
"""

SESSION_CREATED = "session.created"
SESSION_UPDATED = "session.updated"
SESSION_CANCELLED = "session.cancelled"
SESSION_DELETED = "session.deleted"
SERIES_CREATED = "series.created"
SERIES_UPDATED = "series.updated"
SERIES_CANCELLED = "series.cancelled"
SEMESTER_CREATED = "semester.created"
SEMESTER_UPDATED = "semester.updated"
SEMESTER_DELETED = "semester.deleted"
GROUP_CREATED = "group.created"
GROUP_UPDATED = "group.updated"
GROUP_DELETED = "group.deleted"
BOOKING_CONFIRMED = "booking.confirmed"
BOOKING_WAITLISTED = "booking.waitlisted"
BOOKING_PROMOTED = "booking.promoted"
BOOKING_CANCELLED = "booking.cancelled"
CREDITS_GRANTED = "credits.granted"
CREDITS_ADJUSTED = "credits.adjusted"
ATTENDANCE_RECORDED = "attendance.recorded"
ATTENDANCE_CORRECTED = "attendance.corrected"
FEEDBACK_GIVEN = "feedback.given"
PROJECT_CREATED = "project.created"
PROJECT_UPDATED = "project.updated"
PROJECT_DELETED = "project.deleted"

# verb -> meaning (and the keys of its `data`), in the order the README lists them.
MEANINGS: dict[str, str] = {
    SESSION_CREATED: "A session was scheduled; data: title, date_start, and duplicated_from "
    "(the copied session's id) for a duplicate.",
    SESSION_UPDATED: "A session's fields changed; data.changes = {field: [old, new]}.",
    SESSION_CANCELLED: "A session was cancelled with all its bookings; "
    "data: bookings_cancelled, credits_refunded.",
    SESSION_DELETED: "A session nothing referred to was deleted; data: title, date_start.",
    SERIES_CREATED: "A recurring series was created with its occurrences (each also a "
    "session.created); data: title, occurrences, first, last, and copied_from (the "
    "semester's id) and weeks for a copy of another semester's series.",
    SERIES_UPDATED: "Occurrences of a series were edited (each also a session.updated); "
    "data: scope, sessions, changes, and split_into (the new series' id) when a change "
    "of the time from one occurrence on split the series; a new rule for the following "
    "ones adds rule, moved, created and cancelled (session ids).",
    SERIES_CANCELLED: "Occurrences of a series were cancelled (each also a session.cancelled "
    "with its refunds); data: scope, sessions, credits_refunded.",
    SEMESTER_CREATED: "A semester was created.",
    SEMESTER_UPDATED: "A semester's fields changed; data.changes = {field: [old, new]}.",
    SEMESTER_DELETED: "A semester nothing referred to was deleted; data: code.",
    GROUP_CREATED: "A student group was created; data: name, semester, members (ids).",
    GROUP_UPDATED: "A student group changed; data.changes = {field: [old, new]}, "
    "members_added and members_removed (ids, when the members were given).",
    GROUP_DELETED: "A student group no session referred to was deleted; data: name, semester.",
    BOOKING_CONFIRMED: "A student got a seat at booking time; data: credits_charged.",
    BOOKING_WAITLISTED: "A student joined a full session's waitlist; data: waitlist_position.",
    BOOKING_PROMOTED: "A waitlisted booking got a freed seat and was charged; "
    "data: credits_charged, balance_after.",
    BOOKING_CANCELLED: "A booking was cancelled; data: credits_refunded, was (the old status), "
    "cancelled_by (student, staff or session_cancelled).",
    CREDITS_GRANTED: "Staff granted credits to a student; data: amount, note.",
    CREDITS_ADJUSTED: "Staff corrected a student's balance; data: amount (signed), note.",
    ATTENDANCE_RECORDED: "A student's attendance was marked for the first time; data: status.",
    ATTENDANCE_CORRECTED: "A student's attendance mark changed; data: old, new.",
    FEEDBACK_GIVEN: "A student rated a session they attended; data: rating.",
    PROJECT_CREATED: "A project was created; data: title, sessions.",
    PROJECT_UPDATED: "A project changed; data.changes = {field: [old, new]}.",
    PROJECT_DELETED: "A project was deleted; data: title.",
}

ALL_VERBS: tuple[str, ...] = tuple(MEANINGS)
