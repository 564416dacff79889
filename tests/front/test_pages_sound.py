"""Every page type in both themes on a phone and a desktop: no sideways scrolling, a main
heading of a readable width, text contrast of at least WCAG AA, and no serious or critical
accessibility violation that axe-core finds.

The theme follows the reader's system (prefers-color-scheme), which the browser emulates. One
test makes the data once and looks at every page type, each theme and width a subtest, so a
failure names the page, theme and width. axe-core's contrast rule (most of its time) runs in
each theme at the phone width, where text wraps and overlaps most; its other rules, which
colours do not change, in the light theme at each width. The layout checks run in every view.
A page that fails is saved whole to artifacts/screenshots/<page>-<theme>-<width>.png for a
human to look at.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from axe_playwright_python.sync_playwright import Axe
from conftest import ARTIFACTS
from django.core.management import call_command
from django.test import Client, override_settings
from factories import make_user
from playwright.sync_api import Error as PlaywrightError

from broadsheet.ops.sample import SAMPLE_DAY

pytestmark = pytest.mark.browser

SCREENSHOTS = ARTIFACTS / "screenshots"
THEMES = ["light", "dark"]
WIDTHS = [375, 1280]
MIN_HEADING_WIDTH = 200
# axe-core's impacts, from minor to critical; these two fail the test.
FAILING_IMPACTS = {"serious", "critical"}

# Page type: (path, who looks at it: a visitor or the logged-in moderator). {placeholders} are
# filled in with the ids of the data the test makes.
PAGES: dict[str, tuple[str, str]] = {
    "day": (f"/papers/date/{SAMPLE_DAY}", "member"),
    # Filtered: the filter form open, with the member's "make this my default".
    "week": (f"/papers/week/{SAMPLE_DAY:%G-W%V}?cat=cs&include=language", "member"),
    "month": (f"/papers/month/{SAMPLE_DAY:%Y-%m}", "member"),
    "trending": ("/papers/trending", "visitor"),
    "paper": ("/papers/{paper}", "member"),
    "search": ("/search?q=attention", "visitor"),
    "stats": ("/stats", "visitor"),
    "for-you": ("/for-you", "member"),
    "new": (f"/new/{SAMPLE_DAY}", "member"),
    "collections": ("/collections", "member"),
    "collection": ("/collections/{collection}", "member"),
    "library-import": ("/collections/import", "member"),
    "profile": ("/u/mod", "visitor"),
    "login": ("/accounts/login/", "visitor"),
    "signup": ("/accounts/signup/", "visitor"),
    "digest-settings": ("/settings/digest", "member"),
    "channels": ("/settings/channels", "member"),
    "tokens": ("/settings/tokens", "member"),
    "moderation": ("/moderation/", "member"),
    "not-found": ("/no/such/page", "visitor"),
}


def _set_up_data() -> tuple[dict[str, str], str]:
    """The sample listing, an administrator (who moderates) with a collection, a comment, a
    digest subscription and a channel (switched off, so its reason shows)."""
    from broadsheet.channels import vault
    from broadsheet.channels.models import Channel
    from broadsheet.digests.models import Subscription
    from broadsheet.papers import collections
    from broadsheet.papers.models import Comment, Paper

    call_command("load-sample", "--no-arxiv", stdout=io.StringIO())
    moderator = make_user("mod", is_staff=True, is_superuser=True)
    papers = list(Paper.objects.order_by("pk")[:3])
    # Arrivals for the New view (the site's categories: cs.LG, in sample_site).
    arrived = Paper.objects.order_by("pk").values_list("pk", flat=True)[:6]
    Paper.objects.filter(pk__in=list(arrived)).update(
        arrived_on=SAMPLE_DAY, primary_category="cs.LG", categories=["cs.LG"]
    )
    reading = collections.create(moderator, "To read", public=True)
    for paper in papers:
        collections.add_paper(reading, paper)
    Comment.objects.create(paper=papers[0], user=moderator, body="A *fine* paper.")
    Subscription.objects.create(email=moderator.email, user=moderator)
    channel_url = "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#general"
    Channel.objects.create(
        owner=moderator,
        name="Reading group of the machine learning theory lab",
        url_sealed=vault.seal(channel_url),
        url_hint=vault.mask(channel_url),
        disabled_reason="3 failed sends in a row, the last: Slack answered HTTP 404",
        test_result="Not delivered: Slack answered HTTP 404",
    )
    client = Client()
    client.force_login(moderator)
    fill = {"paper": papers[0].slug or str(papers[0].pk), "collection": str(reading.pk)}
    paths = {name: path.format(**fill) for name, (path, _) in PAGES.items()}
    return paths, client.cookies["sessionid"].value


@pytest.fixture
def sample_site(transactional_db) -> Iterator[tuple[dict[str, str], str]]:
    with override_settings(  # the sample listing is months old
        TRENDING_DAYS=100_000, INGEST_ARXIV_CATEGORIES=["cs.LG"]
    ):
        yield _set_up_data()


# Which of axe-core's rules run in each (theme, width): contrast depends on the theme, the
# structural rules on what the width shows.
CONTRAST = "color-contrast"
AXE_RULES: dict[tuple[str, int], dict] = {
    ("light", 375): {},
    ("light", 1280): {"rules": {CONTRAST: {"enabled": False}}},
    ("dark", 375): {"runOnly": [CONTRAST]},
    ("dark", 1280): {"runOnly": []},
}


def _axe(page, theme: str, width: int) -> list[str]:
    rules = AXE_RULES[theme, width]
    if rules.get("runOnly") == []:
        return []
    results = Axe().run(page, options={"resultTypes": ["violations"], **rules})
    problems = []
    for violation in results.response["violations"]:
        if violation["impact"] in FAILING_IMPACTS or violation["id"] == CONTRAST:
            for node in violation["nodes"]:
                problems.append(
                    f"{violation['id']} ({violation['impact']}): {', '.join(node['target'])}: "
                    f"{node.get('failureSummary', '').splitlines()[-1].strip()}"
                )
    return problems


def test_every_page_is_sound(live_server, browser, sample_site, subtests) -> None:
    """Every page type, in each theme at each width: a failure names all three."""
    paths, session = sample_site
    visitor, member = browser.new_context(), browser.new_context()
    member.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
    try:
        tabs = {"visitor": visitor.new_page(), "member": member.new_page()}
        for tab in tabs.values():
            tab.set_default_timeout(10_000)
        for name, (_, who) in PAGES.items():
            for theme in THEMES:
                for width in WIDTHS:
                    with subtests.test(msg=f"{name}, {theme}, {width}px"):
                        check_page(tabs[who], live_server.url + paths[name], name, theme, width)
    finally:
        visitor.close()
        member.close()


def check_page(page, url: str, name: str, theme: str, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 800})
    page.emulate_media(color_scheme=theme)
    response = page.goto(url)
    assert response is not None
    assert response.status == (404 if name == "not-found" else 200), page.url
    problems = []
    scroll, client = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    if scroll > client:
        problems.append(f"scrolls sideways: {scroll}px of content in {client}px")
    headings = page.locator("main h1")
    if headings.count() != 1:
        problems.append(f"{headings.count()} main headings (h1) instead of one")
    else:
        box = headings.bounding_box()
        if box is None or box["width"] < MIN_HEADING_WIDTH:
            problems.append(f"the main heading is {box and box['width']}px wide")
    problems += _axe(page, theme, width)
    if problems:
        _screenshot(page, f"{name}-{theme}-{width}")
    assert not problems, f"{name}, {theme}, {width}px:\n" + "\n".join(problems)


def _screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    except PlaywrightError as e:  # the picture is for people; the checks are the test
        print(f"no screenshot of {name}: {e.message.splitlines()[0]}")
