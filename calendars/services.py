"""The calendar address: created on first use, rotated on request."""

from urllib.parse import urlsplit

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from config.atomic import service_transaction

from .models import CalendarToken, new_key


def calendar_token_for(*, user: User) -> CalendarToken:
    """The user's calendar token, created the first time anyone asks for it.

    get_or_create copes with two first requests at once: the loser of the unique
    user_id race reads the winner's row.
    """
    token, _ = CalendarToken.objects.get_or_create(user=user)
    return token


def calendar_token_rotate(*, user: User) -> CalendarToken:
    """Give the user a new secret address; the old one answers 404 from now on."""
    with service_transaction():
        token, created = CalendarToken.objects.select_for_update().get_or_create(user=user)
        if not created:
            token.key = new_key()
            token.rotated_at = timezone.now()
            token.save(update_fields=["key", "rotated_at"])
    return token


def calendar_feed_url(token: CalendarToken) -> str:
    """The address calendar apps subscribe to: webcal:// (which they open as a
    subscription) on SITE_URL's host, fetched over https or http as SITE_URL is."""
    site = urlsplit(settings.SITE_URL)
    path = reverse("calendar:feed", kwargs={"token": token.key})
    return f"webcal://{site.netloc}{path}"
