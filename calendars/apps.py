from django.apps import AppConfig


class CalendarsConfig(AppConfig):
    """Calendar feeds people subscribe to (RFC 5545): a surface over scheduling and bookings.

    Reads only: the feed is built from sessions, bookings and the activity log, so it
    owns nothing but each person's secret feed address (CalendarToken).
    """

    name = "calendars"
    default_auto_field = "django.db.models.BigAutoField"
