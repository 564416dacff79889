from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied

from broadsheet.accounts.models import User


@admin.action(description="Deactivate (suspend) selected members", permissions=["change"])
def deactivate(modeladmin, request, queryset):
    queryset = queryset.exclude(pk=request.user.pk)
    if not request.user.is_superuser:
        queryset = queryset.filter(is_superuser=False)
    n = queryset.update(is_active=False)
    modeladmin.message_user(request, f"Deactivated {n} member(s).")


@admin.register(User)
class MemberAdmin(UserAdmin):
    """Superusers get Django's full user admin; moderators may only suspend members.

    A moderator (staff with change_user) must not grant rights, set a password or change an
    email address: each would let them take over any account, superusers' included.
    """

    actions = [deactivate]
    list_display = ["username", "email", "date_joined", "is_active", "is_staff"]
    moderator_fields = ("username", "email", "is_active", "is_staff", "date_joined", "last_login")

    def get_fieldsets(self, request, obj=None):
        if obj is not None and not request.user.is_superuser:
            return [(None, {"fields": self.moderator_fields})]
        return super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and not request.user.is_superuser:
            return [f for f in self.moderator_fields if f != "is_active"]
        return super().get_readonly_fields(request, obj)

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def user_change_password(self, request, id, form_url=""):
        if not request.user.is_superuser:
            raise PermissionDenied
        return super().user_change_password(request, id, form_url)
