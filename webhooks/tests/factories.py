import factory

from webhooks import signing
from webhooks.models import WebhookEndpoint


class WebhookEndpointFactory(factory.django.DjangoModelFactory):
    """An endpoint registered directly (the URL is not checked: tests point it at loopback)."""

    class Meta:
        model = WebhookEndpoint

    url = "http://127.0.0.1:9/hooks"
    event_types = factory.LazyFunction(lambda: ["*"])
    secret = factory.LazyFunction(signing.new_secret)
