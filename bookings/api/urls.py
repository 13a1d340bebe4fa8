from rest_framework.routers import SimpleRouter

from .views import BookingViewSet, CreditTransactionViewSet

router = SimpleRouter()
router.register("bookings", BookingViewSet, basename="booking")
router.register("credits", CreditTransactionViewSet, basename="credit")

urlpatterns = router.urls
