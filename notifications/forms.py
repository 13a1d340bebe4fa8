import uuid
from typing import Any

from django import forms
from django.contrib.auth.forms import PasswordResetForm
from django.utils import timezone

from accounts.models import User
from accounts.services import NOTIFICATION_SETTINGS
from config.outbox import Call, enqueue_calls

from .tasks import send_password_reset


class NotificationSettingsForm(forms.ModelForm):
    class Meta:
        model = User
        fields = list(NOTIFICATION_SETTINGS)


class QueuedPasswordResetForm(PasswordResetForm):
    """Django's reset form, sending through the task queue in the site's style.

    Same answer whether or not the address is known (no account enumeration). The
    token is made when the email is written, so none waits in the queue's table.
    """

    def save(self, **kwargs: Any) -> None:  # type: ignore[override]
        now = timezone.now().isoformat()
        calls = [
            Call(
                send_password_reset,
                {"user_id": user.pk, "request_id": uuid.uuid4().hex, "requested_at": now},
            )
            for user in self.get_users(self.cleaned_data["email"])
        ]
        enqueue_calls(calls)
