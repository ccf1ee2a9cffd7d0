"""MNIST's recipe for a digit, applied to a digit found in a picture (LeCun et al.).

The digit's box is fitted into 20x20 keeping its aspect ratio (anti-aliased) and placed in a 28x28
field with its centre of mass at the centre, white on black; strokes thinner or thicker than MNIST's
are brought into its range. `mnist_digit` does it all: `digitize` makes the digit of a picture of one
digit with it, and `reading` each digit of a picture of many.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage import morphology

# MNIST's strokes, as mask area / skeleton length in the 28x28 field: the 5th and 95th percentiles of
# the training digits, and their quartiles. A digit outside the range is brought to the nearer quartile.
STROKE_WIDTHS = (1.9, 4.7)
STROKE_QUARTILES = (2.4, 3.4)
FINE = 4  # strokes are measured and corrected with the digit fitted into (20 * FINE) pixels
STROKE_INK = 0.5  # of the ink's level: a stroke's own edge, as for the digit's box
BLOB = 2  # ink deeper than this many times half the strokes' width is a blob (a loop inked in), and is not thinned


def _box(mask: np.ndarray) -> tuple[int, int, int, int]:
    rows, cols = np.nonzero(mask)
    return int(rows.min()), int(cols.min()), int(rows.max()) + 1, int(cols.max()) + 1


def _stroke_width(digit: np.ndarray) -> float:
    """Mean stroke width in pixels: the area of the strokes over the length of their skeleton."""
    strokes = digit > 0.5
    return strokes.sum() / max(1, morphology.skeletonize(strokes).sum())


def _like_mnist_strokes(digit: np.ndarray) -> np.ndarray:
    """Thicken or thin a digit (fitted at `FINE` times 20x20) whose strokes are outside MNIST's range.

    Done at a fixed scale above 20x20, so that a digit comes out the same from a small or a large picture.
    """
    low, high = STROKE_WIDTHS
    width = _stroke_width(_shrink(digit, FINE))
    if low <= width <= high:
        return digit
    target = STROKE_QUARTILES[0] if width < low else STROKE_QUARTILES[1]
    # At most 2 px of the 20x20 digit on each side: a blob (no strokes at all) is left as it is.
    radius = min(round(abs(target - width) / 2 * FINE), 2 * FINE)
    if not radius:
        return digit
    if width < low:
        return ndimage.grey_dilation(digit, footprint=morphology.disk(radius))
    return _thinned(digit, radius, target)


def _thinned(digit: np.ndarray, radius: int, target: float) -> np.ndarray:
    """A digit of thick strokes thinned by a grey erosion `radius` wide, each of its strokes kept at least `target`
    (20x20 pixels) wide along its skeleton, and its blobs as they are. A bold marker's strokes are uneven: the
    erosion alone wore a stroke thinner than the rest (a 9's tail under its inked-in loop) down to a hairline, or
    away; and a loop inked in shut, worn down as its strokes are, became the thick top of a 1."""
    eroded = ndimage.grey_erosion(digit, footprint=morphology.disk(radius))
    strokes = digit > STROKE_INK
    skeleton = morphology.skeletonize(strokes)
    if not skeleton.any():
        return eroded
    along = _near(skeleton, round(target / 2 * FINE))
    depth = ndimage.distance_transform_edt(strokes)  # how far each pixel is from the strokes' edge
    half = float(np.median(depth[skeleton]))  # half the strokes' usual width
    blobs = _near(depth > BLOB * half, max(1, round(BLOB * half)))
    return np.maximum(eroded, digit * (along | blobs))


def _near(mask: np.ndarray, radius: float) -> np.ndarray:
    """`mask` dilated by a disk of `radius` (as `morphology.disk`), in a time that does not grow with the radius."""
    return ndimage.distance_transform_edt(~mask) <= radius if mask.any() else mask


def mnist_digit(
    ink: np.ndarray, strokes: np.ndarray, mask: np.ndarray, level: float, *, keep_noise: bool = False
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The digit whose pixels are `mask`, made MNIST-style: its (28, 28) field in [0, 1] and its box in `mask`.

    `ink` is the ink's strength (page level 0), `strokes` the same or smoothed (what is cropped), `level`
    the ink's level. The arrays may be a window of the picture that holds the digit and, for
    `keep_noise`, 1.5 times its box all around; the box is then in the window's coordinates.
    """
    # The box is the strokes' own edge (half the ink's level), as in MNIST's binary originals: the mask
    # reaches further, by the smoothing, and would pad the box by a resolution-dependent margin.
    edge = mask & (ink > STROKE_INK * level)
    top, left, bottom, right = _box(edge) if edge.any() else _box(mask)
    crop = np.clip(
        strokes[top:bottom, left:right] * ndimage.binary_dilation(mask[top:bottom, left:right]) / level, 0, 1
    )
    fitted = _shrink(_like_mnist_strokes(_fit_20(crop, FINE)), FINE)
    field, place = _center_of_mass_place(fitted)
    if keep_noise:  # the same 28x28 field, cut from the picture itself: its noise all around the digit
        field = _field_as_is(ink / level, (top, left, bottom, right), fitted.shape, place)
    return field, (top, left, bottom, right)


def _field_as_is(ink: np.ndarray, box: tuple[int, int, int, int], fitted: tuple[int, int], place) -> np.ndarray:
    """The part of the picture that the 28x28 field covers once the box is fitted to `fitted` pixels and
    placed at `place` (top, left), resampled to 28x28 with every pixel's value kept (clipped to [0, 1]).

    The whole field, not only the box: noise confined to a rectangle around the digit is unlike any
    the models were taught, and a margin cut at the box's edge would be as well."""
    top, left, bottom, right = box
    step_y, step_x = (bottom - top) / fitted[0], (right - left) / fitted[1]  # picture pixels per field pixel
    y0, x0 = round(top - place[0] * step_y), round(left - place[1] * step_x)
    y1, x1 = y0 + max(1, round(28 * step_y)), x0 + max(1, round(28 * step_x))
    h, w = ink.shape
    pad = ((max(0, -y0), max(0, y1 - h)), (max(0, -x0), max(0, x1 - w)))
    region = _beyond_edge(ink, pad) if max(max(pad)) else ink
    region = region[y0 + pad[0][0] : y1 + pad[0][0], x0 + pad[1][0] : x1 + pad[1][0]]
    return _resize(region, (28, 28))


def _beyond_edge(ink: np.ndarray, pad: tuple[tuple[int, int], tuple[int, int]]) -> np.ndarray:
    """`ink` (ink / its level) padded by `pad` with its own page mirrored, strokes taken out: the page's noise
    goes on beyond the picture's edge, but no stroke does. Mirrored with its strokes, a digit cropped close had
    copies of its strokes beside it, which the denoiser kept and the classifier read."""
    page = np.where(ndimage.binary_dilation(ink > STROKE_INK, iterations=2), 0.0, ink)
    out = np.pad(page, pad, mode="reflect" if max(max(pad)) < min(ink.shape) else "edge")
    out[pad[0][0] : pad[0][0] + ink.shape[0], pad[1][0] : pad[1][0] + ink.shape[1]] = ink
    return out


def _resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resample a float picture to (width, height) with Lanczos (anti-aliased when shrinking), clipped to [0, 1]."""
    img = Image.fromarray(image.astype(np.float32), mode="F").resize(size, Image.Resampling.LANCZOS)
    return np.clip(np.asarray(img, dtype=np.float64), 0.0, 1.0)


def _fit_20(crop: np.ndarray, fine: int = 1) -> np.ndarray:
    """Scale the cropped digit so that its longer side is 20 * `fine` pixels, keeping the aspect ratio."""
    h, w = crop.shape
    scale = 20.0 * fine / max(h, w)
    return _resize(crop, (max(fine, round(w * scale / fine) * fine), max(fine, round(h * scale / fine) * fine)))


def _shrink(digit: np.ndarray, fine: int) -> np.ndarray:
    """A digit fitted at `fine` times 20x20 -> fitted at 20x20."""
    return _resize(digit, (digit.shape[1] // fine, digit.shape[0] // fine))


def _center_of_mass_place(digit: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """Place `digit` (at most 20x20) in a 28x28 field with its centre of mass at the centre; and where (top, left)."""
    field = np.zeros((28, 28))
    h, w = digit.shape
    cy, cx = ndimage.center_of_mass(digit) if digit.sum() > 0 else (h / 2, w / 2)
    top = int(np.clip(round(14 - cy), 0, 28 - h))
    left = int(np.clip(round(14 - cx), 0, 28 - w))
    field[top : top + h, left : left + w] = digit
    return np.clip(field, 0.0, 1.0), (top, left)
