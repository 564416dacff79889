"""/for-you: papers picked for a member from what they upvoted and collected
(broadsheet.search.recommend), and the "not interested" action."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Max
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from broadsheet.front.feed_views import _render_feed
from broadsheet.front.view_helpers import back_to, cards_context, get_paper, wants_json
from broadsheet.papers.dismissals import dismiss
from broadsheet.papers.models import Listing
from broadsheet.search.recommend import picks_for

log = logging.getLogger("broadsheet.front")

PICKS = 30


def recent_since() -> dt.datetime:
    """The start of the recent window: FOR_YOU_DAYS before the newest listing (as trending
    does, so a quiet site still has recent papers)."""
    newest = Listing.objects.visible().aggregate(newest=Max("submitted_at"))["newest"]
    anchor = min(newest or timezone.now(), timezone.now())
    return anchor - dt.timedelta(days=settings.FOR_YOU_DAYS)


def personal_picks(user, limit: int = PICKS) -> list:
    """Recent papers first (listed or published in the window), then older ones."""
    recent = picks_for(user, limit=limit, since=recent_since())
    older = []
    if len(recent) < limit:
        older = picks_for(user, limit=limit - len(recent), exclude_ids=[p.paper.pk for p in recent])
    return recent + older


def for_you(request):
    picks = []
    if request.user.is_authenticated:
        try:
            picks = personal_picks(request.user)
        except Exception:  # recommendations are a garnish: never break the page
            log.exception("recommendations failed for member %s", request.user.pk)
    if not picks:
        return _render_feed(
            request,
            Listing.objects.trending(timezone.now()),
            heading="For you",
            nav={},
            kind="trending",
            template="front/for_you.html",
        )
    context = {"picks": picks, "heading": "For you"}
    context.update(cards_context(request.user, [p.paper for p in picks]))
    return render(request, "front/for_you.html", context)


@require_POST
@login_required
def not_interested(request):
    paper = get_paper(request.POST.get("paper", ""))
    dismiss(request.user, paper)
    if wants_json(request):
        return JsonResponse({"dismissed": True, "paper": paper.ref})
    return redirect(back_to(request, paper) if request.POST.get("next") else "for-you")
