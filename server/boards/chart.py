"""The street's structure chart (微网格治理体系导图): the four tiers with their counts, and the tree
down to the communities (or, for a community, its compounds), as a printable SVG.

Plain SVG written here (text escaped): no drawing library is needed for boxes and lines, and
the same file prints at any size and opens in any browser.
"""
from __future__ import annotations

from xml.sax.saxutils import escape

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from server.grid.models import GridNode, Level, active_node
from server.grid.stats import tier_table
from server.i18n import N_, gettext
from server.tree import in_subtree

TIERS = [
    (N_("Tier 1"), N_("Street"), "street"),
    (N_("Tier 2"), N_("Community (village)"), "community"),
    (N_("Tier 3"), N_("Compound (courtyard, settlement)"), "compound"),
    (N_("Tier 4"), N_("Micro-grid"), "microgrid"),
]
TITLE = N_("micro-grid governance structure")
BOX_W, BOX_H, GAP, PER_ROW = 220, 74, 24, 4


def _text(x: float, y: float, text: str, size: int = 16, weight: str = "normal", anchor: str = "middle",
          fill: str = "#1a1a1a") -> str:
    return (f'<text x="{x:.0f}" y="{y:.0f}" font-size="{size}" font-weight="{weight}" text-anchor="{anchor}" '
            f'fill="{fill}">{escape(text)}</text>')


async def structure_chart_svg(db: AsyncSession, node: GridNode, lang: str = "zh-CN") -> str:
    _ = lambda message: gettext(lang, message)  # noqa: E731
    table = await tier_table(db, node.path)
    children = list((await db.execute(sa.select(GridNode).where(
        GridNode.parent_id == node.id, active_node()).order_by(GridNode.sort_order, GridNode.code))).scalars())
    # Compounds and micro-grids under each child, from one scan of the subtree's paths.
    counts = {c.path: {"compound": 0, "microgrid": 0} for c in children}
    rows = await db.execute(sa.select(GridNode.path, GridNode.level).where(
        in_subtree(GridNode.path, node.path), GridNode.level.in_((Level.compound, Level.microgrid)), active_node()))
    for path, level in rows.all():
        for child_path, tally in counts.items():
            if path.startswith(child_path):
                tally[level] += 1
                break

    width = PER_ROW * BOX_W + (PER_ROW + 1) * GAP
    parts = [_text(width / 2, 44, f"{node.name} {_(TITLE)}", size=28, weight="bold", fill="#c8161d")]
    # The tier table.
    y = 80
    for label, level_name, level in TIERS:
        parts.append(f'<rect x="{GAP}" y="{y}" width="{width - 2 * GAP}" height="40" fill="#fdf2f2" stroke="#c8161d"/>')
        parts.append(_text(GAP + 16, y + 26, _(label), size=17, weight="bold", anchor="start", fill="#c8161d"))
        parts.append(_text(GAP + 130, y + 26, _(level_name), size=17, anchor="start"))
        parts.append(_text(width - GAP - 16, y + 26, str(table["tiers"][level]), size=17, weight="bold", anchor="end"))
        y += 44
    parts.append(_text(width / 2, y + 24, _("Leaders: %(a)s A posts, %(b)s B posts; %(h)s households")
                       % {"a": table["leaders"], "b": table["backup_posts"], "h": table["households"]}, size=16))
    # The tree: the node, then its children in rows.
    y += 60
    root_x = width / 2 - BOX_W / 2
    parts.append(f'<rect x="{root_x:.0f}" y="{y}" width="{BOX_W}" height="{BOX_H - 20}" rx="8" fill="#c8161d"/>')
    parts.append(_text(width / 2, y + 34, node.name, size=20, weight="bold", fill="#fff"))
    top = y + BOX_H - 20
    y = top + 40
    for index, child in enumerate(children):
        column, row = index % PER_ROW, index // PER_ROW
        x = GAP + column * (BOX_W + GAP)
        box_y = y + row * (BOX_H + GAP)
        parts.append(f'<line x1="{width / 2:.0f}" y1="{top}" x2="{x + BOX_W / 2:.0f}" y2="{box_y}" stroke="#c8161d" stroke-width="1.5"/>')
        parts.append(f'<rect x="{x}" y="{box_y}" width="{BOX_W}" height="{BOX_H}" rx="8" fill="#fff" stroke="#c8161d" stroke-width="2"/>')
        parts.append(_text(x + BOX_W / 2, box_y + 30, child.name, size=18, weight="bold"))
        tally = counts[child.path]
        parts.append(_text(x + BOX_W / 2, box_y + 56, _("%(c)s compounds · %(m)s micro-grids")
                           % {"c": tally["compound"], "m": tally["microgrid"]}, size=14, fill="#555"))
    rows_of_children = (len(children) + PER_ROW - 1) // PER_ROW
    height = y + rows_of_children * (BOX_H + GAP) + GAP
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
            f'font-family="Noto Sans CJK SC, Noto Sans SC, sans-serif"><rect width="100%" height="100%" fill="#fff"/>'
            + "".join(parts) + "</svg>")
