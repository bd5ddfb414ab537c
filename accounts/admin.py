from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts.models import Organisation, User


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "credit_code", "kind"]
    search_fields = ["name", "credit_code"]


@admin.register(User)
class PlatformUserAdmin(UserAdmin):
    list_display = ["username", "display_name", "organisation", "role", "is_active"]
    fieldsets = [
        *UserAdmin.fieldsets,
        ("Platform", {"fields": ["organisation", "role", "display_name"]}),
    ]
