"""The one way a photo reaches the database: `store_photo`.

Used by the outbox's upload (`PUT /api/photos/{id}`) and by every form posted without
JavaScript (a problem, a problem's event, a patrol). Whatever arrives:

- only JPEG, PNG and WebP are opened (Pillow's other decoders are never tried);
- the size in pixels is read from the header and checked *before* anything is decoded,
  so a 30 KB PNG that claims 13,000 x 13,000 pixels is refused without costing a gigabyte
  of memory; Pillow's own decompression-bomb check is a second line, never a 500;
- the stored photo is re-encoded from its pixels (turned upright first): no EXIF, no GPS
  position, no XMP or comments survive, on every path;
- it is at most 1600 px a side and 300 KB (the outbox shrinks on the phone; a form's
  photo is shrunk here, from at most 40 million pixels);
- a record holds at most as many photos as its type allows (6, like its schema says).

The stored bytes are a pure function of the uploaded ones, so a replayed upload hashes
the same and is answered as a duplicate.
"""
from __future__ import annotations

import hashlib
import io
import uuid
import warnings
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from server.i18n import N_

MAX_PHOTOS = 6  # per record (per checklist answer for a patrol)
MAX_BYTES = 300 * 1024
MAX_SIDE = 1600
# A form posted without JavaScript carries the camera's own file: shrunk here.
MAX_FORM_BYTES = 20 * 1024 * 1024
MAX_FORM_PIXELS = 40_000_000
CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}

CREATED, DUPLICATE, CONFLICT = "created", "duplicate", "conflict"

MSG_NOT_A_PHOTO = N_("This is not a photo (JPEG, PNG or WebP).")
MSG_TOO_MANY_BYTES = N_("The photo is larger than 300 KB.")
MSG_TOO_MANY_PIXELS = N_("The photo is larger than 1600 pixels.")
MSG_TOO_BIG_FILE = N_("This photo is too large to take (at most 20 MB and 40 million pixels).")
MSG_TOO_MANY_PHOTOS = N_("A record holds at most %(n)s photos.")


class PhotoRefused(ValueError):
    """Why a photo is not taken: an HTTP status (413 or 415) and an English message id."""

    def __init__(self, status: int, message: str, **params) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.params = params


@dataclass(frozen=True)
class CleanPhoto:
    data: bytes
    content_type: str
    width: int
    height: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def clean_photo(data: bytes, *, from_form: bool = False) -> CleanPhoto:
    """The photo as it will be stored (JPEG, upright, no metadata, within limits), or PhotoRefused.

    From the outbox (`from_form` False) the phone has shrunk it already: more than 300 KB
    or 1600 px is refused. From a form it is shrunk here, up to 20 MB and 40 million pixels.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    if len(data) > (MAX_FORM_BYTES if from_form else MAX_BYTES):
        raise PhotoRefused(413, MSG_TOO_BIG_FILE if from_form else MSG_TOO_MANY_BYTES)
    try:
        with warnings.catch_warnings():
            # Past MAX_IMAGE_PIXELS Pillow only warns (and past twice that, raises): both refuse here.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=list(CONTENT_TYPES)) as image:
                width, height = image.size  # from the header: nothing decoded yet
                if from_form:
                    if width * height > MAX_FORM_PIXELS:
                        raise PhotoRefused(413, MSG_TOO_BIG_FILE)
                elif max(width, height) > MAX_SIDE:
                    raise PhotoRefused(413, MSG_TOO_MANY_PIXELS)
                if image.format == "JPEG":
                    image.draft("RGB", (MAX_SIDE, MAX_SIDE))  # decode a big JPEG at a fraction of its size
                image.load()
                upright = ImageOps.exif_transpose(image)
                return _encode(_flatten(upright))
    except PhotoRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoRefused(413, MSG_TOO_BIG_FILE if from_form else MSG_TOO_MANY_PIXELS) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, TypeError, EOFError):
        raise PhotoRefused(415, MSG_NOT_A_PHOTO) from None


def _flatten(image):
    """RGB on white: transparency (PNG, WebP) has no place in a JPEG."""
    from PIL import Image

    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def _encode(image) -> CleanPhoto:
    """JPEG within MAX_SIDE and MAX_BYTES: lower the quality first, then the size."""
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    while True:
        for quality in (85, 75, 65, 55, 45, 35):
            out = io.BytesIO()
            image.save(out, "JPEG", quality=quality, optimize=True)  # no exif= given: none written
            if out.tell() <= MAX_BYTES:
                return CleanPhoto(out.getvalue(), "image/jpeg", image.width, image.height)
        image = image.resize((max(1, image.width * 4 // 5), max(1, image.height * 4 // 5)))


async def read_form_photos(form, field: str = "photos") -> list[CleanPhoto]:
    """A form's photos, each cleaned and shrunk; PhotoRefused for the first bad one.

    The count is checked before any file is opened, and nothing is stored yet: the record first.
    """
    uploads = [u for u in form.getall(field, []) if not isinstance(u, str) and getattr(u, "filename", "")]
    if len(uploads) > MAX_PHOTOS:
        raise PhotoRefused(413, MSG_TOO_MANY_PHOTOS, n=MAX_PHOTOS)
    cleaned = []
    for upload in uploads:
        data = await upload.read(MAX_FORM_BYTES + 1)
        if data:
            cleaned.append(clean_photo(data, from_form=True))
    return cleaned


async def store_photo(db: AsyncSession, *, photo_id: uuid.UUID, record_id: uuid.UUID, person_id: int,
                      photo: CleanPhoto, max_photos: int = MAX_PHOTOS) -> str:
    """Add one photo of a stored record; CREATED, DUPLICATE (the same photo again) or CONFLICT.

    Raises PhotoRefused when the record holds its `max_photos` already. The caller has
    checked that the record is stored and is the sender's, and commits.
    """
    from server.sync.models import Photo, SyncReceipt

    existing = await db.get(Photo, photo_id)
    if existing is not None:
        return DUPLICATE if existing.sha256 == photo.sha256 and existing.record_id == record_id else CONFLICT
    # Lock the record's receipt: two uploads at once must not both be the sixth photo.
    await db.execute(sa.update(SyncReceipt).where(SyncReceipt.id == record_id).values(status=SyncReceipt.status))
    held = (await db.execute(sa.select(sa.func.count()).select_from(Photo).where(Photo.record_id == record_id))).scalar_one()
    if held >= max_photos:
        raise PhotoRefused(413, MSG_TOO_MANY_PHOTOS, n=max_photos)
    db.add(Photo(id=photo_id, record_id=record_id, person_id=person_id, content_type=photo.content_type,
                 width=photo.width, height=photo.height, size=len(photo.data), sha256=photo.sha256, data=photo.data))
    await db.flush()
    return CREATED
