"""The feed pages: a day, an ISO week, a month, trending."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone

from broadsheet.front.feed_filters import chosen_filter, form_context
from broadsheet.front.page_cache import shows
from broadsheet.front.pages import week_label
from broadsheet.front.view_helpers import cards_context
from broadsheet.papers import content_scopes
from broadsheet.papers.models import Listing, Upvote
from broadsheet.papers.periods import parse_day, parse_month, parse_week
from broadsheet.papers.querysets import TRENDING_WINDOWS, iso_week_range, month_range


def _with_query(url: str, query: str) -> str:
    if not query:
        return url
    if url.endswith("?"):
        return url + query
    return f"{url}{'&' if '?' in url else '?'}{query}"


def _render_feed(
    request,
    listings,
    *,
    heading: str,
    nav: dict,
    template="front/feed.html",
    status: int = 200,
    page_query: str = "",
    **extra,
):
    """A feed page of `listings`, narrowed by the reader's filter (front/feed_filters.py),
    whose parameters every link of the page carries on."""
    chosen = chosen_filter(request)
    if chosen.error:
        status = 400
    listings = chosen.filter.apply(listings, field="paper__")
    keep = chosen.query
    nav = {
        name: link and {**link, "url": _with_query(link["url"], keep)} for name, link in nav.items()
    }
    if keep:
        page_query += f"&{keep}"
        if "windows" in extra:
            for w in extra["windows"]:
                w["url"] = _with_query(w["url"], keep)
    extra |= form_context(request, chosen) | {"page_query": page_query}
    page = Paginator(listings.for_cards(), settings.PAGE_SIZE).get_page(request.GET.get("page"))
    voted: set[int] = set()
    if request.user.is_authenticated and page.object_list:
        paper_ids = [item.paper_id for item in page.object_list]
        voted = set(
            Upvote.objects.filter(user=request.user, paper_id__in=paper_ids).values_list(
                "paper_id", flat=True
            )
        )
    for listing in page.object_list:
        listing.is_voted = listing.paper_id in voted
    rank_offset = page.start_index() - 1 if page.object_list else 0
    context = {"page": page, "heading": heading, "nav": nav, "rank_offset": rank_offset}
    context.update(cards_context(request.user, [item.paper for item in page.object_list]))
    return render(request, template, context | extra, status=status)


def _day_nav(day: dt.date) -> dict:
    visible = Listing.objects.visible()
    prev_day = visible.filter(day__lt=day).order_by("-day").values_list("day", flat=True).first()
    next_day = visible.filter(day__gt=day).order_by("day").values_list("day", flat=True).first()
    return {
        "prev": prev_day
        and {"url": f"/papers/date/{prev_day}", "label": prev_day.strftime("%b %-d")},
        "next": next_day
        and {"url": f"/papers/date/{next_day}", "label": next_day.strftime("%b %-d")},
        "week": {"url": f"/papers/week/{week_label(day)}", "label": "Week"},
        "month": {"url": f"/papers/month/{day:%Y-%m}", "label": "Month"},
    }


def day_page(request, day: dt.date, *, is_home=False):
    shows(request, content_scopes.day(day), content_scopes.DAYS)
    return _render_feed(
        request,
        Listing.objects.listed_on(day).by_votes(),
        heading=f"{day:%A, %-d %B %Y}",
        nav=_day_nav(day),
        kind="day",
        day=day,
        is_home=is_home,
    )


def home(request):
    # The latest day up to today: a source may list a paper for tomorrow (its time zone is
    # ahead of the site's), and one such record must not push today's papers off the home page.
    days = Listing.objects.visible().order_by("-day").values_list("day", flat=True)
    latest = days.filter(day__lte=timezone.localdate()).first() or days.first()
    if latest is None:
        shows(request, content_scopes.DAYS)
        return render(request, "front/empty.html")
    return day_page(request, latest, is_home=True)


def by_date(request, date: str):
    return day_page(request, parse_day(date))


def by_week(request, week: str):
    year, number = parse_week(week)
    monday, sunday = iso_week_range(year, number)
    shows(request, *content_scopes.days(monday, sunday))
    prev_monday, next_monday = monday - dt.timedelta(days=7), monday + dt.timedelta(days=7)
    nav = {
        "prev": {
            "url": f"/papers/week/{week_label(prev_monday)}",
            "label": week_label(prev_monday),
        },
        "next": {
            "url": f"/papers/week/{week_label(next_monday)}",
            "label": week_label(next_monday),
        },
    }
    return _render_feed(
        request,
        Listing.objects.in_week(year, number).by_votes(),
        heading=f"Week {number}, {year}",
        subheading=f"{monday:%-d %b} – {sunday:%-d %b %Y}",
        nav=nav,
        kind="week",
    )


def by_month(request, month: str):
    year, number = parse_month(month)
    first, last = month_range(year, number)
    shows(request, *content_scopes.days(first, last))
    prev_last = first - dt.timedelta(days=1)
    next_first = last + dt.timedelta(days=1)
    nav = {
        "prev": {"url": f"/papers/month/{prev_last:%Y-%m}", "label": f"{prev_last:%B %Y}"},
        "next": {"url": f"/papers/month/{next_first:%Y-%m}", "label": f"{next_first:%B %Y}"},
    }
    return _render_feed(
        request,
        Listing.objects.in_month(year, number).by_votes(),
        heading=f"{first:%B %Y}",
        nav=nav,
        kind="month",
    )


def _window_choices(chosen: str | None) -> list[dict]:
    """The links that choose trending's window; the default one is the bare /papers/trending."""
    default = next(
        (key for key, (days, _) in TRENDING_WINDOWS.items() if days == settings.TRENDING_DAYS),
        None,
    )
    return [
        {
            "key": key,
            "label": label,
            "url": "?" if key == default else f"?window={key}",
            "current": key == (chosen or default),
        }
        for key, (_, label) in TRENDING_WINDOWS.items()
    ]


def trending(request):
    shows(request, content_scopes.TRENDING)
    window = request.GET.get("window") or None
    error, status = "", 200
    if window is not None and window not in TRENDING_WINDOWS:
        choices = ", ".join(TRENDING_WINDOWS)
        error = f"There is no trending window called {window[:40]!r}: choose one of {choices}."
        window, status = None, 400
    days = TRENDING_WINDOWS[window][0] if window else settings.TRENDING_DAYS
    return _render_feed(
        request,
        Listing.objects.trending(timezone.now(), window=window),
        heading="Trending",
        subheading=f"Votes, decayed by the hours since each paper was listed; "
        f"papers listed in the {days} day{'s' if days != 1 else ''} up to the latest",
        nav={},
        kind="trending",
        windows=_window_choices(window),
        window=window,
        error=error,
        page_query=f"&window={window}" if window else "",
        status=status,
    )
