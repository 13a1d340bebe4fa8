from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from .models import User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "email", "role", "specialization", "credit_balance", "is_staff")
    list_filter = ("role", "is_staff", "is_active", "specialization")
    readonly_fields = ("credit_balance",)
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        ("Practica", {"fields": ("role", "specialization", "credit_balance")}),
    )
    add_fieldsets = (
        *DjangoUserAdmin.add_fieldsets,
        ("Practica", {"fields": ("role", "specialization")}),
    )
