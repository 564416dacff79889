"""URLs of the personal pages: collections, /for-you and /new."""

from django.urls import path, re_path

from broadsheet.front import collection_views as collections
from broadsheet.front import for_you_views as for_you
from broadsheet.front import new_views

urlpatterns = [
    path("collections", collections.my_collections, name="collections"),
    path("collections/new", collections.create, name="collection-new"),
    # Any id-looking text reaches the view, which answers 404 for what is not a collection.
    re_path(
        r"^collections/(?P<pk>[0-9]{1,20})\.bib$", collections.collection_bib, name="collection-bib"
    ),
    re_path(r"^collections/(?P<pk>[0-9]{1,20})$", collections.collection_page, name="collection"),
    re_path(r"^collections/(?P<pk>[0-9]{1,20})/edit$", collections.edit, name="collection-edit"),
    re_path(
        r"^collections/(?P<pk>[0-9]{1,20})/delete$", collections.delete, name="collection-delete"
    ),
    re_path(
        r"^collections/(?P<pk>[0-9]{1,20})/papers$",
        collections.change_papers,
        name="collection-papers",
    ),
    path("for-you", for_you.for_you, name="for-you"),
    path("for-you/not-interested", for_you.not_interested, name="not-interested"),
    path("new", new_views.new_latest, name="new"),
    path("new/list", new_views.list_paper, name="new-list"),
    re_path(r"^new/(?P<date>[^/]+)$", new_views.new_on, name="new-day"),
]
