from django.contrib import admin

from broadsheet.digests.models import DigestRun, SavedSearch, Subscription


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["email", "user", "frequency", "active", "confirmed_at", "disabled_reason"]
    list_filter = ["frequency", "active"]
    search_fields = ["email"]
    raw_id_fields = ["user"]
    exclude = ["key"]


@admin.register(DigestRun)
class DigestRunAdmin(admin.ModelAdmin):
    list_display = ["subscription", "period", "status", "attempts", "sent_at", "last_error"]
    list_filter = ["status"]
    search_fields = ["subscription__email", "period"]
    raw_id_fields = ["subscription"]


@admin.register(SavedSearch)
class SavedSearchAdmin(admin.ModelAdmin):
    list_display = ["query", "subscription", "category", "author", "created"]
    raw_id_fields = ["subscription"]
    exclude = ["feed_token"]
