"""Geometry of the pass-rate chart: the template draws the SVG, this places the bars.

Server-rendered and static (no script, no inline style: the CSP forbids both), so the
chart also prints and shows offline from the page cache.
"""
from __future__ import annotations

from dataclasses import dataclass

from server.patrols.queries import MonthRate

WIDTH, HEIGHT = 330, 180  # about the width a phone gives it, so 0.9rem shows at 15 px and up (18 in 大字模式)
LEFT, RIGHT, TOP, BOTTOM = 44, 6, 22, 26  # room for the axis labels (15px text and up, issue 13)
GOOD, FAIR = 0.9, 0.7  # pass-rate bands: green at 90% and over, amber at 70%, red below
BAND_FILL = {"good": "#1a7f37", "fair": "#bf8700", "poor": "#cf222e", "none": "#e3e5e8"}


@dataclass
class Bar:
    month: str
    label: str  # "11月" style label under the bar: the month number
    x: float
    width: float
    y: float
    height: float
    rate: float | None
    band: str  # good | fair | poor | none

    @property
    def fill(self) -> str:
        return BAND_FILL[self.band]


@dataclass
class Chart:
    width: int
    height: int
    bars: list[Bar]
    gridlines: list[tuple[float, int]]  # (y, percent)
    baseline: float
    left: int
    right: float
    average: float | None


def pass_rate_chart(rates: list[MonthRate]) -> Chart:
    plot_h = HEIGHT - TOP - BOTTOM
    plot_w = WIDTH - LEFT - RIGHT
    slot = plot_w / max(len(rates), 1)
    bars = []
    for i, r in enumerate(rates):
        rate = r.rate
        height = round(plot_h * rate, 1) if rate is not None else 0
        band = "none" if rate is None else "good" if rate >= GOOD else "fair" if rate >= FAIR else "poor"
        bars.append(Bar(r.month, str(int(r.month[5:])), round(LEFT + i * slot + slot * 0.15, 1), round(slot * 0.7, 1),
                        round(TOP + plot_h - height, 1), height, rate, band))
    judged = [(r.passed, r.failed) for r in rates if r.passed + r.failed]
    total = sum(p + f for p, f in judged)
    average = sum(p for p, _ in judged) / total if total else None
    gridlines = [(round(TOP + plot_h * (1 - pct / 100), 1), pct) for pct in (0, 50, 100)]
    return Chart(WIDTH, HEIGHT, bars, gridlines, TOP + plot_h, LEFT, WIDTH - RIGHT, average)
