"""Turn any picture of a digit into an MNIST-style 28x28 input, the way MNIST itself was made.

LeCun et al.: grey levels, the digit fitted into a 20x20 box keeping its aspect ratio
(anti-aliased), then placed in a 28x28 field so that its centre of mass is at the centre.
We also invert pictures with a light background (ink on paper) so the digit is white on black.
"""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image

# Refuse to decode pictures larger than this many pixels (a decompression bomb is a few KB on disk):
# the check reads only the header, so a 20,000 x 20,000 bomb is refused before any pixel is decoded.
MAX_PIXELS = 4096 * 4096
MIN_SIDE = 8  # a picture smaller than this on either side cannot hold a readable digit
MAX_SIDE = 1024  # larger pictures are shrunk to this after decoding; the digit ends up 20x20 anyway
# Only these decoders run on uploads: Pillow can also open formats (EPS) that start external programs.
FORMATS = ("PNG", "JPEG", "BMP", "WEBP", "GIF", "TIFF")
INK_THRESHOLD = 0.1  # pixels brighter than this (after inversion) count as ink when cropping


class ImageError(ValueError):
    """A picture could not be read or holds no digit; the message is fit to show a user."""


def open_image(data: bytes) -> Image.Image:
    """Decode image bytes into a greyscale PIL image, refusing unreadable, empty, tiny or oversized files.

    The first frame of an animation is used; pictures over `MAX_SIDE` are shrunk (JPEGs while decoding).
    """
    if not data:
        raise ImageError("The file is empty.")
    try:
        with Image.open(io.BytesIO(data), formats=FORMATS) as img:
            _check_size(*img.size)
            img.seek(0)  # first frame of an animation
            img.draft("L", (MAX_SIDE, MAX_SIDE))  # JPEG only: decode at 1/2, 1/4 or 1/8 scale, no colour
            grey = _to_grey(img)
    except ImageError:
        raise
    except Image.DecompressionBombError:  # Pillow's own header check, for pictures far over MAX_PIXELS
        raise ImageError(f"The image is too large; the limit is {MAX_PIXELS:,} pixels.") from None
    except (OSError, ValueError, SyntaxError, EOFError) as err:
        raise ImageError(f"The file is not an image that can be read ({type(err).__name__}).") from None
    except MemoryError:
        raise ImageError("The image is too large to decode.") from None
    return grey


def _check_size(width: int, height: int) -> None:
    """Refuse a picture by its header's size, before any pixel is decoded."""
    if width * height > MAX_PIXELS:
        raise ImageError(f"The image is too large ({width}x{height} pixels); the limit is {MAX_PIXELS:,} pixels.")
    if min(width, height) < MIN_SIDE:
        raise ImageError(f"The image is too small ({width}x{height} pixels); the minimum is {MIN_SIDE}x{MIN_SIDE}.")


def _to_grey(img: Image.Image) -> Image.Image:
    """Any mode (RGBA, CMYK, palette, 16-bit) -> 8-bit grey at most `MAX_SIDE` on a side.

    Transparency is composited on white (paper). Memory stays near one decoded copy: the alpha
    is applied in grey, and the picture is shrunk before any float conversion.
    """
    if img.mode in ("1", "P", "PA"):  # shrinking a palette or 1-bit picture would fall back to nearest neighbour
        img = img.convert("RGBA" if img.mode == "PA" or "transparency" in img.info else "L")
    if img.mode in ("RGBA", "LA"):
        alpha = img.getchannel("A")
        img = Image.composite(img.convert("L"), Image.new("L", img.size, 255), alpha)
    if img.mode == "LAB":  # a LAB TIFF: its lightness channel is the grey picture
        img = img.getchannel("L")
    # In place, keeping the aspect ratio; a box filter averages without ringing at the page's edges.
    # No reducing_gap: Image.reduce refuses 16-bit pictures, and a box filter needs no pre-reduction.
    img.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.BOX, reducing_gap=None)
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.nan_to_num(np.asarray(img, dtype=np.float64))  # a float TIFF may hold NaN
        top = 65535.0 if arr.max() > 255 else 255.0 if arr.max() > 1 else 1.0
        return Image.fromarray(np.clip(arr / top * 255.0, 0, 255).astype(np.uint8))
    return img.convert("L")


def to_mnist(grey: np.ndarray | Image.Image) -> torch.Tensor:
    """A greyscale picture (uint8 or float in [0, 1]) -> MNIST-style tensor (1, 28, 28) in [0, 1]."""
    arr = np.asarray(grey, dtype=np.float64)
    if arr.ndim != 2 or arr.size == 0:
        raise ImageError(f"Expected a greyscale picture (H, W); got shape {arr.shape}.")
    if not np.isfinite(arr).all():
        raise ImageError("The picture contains NaN or infinite values.")
    arr = arr / 255.0 if arr.max() > 1.0 else arr
    if np.median(arr) > 0.5:  # light background: ink on paper -> white on black, as MNIST
        arr = 1.0 - arr
    arr = arr - np.median(arr)  # a grey background becomes black
    ink = arr > INK_THRESHOLD * max(arr.max(), 1e-9)
    if arr.max() < INK_THRESHOLD or not ink.any():
        raise ImageError("No digit found: the picture is blank.")
    rows, cols = np.nonzero(ink)
    crop = np.clip(arr[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1], 0, None)
    crop = crop / crop.max()
    return torch.from_numpy(_center_of_mass_place(_fit_20(crop))).float().unsqueeze(0)


def _fit_20(crop: np.ndarray) -> np.ndarray:
    """Scale the cropped digit so that its longer side is 20 pixels, keeping the aspect ratio."""
    h, w = crop.shape
    scale = 20.0 / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    img = Image.fromarray((crop * 255).astype(np.uint8)).resize(size, Image.Resampling.LANCZOS)
    return np.asarray(img, dtype=np.float64) / 255.0


def _center_of_mass_place(digit: np.ndarray) -> np.ndarray:
    """Place `digit` (at most 20x20) in a 28x28 field with its centre of mass at the centre."""
    from scipy import ndimage

    field = np.zeros((28, 28))
    h, w = digit.shape
    cy, cx = ndimage.center_of_mass(digit) if digit.sum() > 0 else (h / 2, w / 2)
    top = int(np.clip(round(14 - cy), 0, 28 - h))
    left = int(np.clip(round(14 - cx), 0, 28 - w))
    field[top : top + h, left : left + w] = digit
    return np.clip(field, 0.0, 1.0)


def image_to_mnist(data: bytes) -> torch.Tensor:
    """Image file bytes (PNG, JPEG, BMP, WebP, ...) -> MNIST-style tensor (1, 28, 28) in [0, 1]."""
    return to_mnist(open_image(data))


def canvas_to_mnist(rgba: np.ndarray) -> torch.Tensor:
    """A drawing canvas's RGBA pixels (H, W, 4), light ink on a dark or transparent field -> (1, 28, 28).

    Transparent pixels count as black (no ink), unlike uploads, where transparency is paper.
    """
    arr = np.asarray(rgba, dtype=np.float64)
    if arr.ndim != 3 or arr.shape[-1] != 4 or arr.size == 0:
        raise ImageError(f"Expected RGBA canvas pixels shaped (H, W, 4); got shape {arr.shape}.")
    grey = arr[..., :3].mean(axis=-1) * (arr[..., 3] / 255.0)  # (H, W) in [0, 255], composited on black
    if grey.max() < INK_THRESHOLD * 255:
        raise ImageError("No digit found: the canvas is blank.")
    return to_mnist(grey / 255.0)


def tensor_to_png(image: torch.Tensor, scale: int = 1) -> bytes:
    """A (1, H, W) or (H, W) tensor in [0, 1] -> PNG bytes, upscaled `scale` times with nearest neighbour."""
    arr = (image.detach().squeeze().clamp(0, 1).numpy() * 255).round().astype(np.uint8)
    img = Image.fromarray(arr)
    if scale > 1:
        img = img.resize((arr.shape[1] * scale, arr.shape[0] * scale), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    img.save(buffer, format="PNG")
    return buffer.getvalue()


def load_png_as_is(data: bytes) -> torch.Tensor:
    """Image bytes -> (1, H, W) tensor in [0, 1] without any MNIST-style processing."""
    return torch.from_numpy(np.asarray(open_image(data), dtype=np.float32) / 255.0).unsqueeze(0)
