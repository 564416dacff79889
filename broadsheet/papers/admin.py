"""Moderation through Django's admin: hide papers, listings and comments."""

from django.contrib import admin

from broadsheet.papers.models import Comment, Listing, Paper
from broadsheet.papers.signals import papers_changed


@admin.action(description="Hide from the site")
def hide(modeladmin, request, queryset):
    n = queryset.update(hidden=True)
    modeladmin.message_user(request, f"Hid {n}.")


@admin.action(description="Show again")
def unhide(modeladmin, request, queryset):
    n = queryset.update(hidden=False)
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
