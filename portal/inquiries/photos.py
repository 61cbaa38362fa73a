"""Photos attached to an inquiry: checked by their content, re-encoded, stripped.

``accept(file)`` reads at most ``INQUIRY_PHOTO_MAX_BYTES`` (one byte more tells an
oversized file), opens it with Pillow and keeps only what Pillow itself recognises
as JPEG or PNG (the file name and the browser's content type are not trusted). An
image whose header promises more than ``MAX_PIXELS`` pixels is refused before it
is decoded (a "decompression bomb": a small file that would fill the memory).
The image is then decoded, turned upright by its EXIF orientation and encoded
again, which drops every EXIF field (the camera, the time and the GPS location),
PNG text chunks and anything hidden after the image data. Errors are
``InquiryError`` with a message safe to show.
"""

from __future__ import annotations

import io
import struct
import warnings
from typing import BinaryIO

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from portal.inquiries.operations import InquiryError

#: Pillow's format name → the content type stored and served (MPO: a phone's JPEG
#: with a second, stereo frame; only the first is kept)
FORMATS = {"JPEG": "image/jpeg", "MPO": "image/jpeg", "PNG": "image/png"}
#: 40 megapixels: more than any phone camera, far less than a bomb
MAX_PIXELS = 40_000_000
JPEG_QUALITY = 85


def size_text(size: int) -> str:
    """A byte count in words for a limit ("5 MB", "500 KB")."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.0f} MB"
    return f"{max(size // 1024, 1)} KB"


def accept(file: BinaryIO) -> tuple[bytes, str, int, int]:
    """``(bytes, content_type, width, height)`` of the re-encoded photo in ``file``
    (a ``FileStorage`` or any binary stream), or ``InquiryError``."""
    limit = current_app.config["INQUIRY_PHOTO_MAX_BYTES"]
    data = file.read(limit + 1)
    if not data:
        raise InquiryError(_("The photo file is empty. Choose the photo again."))
    if len(data) > limit:
        raise InquiryError(_("The photo is larger than %(size)s. Choose a smaller photo, "
                             "or take it at a lower resolution.", size=size_text(limit)))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                kind = probe.format
                width, height = probe.size
                if kind not in FORMATS:
                    raise InquiryError(_("The photo must be a JPEG or PNG image."))
                if width * height > MAX_PIXELS:
                    raise _too_many_pixels()
                probe.verify()  # checksums and structure, without decoding everything
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                upright = ImageOps.exif_transpose(image)
                return _encode(upright, kind)
    except InquiryError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels() from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError,
            struct.error):
        raise InquiryError(_("The file is not a JPEG or PNG image, or it is damaged. "
                             "Choose a photo in JPEG or PNG format.")) from None


def _too_many_pixels() -> InquiryError:
    return InquiryError(_("The photo has too many pixels (at most %(n)s million). "
                          "Choose a smaller photo.", n=MAX_PIXELS // 1_000_000))


def _encode(image: Image.Image, kind: str) -> tuple[bytes, str, int, int]:
    """Encode ``image`` again with no metadata: no ``exif``, ``icc_profile`` or
    ``pnginfo`` is passed, so none is written."""
    out = io.BytesIO()
    if FORMATS[kind] == "image/jpeg":
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    else:
        if image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I;16"):
            image = image.convert("RGBA")
        image.save(out, format="PNG", optimize=True)
    return out.getvalue(), FORMATS[kind], image.width, image.height
