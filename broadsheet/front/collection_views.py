"""Collections (members' reading lists): the member's lists, a list's page and BibTeX, and
the forms that change them. The rules live in broadsheet.papers.collections.

Every change is a POST with a CSRF token. The add/remove form on cards answers JSON when asked
(collections.js), otherwise redirects back, so it works without JavaScript too.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from broadsheet.front.bibtex import papers_bibtex
from broadsheet.front.view_helpers import back_to, cards_context, get_paper, wants_json
from broadsheet.papers import collections as rules
from broadsheet.papers.models import Collection

COLLECTION_PAGE_MAX = 500  # papers shown on a collection's page (and in its BibTeX)


def _readable_or_404(request, pk) -> Collection:
    collection = rules.readable(request.user, pk)
    if collection is None:
        raise Http404("No such collection")
    return collection


def _owned_or_404(request, pk) -> Collection:
    # Someone else's list is a 404 whether it is public or not: it cannot be changed, and a
    # 403 would confirm that a private one exists.
    collection = rules.owned(request.user, pk)
    if collection is None:
        raise Http404("No such collection")
    return collection


def _papers(collection: Collection):
    return rules.papers_of(collection).for_cards()[:COLLECTION_PAGE_MAX]


@login_required
def my_collections(request, error: str = "", status: int = 200):
    collections = Collection.objects.owned_by(request.user).with_counts()
    return render(
        request,
        "front/collections.html",
        {"collections": collections, "error": error, "name_max": Collection.NAME_MAX},
        status=status,
    )


@require_POST
@login_required
def create(request):
    ref = request.POST.get("paper")
    paper = get_paper(ref) if ref else None  # a bad id is a 404 before anything is stored
    try:
        collection = rules.create(
            request.user, request.POST.get("name", ""), public=request.POST.get("public") == "on"
        )
    except rules.CollectionError as e:
        return my_collections(request, error=str(e), status=400)
    if paper is not None:
        rules.add_paper(collection, paper)
        messages.success(request, f"Saved to “{collection.name}”.")
        return redirect(back_to(request, collection))
    return redirect(collection)


def collection_page(request, pk, error: str = "", status: int = 200):
    collection = _readable_or_404(request, pk)
    papers = list(_papers(collection))
    is_owner = request.user.is_authenticated and collection.owner_id == request.user.pk
    context = {
        "collection": collection,
        "papers": papers,
        "is_owner": is_owner,
        "error": error,
        "name_max": Collection.NAME_MAX,
    }
    context.update(cards_context(request.user, papers))
    return render(request, "front/collection.html", context, status=status)


def collection_bib(request, pk):
    collection = _readable_or_404(request, pk)
    response = HttpResponse(
        papers_bibtex(_papers(collection)), content_type="application/x-bibtex; charset=utf-8"
    )
    response["Content-Disposition"] = f'inline; filename="collection-{collection.pk}.bib"'
    return response


@require_POST
@login_required
def edit(request, pk):
    collection = _owned_or_404(request, pk)
    name = request.POST.get("name")
    public = request.POST.get("public")
    try:
        rules.update(
            collection,
            name=name,
            public=None if public is None else public in {"on", "true", "1"},
        )
    except rules.CollectionError as e:
        collection.refresh_from_db()
        return collection_page(request, pk, error=str(e), status=400)
    messages.success(request, "Collection saved.")
    return redirect(collection)


@require_POST
@login_required
def delete(request, pk):
    collection = _owned_or_404(request, pk)
    name = collection.name
    rules.delete(collection)
    messages.success(request, f"Deleted “{name}”.")
    return redirect("collections")


@require_POST
@login_required
def change_papers(request, pk):
    """Add or remove one paper (`paper` = its id, `action` = add or remove)."""
    collection = _owned_or_404(request, pk)
    paper = get_paper(request.POST.get("paper", ""))
    action = request.POST.get("action")
    if action not in {"add", "remove"}:
        message = "Say whether to add or remove the paper."
        if wants_json(request):
            return JsonResponse({"error": message}, status=400)
        return HttpResponse(message, status=400, content_type="text/plain")
    if action == "add":
        rules.add_paper(collection, paper)
    else:
        rules.remove_paper(collection, paper)
    if wants_json(request):
        return JsonResponse(
            {"collection": collection.pk, "name": collection.name, "inCollection": action == "add"}
        )
    return redirect(back_to(request, paper))
