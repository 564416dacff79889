"""The /search page's URL, included at the site root (its templates and script stay in the
search app's folders, found by the template and static loaders)."""

from django.urls import path

from broadsheet.front import search_views

urlpatterns = [path("search", search_views.search_page, name="search")]
