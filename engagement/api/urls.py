from rest_framework.routers import SimpleRouter

from .views import AttendanceViewSet, FeedbackViewSet, ProjectViewSet

router = SimpleRouter()
router.register("attendance", AttendanceViewSet, basename="attendance")
router.register("feedback", FeedbackViewSet, basename="feedback")
router.register("projects", ProjectViewSet, basename="project")

urlpatterns = router.urls
