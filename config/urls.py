from django.contrib import admin
from django.urls import include, path

from .health import healthz, readyz

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("api/v1/", include("config.api_urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("scheduling.urls")),
]
