"""/stats: papers listed and votes per day, top categories, most active submitters."""

from __future__ import annotations

from django.shortcuts import render

from broadsheet.front.charts import bar_chart
from broadsheet.papers.stats import site_stats


def stats_page(request):
    stats = site_stats()
    charts = [
        bar_chart("Papers listed per day", stats.days, stats.listings, "papers"),
        bar_chart("Member votes per day", stats.days, stats.votes, "votes"),
    ]
    return render(request, "front/stats.html", {"stats": stats, "charts": charts})
