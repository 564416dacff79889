from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied

from broadsheet.accounts.models import User
from broadsheet.papers import moderation


@admin.action(description="Deactivate (suspend) selected members", permissions=["change"])
def deactivate(modeladmin, request, queryset):
    n = 0
    for member in queryset:
        try:
            n += moderation.set_suspended(request.user, member, True, "from the admin")
        except moderation.NotAllowed:
            continue  # themselves, or staff when the actor is not an admin
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

    def save_model(self, request, obj, form, change):
        # A suspension (or its end) from the change form goes through the audit log too.
        if change and "is_active" in form.changed_data:
            member = User.objects.get(pk=obj.pk)
            try:
                moderation.set_suspended(request.user, member, not obj.is_active, "from the admin")
            except moderation.NotAllowed as e:
                raise PermissionDenied(str(e)) from None
        super().save_model(request, obj, form, change)

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def user_change_password(self, request, id, form_url=""):
        if not request.user.is_superuser:
            raise PermissionDenied
        return super().user_change_password(request, id, form_url)
