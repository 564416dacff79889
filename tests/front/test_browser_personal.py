"""Collections and For you in a real browser: saving a paper from a card without a reload (and
with JavaScript off), and "not interested" taking a card off the For you page."""

from __future__ import annotations

import io
import re

import pytest
from conftest import ARTIFACTS
from django.core.management import call_command
from factories import upvote
from playwright.sync_api import Page, expect

from broadsheet.papers import collections
from broadsheet.papers.models import CollectionItem, Dismissal, Paper
from broadsheet.search.indexing import embed_missing

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

SAE = "Interpreting Attention Layer Outputs with Sparse Autoencoders"


@pytest.fixture
def sample(transactional_db):
    call_command("load-sample", "--day", "2026-06-23", "--no-arxiv", stdout=io.StringIO())


def log_in(page: Page, base: str) -> None:
    from factories import PASSWORD

    page.goto(base + "/accounts/login/?next=/")
    page.fill("#id_username", "ada")
    page.fill("#id_password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".masthead .who")).to_have_text("ada")


def test_save_a_paper_to_a_collection_from_a_card_without_reload(live_server, page, member, sample):
    reading = collections.create(member, "To read")
    log_in(page, live_server.url)
    card = page.locator(".card").nth(2)
    paper = Paper.objects.get(pk=int(card.get_attribute("id").removeprefix("p-")))
    page.evaluate("window.__marker = 1")

    card.locator(".collect-summary").click()
    button = card.locator(".collect-button", has_text="To read")
    expect(button).to_have_attribute("aria-pressed", "false")
    button.click()

    expect(button).to_have_attribute("aria-pressed", "true")
    expect(card.locator(".collect-summary")).to_have_text("Saved")
    ARTIFACTS.mkdir(exist_ok=True)
    card.screenshot(path=str(ARTIFACTS / "collect-menu.png"))
    assert page.evaluate("window.__marker") == 1, "the page reloaded"
    assert CollectionItem.objects.filter(collection=reading, paper=paper).exists()

    button.click()  # and out again

    expect(button).to_have_attribute("aria-pressed", "false")
    expect(card.locator(".collect-summary")).to_have_text("Save")
    assert page.evaluate("window.__marker") == 1
    assert not CollectionItem.objects.exists()

    # A new collection from the same menu (a plain form post) holds the paper.
    card.locator("input[name=name]").fill("Sparse things")
    card.locator(".collect-new button").click()
    expect(page.locator(".messages")).to_contain_text("Saved to “Sparse things”.")
    assert list(paper.collections.values_list("name", flat=True)) == ["Sparse things"]


def test_save_from_a_card_without_javascript(live_server, browser, member, sample):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        reading = collections.create(member, "To read")
        log_in(page, live_server.url)
        card = page.locator(".card").first
        card.locator(".collect-summary").click()
        card.locator(".collect-button", has_text="To read").click()
        expect(page).to_have_url(live_server.url + "/")
        card = page.locator(".card").first
        expect(card.locator(".collect-summary")).to_have_text("Saved")
        assert reading.papers.count() == 1
    finally:
        context.close()


def test_for_you_picks_and_not_interested_removes_the_card(live_server, page, member, sample):
    embed_missing()  # the real model, 34 abstracts
    upvote(member, Paper.objects.get(title=SAE))
    log_in(page, live_server.url)
    page.get_by_role("link", name="For you").click()
    expect(page.locator("h1")).to_have_text("For you")
    cards = page.locator(".card.pick")
    expect(cards).to_have_count(30)
    expect(cards.first.locator(".because")).to_have_text(f"Because you liked {SAE}")
    first_id = cards.first.get_attribute("id")
    page.screenshot(path=str(ARTIFACTS / "for-you.png"))
    page.evaluate("window.__marker = 1")

    cards.first.get_by_role("button", name="Not interested").click()

    expect(page.locator(f"#{first_id}")).to_have_count(0)
    expect(cards).to_have_count(29)
    assert page.evaluate("window.__marker") == 1, "the page reloaded"
    dismissed = Paper.objects.get(pk=int(first_id.removeprefix("p-")))
    assert Dismissal.objects.filter(user=member, paper=dismissed).exists()
    page.reload()
    expect(page.locator(f"#{first_id}")).to_have_count(0)  # remembered
    expect(page.locator(".card.pick").first).not_to_have_attribute("id", re.compile(first_id))


def test_for_you_without_history_invites_to_vote(live_server, page, member, sample, settings):
    settings.TRENDING_DAYS = 100_000  # the sample listing is months old
    log_in(page, live_server.url)
    page.goto(live_server.url + "/for-you")
    expect(page.locator(".invitation")).to_contain_text("Upvote or save a few papers")
    expect(page.locator(".card")).to_have_count(34)
