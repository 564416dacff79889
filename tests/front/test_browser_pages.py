"""The first five minutes in a real browser: the site's name on the sign-in pages, error pages
in the site's look, a favicon, the statistics page, the digest and token forms, the header."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess

import pytest
from conftest import ARTIFACTS
from django.conf import settings
from django.template.loader import render_to_string
from factories import PASSWORD, make_listing, make_user
from playwright.sync_api import Page, expect

from broadsheet.api.models import ApiToken
from broadsheet.papers.stats import DAYS as STATS_DAYS

LIGHT_BACKGROUND = "rgb(251, 250, 247)"  # --bg of site.css in the light theme


def log_in(page: Page, base: str, username: str = "ada") -> None:
    page.goto(base + "/accounts/login/?next=/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".masthead .who")).to_have_text(username)


def assert_in_the_sites_look(page: Page) -> None:
    """The site's stylesheet applies and the header names the site, not the host."""
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == LIGHT_BACKGROUND, "site.css did not apply"
    expect(page.locator(".masthead .brand")).to_have_text(settings.SITE_NAME)
    assert settings.SITE_NAME in page.title()


# The site's name on the sign-in pages ----------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/login/",
        "/accounts/signup/",
        "/accounts/password_reset/",
        "/accounts/password_reset/done/",
        "/accounts/reset/MQ/set-password/",
        "/accounts/reset/done/",
    ],
)
def test_auth_pages_carry_the_sites_name_not_the_host(live_server, page, transactional_db, path):
    page.goto(live_server.url + path)
    assert_in_the_sites_look(page)
    host = live_server.url.split("//", 1)[1]
    assert host not in page.title()
    expect(page.locator("footer")).to_contain_text(settings.SITE_NAME)
    expect(page.locator("body")).not_to_contain_text(host)


def test_password_change_is_in_the_sites_look(live_server, page, member):
    log_in(page, live_server.url)
    page.goto(live_server.url + "/accounts/password_change/")
    assert_in_the_sites_look(page)
    page.fill("#id_old_password", PASSWORD)
    page.fill("#id_new_password1", "another-horse-battery-staple")
    page.fill("#id_new_password2", "another-horse-battery-staple")
    page.locator("main form button[type=submit]").click()
    expect(page.locator("h1")).to_have_text("Password changed")
    assert_in_the_sites_look(page)


# Error pages ----------------------------------------------------------------------------


@pytest.fixture
def failing_urls(settings):
    settings.ROOT_URLCONF = "front.failing_urls"


@pytest.mark.parametrize(
    "path, status, heading",
    [
        ("/no/such/page", 404, "Page not found"),
        ("/fail/server", 500, "Something went wrong"),
        ("/fail/forbidden", 403, "Not allowed"),
        ("/fail/bad-request", 400, "Bad request"),
    ],
)
def test_error_pages_in_the_sites_look(
    live_server, page, transactional_db, failing_urls, path, status, heading
):
    response = page.goto(live_server.url + path)
    assert response is not None and response.status == status
    expect(page.locator("main h1")).to_have_text(heading)
    assert_in_the_sites_look(page)
    expect(page.locator("main a[href='/']")).to_be_visible()


def test_csrf_failure_page_in_the_sites_look(live_server, page, member):
    page.goto(live_server.url + "/accounts/login/")
    page.context.clear_cookies()  # the CSRF cookie is gone (expired, blocked): the post fails
    page.fill("#id_username", "ada")
    page.fill("#id_password", PASSWORD)
    with page.expect_response(re.compile(r"/accounts/login/$")) as answer:
        page.locator("main form button[type=submit]").click()
    assert answer.value.status == 403
    expect(page.locator("main h1")).to_have_text("This form has expired")
    assert_in_the_sites_look(page)


def test_server_error_page_needs_no_database():
    # No database marker: any query raises, so the page renders while the database is down.
    html = render_to_string("500.html")
    assert "Something went wrong" in html and settings.SITE_NAME in html


def test_database_outage_page_in_the_sites_look(live_server, page, transactional_db, settings):
    settings.ROOT_URLCONF = "front.failing_urls"
    response = page.goto(live_server.url + "/fail/database")
    assert response is not None and response.status == 503
    expect(page.locator("main h1")).to_have_text("Unavailable for a moment")
    assert_in_the_sites_look(page)


# Favicon ------------------------------------------------------------------------------


def test_pages_ask_for_no_missing_file_and_show_a_favicon(live_server, page, transactional_db):
    missing = []
    page.on("response", lambda r: r.status >= 400 and missing.append(r.url))
    page.goto(live_server.url + "/")
    icon = page.locator("link[rel=icon]").first
    href = icon.get_attribute("href")
    assert href and href.endswith(".svg")
    assert page.request.get(live_server.url + href).headers["content-type"] == "image/svg+xml"
    ico = page.request.get(live_server.url + "/favicon.ico")
    assert ico.ok and ico.headers["content-type"] in {"image/x-icon", "image/vnd.microsoft.icon"}
    assert ico.body()[:4] == b"\x00\x00\x01\x00"  # an ICO file
    page.wait_for_load_state("networkidle")
    assert missing == []


# Statistics ----------------------------------------------------------------------------


def test_stats_labels_fit_and_empty_lists_are_not_numbered(live_server, page, transactional_db):
    newest = dt.date(2026, 5, 25)
    make_listing(newest, "A paper in May")
    first = newest - dt.timedelta(days=STATS_DAYS - 1)
    page.goto(live_server.url + "/stats")
    page.set_viewport_size({"width": 375, "height": 812})
    expect(page.locator(".chart")).to_have_count(2)
    for chart in page.locator(".chart").all():
        figure = chart.bounding_box()
        dates = chart.locator(".chart-dates span")
        expect(dates).to_have_text([f"{first:%-d %b}", "25 May"])  # ends on the newest day
        for date in dates.all():
            box = date.bounding_box()
            assert (
                box["y"] >= figure["y"]
                and box["y"] + box["height"] <= figure["y"] + figure["height"]
            )
            size = float(date.evaluate("e => getComputedStyle(e).fontSize").removesuffix("px"))
            assert size >= 12, f"{date.text_content()} is {size}px high on a phone"
    expect(page.locator("ol li", has_text="None yet")).to_have_count(0)
    expect(page.locator("main p", has_text="None yet.")).to_have_count(2)


# Digest settings and API tokens --------------------------------------------------------

FORM_CONTROLS = (
    "main form input:not([type=hidden]):not([type=radio]):not([type=checkbox]):visible, "
    "main form select:visible"
)


def assert_form_controls_styled(page: Page) -> None:
    controls = page.locator(FORM_CONTROLS)
    assert controls.count() > 0
    for control in controls.all():
        radius = control.evaluate("e => getComputedStyle(e).borderRadius")
        assert radius == "4px", f"{control.evaluate('e => e.outerHTML')} is not styled"
    # Each radio button and checkbox has a label; a group of them is named by a legend.
    for choice in page.locator("main form input[type=radio], main form input[type=checkbox]").all():
        assert choice.evaluate("e => e.labels.length > 0")
        grouped = choice.evaluate("e => e.form.querySelectorAll(`[name='${e.name}']`).length > 1")
        if grouped:
            assert choice.evaluate("e => !!e.closest('fieldset')?.querySelector('legend')")


def test_digest_settings_form_is_styled(live_server, page, member):
    from broadsheet.digests.models import Subscription

    Subscription.objects.create(email=member.email, user=member)
    log_in(page, live_server.url)
    page.goto(live_server.url + "/settings/digest")
    expect(page.locator("main h1")).to_have_text("Email digest")
    assert_form_controls_styled(page)


def test_new_token_can_be_copied_and_comes_with_a_curl_example(
    live_server, browser, member, settings
):
    settings.SITE_URL = live_server.url  # so the example command reaches this server
    context = browser.new_context()
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    try:
        log_in(page, live_server.url)
        page.goto(live_server.url + "/settings/tokens")
        assert_form_controls_styled(page)
        page.fill("#id_name", "laptop")
        page.locator("main form button[type=submit]", has_text="Create token").click()
        token = page.locator("#new-token").text_content()
        assert token and ApiToken.objects.filter(user=member, name="laptop").exists()

        page.get_by_role("button", name="Copy the token").click()

        expect(page.locator(".copy-status").first).to_have_text("Copied")
        assert page.evaluate("navigator.clipboard.readText()") == token
        assert token not in page.content().replace(token, "", 1)  # shown once on the page

        page.get_by_role("button", name="Copy the command").click()

        command = page.evaluate("navigator.clipboard.readText()")
        assert command == f'curl -H "Authorization: Bearer $TOKEN" {live_server.url}/api/v1/me'
        # The command works as it stands, once TOKEN holds the copied token.
        curl = subprocess.run(
            ["bash", "-c", command + " --silent --show-error"],
            env={"PATH": os.environ["PATH"], "TOKEN": token},
            capture_output=True,
            text=True,
            check=True,
        )
        assert json.loads(curl.stdout)["username"] == "ada"
    finally:
        context.close()


# The header ----------------------------------------------------------------------------


def test_header_is_one_row_on_a_desktop_for_a_moderator(live_server, page, transactional_db):
    from django.contrib.auth.models import Group

    mod = make_user("mod", password=PASSWORD, is_staff=True)
    mod.groups.add(Group.objects.get_or_create(name="Moderators")[0])
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in(page, live_server.url, "mod")
    items = page.locator(".masthead .brand, .masthead nav a:visible, .masthead summary:visible")
    tops = {
        round(box["y"] + box["height"] / 2) for box in map(lambda i: i.bounding_box(), items.all())
    }
    assert max(tops) - min(tops) <= 6, f"the header has items at {sorted(tops)}"
    # Everything the account menu holds is one click away.
    page.locator(".masthead .who").click()
    expect(page.get_by_role("link", name="Mod queue")).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_header_is_compact_on_a_phone_and_opens_a_menu(live_server, page, member):
    page.set_viewport_size({"width": 375, "height": 812})
    log_in(page, live_server.url)
    header = page.locator(".masthead").bounding_box()
    assert header is not None and header["height"] <= 0.12 * 812, f"{header['height']}px high"
    toggle = page.get_by_role("button", name="Menu")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    trending = page.locator(".masthead").get_by_role("link", name="Trending")
    expect(trending).to_be_hidden()

    toggle.click()

    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(trending).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "header-menu-375.png"))
    trending.click()
    expect(page).to_have_url(live_server.url + "/papers/trending")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
