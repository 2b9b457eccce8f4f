"""Images people attach to messages: checked by their bytes, re-encoded without metadata.

An upload is never stored as sent. Its type comes from its first bytes (the declared type must
agree); its pixel size is read from the header and refused before anything is decoded, so a
small file that would decode to gigabytes (a decompression bomb) costs nothing; then it is
decoded and encoded again, which leaves behind EXIF (a phone's GPS position), comments, and
anything hidden after the image data. The orientation EXIF asked for is applied first, so the
picture still stands up the way it was taken.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Literal

from PIL import Image, ImageOps

from models.core.errors import DomainError, InvalidInput

ImageType = Literal["image/jpeg", "image/png", "image/webp"]
TYPES: tuple[ImageType, ...] = ("image/jpeg", "image/png", "image/webp")
EXTENSIONS: dict[ImageType, str] = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
_FORMATS: dict[ImageType, str] = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}

MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a 48 MP phone photo is 8000x6000; beyond this is not a photo to share
MAX_SIDE = 12_000
FULL_SIDE = 2560  # the stored picture fits in this square (larger ones are scaled down)
THUMB_SIDE = 320  # the conversation's thumbnail


@dataclass(frozen=True)
class Encoded:
    data: bytes
    width: int
    height: int


@dataclass(frozen=True)
class CheckedImage:
    content_type: ImageType
    full: Encoded  # same type as uploaded
    thumb: Encoded  # always WebP


def sniff(data: bytes) -> ImageType | None:
    """The type the bytes say, by their magic numbers."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _unsupported(message: str, code: str) -> DomainError:
    return DomainError(message, code=code, status=415)


def check_declared(declared: str | None) -> None:
    """The Content-Type must name one of the accepted types (parameters ignored)."""
    base = (declared or "").split(";", 1)[0].strip().lower()
    if base not in TYPES:
        raise _unsupported(
            "Attach a JPEG, PNG or WebP image (Content-Type image/jpeg, image/png or image/webp)",
            "unsupported_type",
        )


def check_image(data: bytes, declared: str | None) -> CheckedImage:
    """Check an upload and encode it again (CPU work: call it in a thread)."""
    check_declared(declared)
    if not data:
        raise InvalidInput("The upload is empty", code="empty_upload")
    if len(data) > MAX_BYTES:
        raise DomainError(
            f"An image may be at most {MAX_BYTES} bytes", code="payload_too_large", status=413
        )
    kind = sniff(data)
    # The declared type is one we take (415 otherwise); the bytes not being that: 422.
    if kind is None:
        raise InvalidInput("This file is not a JPEG, PNG or WebP image", code="not_an_image")
    base = (declared or "").split(";", 1)[0].strip().lower()
    if base != kind:
        raise InvalidInput(
            f"The file is {kind} but was sent as {base}: send its real type",
            code="type_mismatch",
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=[_FORMATS[kind]])
            width, height = img.size
            _check_pixels(width, height)
            if kind == "image/jpeg":
                # Let the JPEG decoder scale down (by 1/2, 1/4, 1/8) while it decodes, as far as
                # the stored size allows: much less to decode and to resize.
                img.draft("RGB", _fitted(width, height, FULL_SIDE))
            img.load()  # decodes; only after the size was checked
    except DomainError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_many_pixels() from exc
    except Exception as exc:  # any decoder complaint: a broken or truncated file
        raise InvalidInput("The image could not be read", code="bad_image") from exc
    # The orientation EXIF asked for (then no EXIF), scaled in place: no copy of a large image.
    ImageOps.exif_transpose(img, in_place=True)
    img.thumbnail((FULL_SIDE, FULL_SIDE), Image.Resampling.LANCZOS)
    full = _encode(img, kind)
    small = img.copy()  # from the stored size, not the upload's
    small.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    thumb = _encode(small, "image/webp")
    return CheckedImage(content_type=kind, full=full, thumb=thumb)


def _too_many_pixels() -> DomainError:
    return DomainError(
        f"An image may have at most {MAX_PIXELS} pixels and {MAX_SIDE} on a side",
        code="too_many_pixels",
        status=422,
    )


def _check_pixels(width: int, height: int) -> None:
    if width < 1 or height < 1 or width > MAX_SIDE or height > MAX_SIDE:
        raise _too_many_pixels()
    if width * height > MAX_PIXELS:
        raise _too_many_pixels()


def _fitted(width: int, height: int, side: int) -> tuple[int, int]:
    scale = min(1.0, side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _encode(img: Image.Image, kind: ImageType) -> Encoded:
    """A fresh file with pixels only: no EXIF, XMP, ICC, comments or text chunks."""
    alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
    if kind == "image/jpeg" or not alpha:
        img = img.convert("RGB") if img.mode != "RGB" else img
    else:
        img = img.convert("RGBA")
    buf = io.BytesIO()
    if kind == "image/jpeg":
        img.save(buf, "JPEG", quality=85, optimize=True)
    elif kind == "image/png":
        img.save(buf, "PNG", compress_level=6)
    else:
        img.save(buf, "WEBP", quality=82, method=4)
    return Encoded(data=buf.getvalue(), width=img.width, height=img.height)
