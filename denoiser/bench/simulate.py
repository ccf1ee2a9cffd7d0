"""Pictures of digits as visitors take them: phone photos of a digit on paper and small, dim, grainy scans.

Every picture is made from a clean 28x28 digit (the *source*), so what `digitize.extract`
finds in it can be scored against the digit that was written. The pictures are made the way
a camera makes them: the digit is written in dark ink at a few hundred pixels (its edges made
sharp, as a pen's are), rotated a little, put on a page of some tone and colour under uneven
light, then blurred by the lens, given sensor noise and saved as a JPEG. Use only digits of
the test split here when the pictures measure a model trained on the training split.

Each maker takes the source, a `numpy.random.Generator` and returns encoded image bytes; the
`SCENES` table names them. All randomness comes from the generator, so a seed repeats a set.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageOps
from scipy import ndimage
from skimage import transform


def _strokes(clean: np.ndarray, height: int, rng: np.random.Generator, angle: float = 10.0) -> np.ndarray:
    """The source digit as ink coverage in [0, 1] about `height` pixels tall, pen-sharp, rotated by up to `angle`."""
    size = max(8, round(height * 28 / 20))  # the 20x20 digit box becomes `height` pixels
    up = transform.resize(np.asarray(clean, np.float64), (size, size), order=3, mode="constant", anti_aliasing=False)
    ink = np.clip((up - 0.3) / 0.4, 0, 1)  # a pen's edge: MNIST's soft rim becomes a sharp one
    if angle:
        ink = ndimage.rotate(ink, rng.uniform(-angle, angle), reshape=True, order=1, mode="constant")
    return np.clip(ink, 0, 1)


def _light(shape: tuple[int, int], rng: np.random.Generator, low: float) -> np.ndarray:
    """Uneven light over a page: a gradient from one side and a vignette, between `low` and 1."""
    h, w = shape
    y, x = np.mgrid[0:h, 0:w]
    y, x = y / max(h - 1, 1) - 0.5, x / max(w - 1, 1) - 0.5
    theta = rng.uniform(0, 2 * np.pi)
    ramp = 0.5 + (np.cos(theta) * x + np.sin(theta) * y)  # 0..1 across the page
    field = 1 - rng.uniform(0, 1 - low) * ramp - rng.uniform(0, 0.4) * (x**2 + y**2)
    return np.clip(field, low, 1)


def _page(shape: tuple[int, int], rng: np.random.Generator, brightness: tuple[float, float]) -> np.ndarray:
    """A page (H, W, 3) of one tone and colour (white, cream, grey, pale blue, kraft...)."""
    tone = rng.uniform(*brightness)
    tint = 1 + rng.uniform(-0.12, 0.12, 3)
    return np.broadcast_to(np.clip(tone * tint, 0, 1), (*shape, 3)).copy()


def _write(page: np.ndarray, ink: np.ndarray, top: int, left: int, colour: np.ndarray) -> np.ndarray:
    """Put ink coverage `ink` on `page` at (top, left) in `colour` (RGB), clipped to the page."""
    h, w = page.shape[:2]
    bottom, right = min(h, top + ink.shape[0]), min(w, left + ink.shape[1])
    part = ink[: bottom - top, : right - left, None]
    page[top:bottom, left:right] = page[top:bottom, left:right] * (1 - part) + colour * part
    return page


def _camera(rgb: np.ndarray, rng: np.random.Generator, blur: float, noise: float) -> np.ndarray:
    """Lens blur (sigma in px) and sensor noise (sigma in grey levels), as uint8 RGB."""
    if blur:
        rgb = ndimage.gaussian_filter(rgb, (blur, blur, 0))
    rgb = rgb * 255 + rng.normal(0, noise, rgb.shape)
    return np.clip(np.round(rgb), 0, 255).astype(np.uint8)


def _encode(rgb: np.ndarray, fmt: str, rng: np.random.Generator, orientation: int = 1) -> bytes:
    """Encode as JPEG (quality 60-92) or PNG; a JPEG may be stored turned, with the EXIF tag that turns it back."""
    img = Image.fromarray(rgb)
    exif = Image.Exif()
    if orientation in (6, 8):  # the sensor's pixels are turned; the viewer turns them back by the tag
        img = img.transpose(Image.Transpose.ROTATE_90 if orientation == 6 else Image.Transpose.ROTATE_270)
        exif[0x0112] = orientation
    buffer = io.BytesIO()
    if fmt == "JPEG":
        img.save(buffer, format="JPEG", quality=int(rng.integers(60, 93)), exif=exif.tobytes())
    else:
        img.save(buffer, format="PNG")
    return buffer.getvalue()


def _ink_colour(rng: np.random.Generator) -> np.ndarray:
    """Black, blue-black or pencil grey ink."""
    base = rng.uniform(0.03, 0.22)
    return np.clip(base + np.array([0.0, 0.0, rng.uniform(0, 0.15)]) * rng.integers(0, 2), 0, 1)


def phone_photo(clean: np.ndarray, rng: np.random.Generator, *, height: int | None = None) -> bytes:
    """A phone photo of the digit written dark on paper: the digit 120-480 px tall on a 4:3 page."""
    height = height or int(rng.integers(120, 481))
    ink = _strokes(clean, height, rng)
    rows = int(height * rng.uniform(2.2, 4.5))
    shape = (rows, rows * 4 // 3)
    top = int(rng.integers(0, max(1, shape[0] - ink.shape[0])))
    left = int(rng.integers(0, max(1, shape[1] - ink.shape[1])))
    page = _write(_page(shape, rng, (0.55, 0.97)), ink, top, left, _ink_colour(rng))
    page *= _light(shape, rng, 0.45)[..., None]
    rgb = _camera(page, rng, rng.uniform(0.5, 2.0) * height / 240, rng.uniform(2, 8))
    return _encode(rgb, "JPEG", rng, orientation=int(rng.choice([1, 1, 6, 8])))


def dim_scan(clean: np.ndarray, rng: np.random.Generator) -> bytes:
    """A small, dim, grainy picture: the digit 28-48 px tall, ink 25-90 grey levels from the page, noise 12-30."""
    height = int(rng.integers(28, 49))
    ink = _strokes(clean, height, rng, angle=5.0)
    shape = (int(height * rng.uniform(1.6, 2.4)),) * 2
    top = int(rng.integers(0, max(1, shape[0] - ink.shape[0])))
    left = int(rng.integers(0, max(1, shape[1] - ink.shape[1])))
    page = _page(shape, rng, (0.2, 0.45))
    colour = page[0, 0] * rng.uniform(0.2, 0.6)  # dim light: the ink is only somewhat darker than the page
    page = _write(page, ink, top, left, colour) * _light(shape, rng, 0.7)[..., None]
    rgb = _camera(page, rng, rng.uniform(0.3, 0.8), rng.uniform(12, 30))
    return _encode(rgb, "PNG" if rng.random() < 0.5 else "JPEG", rng)


def at_an_angle(clean: np.ndarray, rng: np.random.Generator) -> bytes:
    """A phone photo taken at an angle: the page seen in perspective."""
    img = ImageOps.exif_transpose(Image.open(io.BytesIO(phone_photo(clean, rng)))).convert("RGB")
    w, h = img.size
    squeeze = rng.uniform(0.1, 0.25)
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], float)
    dst = src + np.array([[squeeze * w, 0], [-squeeze * w, 0], [0, 0], [0, 0]])
    warp = transform.ProjectiveTransform.from_estimate(src, dst)
    out = transform.warp(np.asarray(img) / 255.0, warp.inverse, mode="edge")
    return _encode(np.round(out * 255).astype(np.uint8), "JPEG", rng)


def _ruled(clean: np.ndarray, rng: np.random.Generator, squared: bool) -> bytes:
    """A photo of the digit on lined (or squared) paper: faint lines ~1/3 of the digit's height apart."""
    height = int(rng.integers(120, 361))
    ink = _strokes(clean, height, rng)
    rows = int(height * rng.uniform(2.5, 4))
    shape = (rows, rows * 4 // 3)
    page = _page(shape, rng, (0.75, 0.97))
    gap, line = int(height * rng.uniform(0.3, 0.5)), np.array([0.55, 0.65, 0.85])
    width = max(1, height // 90)
    for r in range(int(rng.integers(0, gap)), shape[0], gap):
        page[r : r + width] = page[r : r + width] * 0.4 + line * 0.6
    if squared:
        for c in range(int(rng.integers(0, gap)), shape[1], gap):
            page[:, c : c + width] = page[:, c : c + width] * 0.4 + line * 0.6
    top = int(rng.integers(0, shape[0] - ink.shape[0]))
    left = int(rng.integers(0, shape[1] - ink.shape[1]))
    page = _write(page, ink, top, left, _ink_colour(rng)) * _light(shape, rng, 0.6)[..., None]
    return _encode(_camera(page, rng, height / 240, rng.uniform(2, 6)), "JPEG", rng)


def on_lined_paper(clean: np.ndarray, rng: np.random.Generator) -> bytes:
    return _ruled(clean, rng, squared=False)


def on_squared_paper(clean: np.ndarray, rng: np.random.Generator) -> bytes:
    return _ruled(clean, rng, squared=True)


def touching_the_edge(clean: np.ndarray, rng: np.random.Generator) -> bytes:
    """A close-up whose digit runs to the picture's edge: the picture cropped at the digit's box."""
    height = int(rng.integers(150, 301))
    ink = _strokes(clean, height, rng, angle=0)
    rows, cols = np.nonzero(ink > 0.05)
    ink = ink[rows.min() :, cols.min() : cols.max() + 1]  # the top edge and both sides touch
    pad = int(height * rng.uniform(0.1, 0.5))
    shape = (ink.shape[0] + pad, ink.shape[1])
    page = _write(_page(shape, rng, (0.6, 0.95)), ink, 0, 0, _ink_colour(rng)) * _light(shape, rng, 0.6)[..., None]
    return _encode(_camera(page, rng, height / 240, rng.uniform(2, 6)), "JPEG", rng)


def page_edge_in_view(clean: np.ndarray, rng: np.random.Generator) -> bytes:
    """A phone photo with the dark table beyond the page's edge along one side."""
    img = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(phone_photo(clean, rng)))).convert("RGB")).copy()
    w = img.shape[1]
    band = int(rng.uniform(0.06, 0.15) * w)
    img[:, w - band :] = (img[:, w - band :] * rng.uniform(0.1, 0.3)).astype(np.uint8)
    return _encode(img, "JPEG", rng)


def with_a_second_digit(clean: np.ndarray, rng: np.random.Generator, other: np.ndarray | None = None) -> bytes:
    """Two digits on one page: the source, and a smaller one (another digit) beside it."""
    other = np.asarray(clean if other is None else other)
    height = int(rng.integers(150, 301))
    big, small = _strokes(clean, height, rng), _strokes(other, int(height * 0.6), rng)
    shape = (int(height * 2), int(height * 3.2))
    colour = _ink_colour(rng)
    page = _write(_page(shape, rng, (0.65, 0.97)), big, height // 4, height // 5, colour)
    page = _write(page, small, height // 2, int(height * 1.8), colour)
    page *= _light(shape, rng, 0.6)[..., None]
    return _encode(_camera(page, rng, height / 240, rng.uniform(2, 6)), "JPEG", rng)


def blank_page(clean: np.ndarray, rng: np.random.Generator) -> bytes:
    """A photo of an empty page: nothing to find, so it must be refused."""
    shape = (int(rng.integers(300, 900)),) * 2
    page = _page(shape, rng, (0.55, 0.97)) * _light(shape, rng, 0.5)[..., None]
    return _encode(_camera(page, rng, 1.0, rng.uniform(2, 8)), "JPEG", rng)


# name -> (maker, what it shows). The first two are the pictures that visitors bring most.
SCENES: dict[str, tuple[Callable[..., bytes], str]] = {
    "phone": (phone_photo, "phone photo, dark ink on paper"),
    "dim": (dim_scan, "small, dim, grainy picture"),
    "angle": (at_an_angle, "photo taken at an angle"),
    "lined": (on_lined_paper, "on lined paper"),
    "squared": (on_squared_paper, "on squared paper"),
    "edge": (touching_the_edge, "digit touching the picture's edge"),
    "page_edge": (page_edge_in_view, "table beyond the page's edge in view"),
    "two": (with_a_second_digit, "a second, smaller digit beside it"),
    "blank": (blank_page, "blank page (must be refused)"),
}
