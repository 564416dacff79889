"""The New view (/new, broadsheet/front/new_views.py): a day's arXiv arrivals in the site's
categories, ranked by the member's For you model or by recency, with day navigation, "seen"
marks, "not interested", one-click listing and saving, and the reader's filter. Over the
sample listing embedded by the real model (this directory's fixtures)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from factories import make_user, upvote

from broadsheet.papers import collections
from broadsheet.papers.models import CollectionItem, Dismissal, Listing, Paper, Shown
from broadsheet.papers.shown import record_shown
from broadsheet.search.recommend import profile_of, rank

from .test_recommend import SAE, SAE_LIKE

DAY = dt.date(2026, 11, 24)
NOON = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def arrivals(sample, settings):
    """Every sample paper an arXiv paper in cs.LG that arrived on DAY, the earlier in the file
    the more recently submitted; one paper of another field arrived too."""
    settings.INGEST_ARXIV_CATEGORIES = ["cs.LG"]
    settings.TIME_ZONE = "UTC"
    Listing.objects.all().delete()
    for n, paper in enumerate(sorted(sample.values(), key=lambda p: p.pk)):
        paper.arxiv_id = f"2611.{n + 1:05d}"
        paper.categories = ["cs.LG"]
        paper.primary_category = "cs.LG"
        paper.arrived_on = DAY
        paper.published_at = NOON - dt.timedelta(days=2, minutes=n)
        paper.save()
    other = sample["Causal Inference by String Diagram Surgery"]
    Paper.objects.filter(pk=other.pk).update(categories=["math.CT"], primary_category="math.CT")
    return {p.title: p for p in Paper.objects.all()}


def card_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<article class="card[^"]*" id="p-(\d+)"', html)]


def member(name: str = "ada") -> tuple:
    user = make_user(name)
    client = Client()
    client.force_login(user)
    return user, client


def test_visitors_see_recency_and_members_their_ranking_with_the_reason(arrivals):
    with time_machine.travel(NOON, tick=False):
        html = Client().get("/new").content.decode()
        ids = card_ids(html)
        newest_first = Paper.objects.filter(arrived_on=DAY, categories__icontains='"cs.LG"')
        assert ids == list(newest_first.order_by("-published_at").values_list("pk", flat=True))
        assert (
            len(ids) == 33 and arrivals["Causal Inference by String Diagram Surgery"].pk not in ids
        )
        assert "the most recently submitted first" in html and "Because you liked" not in html

        ada, client = member()
        upvote(ada, arrivals[SAE])
        html = client.get("/new").content.decode()
    ranked = [Paper.objects.get(pk=i).title for i in card_ids(html)]
    assert len(ranked) == 33 and SAE_LIKE <= set(ranked[:6]), ranked[:6]
    assert "ranked for you" in html and "Because you liked" in html
    assert 'class="card pick"' in html and "List it" in html


def test_day_navigation_between_days_with_arrivals(arrivals):
    papers = sorted(arrivals.values(), key=lambda p: p.pk)
    Paper.objects.filter(pk__in=[p.pk for p in papers[:3]]).update(arrived_on=DAY - dt.timedelta(3))
    Paper.objects.filter(pk=papers[3].pk).update(arrived_on=DAY + dt.timedelta(days=1))
    with time_machine.travel(NOON, tick=False):  # the next day's are not shown before it comes
        html = Client().get("/new").content.decode()
        assert "Tuesday, 24 November 2026" in html and len(card_ids(html)) == 29
        assert 'href="/new/2026-11-21"' in html and 'href="/new/2026-11-25"' in html
        earlier = Client().get("/new/2026-11-21?cat=cs").content.decode()
        assert card_ids(earlier) == [p.pk for p in papers[:3]]
        assert 'href="/new/2026-11-24?cat=cs"' in earlier and 'rel="prev"' not in earlier
        assert Client().get("/new/2026-11-22").status_code == 200
        assert Client().get("/new/2026-02-30").status_code == 404
        assert Client().get("/new/soon").status_code == 404


def test_seen_marks_what_an_earlier_day_or_a_digest_showed_in_fixed_queries(arrivals):
    ada, client = member()
    upvote(ada, arrivals[SAE])
    papers = sorted(arrivals.values(), key=lambda p: p.pk)
    with time_machine.travel(NOON - dt.timedelta(hours=4), tick=False):  # this morning
        record_shown(ada.pk, [papers[0].pk], via=Shown.Via.DIGEST)
    with time_machine.travel(NOON, tick=False):
        with CaptureQueriesContext(connection) as first:
            html = client.get("/new").content.decode()
        assert html.count('class="seen-mark') == 1
        assert Shown.objects.filter(user=ada).count() == 33
        # The same day again: what this day's page showed is not "seen" yet.
        assert client.get("/new").content.decode().count('class="seen-mark') == 1
    with time_machine.travel(NOON + dt.timedelta(days=1), tick=False):
        Paper.objects.filter(pk__in=[p.pk for p in papers[20:]]).update(arrived_on=DAY)
        Paper.objects.filter(pk__in=[p.pk for p in papers[:20]]).update(arrived_on=None)
        with CaptureQueriesContext(connection) as later:
            html = client.get("/new/2026-11-24").content.decode()
    assert html.count('class="seen-mark') == len(card_ids(html)) > 10
    assert len(first) == len(later), "the page's queries grow with its papers"


def test_not_interested_lowers_a_topic_and_hides_the_paper(arrivals):
    ada, client = member()
    upvote(ada, arrivals[SAE])
    upvote(ada, arrivals["Large Causal Models from Large Language Models"])
    day_ids = [p.pk for p in arrivals.values()]
    sparse = [arrivals[t].pk for t in SAE_LIKE]

    def positions() -> float:
        order = [r.paper_id for r in rank(profile_of(ada), day_ids)]
        return sum(order.index(i) for i in sparse[1:]) / len(sparse[1:])

    before = positions()
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(ada)
    assert strict.post("/for-you/not-interested", {"paper": sparse[0]}).status_code == 403
    strict.get("/new/2026-11-24")
    token = strict.cookies["csrftoken"].value
    ref = Paper.objects.get(pk=sparse[0]).ref
    response = strict.post(
        "/for-you/not-interested",
        {"paper": ref, "csrfmiddlewaretoken": token, "next": "/new/2026-11-24"},
        HTTP_ACCEPT="application/json",
    )
    assert response.json() == {"dismissed": True, "paper": ref}
    assert Dismissal.objects.filter(user=ada).count() == 1
    assert positions() > before + 3, (before, positions())
    assert sparse[0] not in card_ids(client.get("/new/2026-11-24").content.decode())


def test_list_and_save_from_the_new_view_with_csrf(arrivals, settings):
    ada, _ = member()
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(ada)
    paper = arrivals[SAE]
    with time_machine.travel(NOON, tick=False):
        assert strict.post("/new/list", {"paper": paper.ref}).status_code == 403
        strict.get("/new")
        token = strict.cookies["csrftoken"].value
        response = strict.post(
            "/new/list", {"paper": paper.ref, "csrfmiddlewaretoken": token, "next": "/new"}
        )
        assert response.status_code == 302 and response["Location"] == "/new"
        listing = Listing.objects.get(paper=paper)
        assert listing.submitted_by == ada and listing.day == DAY
        again = strict.post(
            "/new/list",
            {"paper": paper.ref, "csrfmiddlewaretoken": token},
            HTTP_ACCEPT="application/json",
        )
        assert again.status_code == 400 and "already listed" in again.json()["error"]
        html = strict.get("/new").content.decode()
        card = html.split(f'id="p-{paper.pk}"', 1)[1].split("</article>", 1)[0]
        assert "List it" not in card and "listed" in card
        settings.SUBMIT_DAILY_LIMIT = 1
        other = arrivals[sorted(SAE_LIKE)[0]]
        refused = strict.post(
            "/new/list",
            {"paper": other.ref, "csrfmiddlewaretoken": token},
            HTTP_ACCEPT="application/json",
        )
        assert refused.status_code == 400 and "daily limit" in refused.json()["error"]
        reading = collections.create(ada, "Reading")
        saved = strict.post(
            f"/collections/{reading.pk}/papers",
            {"paper": other.ref, "action": "add", "csrfmiddlewaretoken": token},
            HTTP_ACCEPT="application/json",
        )
        assert saved.status_code == 200
    assert CollectionItem.objects.filter(collection=reading, paper=other).exists()
    assert Client().post("/new/list", {"paper": paper.ref}).status_code == 302  # to log in


def test_the_readers_filter_and_default_apply(arrivals):
    ada, client = member()
    with time_machine.travel(NOON, tick=False):
        html = client.get("/new?include=autoencoders").content.decode()
        titles = {Paper.objects.get(pk=i).title for i in card_ids(html)}
        assert SAE in titles and SAE_LIKE & titles and len(titles) < 10
        assert "Large Causal Models from Large Language Models" not in titles
        assert client.get("/new?cat=math").content.decode().count('class="card') == 0
        assert client.get("/new?cat=!").status_code == 400
        ada.feed_filter = "exclude=causal"
        ada.save()
        html = client.get("/new").content.decode()
        assert "Filtered by your default" in html
        titles = {Paper.objects.get(pk=i).title for i in card_ids(html)}
        assert titles and not any("causal" in t.lower() for t in titles)
        assert len(card_ids(client.get("/new?all=1").content.decode())) == 33
