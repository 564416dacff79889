"""The site in a real browser: logging in, voting without a reload, moving between days, phones.

Headless Chromium through Playwright against pytest-django's live server. Screenshots go to
`artifacts/` at the repository root (git-ignored) for a human to look at.
"""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from conftest import ARTIFACTS
from django.core.management import call_command
from factories import PASSWORD, make_listing
from playwright.sync_api import Page, expect

from broadsheet.ops.sample import SAMPLE_DAY
from broadsheet.papers.models import Listing, Paper, Upvote

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

PREVIOUS_DAY = SAMPLE_DAY - dt.timedelta(days=1)
PREVIOUS_TITLES = [
    "Yesterday's most upvoted paper",
    "A second paper from the day before",
    "A third one, with a rather long title that has to wrap on a narrow phone screen",
]


@pytest.fixture
def site(transactional_db):
    """The sample listing on SAMPLE_DAY plus three papers listed the day before."""
    call_command("load-sample", "--day", "2026-06-23", "--no-arxiv", stdout=io.StringIO())
    for votes, title in zip([30, 20, 10], PREVIOUS_TITLES, strict=True):
        make_listing(
            PREVIOUS_DAY,
            title,
            votes=votes,
            authors=[
                "Ada Lovelace",
                "Grace Hopper",
                "Alan Turing",
                "Edsger Dijkstra",
                "Tony Hoare",
            ],
            arxiv_id=f"2606.{votes:05d}",
            abs_url=f"https://arxiv.org/abs/2606.{votes:05d}",
            pdf_url=f"https://arxiv.org/pdf/2606.{votes:05d}",
        )
    return Listing.objects.count()


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def log_in_through_the_form(page: Page) -> None:
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.fill("#id_username", "ada")
    page.fill("#id_password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".masthead .who")).to_have_text("ada")


def test_member_logs_in_votes_without_reload_and_goes_to_the_previous_day(
    live_server, page, member, site
):
    page.goto(live_server.url + "/")
    expect(page.locator("h1")).to_have_text(f"{SAMPLE_DAY:%A, %-d %B %Y}")
    expect(page.locator(".card")).to_have_count(34)
    screenshot(page, "home.png")

    page.get_by_role("link", name="Log in").click()
    log_in_through_the_form(page)
    expect(page).to_have_url(live_server.url + "/")

    first = page.locator(".card").first
    paper = Paper.objects.get(pk=int(first.get_attribute("id").removeprefix("p-")))
    button, count = first.locator(".vote-button"), first.locator(".vote-count")
    expect(count).to_have_text(str(paper.votes))
    expect(button).to_have_attribute("aria-pressed", "false")
    page.evaluate("window.__marker = 1")

    button.click()

    expect(count).to_have_text(str(paper.votes + 1))
    expect(button).to_have_attribute("aria-pressed", "true")
    expect(button).to_have_class(re.compile(r"\bvoted\b"))
    assert page.evaluate("window.__marker") == 1, "the page reloaded"
    assert page.url == live_server.url + "/"
    assert Upvote.objects.filter(user=member, paper=paper).exists()
    assert Paper.objects.get(pk=paper.pk).upvote_count == 1

    button.click()  # a second click withdraws the vote, still without a reload

    expect(count).to_have_text(str(paper.votes))
    expect(button).to_have_attribute("aria-pressed", "false")
    assert page.evaluate("window.__marker") == 1
    assert not Upvote.objects.filter(user=member, paper=paper).exists()

    page.locator("a[rel=prev]").click()

    expect(page).to_have_url(live_server.url + f"/papers/date/{PREVIOUS_DAY}")
    expect(page.locator(".card-title")).to_have_text(PREVIOUS_TITLES)
    expect(page.locator(".card").first.locator(".authors")).to_contain_text(
        "Ada Lovelace, Grace Hopper, Alan Turing, Edsger Dijkstra +1"
    )
    expect(page.locator("a[rel=next]")).to_have_attribute("href", f"/papers/date/{SAMPLE_DAY}")
    expect(page.locator("a[rel=prev]")).to_have_count(0)
    screenshot(page, "previous-day.png")


def test_anonymous_vote_goes_to_login_and_comes_back_after(live_server, page, member, site):
    url = live_server.url + f"/papers/date/{PREVIOUS_DAY}"
    page.goto(url)

    page.locator(".card").first.locator(".vote-button").click()

    log_in_through_the_form(page)
    expect(page).to_have_url(url)
    expect(page.locator(".card-title").first).to_have_text(PREVIOUS_TITLES[0])
    assert not Upvote.objects.exists()  # the click asked to log in; it cast no vote


def test_vote_after_the_session_ended_goes_to_login_and_back(live_server, page, member, site):
    page.goto(live_server.url + "/accounts/login/?next=/")
    log_in_through_the_form(page)
    page.goto(live_server.url + f"/papers/date/{PREVIOUS_DAY}")
    # The session ends (expired, logged out elsewhere); the CSRF cookie stays.
    cookies = [c for c in page.context.cookies() if c["name"] != "sessionid"]
    page.context.clear_cookies()
    page.context.add_cookies(cookies)

    page.locator(".card").first.locator(".vote-button").click()

    log_in_through_the_form(page)
    expect(page).to_have_url(live_server.url + f"/papers/date/{PREVIOUS_DAY}")
    assert not Upvote.objects.exists()


@pytest.mark.parametrize("logged_in", [False, True], ids=["anonymous", "member"])
def test_pages_fit_a_375px_phone_without_horizontal_scrolling(
    live_server, page, member, site, logged_in
):
    page.set_viewport_size({"width": 375, "height": 812})
    if logged_in:
        page.goto(live_server.url + "/accounts/login/")
        log_in_through_the_form(page)
    long_word = Paper.objects.create(
        slug="long-word",
        title="Supercalifragilisticexpialidocious" * 3,
        abstract="Pneumonoultramicroscopicsilicovolcanoconiosis" * 4,
        github_repo="https://github.com/" + "x" * 120,
    )
    make_listing(PREVIOUS_DAY, "short", votes=1)
    Listing.objects.create(paper=long_word, day=PREVIOUS_DAY)

    for path in [
        "/",
        f"/papers/date/{PREVIOUS_DAY}",
        "/papers/week/2026-W26",
        "/papers/trending",
        "/papers/2606.00030",
        "/papers/long-word",
        "/accounts/login/",
        "/accounts/signup/",
        "/u/ada",
    ]:
        page.goto(live_server.url + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{path} is {width}px wide"
        if path == "/":
            screenshot(page, f"home-375-{'member' if logged_in else 'anonymous'}.png")
