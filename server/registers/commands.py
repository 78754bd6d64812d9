"""`weiwang registers export | import | template`: the registers from the command line.

The command line runs with the operator's authority over the whole database
(`importer.CommandLine`): it is how a new street loads its first registers, before any
administrator has a phone. Each import is in the audit log like one from the web page.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from server import i18n
from server.accounts.audit import record
from server.grid.models import GridNode
from server.registers import exporter, importer, reader


class CommandProblem(ValueError):
    pass


async def export_command(db: AsyncSession, out: Path, grid: str | None) -> dict[str, int]:
    roots = None
    if grid:
        node = (await db.execute(sa.select(GridNode).where(GridNode.code == grid))).scalar_one_or_none()
        if node is None:
            raise CommandProblem(f"no grid node with code {grid!r}")
        roots = [node.path]
    content, counts = await exporter.export_workbook(db, roots, all_companies=grid is None)
    out.write_bytes(content)
    record(db, "export", object_type="registers", object_id=grid or "", rows=counts, file=str(out)[:200])
    await db.commit()
    return counts


def describe_problem(problem: reader.Problem, lang: str = i18n.DEFAULT_LANGUAGE) -> str:
    text = i18n.gettext(lang, problem.message)
    if problem.params:
        text = text % problem.params
    where = " / ".join(str(part) for part in (problem.sheet, f"第{problem.row}行" if problem.row else "",
                                               problem.column) if part)
    return f"{where}: {text}" if where else text


async def import_command(db: AsyncSession, path: Path, *, dry_run: bool, progress=None) -> dict[str, Any]:
    """Read, check and (unless a dry run, and only without a problem) apply; a summary either way."""
    content = path.read_bytes()
    sha256 = importer.sha256_of(content)
    summary: dict[str, Any] = {"file": path.name, "sha256": sha256, "dry_run": dry_run, "applied": False}
    try:
        parsed = reader.read_upload(content, path.name, progress=_phase(progress, "read"))
    except reader.FileRefused as refused:
        problem = reader.Problem("", 0, "", refused.message, refused.params)
        return {**summary, "counts": {}, "problem_count": 1, "problems": [_problem_json(problem)]}
    plan = await importer.make_plan(db, importer.CommandLine(), parsed, progress=_phase(progress, "check"))
    summary.update(counts=plan.counts_dict(), problem_count=plan.problem_count,
                   problems=[_problem_json(p) for p in plan.problems])
    if dry_run or not plan.ok:
        await db.rollback()
        return summary
    await importer.apply_plan(db, importer.CommandLine(), plan, filename=path.name, sha256=sha256,
                              size=len(content), progress=_phase(progress, "apply"))
    await db.commit()
    summary["applied"] = True
    return summary


def _phase(progress, name: str):
    if progress is None:
        return None
    return lambda done, total: progress(name, done, total)


def _problem_json(problem: reader.Problem) -> dict[str, Any]:
    return {"sheet": problem.sheet, "row": problem.row, "column": problem.column,
            "message": describe_problem(problem)}
