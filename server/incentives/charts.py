"""Twelve-month trend charts for the scorecard dashboard: geometry here, the SVG in the template.

Server-rendered, no script and no inline style (the CSP forbids both), so the charts print
and show from the page cache offline. Same shape as server/patrols/chart.py, for any series.
"""
from __future__ import annotations

from dataclasses import dataclass

WIDTH, HEIGHT = 360, 160
LEFT, RIGHT, TOP, BOTTOM = 34, 6, 16, 22


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


def bar_chart(key: str, title: str, series: list[tuple[str, float | None]], *, percent: bool = False) -> Chart:
    """`series` is [(YYYY-MM, value or None)], oldest first; percent values are 0..1."""
    plot_h = HEIGHT - TOP - BOTTOM
    plot_w = WIDTH - LEFT - RIGHT
    top = 1.0 if percent else max([v for _, v in series if v is not None] + [1])
    slot = plot_w / max(len(series), 1)
    bars = []
    for i, (month, value) in enumerate(series):
        height = round(plot_h * (value / top), 1) if value is not None else 0
        text = "" if value is None else (f"{value * 100:.0f}" if percent else f"{value:g}")
        bars.append(Bar(month, str(int(month[5:])), round(LEFT + i * slot + slot * 0.15, 1), round(slot * 0.7, 1),
                        round(TOP + plot_h - height, 1), height, value, text))
    marks = (0, 0.5, 1)
    gridlines = [(round(TOP + plot_h * (1 - m), 1), f"{m * 100:.0f}%" if percent else f"{top * m:g}") for m in marks]
    return Chart(key, title, WIDTH, HEIGHT, bars, gridlines, TOP + plot_h, LEFT, WIDTH - RIGHT)
