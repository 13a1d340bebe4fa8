"""Writes to a person's own account."""

from .models import User

# The email kinds a person may turn off (notifications.kinds.OPTIONAL and the waitlist one).
NOTIFICATION_SETTINGS = ("notify_reminders", "notify_waitlist_changes", "notify_credit_grants")


def update_notification_settings(*, user: User, changes: dict[str, bool]) -> User:
    """Set some of the user's notification switches; unknown names are a programming error."""
    unknown = set(changes) - set(NOTIFICATION_SETTINGS)
    if unknown:
        raise ValueError(f"Not notification settings: {sorted(unknown)}")
    for name, value in changes.items():
        setattr(user, name, bool(value))
    if changes:
        user.save(update_fields=list(changes))
    return user


PROFILE_FIELDS = ("first_name", "last_name", "email", "time_zone")


def update_profile(*, user: User, changes: dict[str, str]) -> User:
    """Set the person's own name, email and time zone (validated by the caller's form)."""
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise ValueError(f"Not profile fields: {sorted(unknown)}")
    for name, value in changes.items():
        setattr(user, name, value)
    if changes:
        user.save(update_fields=list(changes))
    return user
