"""Bar charts drawn as inline SVG on the server: no JavaScript, readable without CSS."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

WIDTH, HEIGHT = 600, 140
# Below the bars, room for the axis line. The first and last dates are HTML under the chart:
# text inside the SVG would shrink with it on a phone, and a baseline at the bottom edge cut
# off descenders ("25 Mav").
AXIS_ROOM = 2


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

    @property
    def plot_height(self) -> int:
        return self.height - AXIS_ROOM


def bar_chart(title: str, days: list[dt.date], values: list[int], unit: str) -> BarChart:
    peak = max(values, default=0)
    plot = HEIGHT - AXIS_ROOM
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
