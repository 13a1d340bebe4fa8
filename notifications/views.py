from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.views import PasswordResetView
from django.http import HttpResponse
from django.urls import reverse_lazy
from django.views.generic import FormView

from accounts.services import update_notification_settings

from .forms import NotificationSettingsForm, QueuedPasswordResetForm


class NotificationSettingsView(LoginRequiredMixin, FormView):
    """Which optional emails the signed-in person gets (any role)."""

    template_name = "notifications/settings.html"
    form_class = NotificationSettingsForm
    success_url = reverse_lazy("notifications:settings")

    def get_form_kwargs(self) -> dict[str, Any]:
        # An unsaved copy: the form writes nothing; the service does.
        return {**super().get_form_kwargs(), "instance": self.request.user}

    def form_valid(self, form: NotificationSettingsForm) -> HttpResponse:
        update_notification_settings(
            user=self.request.user,
            changes={name: form.cleaned_data[name] for name in form.Meta.fields},
        )
        messages.success(self.request, "Your email settings are saved.")
        return super().form_valid(form)


class PasswordResetRequestView(PasswordResetView):
    """ "Forgot your password?": the email goes through the task queue."""

    form_class = QueuedPasswordResetForm
