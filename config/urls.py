from django.contrib import admin
from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts.views import home
from notifications.views import PasswordResetRequestView

from .health import healthz, readyz
from .metrics import metrics

# JSON, not HTML, for API paths (config/exceptions.py).
handler400 = "config.exceptions.bad_request"
handler404 = "config.exceptions.page_not_found"
handler500 = "config.exceptions.server_error"


def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    # Resolved per request: the hashed static name exists only once collectstatic has run.
    return HttpResponsePermanentRedirect(static("favicon.svg"))


urlpatterns = [
    # Browsers ask for /favicon.ico on pages that name none (the admin, Swagger UI, JSON).
    path("favicon.ico", favicon),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
    path("api/v1/", include("config.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI's files come from drf-spectacular-sidecar: served locally, no CDN. The
    # split view serves its init script from a URL (`?script`) instead of inline, which
    # the Content-Security-Policy would block (templates/drf_spectacular/swagger_ui.html).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
    # Before Django's auth URLs: the reset email goes through the task queue.
    path("accounts/password_reset/", PasswordResetRequestView.as_view(), name="password_reset"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("account/notifications/", include("notifications.urls")),
    path("reports/", include("reports.urls")),
    path("student/", include("student.urls")),
    path("calendar/", include("calendars.urls")),
    # Before the instructor area's own "" (which it shadows): the role-aware landing.
    path("", home, name="home"),
    path("", include("instructor.urls")),
]
