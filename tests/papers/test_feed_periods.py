"""Feed periods: a day in the site's time zone, ISO weeks (with week 53), calendar months."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from broadsheet.papers.models import Listing, Paper
from broadsheet.papers.querysets import iso_week_range, month_range

D = dt.date


def listed_on(day: dt.date, *, hidden: bool = False, paper_hidden: bool = False) -> Listing:
    slug = f"paper-{day.isoformat()}-{Paper.objects.count()}"
    paper = Paper.objects.create(slug=slug, title=slug, hidden=paper_hidden)
    submitted_at = timezone.make_aware(dt.datetime.combine(day, dt.time(12)))
    return Listing.objects.create(paper=paper, day=day, submitted_at=submitted_at, hidden=hidden)


def days(queryset) -> list[dt.date]:
    return sorted(queryset.values_list("day", flat=True))


# Weeks ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "year, week, monday, sunday",
    [
        (2026, 53, D(2026, 12, 28), D(2027, 1, 3)),
        (2020, 53, D(2020, 12, 28), D(2021, 1, 3)),
        (2025, 1, D(2024, 12, 30), D(2025, 1, 5)),
        (2027, 1, D(2027, 1, 4), D(2027, 1, 10)),
        (2026, 26, D(2026, 6, 22), D(2026, 6, 28)),
    ],
)
def test_iso_week_range_is_monday_to_sunday(year, week, monday, sunday):
    assert iso_week_range(year, week) == (monday, sunday)


@pytest.mark.parametrize("year, week", [(2025, 53), (2026, 54), (2026, 0)])
def test_iso_week_that_does_not_exist_is_a_value_error(year, week):
    with pytest.raises(ValueError):
        iso_week_range(year, week)


@pytest.mark.django_db
def test_week_53_spans_the_new_year():
    for day in [D(2026, 12, 27), D(2026, 12, 28), D(2026, 12, 31), D(2027, 1, 3), D(2027, 1, 4)]:
        listed_on(day)

    assert days(Listing.objects.in_week(2026, 53)) == [
        D(2026, 12, 28),
        D(2026, 12, 31),
        D(2027, 1, 3),
    ]
    assert days(Listing.objects.in_week(2027, 1)) == [D(2027, 1, 4)]


@pytest.mark.django_db
def test_first_week_of_a_year_can_start_in_december():
    for day in [D(2024, 12, 29), D(2024, 12, 30), D(2025, 1, 5), D(2025, 1, 6)]:
        listed_on(day)

    assert days(Listing.objects.in_week(2025, 1)) == [D(2024, 12, 30), D(2025, 1, 5)]
    assert days(Listing.objects.in_week(2024, 52)) == [D(2024, 12, 29)]
    # The same day is in December 2024 by month and in 2025 by week.
    assert D(2024, 12, 30) in days(Listing.objects.in_month(2024, 12))


# Months --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "year, month, first, last",
    [
        (2028, 2, D(2028, 2, 1), D(2028, 2, 29)),
        (2027, 2, D(2027, 2, 1), D(2027, 2, 28)),
        (2026, 12, D(2026, 12, 1), D(2026, 12, 31)),
        (2026, 1, D(2026, 1, 1), D(2026, 1, 31)),
        (2026, 6, D(2026, 6, 1), D(2026, 6, 30)),
    ],
)
def test_month_range_is_first_to_last_day(year, month, first, last):
    assert month_range(year, month) == (first, last)


@pytest.mark.parametrize("month", [0, 13])
def test_month_that_does_not_exist_is_a_value_error(month):
    with pytest.raises(ValueError):
        month_range(2026, month)


@pytest.mark.django_db
def test_february_of_a_leap_year_includes_the_29th():
    for day in [D(2028, 1, 31), D(2028, 2, 1), D(2028, 2, 29), D(2028, 3, 1)]:
        listed_on(day)

    assert days(Listing.objects.in_month(2028, 2)) == [D(2028, 2, 1), D(2028, 2, 29)]


@pytest.mark.django_db
def test_december_ends_on_the_31st_and_january_starts_the_next_year():
    for day in [D(2026, 11, 30), D(2026, 12, 1), D(2026, 12, 31), D(2027, 1, 1)]:
        listed_on(day)

    assert days(Listing.objects.in_month(2026, 12)) == [D(2026, 12, 1), D(2026, 12, 31)]
    assert days(Listing.objects.in_month(2027, 1)) == [D(2027, 1, 1)]


# Days and hidden listings --------------------------------------------------------------------


@pytest.mark.django_db
def test_listed_on_returns_only_that_days_listings():
    listed_on(D(2026, 6, 22))
    on_the_day = listed_on(D(2026, 6, 23))
    listed_on(D(2026, 6, 24))

    assert list(Listing.objects.listed_on(D(2026, 6, 23))) == [on_the_day]


@pytest.mark.django_db
def test_hidden_listings_and_papers_are_in_no_period():
    shown = listed_on(D(2026, 6, 23))
    listed_on(D(2026, 6, 23), hidden=True)
    listed_on(D(2026, 6, 23), paper_hidden=True)

    assert list(Listing.objects.listed_on(D(2026, 6, 23))) == [shown]
    assert list(Listing.objects.in_week(2026, 26)) == [shown]
    assert list(Listing.objects.in_month(2026, 6)) == [shown]


# The site's time zone ------------------------------------------------------------------------


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "time_zone, moment, day",
    [
        ("UTC", utc(2026, 3, 10, 2, 30), D(2026, 3, 10)),
        # New York is UTC-4 after the switch to summer time on 2026-03-08.
        ("America/New_York", utc(2026, 3, 10, 2, 30), D(2026, 3, 9)),
        ("America/New_York", utc(2026, 3, 10, 3, 59), D(2026, 3, 9)),
        ("America/New_York", utc(2026, 3, 10, 4, 0), D(2026, 3, 10)),
        # ... and UTC-5 before it.
        ("America/New_York", utc(2026, 3, 8, 4, 59), D(2026, 3, 7)),
        ("America/New_York", utc(2026, 3, 8, 5, 0), D(2026, 3, 8)),
        # Tokyo is UTC+9 all year.
        ("Asia/Tokyo", utc(2026, 3, 9, 16, 0), D(2026, 3, 10)),
        ("Asia/Tokyo", utc(2026, 3, 9, 14, 59), D(2026, 3, 9)),
        ("Asia/Tokyo", utc(2026, 3, 9, 15, 0), D(2026, 3, 10)),
    ],
)
def test_day_of_a_moment_is_taken_in_the_site_time_zone(settings, time_zone, moment, day):
    settings.TIME_ZONE = time_zone

    assert Listing.day_of(moment) == day


def test_day_of_a_year_end_moment_can_be_in_the_next_years_week_53(settings):
    settings.TIME_ZONE = "Asia/Tokyo"
    day = Listing.day_of(utc(2026, 12, 31, 15, 30))  # 00:30 on New Year's Day in Tokyo

    assert day == D(2027, 1, 1)
    assert day.isocalendar()[:2] == (2026, 53)
    monday, sunday = iso_week_range(2026, 53)
    assert monday <= day <= sunday


@pytest.mark.django_db
def test_listing_filed_by_its_local_day_is_on_that_days_feed(settings):
    settings.TIME_ZONE = "America/New_York"
    submitted_at = utc(2026, 3, 10, 2, 30)  # 22:30 on 9 March in New York
    paper = Paper.objects.create(slug="late-night", title="Late night")
    listing = Listing.objects.create(
        paper=paper, day=Listing.day_of(submitted_at), submitted_at=submitted_at
    )

    assert list(Listing.objects.listed_on(D(2026, 3, 9))) == [listing]
    assert list(Listing.objects.listed_on(D(2026, 3, 10))) == []
