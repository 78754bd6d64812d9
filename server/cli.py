"""The `weiwang` command: serve | migrate | demo | stats | invite | apikey | registers | scorecard | points | backup | restore | up.

The command line owns the database engines: each command opens one, hands a session
or the engine to the area's async function, and disposes of it (areas never make
engines of their own).
"""
from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import click

from server.config import ConfigError, load_settings


def _settings():
    try:
        return load_settings()
    except ConfigError as exc:
        raise click.ClickException(f"配置错误 / configuration error: {exc}") from None


@asynccontextmanager
async def _engine(settings) -> AsyncIterator[Any]:
    from server.db import make_engine

    engine = make_engine(settings.database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


def _with_session(settings, work: Callable[[Any], Awaitable[Any]]) -> Any:
    """Run `work(db)` in one session of a fresh engine (a command's whole life)."""
    from server.db import make_sessionmaker

    async def run():
        async with _engine(settings) as engine, make_sessionmaker(engine)() as db:
            return await work(db)

    return asyncio.run(run())


@click.group()
def main() -> None:
    """微网 Weiwang: micro-grid community governance."""


@main.command()
def migrate() -> None:
    """Bring the database schema up to date (alembic upgrade head)."""
    from server.migrate import upgrade

    settings = _settings()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)
    click.echo("database is up to date")


@main.command()
@click.option("--seed", default=1, show_default=True, help="Same seed, same street.")
@click.option("--scale", default=1.0, show_default=True, help="0.1 for quick tests, 10 for load tests.")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already holds a street.")
@click.option("--problems", default=0, show_default=True,
              help="Also fill the ledger with this many made-up problems (a year of them, five events each).")
def demo(seed: int, scale: float, if_empty: bool, problems: int) -> None:
    """Load the Jinyuan demo street (晋原街道)."""
    settings = _settings()
    asyncio.run(_load_demo(settings, seed=seed, scale=scale, if_empty=if_empty))
    if problems > 0:
        asyncio.run(_load_demo_problems(settings, problems, seed))
    asyncio.run(_load_demo_incentives(settings, seed))


async def _load_demo(settings, seed: int, scale: float, if_empty: bool) -> None:
    """The caller has migrated the database already."""
    import sqlalchemy as sa

    from server.accounts.invites import demo_invites
    from server.db import make_sessionmaker
    from server.grid.demo import STREET_CODE, STREET_NAME, DemoAlreadyLoaded, load_demo, street_exists
    from server.grid.models import GridNode
    from server.grid.stats import format_table, tier_table

    async with _engine(settings) as engine:
        async with engine.connect() as conn:
            exists = await street_exists(conn)
        if exists and if_empty:
            click.echo("demo street already loaded, skipping")
            return
        click.echo(f"loading the {STREET_NAME} demo street (seed {seed}, scale {scale:g})…")
        try:
            result = await load_demo(engine, seed=seed, scale=scale, progress=True)
        except DemoAlreadyLoaded as exc:
            raise click.ClickException(f"{exc}; use a fresh database or `weiwang demo --if-empty`") from None
        click.echo(f"loaded in {result['seconds']:.1f} s: " + ", ".join(
            f"{v} {k.replace('_', ' ')}" for k, v in result.items() if k != "seconds"))
        async with make_sessionmaker(engine)() as db:
            root = (await db.execute(sa.select(GridNode).where(GridNode.code == STREET_CODE))).scalar_one()
            table = await tier_table(db, root.path)
            click.echo(format_table({"root": {"code": root.code, "name": root.name, "level": root.level}, **table}))
            links = await demo_invites(db, settings)  # sign-in links for the demo cast
        if links:
            click.echo(f"\nOne-time sign-in invitations for the demo (each works once, {settings.invite_hours} h):")
            for label, url in links:
                click.echo(f"  {label}\n    {url}")


async def _load_demo_problems(settings, problems: int, seed: int) -> None:
    """A lived-in ledger for the demo, only into an empty one (running `up` twice adds nothing)."""
    import sqlalchemy as sa

    from server.issues.demo import load_ledger_demo
    from server.issues.models import Issue

    async with _engine(settings) as engine:
        async with engine.begin() as conn:
            if (await conn.execute(sa.select(sa.func.count()).select_from(Issue))).scalar_one():
                return
            counts = await load_ledger_demo(conn, issues=problems, events=problems * 5, seed=seed)
        click.echo(f"demo ledger: {counts}")


async def _load_demo_incentives(settings, seed: int) -> None:
    """A year of visits and work with the points they earned, only into an empty points ledger."""
    import time

    import sqlalchemy as sa

    from server.incentives.demo import load_incentives_demo
    from server.incentives.models import PointsEntry

    started = time.perf_counter()
    async with _engine(settings) as engine:
        async with engine.begin() as conn:
            if (await conn.execute(sa.select(sa.func.count()).select_from(PointsEntry))).scalar_one():
                return
            counts = await load_incentives_demo(conn, seed=seed)
    click.echo(f"demo history in {time.perf_counter() - started:.1f} s: {counts}")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--grid", "code", default=None, help="Grid code of the subtree (default: every street).")
def stats(as_json: bool, code: str | None) -> None:
    """Print the grid table for a subtree: tiers, types, households, leaders."""
    from server.grid.stats import stats_for

    table = _with_session(_settings(), lambda db: stats_for(db, code))
    if table is None:
        raise click.ClickException(f"no grid node with code {code!r}")
    if as_json:
        click.echo(json.dumps(table, ensure_ascii=False, indent=2))
        return
    from server.grid.stats import format_table

    click.echo(format_table(table))


@main.command()
@click.option("--name", required=True, help="The person's name, e.g. 李春秀.")
@click.option("--role", required=True, type=click.Choice(["admin", "community", "compound", "leader", "property"]))
@click.option("--grid", "grid", default=None, help="Grid code of the post (admin: default the whole street).")
@click.option("--post", "post_kind", default=None, type=click.Choice(["A", "B"]), help="A or B post (leaders).")
@click.option("--phone", default="", help="Mobile number, for a new person.")
@click.option("--qr", is_flag=True, help="Also print the link as a QR code in the terminal.")
def invite(name: str, role: str, grid: str | None, post_kind: str | None, phone: str, qr: bool) -> None:
    """Print a one-time invitation link that enrols a phone for a person, role and grid node."""
    from server.accounts.invites import CommandError, invite_command

    settings = _settings()
    try:
        url = _with_session(settings, lambda db: invite_command(db, settings, name=name, role=role, grid=grid,
                                                               post_kind=post_kind, phone=phone))
    except CommandError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(url)
    if qr:
        import segno

        segno.make(url, error="m").terminal(compact=True)
    click.echo(f"(works once, expires in {settings.invite_hours} h)", err=True)


@main.command()
@click.option("--name", default=None, help="The partner system, e.g. 12345市民热线.")
@click.option("--grid", default=None, help="Grid code of the subtree the key may read and report in.")
@click.option("--revoke", "revoke_id", default=None, type=int, help="Revoke the key with this id.")
@click.option("--list", "show_list", is_flag=True, help="List the keys (never the keys themselves).")
def apikey(name: str | None, grid: str | None, revoke_id: int | None, show_list: bool) -> None:
    """Print a new Open311 key for a partner system, limited to a subtree (shown once, stored hashed)."""
    from server.open311 import keys

    async def work(db):
        if show_list:
            return [f"{k.id}\t{k.prefix}…\t{code}\t{k.name}\t{'revoked' if k.revoked_at else 'live'}"
                    for k, code in await keys.list_keys(db)]
        if revoke_id is not None:
            key = await keys.revoke_key(db, revoke_id)
            await db.commit()
            return [f"revoked key {key.id} ({key.name})"]
        if not name or not grid:
            raise keys.KeyProblem("give --name and --grid (or --list, or --revoke ID)")
        raw, key = await keys.create_key(db, name=name, grid=grid)
        await db.commit()
        return [raw]

    try:
        lines = _with_session(_settings(), work)
    except keys.KeyProblem as exc:
        raise click.ClickException(str(exc)) from None
    for line in lines:
        click.echo(line)


@main.group()
def registers() -> None:
    """The street's registers as Excel: export, import (dry run first), template."""


@registers.command("export")
@click.argument("out", type=click.Path(dir_okay=False, writable=True))
@click.option("--grid", default=None, help="Grid code of the subtree (default: everything).")
def registers_export(out: str, grid: str | None) -> None:
    """Write the registers (网格, 住户, 人员, 岗位, 物业公司) to OUT.xlsx."""
    from pathlib import Path

    from server.registers.commands import CommandProblem, export_command

    try:
        counts = _with_session(_settings(), lambda db: export_command(db, Path(out), grid))
    except CommandProblem as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{out}: " + ", ".join(f"{sheet} {n}" for sheet, n in counts.items()))


@registers.command("template")
@click.argument("out", type=click.Path(dir_okay=False, writable=True))
def registers_template(out: str) -> None:
    """Write the empty template (headers, an example row, notes) to OUT.xlsx."""
    from pathlib import Path

    from server.registers.exporter import template_workbook

    Path(out).write_bytes(template_workbook())
    click.echo(out)


@registers.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check only: show what would change and every problem, write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def registers_import(path: str, dry_run: bool, as_json: bool) -> None:
    """Import IN.xlsx (or one sheet as .csv, UTF-8 or GBK): all of it in one transaction, or nothing."""
    from pathlib import Path

    from tqdm import tqdm

    from server.registers.commands import import_command

    bars: dict[str, tqdm] = {}

    def progress(phase: str, done: int, total: int) -> None:
        if as_json:
            return
        bar = bars.get(phase)
        if bar is None:
            label = {"read": "读取 reading", "check": "检查 checking", "apply": "写入 writing"}[phase]
            bar = bars[phase] = tqdm(total=total or None, desc=label, unit="行", leave=True)
        if total and bar.total != total:
            bar.total = total
        bar.n = done
        bar.refresh()

    summary = _with_session(_settings(), lambda db: import_command(db, Path(path), dry_run=dry_run, progress=progress))
    for bar in bars.values():
        bar.close()
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        for sheet, c in summary["counts"].items():
            click.echo(f"{sheet}: 新增 {c['added']} · 修改 {c['changed']} · 撤销/结束 {c['retired']} · 不变 {c['unchanged']}")
        for problem in summary["problems"]:
            click.echo(f"  ✗ {problem['message'] if not problem['sheet'] else problem['message']}")
        if summary["problem_count"] > len(summary["problems"]):
            click.echo(f"  …还有 {summary['problem_count'] - len(summary['problems'])} 个问题")
        if summary["applied"]:
            click.echo("已导入 (imported, one transaction).")
        elif summary["problem_count"]:
            click.echo(f"有 {summary['problem_count']} 个问题，未写入任何内容 (nothing was written).")
        else:
            click.echo("检查通过，未写入 (dry run: nothing was written).")
    if summary["problem_count"]:
        sys.exit(1)


@main.command()
@click.option("--grid", "code", default=None, help="Grid code of the node (default: the street).")
@click.option("--month", default=None, help="YYYY-MM (default: this month, China time).")
@click.option("--all-time", is_flag=True, help="Count everything ever recorded instead of one month.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def scorecard(code: str | None, month: str | None, all_time: bool, as_json: bool) -> None:
    """Print the scorecards of the leaders under a node (the evaluation mechanism, 评价机制)."""
    from server.clock import recent_months
    from server.incentives.commands import CommandProblem, scorecard_command
    from server.validate import parse_month

    if month and all_time:
        raise click.UsageError("--month and --all-time exclude each other")
    if month and not parse_month(month):
        raise click.UsageError(f"--month must be YYYY-MM, not {month!r}")
    period = None if all_time else (month or recent_months(1)[0])
    try:
        cards = _with_session(_settings(), lambda db: scorecard_command(db, code, period))
    except CommandProblem as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(cards, ensure_ascii=False, indent=2))
        return
    click.echo(f"{'微网格长':<8} {'微网格':<24} {'户数':>5} {'走访户':>6} {'帮办':>5} {'调解':>5} {'排查':>5} {'积分':>6} {'得分':>6}")
    for c in cards:
        click.echo(f"{c['name']:<8} {c['grid_name'][:24]:<24} {c['households']:>5} {c['households_visited']:>6} "
                   f"{c['errands']:>5} {c['mediations']:>5} {c['hazard_checks']:>5} {c['points_balance']:>6} "
                   f"{'' if c['score'] is None else c['score']:>6}")


@main.group()
def points() -> None:
    """Glimmer points (微光积分)."""


@points.command("recompute")
@click.option("--grid", "code", default=None, help="Grid code of the node (default: the street).")
def points_recompute(code: str | None) -> None:
    """Fold every record under the node into the points ledger (idempotent: run it nightly)."""
    from server.incentives.commands import CommandProblem, recompute_command

    try:
        result = _with_session(_settings(), lambda db: recompute_command(db, code))
    except CommandProblem as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{result['people']} people folded, {result['entries_added']} entries added, {result['balances_mended']} balances mended")


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
def backup(file: str) -> None:
    """Write the whole database (photos included) to FILE, while the app keeps serving."""
    from pathlib import Path

    from server.backup import BackupError
    from server.backup import backup as write_backup

    settings = _settings()
    try:
        outcome = write_backup(settings.database_url, Path(file))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{outcome.kind} backup written to {outcome.path} ({outcome.size / 1e6:.1f} MB)")


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def restore(file: str) -> None:
    """Load a backup FILE into an empty database (WEIWANG_DATABASE_URL), then bring its schema up to date."""
    from pathlib import Path

    from server.backup import BackupError
    from server.backup import restore as load_backup
    from server.migrate import upgrade

    settings = _settings()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    try:
        outcome = load_backup(settings.database_url, Path(file))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    upgrade(settings.database_url)  # a backup from an older version catches up
    click.echo(f"{outcome.kind} backup {file} restored")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--workers", default=1, show_default=True)
def serve(host: str, port: int, workers: int) -> None:
    """Serve the app (migrate the database first)."""
    import uvicorn

    from server.migrate import upgrade

    if not os.environ.get("WEIWANG_BASE_URL"):
        # Links (invites) and the WebAuthn origin must name the port we really listen on.
        os.environ["WEIWANG_BASE_URL"] = f"http://localhost:{port}"
    settings = _settings()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)
    _print_first_run_invite(settings)
    click.echo(f"微网 serving at {settings.base_url}  (listening on {host}:{port})")
    uvicorn.run("server.app:create_app", factory=True, host=host, port=port, workers=workers,
                # X-Forwarded-For is read by the app itself, from WEIWANG_TRUSTED_PROXIES only
                # (server/web.py TrustedProxies): uvicorn's own default trusts 127.0.0.1.
                log_level="warning", proxy_headers=False)


@main.command()
@click.option("--port", default=8000, show_default=True)
@click.pass_context
def up(ctx: click.Context, port: int) -> None:
    """Migrate, load the demo street if the database is empty, and serve: the README's run command."""
    ctx.invoke(migrate)
    ctx.invoke(demo, seed=1, scale=1.0, if_empty=True, problems=2000)
    ctx.invoke(serve, host="127.0.0.1", port=port, workers=1)


def _print_first_run_invite(settings) -> None:
    from server.accounts.invites import first_run_invite

    url = _with_session(settings, lambda db: first_run_invite(db, settings))
    if url:
        click.echo("\nNo administrator yet. Open this one-time link to enrol one:\n  " + url + "\n")


if __name__ == "__main__":
    sys.exit(main())
