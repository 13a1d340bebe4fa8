"""Scheduling's refusals: the stable codes of sessions' states and edits."""

from config.errors import PROTECTED, Conflict, error_code

NOT_QUALIFIED = error_code(
    "not_qualified", "The instructor holds no active qualification for the target (403)."
)
NOT_EDITABLE = error_code("not_editable", "A field that cannot change after creation.")
SESSION_CANCELLED = error_code("session_cancelled", "The session has been cancelled.")
SESSION_STARTED = error_code("session_started", "The session has already started.")
SESSION_DELETED = error_code("session_deleted", "The session no longer exists.")
INSTRUCTOR_BUSY = error_code(
    "instructor_busy",
    "The instructor teaches another session at that time; the body's conflicts name the sessions.",
    constraints=("session_instructor_no_overlap",),
)
LOCATION_BUSY = error_code(
    "location_busy",
    "Another session uses the location at that time; the body's conflicts name the sessions.",
)


class SessionProtected(Conflict):
    """Deleting the session would lose history; `blocking` counts each relation."""

    code = PROTECTED

    def __init__(self, blocking: dict[str, int]) -> None:
        listed = ", ".join(f"{count} {name}" for name, count in blocking.items() if count)
        super().__init__(
            f"The session cannot be deleted: it is referenced by {listed}. Cancel it instead.",
            blocking=blocking,
        )
        self.blocking = blocking
