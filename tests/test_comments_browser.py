"""Comments in a real browser: a comment, a reply, and a hostile comment that stays inert."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from factories import PASSWORD, make_listing
from playwright.sync_api import Page, expect

from broadsheet.papers.models import Comment

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
HOSTILE = (
    '<script>window.__pwned = "script"</script>\n\n'
    "<img src=x onerror=\"window.__pwned = 'onerror'\">\n\n"
    "[click me](javascript:window.__pwned='link')\n\n"
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)\n\n"
    "![pixel](https://tracker.invalid/p.png)"
)


def log_in(page: Page, url: str) -> None:
    page.goto(url + "/accounts/login/")
    page.fill("#id_username", "ada")
    page.fill("#id_password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".masthead .who")).to_have_text("ada")


def test_member_comments_replies_and_a_hostile_comment_renders_inert(live_server, page, member):
    make_listing(dt.date(2026, 6, 23), "A paper to discuss", arxiv_id="2606.00001")
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    log_in(page, live_server.url)
    page.goto(live_server.url + "/papers/2606.00001")

    page.fill("#id_body", "A **bold** claim, see [the code](https://example.org/code).")
    page.get_by_role("button", name="Post comment").click()

    top = page.locator(".comments-section > .comment").first
    expect(top.locator(".comment-body strong")).to_have_text("bold")
    expect(top.locator(".comment-body a")).to_have_attribute("href", "https://example.org/code")
    expect(page.locator(".comments-section h2")).to_have_text("1 comment")

    top.locator(".reply-box summary").click()
    top.locator(".reply-box textarea").fill("Replying to *myself*.")
    top.locator(".reply-box button[type=submit]").click()

    reply = page.locator(".comments-section > .comment").first.locator(".comment.reply")
    expect(reply.locator(".comment-body em")).to_have_text("myself")
    expect(page.locator(".comments-section h2")).to_have_text("2 comments")
    assert Comment.objects.get(body="Replying to *myself*.").parent is not None

    page.fill("#id_body", HOSTILE)
    page.get_by_role("button", name="Post comment").click()

    hostile = page.locator(".comments-section > .comment").nth(1)
    expect(hostile.locator(".comment-body")).to_contain_text("<script>")
    assert hostile.locator(".comment-body img, .comment-body script").count() == 0
    hrefs = hostile.locator(".comment-body a").evaluate_all("els => els.map(e => e.href)")
    assert all(re.match(r"https?://", h) for h in hrefs), hrefs
    # Clicking what looks like a link does nothing either.
    hostile.get_by_text("click me", exact=False).click()
    page.wait_for_timeout(200)
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert dialogs == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "comments.png"), full_page=True)
