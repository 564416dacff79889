"""Comments in a real browser: a comment, a reply, and a hostile comment that stays inert."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from conftest import ARTIFACTS
from factories import PASSWORD, make_listing
from playwright.sync_api import Page, expect

from broadsheet.papers.models import Comment

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

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


@pytest.mark.parametrize("width", [375, 1024])
def test_stats_author_and_moderation_pages_fit_the_screen(live_server, page, member, width):
    from django.contrib.auth.models import Permission
    from factories import make_comment, make_user

    from broadsheet.papers.models import Author, AuthorClaim, CommentReport

    member.is_staff = True
    member.save()
    # transactional_db flushes the migration's Moderators group; the permission is what counts.
    member.user_permissions.add(Permission.objects.get(codename="moderate"))
    grace = make_user("grace")
    for i in range(12):
        make_listing(
            dt.date(2026, 6, 23) - dt.timedelta(days=i % 5),
            f"Paper {i}",
            arxiv_id=f"2606.{i:05d}",
            authors=["Ada Lovelace", "Grace Hopper"],
            primary_category=["cs.LG", "cs.CL", "stat.ML"][i % 3],
            submitted_by=grace,
        )
    comment = make_comment(make_listing(dt.date(2026, 6, 23), "Discussed").paper, grace, "x" * 300)
    CommentReport.objects.create(comment=comment, reporter=member, reason="spam " * 40)
    AuthorClaim.objects.create(author=Author.objects.get(name="Grace Hopper"), user=grace)
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, live_server.url)

    for path, name in [
        ("/stats", "stats"),
        ("/moderation/", "moderation"),
        (f"/authors/grace-hopper-{Author.objects.get(name='Grace Hopper').pk}", "author"),
    ]:
        page.goto(live_server.url + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, path
        page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
