"""The main pages under the Content-Security-Policy in a real browser: not one violation.

Every `securitypolicyviolation` event (and any console message about the policy) on each page
is recorded, after the page's scripts have run: voting, search-as-you-type and the API docs
page included."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from factories import PASSWORD, make_listing
from playwright.sync_api import Page, expect

from broadsheet.ops.sample import SAMPLE_DAY
from broadsheet.papers.authors import author_slug

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

RECORD = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"}`
    + ` at ${e.sourceFile}:${e.lineNumber}`);
});
"""


# Pages whose scripts fetch more once loaded (the API docs load the OpenAPI document): these
# wait until the network is quiet; the others are checked once loaded.
FETCH_AFTER_LOAD = {"/api/docs"}


@pytest.fixture
def watched(page: Page):
    console: list[str] = []
    page.add_init_script(RECORD)
    page.on(
        "console",
        lambda m: console.append(m.text) if "Content Security Policy" in m.text else None,
    )

    def violations() -> list[str]:
        seen = page.evaluate("window.__violations || []") + console
        console.clear()
        return seen

    return violations


def test_the_main_pages_break_no_rule_of_the_policy(live_server, page, watched, member):
    call_command("load-sample", "--day", "2026-06-23", "--no-arxiv", stdout=io.StringIO())
    paper = make_listing(
        SAMPLE_DAY, "Attention <b>budgets</b>", authors=["Ada Lovelace"], arxiv_id="2606.00042"
    ).paper
    author = paper.authorships.get().author
    base = live_server.url
    found: dict[str, list[str]] = {}

    def visit(path: str) -> None:
        response = page.goto(base + path)  # returns on "load": every resource has loaded
        assert response is not None and response.status < 400, path
        assert "default-src 'self'" in response.headers["content-security-policy"]
        if path in FETCH_AFTER_LOAD:
            page.wait_for_load_state("networkidle")
        # Violation events are queued as tasks: let the ones already queued run.
        page.evaluate("new Promise((done) => setTimeout(done, 0))")
        if seen := watched():
            found[path] = seen

    anonymous = [
        "/", "/papers/trending", f"/papers/date/{SAMPLE_DAY}", paper.get_absolute_url(),
        "/search?q=attention", "/stats", "/api/docs", "/accounts/login/", "/accounts/signup/",
        f"/authors/{author_slug(author)}",
    ]  # fmt: skip
    for path in anonymous:
        visit(path)
    # Search as you type swaps results in from a script.
    visit("/search")
    page.fill("input[name=q]", "language model")
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(600)
    if seen := watched():
        found["/search (typing)"] = seen
    # Logged in: the pages only members see, and a vote without a reload.
    visit("/accounts/login/")
    page.fill("#id_username", member.username)
    page.fill("#id_password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".masthead .who")).to_have_text(member.username)
    members_pages = [
        "/", "/submit", "/collections", "/settings/tokens", "/for-you",
        f"/u/{member.username}", "/settings/digest", paper.get_absolute_url(),
    ]  # fmt: skip
    for path in members_pages:
        visit(path)
    vote = page.locator("form[action$='/upvote'] button").first
    if vote.count():
        # Wait for the vote's answer: a request still in flight when the test ends would
        # race the database flush of its teardown.
        with page.expect_response(lambda r: r.url.endswith("/upvote")):
            vote.click()
        page.wait_for_load_state("networkidle")
        if seen := watched():
            found["vote"] = seen
    assert found == {}
