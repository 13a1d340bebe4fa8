from rest_framework.routers import SimpleRouter

from .views import GroupViewSet, SemesterViewSet, SessionViewSet, SpecializationViewSet

router = SimpleRouter()
router.register("specializations", SpecializationViewSet, basename="specialization")
router.register("semesters", SemesterViewSet, basename="semester")
router.register("groups", GroupViewSet, basename="group")
router.register("sessions", SessionViewSet, basename="session")

urlpatterns = router.urls
