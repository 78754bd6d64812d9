"""Photo limits on every path into the database (server/photos.py `store_photo`):
the outbox's upload and the forms posted without JavaScript.

Image bombs are refused from their header (413), nothing but JPEG, PNG and WebP is
opened (415), no EXIF (GPS) survives, 300 KB is the edge, six photos a record.
"""
from __future__ import annotations

import io
import resource
import struct
import uuid
import zlib

import pytest
import sqlalchemy as sa
from PIL import Image

from server.sync.models import Photo
from tests.sync.helpers import households_of, post_sync, visit
from tests.sync.test_photos import jpeg, put_photo

GPS_LATITUDE = 30.5888  # Dayi County, where no photo's EXIF should ever tell anyone


def bomb_png(side: int) -> bytes:
    """A 1-bit black PNG of side x side: tens of KB on disk, side² bytes once decoded (RGB: three times)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    row = b"\x00" + b"\x00" * ((side + 7) // 8)
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def jpeg_with_gps(width=800, height=600) -> bytes:
    image = Image.new("RGB", (width, height), (40, 120, 60))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    gps = {1: "N", 2: (30.0, 35.0, 19.68), 3: "E", 4: (103.0, 31.0, 20.0)}
    exif[0x8825] = gps  # GPSInfo
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80, exif=exif.tobytes())
    return out.getvalue()


def png(width=640, height=480, alpha=False) -> bytes:
    image = Image.new("RGBA" if alpha else "RGB", (width, height), (20, 90, 200, 128) if alpha else (20, 90, 200))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def webp(width=640, height=480) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 90, 20)).save(out, "WEBP", quality=80)
    return out.getvalue()


def jpeg_of_exactly(size: int) -> bytes:
    """A valid JPEG padded with comment segments (COM) to exactly `size` bytes."""
    body = jpeg(640, 480, quality=85, noise=True)
    assert len(body) < size - 8
    head, rest = body[:2], body[2:]
    padding = b""
    missing = size - len(body)
    while missing > 0:
        # A COM segment: FF FE, a 2-byte length that counts itself, then the comment.
        take = min(missing, 65535 + 2)
        if missing - take in (1, 2, 3):  # never leave a gap too small for a segment
            take -= 4
        data_len = take - 4
        padding += b"\xff\xfe" + struct.pack(">H", data_len + 2) + b"x" * data_len
        missing -= take
    out = head + padding + rest
    assert len(out) == size
    return out


def has_gps(data: bytes) -> bool:
    with Image.open(io.BytesIO(data)) as image:
        return bool(image.getexif()) or b"Exif" in data or b"PhoneMaker" in data


async def stored_record(db, people, client) -> str:
    household = (await households_of(db, people.microgrid))[0]
    rec = visit(household.id)
    assert (await post_sync(client, [rec])).json()["results"][0]["status"] == "created"
    return rec["id"]


async def stored_photo(db, photo_id: str) -> Photo:
    db.expire_all()
    return (await db.execute(sa.select(Photo).where(Photo.id == uuid.UUID(photo_id)))).scalar_one()


def peak_memory_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------- the outbox's upload


@pytest.mark.parametrize("side", [13000, 20000])
async def test_it_refuses_an_image_bomb_from_its_header_on_the_api(side, db, people, signed_in_as):
    client = await signed_in_as(people.leader)
    record_id = await stored_record(db, people, client)
    body = bomb_png(side)
    assert len(body) < 80 * 1024  # tiny on the wire
    before = peak_memory_mb()
    response = await put_photo(client, str(uuid.uuid4()), record_id, body, "image/png")
    assert response.status_code == 413
    assert "1600" in response.json()["detail"] and "像素" in response.json()["detail"]
    # Decoding 13000² pixels would take 169 MB at least (1 bit per pixel, one byte each).
    assert peak_memory_mb() - before < 100


async def test_it_strips_gps_exif_from_an_uploaded_photo(db, people, signed_in_as):
    client = await signed_in_as(people.leader)
    record_id = await stored_record(db, people, client)
    body = jpeg_with_gps()
    assert has_gps(body)
    photo_id = str(uuid.uuid4())
    assert (await put_photo(client, photo_id, record_id, body)).status_code == 201
    stored = await stored_photo(db, photo_id)
    assert not has_gps(stored.data)
    assert (stored.width, stored.height, stored.content_type) == (800, 600, "image/jpeg")
    assert (await client.get(f"/photos/{photo_id}")).content == stored.data
    # The stored bytes are a function of the upload: the same upload again is a replay.
    again = await put_photo(client, photo_id, record_id, body)
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")


@pytest.mark.parametrize("maker,content_type", [(png, "image/png"), (webp, "image/webp")])
async def test_it_accepts_png_and_webp(maker, content_type, db, people, signed_in_as):
    client = await signed_in_as(people.leader)
    record_id = await stored_record(db, people, client)
    photo_id = str(uuid.uuid4())
    response = await put_photo(client, photo_id, record_id, maker(), content_type)
    assert response.status_code == 201, response.text
    stored = await stored_photo(db, photo_id)
    assert (stored.width, stored.height) == (640, 480)


async def test_it_takes_exactly_300_kb_and_refuses_one_byte_more(db, people, signed_in_as):
    client = await signed_in_as(people.leader)
    record_id = await stored_record(db, people, client)
    at_edge = await put_photo(client, str(uuid.uuid4()), record_id, jpeg_of_exactly(300 * 1024))
    over = await put_photo(client, str(uuid.uuid4()), record_id, jpeg_of_exactly(300 * 1024 + 1))
    assert at_edge.status_code == 201, at_edge.text
    assert over.status_code == 413
    assert "300" in over.json()["detail"] and "照片" in over.json()["detail"]


async def test_it_refuses_a_seventh_photo_for_one_record(db, people, signed_in_as):
    client = await signed_in_as(people.leader)
    record_id = await stored_record(db, people, client)
    ids = [str(uuid.uuid4()) for _ in range(7)]
    statuses = [(await put_photo(client, pid, record_id, jpeg(300 + i, 200))).status_code for i, pid in enumerate(ids)]
    assert statuses == [201] * 6 + [413]
    seventh = await put_photo(client, ids[6], record_id, jpeg(306, 200))
    assert "6" in seventh.json()["detail"]
    # A replay of one of the six is still a replay, not a seventh.
    assert (await put_photo(client, ids[5], record_id, jpeg(305, 200))).status_code == 200
    count = (await db.execute(sa.select(sa.func.count()).select_from(Photo).where(Photo.record_id == uuid.UUID(record_id)))).scalar_one()
    assert count == 6


def test_it_writes_photos_in_one_place():
    """Every stored photo goes through server/photos.py: no other module makes Photo rows."""
    import re
    from pathlib import Path

    server = Path(__file__).resolve().parents[2] / "server"
    writers = sorted(str(path.relative_to(server)) for path in server.rglob("*.py")
                     if re.search(r"(?<!class )\bPhoto\(|insert\(Photo", path.read_text(encoding="utf-8")))
    assert writers == ["photos.py"]
