"""Author pages (`/authors/<slug>`) and claiming an author name."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from broadsheet.front.forms import ClaimForm
from broadsheet.front.view_helpers import cards_context
from broadsheet.papers import authors
from broadsheet.papers.models import AuthorClaim

MAX_SLUG = 200


def _author(slug: str):
    author = authors.author_by_slug(slug) if len(slug) <= MAX_SLUG else None
    if author is None:
        raise Http404("No such author")
    return author


def author_page(request, slug: str, form: ClaimForm | None = None):
    author = _author(slug)
    canonical = authors.author_slug(author)
    if slug != canonical:
        return redirect("author", slug=canonical)
    papers = authors.papers_of(author).for_cards()
    page = Paginator(papers, settings.PAGE_SIZE).get_page(request.GET.get("page"))
    my_claim = None
    if request.user.is_authenticated:
        my_claim = AuthorClaim.objects.filter(author=author, user=request.user).first()
    context = {
        "author": author,
        "page": page,
        "my_claim": my_claim,
        "form": form or ClaimForm(),
        "rank_offset": page.start_index() - 1 if page.object_list else 0,
    }
    context.update(cards_context(request.user, page.object_list))
    status = 400 if form is not None and form.errors else 200
    return render(request, "front/author.html", context, status=status)


@login_required
@require_POST
def claim(request, slug: str):
    author = _author(slug)
    form = ClaimForm(request.POST)
    if not form.is_valid():
        return author_page(request, authors.author_slug(author), form=form)
    try:
        _, created = authors.claim(request.user, author, form.cleaned_data["message"])
    except authors.ClaimRefused as e:
        form.add_error(None, str(e))
        return author_page(request, authors.author_slug(author), form=form)
    if created:
        messages.success(request, "Claim sent: a moderator will confirm it.")
    else:
        messages.success(request, "Your claim was already waiting; its message is updated.")
    return redirect("author", slug=authors.author_slug(author))
