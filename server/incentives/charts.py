"""Twelve-month trend charts for the scorecard dashboard: geometry here, the SVG in the template.

Server-rendered, no script and no inline style (the CSP forbids both), so the charts print
and show from the page cache offline. Same shape as server/patrols/chart.py, for any series.
"""
from __future__ import annotations

from dataclasses import dataclass

# Drawn at about the width a phone gives the chart (a 390 px screen less the page's margins), so
# its 15-unit text shows at 14-15 px there (issue 13: no chart label under 14 px). Twelve values
# do not fit above twelve bars at that size: the newest is written on its bar, the rest are read
# against the gridlines and named in full in the chart's <desc> and each bar's <title>.
WIDTH, HEIGHT = 340, 190
LEFT, RIGHT, TOP, BOTTOM = 46, 8, 24, 26
FONT = 15


@dataclass
class Bar:
    month: str
    label: str
    x: float
    width: float
    y: float
    height: float
    value: float | None
    text: str
    labelled: bool = False  # its value written above it (the newest month with a value)


@dataclass
class Chart:
    key: str
    title: str
    width: int
    height: int
    bars: list[Bar]
    gridlines: list[tuple[float, str]]
    baseline: float
    left: int
    right: float
    font: int = FONT


def bar_chart(key: str, title: str, series: list[tuple[str, float | None]], *, percent: bool = False) -> Chart:
    """`series` is [(YYYY-MM, value or None)], oldest first; percent values are 0..1."""
    plot_h = HEIGHT - TOP - BOTTOM
    plot_w = WIDTH - LEFT - RIGHT
    top = 1.0 if percent else max([v for _, v in series if v is not None] + [1])
    slot = plot_w / max(len(series), 1)
    bars = []
    for i, (month, value) in enumerate(series):
        height = round(plot_h * (value / top), 1) if value is not None else 0
        text = "" if value is None else (f"{value * 100:.0f}%" if percent else f"{value:g}")
        bars.append(Bar(month, str(int(month[5:])), round(LEFT + i * slot + slot * 0.15, 1), round(slot * 0.7, 1),
                        round(TOP + plot_h - height, 1), height, value, text))
    newest = next((bar for bar in reversed(bars) if bar.value is not None), None)
    if newest is not None:
        newest.labelled = True
    marks = (0, 0.5, 1)
    gridlines = [(round(TOP + plot_h * (1 - m), 1), f"{m * 100:.0f}%" if percent else f"{top * m:g}") for m in marks]
    return Chart(key, title, WIDTH, HEIGHT, bars, gridlines, TOP + plot_h, LEFT, WIDTH - RIGHT)
