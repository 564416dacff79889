"""The dense listing in a real browser: how many whole cards fit the first screen on a laptop
and on a phone, what each card shows, and that a page fetches nothing from anywhere else.

Headless Chromium through Playwright against pytest-django's live server, on the sample day.
"""

from __future__ import annotations

import io
import re
from urllib.parse import urlsplit

import pytest
from conftest import ARTIFACTS
from django.core.management import call_command
from factories import add_authors, make_comment, make_user
from playwright.sync_api import Page, expect

from broadsheet.front.cards import paper_links
from broadsheet.papers.models import Listing, Paper

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]


@pytest.fixture
def sample_day(transactional_db):
    call_command("load-sample", "--day", "2026-06-23", "--no-arxiv", stdout=io.StringIO())
    return Listing.objects.count()


def card_boxes(page: Page) -> list[tuple[float, float]]:
    """Each card's top and bottom in page coordinates."""
    return page.eval_on_selector_all(
        ".card",
        "cards => cards.map(c => { const r = c.getBoundingClientRect();"
        " return [r.top + window.scrollY, r.bottom + window.scrollY]; })",
    )


@pytest.mark.parametrize(
    "width, height, at_least", [(1280, 900, 6), (375, 812, 3)], ids=["laptop", "phone"]
)
def test_whole_cards_above_the_fold_each_with_everything(
    live_server, page, sample_day, width, height, at_least
):
    page.set_viewport_size({"width": width, "height": height})
    page.goto(live_server.url + "/")

    boxes = card_boxes(page)
    assert len(boxes) == sample_day == 34
    whole = [top for top, bottom in boxes if top >= 0 and bottom <= height]
    assert len(whole) >= at_least, f"{len(whole)} whole cards in the first {height} px"
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"cards-{width}.png"), full_page=True)

    cards = page.locator(".card")
    for i in range(cards.count()):
        card = cards.nth(i)
        paper = Paper.objects.get(pk=int(card.get_attribute("id").removeprefix("p-")))
        expect(card.locator(".card-title")).to_have_text(paper.title)
        n = paper.author_count
        expect(card.locator(".authors")).to_have_text(f"{n} author{'s' if n != 1 else ''}")
        expect(card.locator(".vote-button")).to_be_visible()
        expect(card.locator(".comments")).to_have_text("0 comments")
        expect(card.locator(".thumb")).to_be_visible()
        expect(card.locator(".links a")).to_have_text([link.label for link in paper_links(paper)])
        expect(card.locator("details.excerpt")).not_to_have_attribute("open", "")


def test_a_member_submitted_card_shows_authors_avatar_links_and_comment_count(
    live_server, page, sample_day
):
    grace = make_user("grace", first_name="Grace", last_name="Hopper")
    top = Paper.objects.order_by("-source_upvotes", "pk").first()
    Paper.objects.filter(pk=top.pk).update(
        source_upvotes=500,
        arxiv_id="2606.01234",
        github_repo="https://github.com/example/code",
        github_stars=4321,
    )
    Listing.objects.filter(paper=top).update(submitted_by=grace, source=Listing.Source.MEMBER)
    add_authors(top, ["Ada Lovelace", "Grace Hopper", "Alan Turing", "Edsger Dijkstra", "Tony"])
    make_comment(top, grace, "First")
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(live_server.url + "/")

    card = page.locator(".card").first
    expect(card.locator(".card-title")).to_have_text(top.title)
    expect(card.locator(".authors")).to_have_text(
        "Ada Lovelace, Grace Hopper, Alan Turing, Edsger Dijkstra +1 more"
    )
    expect(card.locator(".submitter")).to_contain_text("grace")
    expect(card.locator(".submitter svg.avatar text")).to_have_text("GH")
    expect(card.locator(".comments")).to_have_text("1 comment")
    expect(card.locator(".links a")).to_have_text(["arXiv", "PDF", "Code"])
    expect(card.locator(".stars")).to_have_text("★ 4,321")
    _, bottom = card_boxes(page)[0]
    assert bottom <= 812

    card.locator("details.excerpt summary").click()
    expect(card.locator(".abstract")).to_be_visible()


def same_origin(url: str, origin: str) -> bool:
    return url.startswith(("data:", "about:")) or (
        f"{urlsplit(url).scheme}://{urlsplit(url).netloc}" == origin
    )


def test_pages_fetch_nothing_from_other_sites_and_have_no_inline_scripts(
    live_server, page, sample_day
):
    ada = make_user("ada")
    top = Paper.objects.order_by("-source_upvotes", "pk").first()
    Paper.objects.filter(pk=top.pk).update(
        thumbnail=f"/thumbnails/{top.pk}.webp",
        abstract="Code at https://github.com/a/b and javascript:alert(1) too.",
    )
    Listing.objects.filter(paper=top).update(submitted_by=ada, source=Listing.Source.MEMBER)
    make_comment(top, ada, "See https://example.org/more")
    origin = live_server.url
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    for path in ["/", top.get_absolute_url(), "/u/ada", "/papers/trending?window=month"]:
        page.goto(origin + path)
        expect(page.locator("svg.avatar").first).to_be_visible()
        sources = page.eval_on_selector_all(
            "img, script, link[href], iframe, source, video, audio, embed, object",
            "els => els.map(e => e.src || e.href || e.data || '')",
        )
        outside = [s for s in sources if not same_origin(s, origin)]
        assert outside == [], f"{path}: {outside}"
        assert page.locator("script:not([src])").count() == 0, path
    outside = [url for url in requested if not same_origin(url, origin)]
    assert outside == []
    assert any(url.endswith(f"/thumbnails/{top.pk}.webp") for url in requested)

    page.goto(origin + top.get_absolute_url())
    abstract = page.locator(".abstract-full")
    expect(abstract.locator("a")).to_have_count(1)
    expect(abstract.locator("a")).to_have_attribute("href", "https://github.com/a/b")
    expect(abstract.locator("a")).to_have_attribute("rel", "nofollow noopener")
    expect(abstract).to_contain_text("javascript:alert(1) too.")


def test_comfortable_view_is_remembered_in_this_browser(live_server, page, sample_day):
    page.goto(live_server.url + "/")
    toggle = page.locator(".density-toggle")
    first = page.locator(".card").first
    compact_height = card_boxes(page)[0][1] - card_boxes(page)[0][0]

    toggle.click()

    expect(page.locator("html")).to_have_attribute("data-density", "comfortable")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(first.locator(".abstract")).to_be_visible()
    assert card_boxes(page)[0][1] - card_boxes(page)[0][0] > compact_height

    page.goto(live_server.url + "/papers/trending")
    expect(page.locator("html")).to_have_attribute("data-density", "comfortable")
    expect(page.locator(".card").first.locator(".abstract")).to_be_visible()

    page.locator(".density-toggle").click()
    page.reload()
    expect(page.locator("html")).not_to_have_attribute("data-density", re.compile(".*"))
    expect(page.locator(".card").first.locator(".abstract")).not_to_be_visible()


def test_trending_window_links_choose_the_window(live_server, page, sample_day):
    page.goto(live_server.url + "/papers/trending")
    expect(page.locator(".windows a[aria-current=page]")).to_have_text("Week")

    page.locator(".windows").get_by_role("link", name="3 days").click()

    expect(page).to_have_url(re.compile(r"/papers/trending\?window=3d$"))
    expect(page.locator(".windows a[aria-current=page]")).to_have_text("3 days")
    expect(page.locator(".card")).to_have_count(34)  # the sample is one day
