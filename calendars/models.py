"""Each person's secret calendar address. In its own table, one-to-one to the user, so that
the accounts app (below everything) knows nothing of calendars."""

import secrets

from django.conf import settings
from django.db import models


def new_key() -> str:
    # 32 random bytes: the address is the only credential a calendar client sends.
    return secrets.token_urlsafe(32)


class CalendarToken(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_token"
    )
    # The feed's lookup: WHERE key = ? (the unique index).
    key = models.CharField(max_length=64, unique=True, default=new_key)
    created_at = models.DateTimeField(auto_now_add=True)
    rotated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Calendar address of {self.user}"
