from rest_framework.routers import SimpleRouter

from .series import SeriesViewSet
from .views import GroupViewSet, SemesterViewSet, SessionViewSet, SpecializationViewSet

router = SimpleRouter()
router.register("specializations", SpecializationViewSet, basename="specialization")
router.register("semesters", SemesterViewSet, basename="semester")
router.register("groups", GroupViewSet, basename="group")
router.register("sessions", SessionViewSet, basename="session")
router.register("series", SeriesViewSet, basename="series")

urlpatterns = router.urls
