"""The whole street's notice boards in one PDF (budget: 60 s and 1 GB on 2 cores).

    python tests/benchmarks/bench_boards.py [--size a4] [--out /tmp/boards.pdf] [--photos 200]

Loads the full demo street (1,352 micro-grids with an A post) into a temporary SQLite
file, gives `--photos` leaders a photo (as store_photo keeps it: a shrunk JPEG), then
renders the street's boards in a fresh process exactly as GET /boards/JY.pdf does
(queries.boards_under, then render.boards_pdf, which lays the file out in render.PROCESSES
spawned processes) and reports its time, CPU and peak memory (ru_maxrss of that process and
of the largest layout process). Not collected by pytest.
"""
from __future__ import annotations

import argparse
import asyncio
import io
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

import server.models  # noqa: E402,F401
from server.db import make_engine, make_sessionmaker  # noqa: E402


async def prepare(url: str, photos: int) -> None:
    from PIL import Image

    from server.accounts.models import Post, PostKind, Role
    from server.boards.models import BoardProfile
    from server.grid.demo import load_demo
    from server.photos import clean_photo, store_photo
    from server.sync.models import SyncReceipt

    engine = make_engine(url)
    await load_demo(engine, seed=1, scale=1.0, progress=False)
    async with make_sessionmaker(engine)() as db:
        leaders = list((await db.execute(sa.select(Post.person_id, Post.node_path).where(
            Post.role == Role.leader, Post.post_kind == PostKind.primary).order_by(Post.id).limit(photos))).all())
        for i, (person_id, path) in enumerate(leaders):
            raw = io.BytesIO()
            Image.new("RGB", (480, 640), (30 + i % 200, 80, 140)).save(raw, "JPEG")
            record_id = uuid.uuid4()
            db.add(SyncReceipt(id=record_id, type="board_photo", person_id=person_id, content_hash="0" * 64, grid_path=path))
            await db.flush()
            photo_id = uuid.uuid4()
            await store_photo(db, photo_id=photo_id, record_id=record_id, person_id=person_id, photo=clean_photo(raw.getvalue()))
            db.add(BoardProfile(person_id=person_id, show_phone=i % 2 == 0, photo_id=photo_id))
        await db.commit()
    await engine.dispose()


async def render(url: str, size: str, out: str) -> None:
    from server.app import create_app
    from server.boards import queries, render as printing
    from server.config import Settings
    from server.grid.demo import STREET_CODE
    from server.grid.models import GridNode

    app = create_app(Settings(database_url=url, secret_key="k" * 40, base_url="https://weiwang.example.cn",
                              var_dir=Path(tempfile.gettempdir())))
    engine = make_engine(url)
    before = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = before.ru_utime + before.ru_stime
    started = time.perf_counter()
    async with make_sessionmaker(engine)() as db:
        street = (await db.execute(sa.select(GridNode).where(GridNode.code == STREET_CODE))).scalar_one()
        boards = await queries.boards_under(db, street)
    read = time.perf_counter() - started
    pdf = await printing.boards_pdf(app.template_engine.engine, boards, "https://weiwang.example.cn", size)
    seconds = time.perf_counter() - started
    Path(out).write_bytes(pdf)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    # The layout runs in render.PROCESSES spawned processes: their CPU and their peak count too.
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_mb = usage.ru_maxrss / 1024
    child_peak_mb = children.ru_maxrss / 1024
    # CPU seconds too: on a shared machine the wall clock says more about the neighbours.
    cpu = usage.ru_utime + usage.ru_stime - cpu_before
    child_cpu = children.ru_utime + children.ru_stime
    print(f"{len(boards)} boards ({size}, {sum(1 for b in boards if b.photo)} with a photo): {seconds:.1f} s wall, "
          f"{cpu + child_cpu:.1f} s CPU ({cpu:.1f} here, {child_cpu:.1f} in {printing.PROCESSES} layout processes) "
          f"(reading {read:.1f} s), peak memory {peak_mb:.0f} MB here + at most {child_peak_mb:.0f} MB a layout process "
          f"(≤ {peak_mb + printing.PROCESSES * child_peak_mb:.0f} MB together), {len(pdf) / 1e6:.1f} MB file -> {out} "
          f"(budget 60 s, 1024 MB)")
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", default="a4", choices=["a4", "a5"])
    parser.add_argument("--out", default=str(Path(tempfile.gettempdir()) / "weiwang-boards.pdf"))
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--render", default=None, help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.render:
        asyncio.run(render(args.render, args.size, args.out))
        return
    from server.migrate import upgrade

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        upgrade(url)
        asyncio.run(prepare(url, args.photos))
        subprocess.run([sys.executable, __file__, "--render", url, "--size", args.size, "--out", args.out], check=True)


if __name__ == "__main__":
    main()
