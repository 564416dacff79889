"""Bar charts drawn as inline SVG on the server: no JavaScript, readable without CSS."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

WIDTH, HEIGHT = 600, 160
LABEL_ROOM = 22  # below the bars, for the first and last date
LABEL_SIZE = 13  # the dates' font size, in the chart's units
# The dates' baseline: one font size below the bars leaves room above for the tallest letter
# and below for descenders ("May", "Aug"), which a baseline at the very bottom would cut off.
LABEL_BASELINE = HEIGHT - LABEL_ROOM + LABEL_SIZE + 2


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    title: str


@dataclass
class BarChart:
    title: str
    bars: list[Bar]
    peak: int
    width: int = WIDTH
    height: int = HEIGHT
    first_label: str = ""
    last_label: str = ""

    label_baseline: int = LABEL_BASELINE
    label_size: int = LABEL_SIZE

    @property
    def plot_height(self) -> int:
        return self.height - LABEL_ROOM


def bar_chart(title: str, days: list[dt.date], values: list[int], unit: str) -> BarChart:
    peak = max(values, default=0)
    plot = HEIGHT - LABEL_ROOM
    step = WIDTH / max(len(values), 1)
    bars = []
    for i, (day, value) in enumerate(zip(days, values, strict=True)):
        height = plot * value / peak if peak else 0
        bars.append(
            Bar(
                x=round(i * step + step * 0.1, 2),
                y=round(plot - height, 2),
                width=round(step * 0.8, 2),
                height=round(height, 2),
                title=f"{day:%-d %b %Y}: {value} {unit}",
            )
        )
    return BarChart(
        title=title,
        bars=bars,
        peak=peak,
        first_label=f"{days[0]:%-d %b}" if days else "",
        last_label=f"{days[-1]:%-d %b}" if days else "",
    )
