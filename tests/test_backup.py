"""`weiwang backup` / `weiwang restore`: a round trip gives the same street, ledger and
photos, a backup taken while phones sync is consistent, and a restore never lands on a
database that already holds something."""
from __future__ import annotations

import asyncio
import hashlib
import io
import os
import secrets
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from PIL import Image

from server import backup
from server.accounts.models import Person, Post, Role
from server.accounts.scope import PostScope, Viewer
from server.app import AFTER_SYNC, SYNC_TYPES
from server.db import make_engine, make_sessionmaker
from server.grid.models import Household
from server.grid.stats import stats_for
from server.sync import registry
from server.sync.models import Photo, SyncReceipt
from server.sync.service import store_records
from tests.conftest import BACKEND, _admin_execute, _postgres_server_url, scratch_database

CST = timezone(timedelta(hours=8))


@pytest.fixture
def empty_url(tmp_path):
    """A database with nothing in it, of the backend under test."""
    if BACKEND == "postgresql":
        server_url = _postgres_server_url()
        name = f"weiwang_restore_{os.getpid()}_{secrets.token_hex(3)}"
        asyncio.run(_admin_execute(server_url, f'CREATE DATABASE "{name}"'))
        yield server_url.rsplit("/", 1)[0] + "/" + name
        asyncio.run(_admin_execute(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        yield f"sqlite+aiosqlite:///{tmp_path / 'restored.db'}"


async def _leader(db) -> Viewer:
    person, post = (await db.execute(
        sa.select(Person, Post).join(Post, Post.person_id == Person.id)
        .where(Post.role == Role.leader, Post.post_kind == "A").order_by(Post.node_path).limit(1)
    )).one()
    return Viewer(person.id, person.name, (PostScope(post.role, post.node_id, post.node_path, post.post_kind),))


def _visits(households: list[int], tag: str) -> list[dict]:
    return [{"id": str(uuid.uuid4()), "type": "visit", "created_at": datetime.now(CST).isoformat(),
             "data": {"household_id": h, "kind": "routine", "note": f"{tag}{i}"}} for i, h in enumerate(households)]


async def _fill(url: str) -> None:
    """A small street, a ledger, visits and a photo."""
    from server.grid.demo import load_demo
    from server.issues.demo import load_ledger_demo

    registry.install(SYNC_TYPES, AFTER_SYNC)
    engine = make_engine(url)
    try:
        await load_demo(engine, seed=5, scale=0.05, progress=False)
        async with engine.begin() as conn:
            await load_ledger_demo(conn, issues=40, events=160, seed=5)
        async with make_sessionmaker(engine)() as db:
            viewer = await _leader(db)
            households = list((await db.execute(sa.select(Household.id).where(
                Household.grid_path.startswith(viewer.posts[0].path)).limit(5))).scalars())
            records = _visits(households, "备份")
            results = await store_records(db, viewer, records, "zh-CN")
            assert {r.status for r in results} == {"created"}
            buffer = io.BytesIO()
            Image.new("RGB", (40, 30), (10, 120, 200)).save(buffer, "JPEG")
            body = buffer.getvalue()
            db.add(Photo(id=uuid.uuid4(), record_id=uuid.UUID(records[0]["id"]), person_id=viewer.person_id,
                         content_type="image/jpeg", width=40, height=30, size=len(body),
                         sha256=hashlib.sha256(body).hexdigest(), data=body))
            await db.commit()
    finally:
        await engine.dispose()


async def _snapshot(url: str) -> dict:
    """What a round trip must keep: the stats table, the ledger, every table's row count, the photos' bytes."""
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as db:
            table = await stats_for(db, None)
            tables = await (await db.connection()).run_sync(lambda c: sa.inspect(c).get_table_names())
            counts = {t: (await db.execute(sa.text(f'SELECT count(*) FROM "{t}"'))).scalar_one() for t in sorted(tables)}
            ledger = [tuple(r) for r in await db.execute(sa.text(
                "SELECT id, tracking_code, status, description FROM issue ORDER BY id"))]
            events = (await db.execute(sa.text("SELECT count(*) FROM issue_event"))).scalar_one()
            photos = sorted((str(p.id), hashlib.sha256(p.data).hexdigest()) for p in
                            (await db.execute(sa.select(Photo))).scalars())
        return {"stats": table, "counts": counts, "ledger": ledger, "events": events, "photos": photos}
    finally:
        await engine.dispose()


def test_it_restores_the_same_street_ledger_and_photos(tmp_path_factory, tmp_path, empty_url):
    with scratch_database(tmp_path_factory, "backup_src") as source_url:
        asyncio.run(_fill(source_url))
        before = asyncio.run(_snapshot(source_url))
        file = tmp_path / "street.backup"
        outcome = backup.backup(source_url, file)
        assert outcome.size > 0 and backup.kind_of(file) == ("postgresql" if BACKEND == "postgresql" else "sqlite")

    backup.restore(empty_url, file)
    after = asyncio.run(_snapshot(empty_url))
    assert before["photos"] and before["ledger"] and before["counts"]["household"] > 0
    assert after == before

    # Restoring again over what is now a full database is refused, and changes nothing.
    with pytest.raises(backup.BackupError, match="not empty"):
        backup.restore(empty_url, file)
    assert asyncio.run(_snapshot(empty_url)) == before


def test_it_refuses_a_file_that_is_not_a_backup(tmp_path, empty_url):
    junk = tmp_path / "notes.txt"
    junk.write_text("这不是备份")
    with pytest.raises(backup.BackupError, match="not a Weiwang backup"):
        backup.restore(empty_url, junk)


async def _sync_while_backing_up(url: str, file) -> int:
    """Phones send batches of visits on one task while the backup runs in a thread."""
    registry.install(SYNC_TYPES, AFTER_SYNC)
    engine = make_engine(url)
    stop = asyncio.Event()
    sent = 0
    try:
        async with make_sessionmaker(engine)() as db:
            viewer = await _leader(db)
            households = list((await db.execute(sa.select(Household.id).where(
                Household.grid_path.startswith(viewer.posts[0].path)).limit(20))).scalars())

        async def phones():
            nonlocal sent
            n = 0
            while not stop.is_set():
                async with make_sessionmaker(engine)() as db:
                    results = await store_records(db, viewer, _visits(households, f"并发{n}-"), "zh-CN")
                    sent += sum(r.status == "created" for r in results)
                n += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(phones())
        await asyncio.sleep(0.3)
        await asyncio.to_thread(backup.backup, url, file)
        stop.set()
        await task
        return sent
    finally:
        await engine.dispose()


def test_it_takes_a_consistent_backup_while_phones_sync(tmp_path_factory, tmp_path, empty_url):
    with scratch_database(tmp_path_factory, "backup_live") as source_url:
        asyncio.run(_fill(source_url))
        file = tmp_path / "live.backup"
        sent = asyncio.run(_sync_while_backing_up(source_url, file))
        assert sent > 0
    backup.restore(empty_url, file)

    async def check():
        engine = make_engine(empty_url)
        try:
            async with engine.connect() as conn:
                receipts = (await conn.execute(sa.select(sa.func.count()).select_from(SyncReceipt)
                                               .where(SyncReceipt.type == "visit"))).scalar_one()
                visits = (await conn.execute(sa.text("SELECT count(*) FROM visit"))).scalar_one()
                orphans = (await conn.execute(sa.text(
                    "SELECT count(*) FROM sync_receipt r WHERE r.type = 'visit' "
                    "AND NOT EXISTS (SELECT 1 FROM visit v WHERE v.id = r.id)"))).scalar_one()
            return receipts, visits, orphans
        finally:
            await engine.dispose()

    receipts, visits, orphans = asyncio.run(check())
    # Every record came with its receipt, or neither did: a batch is one transaction, and so is the snapshot.
    assert receipts == visits and orphans == 0 and visits >= 5
