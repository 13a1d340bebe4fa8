"""Reads of the activity log shared by the pages."""

from activity.models import Activity

HISTORY_CARD_ROWS = 50


def session_history(session_id: int, *, limit: int = HISTORY_CARD_ROWS) -> list[Activity]:
    """The newest `limit` activities of a session with their users: one query."""
    return list(
        Activity.objects.for_session(session_id)
        .newest_first()
        .select_related("actor", "student")[:limit]
    )
