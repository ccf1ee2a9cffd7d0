"""Pictures in and out: decoding what a visitor brings (any common format, safely) and encoding digits as PNG.

`open_image` refuses what cannot be a picture before it costs anything: formats that start external
programs, sizes beyond the limit (read from the header, before any pixel is decoded), files that are
empty, tiny or incomplete; it applies a photo's EXIF orientation and shrinks large pictures while
decoding. Every refusal is an `ImageError` whose message can be shown to a visitor as it is.
"""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image, ImageOps, ImageStat

# Refuse to decode pictures larger than this many pixels (a decompression bomb is a few KB on disk):
# the check reads only the header, so a 20,000 x 20,000 bomb is refused before any pixel is decoded.
MAX_PIXELS = 4096 * 4096
MAX_PHOTO_PIXELS = 8192 * 8192  # a JPEG (a 48- or 50-megapixel phone's photo) decodes at 1/2-1/8 of its size, within
# MAX_PIXELS: its decoded picture is what costs memory (a 48-megapixel photo decodes at 1/4 in 0.2 s)
MIN_SIDE = 8  # a picture smaller than this on either side cannot hold a readable digit
MAX_SIDE = 1024  # larger pictures are shrunk to this after decoding; the digit ends up 20x20 anyway
TRUNCATED_SHARE = 1 / 16  # a JPEG whose last rows this share of its height are libjpeg's grey fill is truncated
DRAFT_SIDE = 512  # JPEGs decode at 1/2, 1/4 or 1/8 scale but no smaller than this
LIGHT_INK_COVER = 0.5  # a picture whose opaque pixels cover less than this share of it, and are light, is light
# strokes on a transparent field; on paper they would vanish
# Only these decoders run on uploads: Pillow can also open formats (EPS) that start external programs.
FORMATS = ("PNG", "JPEG", "BMP", "WEBP", "GIF", "TIFF")


class ImageError(ValueError):
    """A picture could not be read or holds no digit; the message is fit to show a user."""


def open_image(data: bytes, max_side: int = MAX_SIDE) -> Image.Image:
    """Decode image bytes into a greyscale PIL image, refusing unreadable, empty, tiny or oversized files.

    The first frame of an animation is used; the EXIF orientation of a photo is applied; pictures
    over `max_side` are shrunk (JPEGs while decoding).
    """
    if not data:
        raise ImageError("The file is empty.")
    try:
        with Image.open(io.BytesIO(data), formats=FORMATS) as img:
            _check_size(*img.size, MAX_PHOTO_PIXELS if img.format == "JPEG" else MAX_PIXELS)
            img.seek(0)  # first frame of an animation
            # JPEG only: decode at 1/2, 1/4 or 1/8 scale, no colour: a 12-megapixel photo decodes at
            # 1000x750 in a sixteenth of the time, and is still large enough to find a digit in.
            draft = DRAFT_SIDE * max_side // MAX_SIDE
            img.draft("L", (draft, draft))
            _check_size(*img.size)  # the size it decodes at
            _check_complete(img)
            grey = _to_grey(ImageOps.exif_transpose(img), max_side)
    except ImageError:
        raise
    except Image.DecompressionBombError:  # Pillow's own header check, for pictures far over MAX_PIXELS
        raise ImageError(f"The image is too large; the limit is {MAX_PIXELS:,} pixels.") from None
    except (OSError, ValueError, SyntaxError, EOFError) as err:
        raise ImageError(f"The file is not an image that can be read ({type(err).__name__}).") from None
    except MemoryError:
        raise ImageError("The image is too large to decode.") from None
    return grey


def _check_complete(img: Image.Image) -> None:
    """Refuse a JPEG whose data ends before its picture does.

    libjpeg decodes what data there is and fills the rest with flat grey (128), warning but not failing,
    so the picture would be searched for a digit among grey blocks. The fill runs to the bottom of the
    picture as stored, before any EXIF rotation."""
    if img.format != "JPEG":
        return
    rows = np.all(np.asarray(img.convert("L")) == 128, axis=1)  # decodes; rows of nothing but the fill
    missing = len(rows) - (int(np.flatnonzero(~rows).max()) + 1 if not rows.all() else 0)
    if missing >= max(2, TRUNCATED_SHARE * len(rows)):
        raise ImageError(f"The picture is incomplete: its last {100 * missing / len(rows):.0f}% holds no data "
                         "(a truncated JPEG).")  # fmt: skip


def _check_size(width: int, height: int, most: int = MAX_PIXELS) -> None:
    """Refuse a picture by its header's size, before any pixel is decoded."""
    if width * height > most:
        raise ImageError(f"The image is too large ({width}x{height} pixels); the limit is {most:,} pixels.")
    if min(width, height) < MIN_SIDE:
        raise ImageError(f"The image is too small ({width}x{height} pixels); the minimum is {MIN_SIDE}x{MIN_SIDE}.")


def _to_grey(img: Image.Image, max_side: int = MAX_SIDE) -> Image.Image:
    """Any mode (RGBA, CMYK, palette, 16-bit) -> 8-bit grey at most `max_side` on a side.

    Transparency is composited on white (paper), or on black under light strokes (`_backdrop`). Memory stays
    near one decoded copy: the alpha is applied in grey, and the picture is shrunk before any float conversion.
    """
    if img.mode in ("1", "P", "PA"):  # shrinking a palette or 1-bit picture would fall back to nearest neighbour
        img = img.convert("RGBA" if img.mode == "PA" or "transparency" in img.info else "L")
    if img.mode in ("RGBA", "LA"):
        alpha, grey = img.getchannel("A"), img.convert("L")
        img = Image.composite(grey, Image.new("L", img.size, _backdrop(grey, alpha)), alpha)
    if img.mode == "LAB":  # a LAB TIFF: its lightness channel is the grey picture
        img = img.getchannel("L")
    # In place, keeping the aspect ratio; a box filter averages without ringing at the page's edges.
    # No reducing_gap: Image.reduce refuses 16-bit pictures, and a box filter needs no pre-reduction.
    img.thumbnail((max_side, max_side), Image.Resampling.BOX, reducing_gap=None)
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.nan_to_num(np.asarray(img, dtype=np.float64))  # a float TIFF may hold NaN
        top = 65535.0 if arr.max() > 255 else 255.0 if arr.max() > 1 else 1.0
        return Image.fromarray(np.clip(arr / top * 255.0, 0, 255).astype(np.uint8))
    return img.convert("L")


def _backdrop(grey: Image.Image, alpha: Image.Image) -> int:
    """What shows through a picture's transparency: paper (255), but black (0) under light strokes on a mostly
    transparent field. A drawing app may draw its digits white, as MNIST's are, on a black field that it saves as
    transparent: on paper the digits would vanish."""
    opaque = alpha.point(lambda a: 255 if a >= 128 else 0)
    cover = ImageStat.Stat(opaque).mean[0] / 255
    if cover == 0 or cover >= LIGHT_INK_COVER:
        return 255
    return 0 if ImageStat.Stat(grey, mask=opaque).mean[0] > 127 else 255


def tensor_to_png(image: torch.Tensor, scale: int = 1) -> bytes:
    """A (1, H, W) or (H, W) tensor in [0, 1] -> PNG bytes, upscaled `scale` times with nearest neighbour."""
    arr = (image.detach().squeeze().clamp(0, 1).numpy() * 255).round().astype(np.uint8)
    img = Image.fromarray(arr)
    if scale > 1:
        img = img.resize((arr.shape[1] * scale, arr.shape[0] * scale), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    # Level 1: a few hundred bytes more than the default on a digit, and a third of the time to encode;
    # the app encodes three on every slider move.
    img.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def load_png_as_is(data: bytes) -> torch.Tensor:
    """Image bytes -> (1, H, W) tensor in [0, 1] without any MNIST-style processing."""
    return torch.from_numpy(np.asarray(open_image(data), dtype=np.float32) / 255.0).unsqueeze(0)
