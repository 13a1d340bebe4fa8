"""The REST API under /api/v1/ (SPEC §4)."""

from rest_framework.routers import DefaultRouter

router = DefaultRouter()

urlpatterns = router.urls
