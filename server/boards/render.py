"""Boards as print files: HTML through the app's Jinja templates, then PDF with WeasyPrint.

WeasyPrint lays out Chinese with Pango and embeds only the glyphs used (Noto Sans CJK,
from Debian's fonts-noto-cjk, which tests/run.py installs), so a street's 1,352 boards
stay a few megabytes. It runs in a worker thread: the event loop keeps serving while
a big file is laid out.

Speed (tests/benchmarks/bench_boards.py, budget 60 s for the street): WeasyPrint is pure
Python, so one document uses one core. A big print file is cut into runs of consecutive
boards (at most RUN_AT_MOST each), laid out PROCESSES at a time, each in a fresh process
(spawned: nothing of the app's event loop or connections is inherited; fresh: its memory
goes with it), and the parts are joined in order with pypdf.
The QR code is a small PNG drawn without smoothing (image-rendering: pixelated, sharp on
paper): as SVG its path was a fifth of the layout time, for nothing a scanner notices.
"""
from __future__ import annotations

import asyncio
import base64
import io
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import segno

from server.boards.queries import Board
from server.config import STATIC_DIR

SIZES = ("a4", "a5")
# WeasyPrint logs every page at INFO: 1,352 lines a street.
logging.getLogger("weasyprint").setLevel(logging.WARNING)
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
PRINT_CSS = STATIC_DIR / "css" / "boards-print.css"


# Processes laying out at once; boards a run lays out at least (a small file is not worth a
# spawn) and at most (a fresh process a run keeps each one's memory to its own pages: WeasyPrint
# holds a whole document's boxes until it is written).
PROCESSES = 2
SPLIT_FROM = 120
RUN_AT_MOST = 350


def qr_data_uri(url: str) -> str:
    """The board's QR code as a PNG of one pixel a module (printed sharp: the CSS draws it
    pixelated). The mask is fixed: choosing the best of eight cost segno ~20 ms a code, half a
    minute for a street, for no gain a scanner notices."""
    out = io.BytesIO()
    segno.make(url, error="m", mask=0).save(out, kind="png", scale=1, border=2)
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


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


def join_pdfs(parts: list[bytes]) -> bytes:
    """The parts' pages in order, one file (each part keeps its own font subsets)."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    for part in parts:
        writer.append(io.BytesIO(part))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def runs(boards: list[Board], processes: int = PROCESSES) -> list[list[Board]]:
    """Consecutive runs of boards, each laid out by a fresh process (code order is kept by joining
    them in order): at least one a process for a big file, none longer than RUN_AT_MOST."""
    if len(boards) < 2 * SPLIT_FROM:
        return [boards]
    count = max(min(processes, len(boards) // SPLIT_FROM), -(-len(boards) // RUN_AT_MOST))
    size = -(-len(boards) // count)
    return [boards[i:i + size] for i in range(0, len(boards), size)]


async def boards_pdf(jinja_env, boards: list[Board], base_url: str, size: str, processes: int = PROCESSES) -> bytes:
    parts = [boards_html(jinja_env, run, base_url, size) for run in runs(boards, processes)]
    if len(parts) == 1:
        return await asyncio.to_thread(pdf_bytes, parts[0])
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(max_workers=min(processes, len(parts)), mp_context=multiprocessing.get_context("spawn"),
                             max_tasks_per_child=1) as pool:
        pdfs = await asyncio.gather(*(loop.run_in_executor(pool, pdf_bytes, html) for html in parts))
    return await asyncio.to_thread(join_pdfs, list(pdfs))
