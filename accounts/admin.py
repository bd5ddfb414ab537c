"""Users and organisations in the Django admin: to look at, never to change.

Every change to a user or an organisation goes through ``accounts.services`` so that it
is checked and lands in the audit chain; the admin would write the rows directly (no
checks, no audit event). So here they are read-only: no add, change or delete, no
password form, no bulk actions. Change them through the platform's pages, the API or
the services (``manage.py shell``), which record who did what.
"""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts.models import Organisation, User


class ReadOnlyAdmin(admin.ModelAdmin):
    """Viewable, not writable: changes must go through the services and the audit log."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Organisation)
class OrganisationAdmin(ReadOnlyAdmin):
    list_display = ["name", "credit_code", "kind"]
    search_fields = ["name", "credit_code"]


@admin.register(User)
class PlatformUserAdmin(ReadOnlyAdmin, UserAdmin):
    list_display = ["username", "display_name", "organisation", "role", "is_active"]
    fieldsets = [
        *UserAdmin.fieldsets,
        ("Platform", {"fields": ["organisation", "role", "display_name"]}),
    ]
