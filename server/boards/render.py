"""Boards as print files: HTML through the app's Jinja templates, then PDF with WeasyPrint.

WeasyPrint lays out Chinese with Pango and embeds only the glyphs used (Noto Sans CJK,
from Debian's fonts-noto-cjk, which tests/run.py installs), so a street's 1,352 boards
stay a few megabytes. It runs in a worker thread: the event loop keeps serving while
a big file is laid out.
"""
from __future__ import annotations

import asyncio
import base64
import io
import logging

import segno

from server.boards.queries import Board
from server.config import STATIC_DIR

SIZES = ("a4", "a5")
# WeasyPrint logs every page at INFO: 1,352 lines a street.
logging.getLogger("weasyprint").setLevel(logging.WARNING)
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
PRINT_CSS = STATIC_DIR / "css" / "boards-print.css"


def qr_data_uri(url: str) -> str:
    """The board's QR code as SVG (sharp at any size). The mask is fixed: choosing the best of
    eight cost segno ~20 ms a code, half a minute for a street, for no gain a scanner notices."""
    out = io.BytesIO()
    segno.make(url, error="m", mask=0).save(out, kind="svg", scale=4, border=2)
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode()


def photo_data_uri(data: bytes | None) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(data).decode() if data else ""


def board_context(board: Board, base_url: str) -> dict:
    return {"board": board, "qr": qr_data_uri(f"{base_url}/r/{board.code}"), "photo": photo_data_uri(board.photo)}


def boards_html(jinja_env, boards: list[Board], base_url: str, size: str) -> str:
    template = jinja_env.get_template("boards/print.html")
    # Printed boards hang in Chinese whatever the language of the person printing them.
    return template.render(items=[board_context(b, base_url) for b in boards], size=size, lang="zh-CN")


def pdf_bytes(html: str) -> bytes:
    from weasyprint import CSS, HTML

    return HTML(string=html, base_url=str(STATIC_DIR)).write_pdf(stylesheets=[CSS(filename=str(PRINT_CSS))])


async def boards_pdf(jinja_env, boards: list[Board], base_url: str, size: str) -> bytes:
    html = boards_html(jinja_env, boards, base_url, size)
    return await asyncio.to_thread(pdf_bytes, html)
