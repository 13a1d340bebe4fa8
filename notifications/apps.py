from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """Emails about what happened to people's seats, money and sessions.

    A surface app above the domain apps: it learns about events only through the
    activity channel, and turns each into email tasks in the same transaction.
    """

    name = "notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from activity.subscribers import subscribe_in_transaction

        from . import metrics, subscribers

        # One handler for every verb: one record_many() gives one INSERT of task rows.
        subscribe_in_transaction("*", subscribers.enqueue_for_activities)
        metrics.connect()
