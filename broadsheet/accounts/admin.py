from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from broadsheet.accounts.models import User


@admin.action(description="Deactivate (suspend) selected members")
def deactivate(modeladmin, request, queryset):
    n = queryset.exclude(pk=request.user.pk).update(is_active=False)
    modeladmin.message_user(request, f"Deactivated {n} member(s).")


@admin.register(User)
class MemberAdmin(UserAdmin):
    actions = [deactivate]
    list_display = ["username", "email", "date_joined", "is_active", "is_staff"]
