"""Import jobs: the dry run and the apply run in the app process, not in the request.

Kept simple on purpose, no job framework: the request that uploads (or confirms) stores
the job row and starts an asyncio task in the same process; the task opens its own
session, so closing the page changes nothing. The page polls the job (htmx, every second)
and finds it again after a reload or from the import page's list.

Progress: the task writes it to the job row during the dry run. During the apply it is
kept in this process's memory only (`LIVE`): on SQLite the apply's one transaction holds
the write lock, so no other connection could write a progress row until it commits. The
apply commits the job's "done" together with the data, so the two can never disagree.
A job whose process stopped halfway (a restart) shows as interrupted after
`STALE_AFTER`: nothing of it was written (one transaction), and it can be run again from
the file it keeps.
"""
from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from server.accounts.scope import Viewer
from server.clock import aware, utcnow
from server.i18n import N_
from server.notify.rules import import_finished
from server.registers import importer, reader
from server.registers.models import RUNNING, ImportJob, JobStatus

log = logging.getLogger("weiwang.registers")

STALE_AFTER = timedelta(minutes=15)
PROGRESS_EVERY = 1.0  # seconds between progress writes of a dry run

MSG_CHANGED_SINCE = N_("The registers changed since the check: look at the problems again, then confirm.")
MSG_FAILED = N_("The import stopped because of an error on our side. Nothing was written. Try again.")

_TASKS: dict[uuid.UUID, asyncio.Task] = {}
LIVE: dict[uuid.UUID, tuple[str, int, int]] = {}  # job id -> (phase, done, total)


def problem_rows(problems: list[reader.Problem]) -> list[list[Any]]:
    return [p.as_list() for p in problems]


def is_running_here(job_id: uuid.UUID) -> bool:
    task = _TASKS.get(job_id)
    return task is not None and not task.done()


def is_interrupted(job: ImportJob) -> bool:
    return (job.status in RUNNING and not is_running_here(job.id)
            and utcnow() - aware(job.updated_at) > STALE_AFTER)


def progress_of(job: ImportJob) -> tuple[str, int, int]:
    """(phase, done, total) for the page: this process's live figure, else the job row's."""
    live = LIVE.get(job.id)
    if live is not None:
        return live
    if job.status == JobStatus.applying:
        return ("applying", 0, job.progress_total)  # its progress lives in the process that writes
    return (job.status, job.progress_done, job.progress_total)


def _spawn(job_id: uuid.UUID, coroutine) -> None:
    task = asyncio.get_running_loop().create_task(coroutine)
    _TASKS[job_id] = task

    def forget(finished: asyncio.Task) -> None:
        if _TASKS.get(job_id) is finished:
            _TASKS.pop(job_id, None)
        LIVE.pop(job_id, None)

    task.add_done_callback(forget)


async def wait(job_id: uuid.UUID) -> None:
    """For tests and the CLI: until this process's task for the job has finished."""
    task = _TASKS.get(job_id)
    if task is not None:
        await asyncio.shield(task)


def start_check(sessionmaker, job_id: uuid.UUID, viewer: Viewer) -> None:
    _spawn(job_id, _check(sessionmaker, job_id, viewer))


def start_apply(sessionmaker, job_id: uuid.UUID, viewer: Viewer, request_ip: str = "") -> None:
    _spawn(job_id, _apply(sessionmaker, job_id, viewer))


async def _read(job: ImportJob, phase: str) -> reader.ParsedFile:
    def progress(done: int, total: int) -> None:
        LIVE[job.id] = (phase, done, total)

    # The file is parsed in a thread: the event loop keeps serving pages meanwhile.
    return await asyncio.to_thread(reader.read_upload, job.content or b"", job.filename, progress)


async def _check(sessionmaker, job_id: uuid.UUID, viewer: Viewer) -> None:
    async with sessionmaker() as db:
        job = await db.get(ImportJob, job_id)
        try:
            try:
                parsed = await _read(job, "reading")
            except reader.FileRefused as refused:
                job.status = JobStatus.failed.value
                job.problems = [["", 0, "", refused.message, refused.params]]
                job.problem_count = 1
                job.finished_at = job.updated_at = utcnow()
                await import_finished(db, job.person_id, job_id, "failed")
                await db.commit()
                return
            loop = asyncio.get_running_loop()
            last = loop.time()

            def progress(done: int, total: int) -> None:
                nonlocal last
                LIVE[job_id] = ("checking", done, total)
                if loop.time() - last > PROGRESS_EVERY:
                    last = loop.time()
                    job.progress_done, job.progress_total = done, total

            plan = await importer.make_plan(db, viewer, parsed, progress=progress)
            await db.rollback()  # the dry run wrote nothing; start the job's own write afresh
            job = await db.get(ImportJob, job_id)
            job.status = JobStatus.checked.value
            job.counts = plan.counts_dict()
            job.problems = problem_rows(plan.problems)
            job.problem_count = plan.problem_count
            job.progress_done = job.progress_total = plan.rows
            job.error = ""
            job.updated_at = utcnow()
            await import_finished(db, job.person_id, job_id, "checked")  # with the result it announces
            await db.commit()
        except Exception:  # noqa: BLE001 - the job says it failed; the log has the trace
            log.exception("import check %s failed", job_id)
            await db.rollback()
            await _fail(db, job_id, MSG_FAILED)


async def _apply(sessionmaker, job_id: uuid.UUID, viewer: Viewer) -> None:
    async with sessionmaker() as db:
        try:
            job = await db.get(ImportJob, job_id)
            job.status, job.updated_at, job.error = JobStatus.applying.value, utcnow(), ""
            await db.commit()
            job = await db.get(ImportJob, job_id)
            parsed = await _read(job, "reading")
            plan = await importer.make_plan(db, viewer, parsed, progress=lambda d, t: LIVE.__setitem__(job_id, ("checking", d, t)))
            if not plan.ok:
                # The registers changed since the dry run (someone else edited): check again, nothing written.
                await db.rollback()
                job = await db.get(ImportJob, job_id)
                job.status = JobStatus.checked.value
                job.counts, job.problems, job.problem_count = plan.counts_dict(), problem_rows(plan.problems), plan.problem_count
                job.error, job.updated_at = MSG_CHANGED_SINCE, utcnow()
                await db.commit()
                return
            summary = await importer.apply_plan(
                db, viewer, plan, filename=job.filename, sha256=job.sha256, size=job.size, job_id=job.id,
                progress=lambda d, t: LIVE.__setitem__(job_id, ("applying", d, t)),
            )
            job = await db.get(ImportJob, job_id)
            job.status = JobStatus.done.value
            job.counts = summary["counts"]
            job.problems, job.problem_count = [], 0
            job.content = None  # the sha256 stays, in the job and the audit log
            job.finished_at = job.updated_at = utcnow()
            await import_finished(db, job.person_id, job_id, "done")
            await db.commit()  # the data, the audit entries, "done" and its push, together
        except Exception:  # noqa: BLE001
            log.exception("import apply %s failed", job_id)
            await db.rollback()
            await _fail(db, job_id, MSG_FAILED, back_to=JobStatus.checked)


async def _fail(db, job_id: uuid.UUID, message: str, back_to: JobStatus = JobStatus.failed) -> None:
    await db.execute(sa.update(ImportJob).where(ImportJob.id == job_id)
                     .values(status=back_to.value, error=message, updated_at=utcnow()))
    person_id = (await db.execute(sa.select(ImportJob.person_id).where(ImportJob.id == job_id))).scalar()
    await import_finished(db, person_id, job_id, "failed")
    await db.commit()
