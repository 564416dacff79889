"""/new: the papers that arrived from arXiv in the site's categories on one announcement day
(broadsheet/papers/arrivals.py), with the days before and after.

For a member with history, ranked by their For you model (broadsheet.search.recommend.rank)
with the reason shown; for anyone else, the most recently submitted first. The reader's filter
applies (front/feed_filters.py). A member's page marks what they saw on an earlier day or in
a digest, and records what it shows (papers/shown.py): a fixed number of queries whatever the
count. Each card can list its paper on the community feed (the submission rules:
broadsheet/ingest/submit.py), save it, or say "not interested" (for_you_views.not_interested).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from broadsheet.front.feed_filters import chosen_filter, form_context
from broadsheet.front.view_helpers import back_to, cards_context, get_paper, wants_json
from broadsheet.ingest.submit import SubmitError, submit
from broadsheet.lib import limits
from broadsheet.papers import arrivals
from broadsheet.papers.models import Paper, Upvote
from broadsheet.papers.periods import parse_day
from broadsheet.papers.shown import record_shown, seen_ids
from broadsheet.search.recommend import arrivals_ranked

PAGE_SIZE = 50  # cards per page


def new_latest(request):
    day = arrivals.latest_day(timezone.localdate())
    if day is None:
        return render(request, "front/new.html", {"day": None, "heading": "New"})
    return new_page(request, day)


def new_on(request, date: str):
    return new_page(request, parse_day(date))


def _nav_link(day: dt.date | None, keep: str) -> dict | None:
    if day is None:
        return None
    url = f"/new/{day.isoformat()}"
    return {"url": f"{url}?{keep}" if keep else url, "label": day.strftime("%b %-d")}


def new_page(request, day: dt.date):
    user = request.user
    chosen = chosen_filter(request)
    order, because, ranked = arrivals_ranked(user, day, chosen.filter)
    page = Paginator(order, PAGE_SIZE).get_page(request.GET.get("page"))
    page_ids = list(page.object_list)
    wanted = [*page_ids, *{because[i] for i in page_ids if i in because}]
    found = Paper.objects.for_cards().in_bulk(wanted)
    papers = [found[i] for i in page_ids if i in found]
    seen: set[int] = set()
    if user.is_authenticated and papers:
        ids = [p.pk for p in papers]
        seen = seen_ids(user.pk, ids)
        voted = set(
            Upvote.objects.filter(user=user, paper_id__in=ids).values_list("paper_id", flat=True)
        )
        record_shown(user.pk, ids)
    else:
        voted = set()
    cards = []
    for paper in papers:
        paper.is_seen = paper.pk in seen
        paper.is_voted = paper.pk in voted
        cards.append({"paper": paper, "because": found.get(because.get(paper.pk))})
    before, after = arrivals.neighbours(day)
    keep = chosen.query
    context = {
        "day": day,
        "heading": f"{day:%A, %-d %B %Y}",
        "cards": cards,
        "page": page,
        "page_query": f"&{keep}" if keep else "",
        "nav": {"prev": _nav_link(before, keep), "next": _nav_link(after, keep)},
        "ranked": ranked,
        "categories": settings.INGEST_ARXIV_CATEGORIES,
        "kind": "new",
    }
    context |= form_context(request, chosen)
    context |= cards_context(user, papers)
    return render(request, "front/new.html", context, status=400 if chosen.error else 200)


@require_POST
@login_required
def list_paper(request):
    """List a paper of the New view on today's community feed, under the submission rules
    (one listing per paper, the member's daily limit, recent papers only)."""
    paper = get_paper(request.POST.get("paper", ""))
    back = back_to(request, paper)
    try:
        if not paper.arxiv_id:
            raise SubmitError("Only arXiv papers can be listed.")
        listing = submit(request.user, paper.arxiv_id)
    except (SubmitError, limits.RateLimited) as e:
        if wants_json(request):
            return JsonResponse({"error": str(e)}, status=400)
        messages.error(request, str(e))
        return redirect(back)
    if wants_json(request):
        return JsonResponse({"listed": True, "paper": paper.ref, "day": listing.day.isoformat()})
    messages.success(request, f"Listed on the papers of {listing.day:%-d %B}. Thank you!")
    return redirect(back)
