"""Moderation through Django's admin: hide papers, listings and comments."""

from django.contrib import admin

from broadsheet.papers import moderation
from broadsheet.papers.models import (
    AuthorClaim,
    Comment,
    CommentReport,
    Listing,
    ModerationAction,
    Paper,
)
from broadsheet.papers.signals import papers_changed


# One by one through the moderation functions, so each change lands in the audit log.
@admin.action(description="Hide from the site")
def hide(modeladmin, request, queryset):
    n = sum(moderation.set_hidden(request.user, obj, True, "from the admin") for obj in queryset)
    modeladmin.message_user(request, f"Hid {n}.")


@admin.action(description="Show again")
def unhide(modeladmin, request, queryset):
    n = sum(moderation.set_hidden(request.user, obj, False, "from the admin") for obj in queryset)
    modeladmin.message_user(request, f"Showing {n} again.")


class AuthorshipInline(admin.TabularInline):
    from broadsheet.papers.models import Authorship as model

    raw_id_fields = ["author"]
    extra = 0


@admin.register(Paper)
class PaperAdmin(admin.ModelAdmin):
    list_display = ["title", "arxiv_id", "published_at", "upvote_count", "source_upvotes", "hidden"]
    list_filter = ["hidden", "primary_category"]
    search_fields = ["title", "arxiv_id", "doi", "slug"]
    readonly_fields = ["upvote_count", "created", "modified"]
    actions = [hide, unhide]
    inlines = [AuthorshipInline]

    def save_related(self, request, form, formsets, change):
        # After the authorships are saved too, so the search index sees the whole paper.
        super().save_related(request, form, formsets, change)
        papers_changed.send(sender=Paper, paper_ids=[form.instance.pk])


@admin.register(Listing)
class ListingAdmin(admin.ModelAdmin):
    list_display = ["paper", "day", "submitted_by", "source", "hidden"]
    list_filter = ["hidden", "source", "day"]
    search_fields = ["paper__title", "paper__arxiv_id"]
    raw_id_fields = ["paper", "submitted_by"]
    actions = [hide, unhide]


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ["paper", "user", "created", "hidden"]
    list_filter = ["hidden"]
    search_fields = ["body", "user__username"]
    raw_id_fields = ["paper", "user"]
    actions = [hide, unhide]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Readable in the admin, changed only through the site's moderation actions."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ModerationAction)
class ModerationActionAdmin(ReadOnlyAdmin):
    list_display = ["created", "actor_name", "action", "target_type", "target_label", "reason"]
    list_filter = ["action", "target_type"]
    search_fields = ["actor_name", "target_label", "reason"]


@admin.register(CommentReport)
class CommentReportAdmin(ReadOnlyAdmin):
    list_display = ["comment", "reporter", "reason", "updated", "resolved"]
    list_filter = ["resolved"]


@admin.register(AuthorClaim)
class AuthorClaimAdmin(ReadOnlyAdmin):
    list_display = ["author", "user", "status", "created", "decided_by", "decided_at"]
    list_filter = ["status"]
