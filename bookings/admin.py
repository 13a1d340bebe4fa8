from django.contrib import admin

from .models import Booking, CreditTransaction, IdempotencyKey

admin.site.register([Booking, CreditTransaction, IdempotencyKey])
