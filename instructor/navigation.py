"""What the navigation offers an instructor: only what they may do."""

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from scheduling.access import semesters_managed_by


def navigation(request: HttpRequest) -> dict[str, Any]:
    """`nav_can_create`: staff, or the master instructor of some semester (one EXISTS,
    run only when a template asks, so the student pages spend no query on it)."""
    user = getattr(request, "user", None)

    def can_create() -> bool:
        if user is None or not user.is_authenticated:
            return False
        if user.is_staff:
            return True
        return user.is_instructor and semesters_managed_by(user).exists()

    return {"nav_can_create": SimpleLazyObject(can_create)}
