"""Notice boards: one page per micro-grid with an A post, the phone only with consent, scope and audit."""
from __future__ import annotations

import io

import sqlalchemy as sa
from PIL import Image

from server.accounts.models import AuditEntry, Person, Post, PostKind, Role, current_post
from server.boards import queries
from server.boards.models import BoardProfile
from server.party.models import ServiceStation
from server.db import make_sessionmaker
from server.grid.models import GridNode, Level, active_node
from server.tree import in_subtree
from tests.boards.pdf import page_count
from tests.conftest import csrf_headers


async def _a_posts_under(db, node) -> int:
    return (await db.execute(
        sa.select(sa.func.count(sa.distinct(GridNode.id))).join(Post, sa.and_(
            Post.node_id == GridNode.id, Post.role == Role.leader, Post.post_kind == PostKind.primary, current_post()))
        .where(GridNode.level == Level.microgrid, active_node(), in_subtree(GridNode.path, node.path)))).scalar_one()


async def test_the_pdf_has_one_page_per_micro_grid_with_an_a_post(client, engine, people, signed_in_as):
    async with make_sessionmaker(engine)() as db:
        compound = (await db.execute(sa.select(GridNode).where(GridNode.path == people.microgrid.path[:24]))).scalar_one()
        expected = await _a_posts_under(db, compound)
        all_microgrids = (await db.execute(sa.select(sa.func.count()).select_from(GridNode).where(
            GridNode.level == Level.microgrid, in_subtree(GridNode.path, compound.path)))).scalar_one()
        # Other tests (the access matrix) print this compound's boards too: count this test's exports.
        before = (await db.execute(sa.select(sa.func.coalesce(sa.func.max(AuditEntry.id), 0)))).scalar_one()
    assert expected >= 1
    await signed_in_as(people.secretary)
    for size in ("a4", "a5"):
        response = await client.get(f"/boards/{compound.code}.pdf", params={"size": size})
        assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
        assert page_count(response.content) == expected, (expected, all_microgrids)
    async with make_sessionmaker(engine)() as db:
        audited = (await db.execute(sa.select(AuditEntry).where(
            AuditEntry.action == "export", AuditEntry.object_type == "boards", AuditEntry.object_id == compound.code,
            AuditEntry.id > before).order_by(AuditEntry.id))).scalars().all()
    assert len(audited) == 2 and [a.detail["pages"] for a in audited] == [expected, expected]


async def test_the_board_shows_the_leaders_phone_only_with_consent(client, engine, people, signed_in_as):
    async with make_sessionmaker(engine)() as db:
        leader = await db.get(Person, people.leader.id)
        leader.phone = leader.phone or "13912345678"
        community = await db.get(GridNode, people.community.id)
        station = (await db.execute(sa.select(ServiceStation).where(ServiceStation.community_id == community.id))).scalar_one_or_none()
        if station is None:
            station = ServiceStation(community_id=community.id, community_path=community.path, name="微网格长服务站")
            db.add(station)
        station.address, station.phone = "文井路1号", "028-88886666"
        await db.execute(sa.delete(BoardProfile).where(BoardProfile.person_id == leader.id))
        await db.commit()
        phone = leader.phone
        [board] = await queries.boards_under(db, people.microgrid)
    assert board.phone == "028-88886666" and not board.phone_is_leader
    assert board.station_address.endswith("文井路1号") and board.leader == people.leader.name

    await signed_in_as(people.leader)
    page = await client.get(f"/boards/{people.microgrid.code}")
    assert page.status_code == 200 and "028-88886666" in page.text and phone not in page.text
    photo = io.BytesIO()
    Image.new("RGB", (600, 800), (40, 90, 160)).save(photo, "JPEG")
    saved = await client.post("/me/board/", data={"show_phone": "1"}, files={"photo": ("me.jpg", photo.getvalue(), "image/jpeg")},
                              headers=await csrf_headers(client), follow_redirects=False)
    assert saved.status_code == 303
    page = await client.get(f"/boards/{people.microgrid.code}")
    assert phone in page.text and "data:image/jpeg;base64," in page.text
    async with make_sessionmaker(engine)() as db:
        [board] = await queries.boards_under(db, people.microgrid)
        assert board.phone == phone and board.photo and board.photo[:2] == b"\xff\xd8"
        # Withdrawn: the station's phone again.
    await client.post("/me/board/", data={}, headers=await csrf_headers(client), follow_redirects=False)
    page = await client.get(f"/boards/{people.microgrid.code}")
    assert phone not in page.text and "028-88886666" in page.text


async def test_only_staff_within_scope_print(client, people, signed_in_as):
    await signed_in_as(people.leader)
    assert (await client.get(f"/boards/{people.microgrid.code}.pdf")).status_code == 403
    await signed_in_as(people.other_secretary)
    assert (await client.get(f"/boards/{people.microgrid.code}.pdf")).status_code == 404
    assert (await client.get(f"/boards/{people.microgrid.code}")).status_code == 404
    assert (await client.get("/boards/NO-SUCH.pdf")).status_code == 404


async def test_a_big_file_is_laid_out_in_two_processes_and_joined_in_code_order(engine, people, app, monkeypatch):
    """The street's 1,352 boards go through this path (render.SPLIT_FROM lowered so a community does):
    three runs, two processes at a time, each run a fresh process."""
    from server.boards import render as printing

    async with make_sessionmaker(engine)() as db:
        boards = await queries.boards_under(db, people.community)
    assert len(boards) >= 4
    monkeypatch.setattr(printing, "SPLIT_FROM", 2)
    monkeypatch.setattr(printing, "RUN_AT_MOST", -(-len(boards) // 3))
    parts = printing.runs(boards)
    assert len(parts) == 3 and [b.code for part in parts for b in part] == [b.code for b in boards]
    pdf = await printing.boards_pdf(app.template_engine.engine, boards, "https://weiwang.example.cn", "a5")
    assert pdf[:5] == b"%PDF-" and page_count(pdf) == len(boards)
    monkeypatch.setattr(printing, "SPLIT_FROM", 10_000)
    assert len(printing.runs(boards)) == 1  # a small file stays in one process


async def test_the_boards_qr_code_scans_to_the_micro_grids_resident_page(client, people, signed_in_as, settings):
    """Decoded the way a phone's camera would (zxing-cpp): the PNG on the board (the same data URI
    the PDF lays out) reads as this micro-grid's /r/ address, and that page opens for anyone."""
    import base64
    import re

    import zxingcpp

    await signed_in_as(people.leader)
    page = await client.get(f"/boards/{people.microgrid.code}")
    assert page.status_code == 200
    png = base64.b64decode(re.search(r'src="data:image/png;base64,([^"]+)"', page.text).group(1))
    image = Image.open(io.BytesIO(png)).convert("L")
    image = image.resize((image.width * 8, image.height * 8), Image.NEAREST)  # a module is one pixel: print size
    [code] = zxingcpp.read_barcodes(image)
    assert code.format == zxingcpp.BarcodeFormat.QRCode
    assert code.text == f"{settings.base_url}/r/{people.microgrid.code}"
    client.cookies.clear()
    resident = await client.get(code.text.removeprefix(settings.base_url))
    assert resident.status_code == 200 and people.microgrid.name in resident.text
