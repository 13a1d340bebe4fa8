from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Signed HTTP callbacks to integrators for every activity they subscribed to.

    A surface app: it learns about events only through the activity channel and
    writes its deliveries and their task rows in the writer's transaction.
    """

    name = "webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from activity.subscribers import subscribe_in_transaction

        from . import subscribers
        from .models import WebhookEndpoint

        # Most academies have no endpoint: the activities' INSERT asks whether one is
        # active, and the endpoints are read only when one is.
        subscribe_in_transaction(
            "*",
            subscribers.deliveries_for_activities,
            only_if=WebhookEndpoint.objects.active(),
        )
