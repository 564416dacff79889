"""The search page in a real browser on a phone-sized screen (375 x 812)."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

PHONE = {"width": 375, "height": 812}


@pytest.fixture
def sample(transactional_db):
    call_command("load-sample", stdout=io.StringIO())


def test_results_are_readable_on_a_phone(live_server, browser, sample):
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    try:
        page.goto(live_server.url + "/search?q=model")
        hits = page.locator(".search-hit")
        count = hits.count()
        assert count >= 5
        layout = page.evaluate(
            """() => ({
                scrollWidth: document.documentElement.scrollWidth,
                clientWidth: document.documentElement.clientWidth,
                height: document.documentElement.scrollHeight,
                titles: [...document.querySelectorAll('.search-hit .card-title')]
                    .map(e => e.getBoundingClientRect().width),
            })"""
        )
        assert layout["scrollWidth"] <= layout["clientWidth"]  # no sideways scrolling
        assert min(layout["titles"]) >= 250  # a title spans the screen, not a sliver
        # A card with its title, authors, snippet and meta lines: well under 600 px each.
        assert layout["height"] <= 600 * count + 1000
    finally:
        context.close()
