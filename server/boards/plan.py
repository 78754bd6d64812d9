"""The compound plan board (平面图展示牌): a compound's buildings, or a rural settlement's plots,
placed on a simple grid by staff, drawn as a schematic SVG and printed A3 at the gate.

A residential compound shows its buildings; each building is split into one band per micro-grid
(its units, a high-rise unit sometimes in two), coloured by micro-grid and labelled with the unit
and the A-post leader. A rural settlement (林盘) has no buildings: its micro-grids (村民小组) are
the plots. Where staff have not placed an item yet, it takes the next free cell in reading order,
so a new compound prints a tidy plan before anyone arranges it.

Plain SVG written here (text escaped), like the structure chart (chart.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from xml.sax.saxutils import escape

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import Person, Post, PostKind, Role, current_post
from server.boards.models import PlanLayout
from server.grid.models import GridNode, Level, active_node
from server.i18n import N_, gettext
from server.tree import in_subtree

COLUMNS, ROWS = 6, 8  # the grid staff place items on (column, row), 1-based on the page
CELL_W, CELL_H, PAD = 230, 170, 14
# Distinct, print-friendly fills; the micro-grid's index in the compound picks one.
PALETTE = ["#f8d7d3", "#d5e8f7", "#dcefd6", "#fbe9c6", "#e6dcf3", "#d3efec", "#f6dbe9", "#e9e6d0",
           "#cfe0f1", "#f3e1d0"]
TITLE = N_("plan")
LEGEND = N_("Colours: one per micro-grid. Each band: unit · micro-grid leader")


@dataclass
class Band:
    """A micro-grid as drawn inside its building (or as a plot)."""

    name: str  # the unit (or the plot's own name)
    leader: str
    colour: str


@dataclass
class Item:
    """A building or a plot: one placeable box."""

    id: int
    name: str
    bands: list[Band] = field(default_factory=list)
    column: int = 0  # 0-based on the grid
    row: int = 0
    placed: bool = False  # staff placed it (else the default layout did)


class PlanProblem(ValueError):
    """Not a compound: there is no plan to draw."""


async def plan_items(db: AsyncSession, compound: GridNode) -> list[Item]:
    """The compound's buildings (or plots) with their micro-grids and leaders, placed."""
    if compound.level != Level.compound:
        raise PlanProblem(compound.code)
    nodes = list((await db.execute(sa.select(GridNode).where(
        in_subtree(GridNode.path, compound.path), GridNode.id != compound.id, active_node())
        .order_by(GridNode.path))).scalars())
    leaders = dict((await db.execute(
        sa.select(Post.node_id, Person.name).join(Person, Person.id == Post.person_id)
        .where(Post.role == Role.leader, Post.post_kind == PostKind.primary, current_post(),
               in_subtree(Post.node_path, compound.path)).order_by(Post.id.desc()))).all())
    by_id = {n.id: n for n in nodes}
    top = [n for n in nodes if n.parent_id == compound.id]
    items = {n.id: Item(id=n.id, name=n.name) for n in top}
    colour_index = 0
    for node in nodes:  # path order: every micro-grid after its building and unit
        if node.level != Level.microgrid:
            continue
        chain, parent = [], by_id.get(node.parent_id)
        while parent is not None and parent.id not in items:
            chain.append(parent)
            parent = by_id.get(parent.parent_id)
        owner = items.get(node.id) or (items.get(parent.id) if parent is not None else None)
        if owner is None:
            continue
        unit = next((p for p in chain if p.level == Level.unit), None)
        label = node.name if owner.id == node.id else (unit.name if unit else node.name)
        if unit is not None and node.name.startswith(f"{owner.name}{unit.name}"):
            # 低区 / 高区 of a split unit: keep what tells the two apart
            rest = node.name[len(owner.name) + len(unit.name):].removesuffix("微网格")
            label = f"{unit.name}{rest}"
        owner.bands.append(Band(name=label, leader=leaders.get(node.id, ""), colour=PALETTE[colour_index % len(PALETTE)]))
        colour_index += 1
    ordered = [items[n.id] for n in sorted(top, key=lambda n: (n.sort_order, n.code))]
    await _place(db, compound, ordered)
    return ordered


async def _place(db: AsyncSession, compound: GridNode, items: list[Item]) -> None:
    layout = await db.get(PlanLayout, compound.id)
    saved = layout.positions if layout else {}
    taken: set[tuple[int, int]] = set()
    for item in items:
        spot = saved.get(str(item.id))
        if isinstance(spot, list) and len(spot) == 2 and all(isinstance(v, int) for v in spot):
            column, row = spot
            if 0 <= column < COLUMNS and 0 <= row < ROWS and (column, row) not in taken:
                item.column, item.row, item.placed = column, row, True
                taken.add((column, row))
    free = ((c, r) for r in range(ROWS * 4) for c in range(COLUMNS) if (c, r) not in taken)
    for item in items:
        if not item.placed:
            item.column, item.row = next(free)
            taken.add((item.column, item.row))


def check_positions(items: list[Item], form: dict[str, str]) -> tuple[dict[str, list[int]], dict[str, tuple[str, dict]], dict[str, str]]:
    """(positions to save {id: [column, row]} 0-based, errors by field as (message, params), the values as typed)."""
    values, errors, positions, where = {}, {}, {}, {}
    for item in items:
        pair = []
        for axis, limit in (("col", COLUMNS), ("row", ROWS)):
            name = f"{axis}-{item.id}"
            raw = (form.get(name) or "").strip()
            values[name] = raw
            number = int(raw) if raw.isdigit() else None
            if number is None or not 1 <= number <= limit:
                errors[name] = (N_("A whole number from 1 to %(n)s."), {"n": limit})
            pair.append(number)
        if all(v is not None for v in pair) and f"col-{item.id}" not in errors and f"row-{item.id}" not in errors:
            spot = (pair[0] - 1, pair[1] - 1)
            if spot in where:
                errors[f"col-{item.id}"] = (N_("The same cell as %(other)s: choose another."), {"other": where[spot]})
            else:
                where[spot] = item.name
                positions[str(item.id)] = list(spot)
    return positions, errors, values


def _text(x: float, y: float, text: str, size: int = 16, weight: str = "normal", anchor: str = "middle",
          fill: str = "#1a1a1a") -> str:
    return (f'<text x="{x:.0f}" y="{y:.0f}" font-size="{size}" font-weight="{weight}" text-anchor="{anchor}" '
            f'fill="{fill}">{escape(text)}</text>')


def plan_svg(compound: GridNode, items: list[Item], lang: str = "zh-CN") -> str:
    """The schematic plan: a title, the grid of boxes (bands inside), a legend line and a north arrow."""
    _ = lambda message: gettext(lang, message)  # noqa: E731
    columns = max([COLUMNS // 2] + [i.column + 1 for i in items])
    rows = max([1] + [i.row + 1 for i in items])
    top = 90
    width = columns * CELL_W + 2 * PAD
    height = top + rows * CELL_H + 70
    parts = [_text(width / 2, 48, f"{compound.name} {_(TITLE)}", size=30, weight="bold", fill="#c8161d"),
             # north arrow, top right
             f'<path d="M {width - 40} 70 L {width - 28} 40 L {width - 16} 70 L {width - 28} 62 Z" fill="#1a1a1a"/>',
             _text(width - 28, 34, _("N"), size=16, weight="bold"),
             f'<rect x="{PAD}" y="{top - 10}" width="{width - 2 * PAD}" height="{rows * CELL_H + 10}" fill="none" '
             f'stroke="#bbb" stroke-dasharray="6 6"/>']
    for item in items:
        x = PAD + item.column * CELL_W + 10
        y = top + item.row * CELL_H
        w, h = CELL_W - 20, CELL_H - 20
        parts.append(f'<g class="plan-item" data-id="{item.id}">')
        parts.append(_text(x + w / 2, y + 20, item.name, size=19, weight="bold"))
        box_y, box_h = y + 30, h - 30
        bands = item.bands or [Band(name="", leader="", colour="#f3f3f3")]
        band_w = w / len(bands)
        for index, band in enumerate(bands):
            bx = x + index * band_w
            parts.append(f'<rect x="{bx:.1f}" y="{box_y}" width="{band_w:.1f}" height="{box_h}" fill="{band.colour}" '
                         f'stroke="#555" stroke-width="1"/>')
            size = 16 if band_w >= 70 else 14
            # Narrow bands (a building of many units) stack the unit over the leader's name.
            parts.append(_text(bx + band_w / 2, box_y + box_h / 2 - 6, band.name, size=size, weight="bold"))
            parts.append(_text(bx + band_w / 2, box_y + box_h / 2 + 18, band.leader, size=size))
        parts.append(f'<rect x="{x}" y="{box_y}" width="{w}" height="{box_h}" fill="none" stroke="#1a1a1a" stroke-width="2"/>')
        parts.append("</g>")
    parts.append(_text(PAD, height - 24, _(LEGEND), size=16, anchor="start", fill="#555"))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
            f'font-family="Noto Sans CJK SC, Noto Sans SC, sans-serif"><rect width="100%" height="100%" fill="#fff"/>'
            + "".join(parts) + "</svg>")


def plan_pdf(svg: str) -> bytes:
    """A3, the plan scaled to the page (landscape unless the plan is taller than wide), through the
    same WeasyPrint as the notice boards."""
    import re

    from weasyprint import CSS, HTML

    width, height = (int(v) for v in re.match(r'<svg[^>]* width="(\d+)" height="(\d+)"', svg).groups())
    landscape = width >= height
    page = CSS(string=f"@page {{ size: A3 {'landscape' if landscape else 'portrait'}; margin: 10mm; }} body {{ margin: 0; }} "
                      f"svg {{ width: 100%; height: auto; max-height: {277 if landscape else 400}mm; display: block; }}")
    return HTML(string=f'<!doctype html><html lang="zh-CN"><body>{svg}</body></html>').write_pdf(stylesheets=[page])
