"""The registers at full scale: export, dry run + apply into an empty database, a community's move.

    python tests/benchmarks/bench_registers.py [--scale 1.0]

Budget (issue 9): the full demo street (54,707 households, 1,606 micro-grids, every person
and post) read, checked and applied in <= 30 s on SQLite with a peak of <= 300 MB, and a
community's subtree moved in <= 2 s.

Each stage runs in a child process of its own (a fresh interpreter), so its peak memory
(max RSS) is its own and not the demo generator's. SQLite files go to a temporary
directory. Not collected by pytest (the file name does not start with test_).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def child(stage: str, *args: str) -> dict:
    """Run one stage in a fresh interpreter; its JSON line, plus its peak memory."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out = subprocess.run([sys.executable, __file__, "--stage", stage, *args], cwd=ROOT, check=True,
                         capture_output=True, text=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the largest child so far: a stage's own figure only when it is the largest.
    result["peak_mb_upper_bound"] = round(max(peak, before) / 1024, 1)
    return result


async def _demo(url: str, scale: float) -> dict:
    from server.db import make_engine
    from server.grid.demo import load_demo
    from server.issues.demo import load_ledger_demo

    engine = make_engine(url)
    try:
        started = time.perf_counter()
        await load_demo(engine, scale=scale, progress=False)
        async with engine.begin() as conn:
            await load_ledger_demo(conn, issues=2000, events=10000, seed=1)
        return {"seconds": round(time.perf_counter() - started, 2)}
    finally:
        await engine.dispose()


async def _export(url: str, out: str) -> dict:
    from server.db import make_engine, make_sessionmaker
    from server.registers import exporter

    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as db:
            started = time.perf_counter()
            content, counts = await exporter.export_workbook(db, None, all_companies=True)
            seconds = time.perf_counter() - started
        Path(out).write_bytes(content)
        return {"seconds": round(seconds, 2), "bytes": len(content), "rows": counts}
    finally:
        await engine.dispose()


async def _import(url: str, path: str) -> dict:
    from server.db import make_engine, make_sessionmaker
    from server.registers import importer, reader

    content = Path(path).read_bytes()
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as db:
            started = time.perf_counter()
            parsed = reader.read_upload(content, Path(path).name)
            read_seconds = time.perf_counter() - started
            plan = await importer.make_plan(db, importer.CommandLine(), parsed)
            dry_run_seconds = time.perf_counter() - started
            assert plan.ok, plan.problems[:5]
            await importer.apply_plan(db, importer.CommandLine(), plan, filename=Path(path).name,
                                      sha256=importer.sha256_of(content), size=len(content))
            await db.commit()
            total = time.perf_counter() - started
            # The same file again: nothing to change (the dry run of a re-import).
            started = time.perf_counter()
            again = await importer.make_plan(db, importer.CommandLine(), reader.read_upload(content, Path(path).name))
            reimport = time.perf_counter() - started
        own_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return {"read_seconds": round(read_seconds, 2), "dry_run_seconds": round(dry_run_seconds, 2),
                "apply_seconds": round(total - dry_run_seconds, 2), "dry_run_plus_apply_seconds": round(total, 2),
                "reimport_dry_run_seconds": round(reimport, 2), "reimport_changes": again.changes,
                "rows": parsed.rows, "peak_mb": round(own_peak, 1)}
    finally:
        await engine.dispose()


async def _move(url: str) -> dict:
    """Move the largest community under a second street and back: every path copy rewritten twice."""
    import sqlalchemy as sa

    from server.accounts.scope import PostScope, Viewer
    from server.db import make_engine, make_sessionmaker
    from server.grid.models import GridNode, Household, Level
    from server.registers import edits
    from server.tree import child_path

    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as db:
            street = (await db.execute(sa.select(GridNode).where(GridNode.level == Level.street))).scalars().first()
            counts = dict((await db.execute(
                sa.select(sa.func.substr(Household.grid_path, 1, 16), sa.func.count()).group_by(sa.func.substr(Household.grid_path, 1, 16))
            )).all())
            biggest_path = max(counts, key=counts.get)
            community = (await db.execute(sa.select(GridNode).where(GridNode.path == biggest_path))).scalar_one()
            code = "BENCH-" + str(int(time.time()))
            second = GridNode(level=Level.street, code=code, name="第二街道", path="!" + code, depth=0)
            db.add(second)
            await db.flush()
            second.path = child_path("", second.id)
            await db.commit()
            # A street administrator of both streets (the audit log names a real person).
            from server.accounts.models import Post

            admin_id = (await db.execute(sa.select(Post.person_id).where(Post.role == "admin").limit(1))).scalar_one()
            viewer = Viewer(admin_id, "bench", (PostScope("admin", street.id, street.path),
                                                PostScope("admin", second.id, second.path)))
            timings = []
            community_id, community_code, targets = community.id, community.code, (second.code, street.code)
            for target in targets:
                community = (await db.execute(sa.select(GridNode).where(GridNode.id == community_id)
                                              .execution_options(populate_existing=True))).scalar_one()
                started = time.perf_counter()
                errors = await edits.move_node(db, viewer, community, target)
                await db.commit()
                timings.append(round(time.perf_counter() - started, 3))
                assert errors == {}, errors
        return {"community": community_code, "households": counts[biggest_path], "seconds_there": timings[0],
                "seconds_back": timings[1]}
    finally:
        await engine.dispose()


def run_stage(stage: str, args: list[str]) -> None:
    runners = {"demo": lambda: _demo(args[0], float(args[1])), "export": lambda: _export(args[0], args[1]),
               "import": lambda: _import(args[0], args[1]), "move": lambda: _move(args[0])}
    print(json.dumps(asyncio.run(runners[stage]()), ensure_ascii=False))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--stage", default=None)
    parser.add_argument("rest", nargs="*")
    options = parser.parse_args()
    if options.stage:
        run_stage(options.stage, options.rest)
        return
    from server.migrate import upgrade

    with tempfile.TemporaryDirectory() as folder:
        source = f"sqlite+aiosqlite:///{folder}/source.db"
        target = f"sqlite+aiosqlite:///{folder}/target.db"
        workbook = f"{folder}/registers.xlsx"
        upgrade(source)
        upgrade(target)
        demo = child("demo", source, str(options.scale))
        print(f"demo street at scale {options.scale:g} (+2,000 ledger problems): {demo['seconds']} s")
        export = child("export", source, workbook)
        print(f"export: {export['seconds']} s, {export['bytes'] / 1e6:.1f} MB, rows {export['rows']}")
        result = child("import", target, workbook)
        print(f"import into an empty database ({result['rows']:,} rows):")
        print(f"  read {result['read_seconds']} s, dry run (read + check) {result['dry_run_seconds']} s, "
              f"apply {result['apply_seconds']} s")
        print(f"  dry run + apply: {result['dry_run_plus_apply_seconds']} s   (budget 30 s)")
        print(f"  peak memory of the import process: {result['peak_mb']} MB   (budget 300 MB)")
        print(f"  re-import of the same file: dry run {result['reimport_dry_run_seconds']} s, "
              f"{result['reimport_changes']} changes")
        move = child("move", source)
        print(f"move community {move['community']} ({move['households']:,} households) to another street: "
              f"{move['seconds_there']} s, and back: {move['seconds_back']} s   (budget 2 s)")


if __name__ == "__main__":
    main()
