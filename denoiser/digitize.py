"""Turn any picture of a digit into an MNIST-style 28x28 input, the way MNIST itself was made.

A phone photo or a scan is not a clean digital digit: the page may be dim or coloured, lit
unevenly, grainy, rotated by the camera, and hold other marks. `extract` finds the digit the
way a person would: it applies the photo's EXIF orientation, takes the page's own light out
(a coarse median of the picture, so shading and vignetting leave no grey cast), decides from
the picture which side of the page's level the ink is on (dark ink on paper, chalk on a board),
thresholds at levels set by the picture's own noise and contrast, and keeps the largest mark as
the digit, dropping specks and the dark areas beyond the page's edge.

Then MNIST's recipe (`mnist_style`, LeCun et al.): the digit's box fitted into 20x20 keeping its
aspect ratio, placed in a 28x28 field so that its centre of mass is at the centre, white on black,
with strokes as wide as MNIST's. `keep_noise=True` finds, crops, scales and centres the
digit in the same way but keeps the picture's own values (its noise, blur and shading), so
that the noise a camera made can be removed by a model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageDraw
from scipy import ndimage
from skimage import measure, morphology, transform

from .mnist_style import _box, mnist_digit
from .picture_io import ImageError, open_image

INK_THRESHOLD = 0.1  # a canvas whose brightest pixel is below this has nothing drawn on it
MIN_CONTRAST = 0.05  # ink must differ from the page by ~13 grey levels, or the picture counts as blank
BACKGROUND_GRID = 32  # the page's light is estimated on a grid this many cells along the longer side
GRAINY_SIDE = 400  # pictures up to this size on their longer side are tried with more smoothing
CLEAR_CONTRAST = 20  # ink this many noise sigmas above the page is found: no other page estimate is tried
# The ink's level is the 90th percentile of the smoothed strokes: their median sits below a thin stroke's
# true contrast (smoothing lowers it), which made digits found in grainy pictures too bright and thick.
LEVEL_Q = 90
# Not one digit: more than MAX_MARKS marks of one size (specks, print, a page of digits), a "digit" of more
# than MAX_PIECES such pieces, or a largest mark under SPECK_SIDE of the picture's side with MAX_SPECKS like it.
MAX_MARKS, MAX_PIECES, MAX_SPECKS, SPECK_SIDE = 200, 8, 20, 0.03


@dataclass(frozen=True)
class Extraction:
    """A digit found in a picture: the MNIST-style digit and where it was found."""

    digit: torch.Tensor  # (1, 28, 28) in [0, 1], white on black
    picture: np.ndarray  # (H, W) uint8: the picture searched, upright and at most MAX_SIDE on a side
    box: tuple[int, int, int, int]  # (top, left, bottom, right) of the digit in `picture`, bottom/right exclusive
    marks: int  # separate marks found in the picture; the digit is the largest of them
    dark_ink: bool  # True when the ink was darker than the page (and the picture was inverted)


def _as_grey_array(grey: np.ndarray | Image.Image) -> np.ndarray:
    """A greyscale picture (uint8 or float in [0, 1]) -> float64 (H, W) in [0, 1]; ImageError if unusable."""
    arr = np.asarray(grey, dtype=np.float64)
    if arr.ndim != 2 or arr.size == 0:
        raise ImageError(f"Expected a greyscale picture (H, W); got shape {arr.shape}.")
    if not np.isfinite(arr).all():
        raise ImageError("The picture contains NaN or infinite values.")
    return arr / 255.0 if arr.max() > 1.0 else arr


def _cells(arr: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """Median of each cell of a grid `BACKGROUND_GRID` cells along the longer side, and the padded shape."""
    h, w = arr.shape
    cell = max(1, -(-max(h, w) // BACKGROUND_GRID))
    rows, cols = -(-h // cell), -(-w // cell)
    padded = np.pad(arr, ((0, rows * cell - h), (0, cols * cell - w)), mode="edge")
    return np.median(padded.reshape(rows, cell, cols, cell).transpose(0, 2, 1, 3).reshape(rows, cols, -1), -1), (
        rows * cell,
        cols * cell,
    )


def background(arr: np.ndarray, local: bool = True) -> np.ndarray:
    """The page's own light at every pixel.

    `local`: a median over cells, smoothed over ~40% of the picture; ink covers well under half of
    any window that large, so it follows the page's tone, shading and vignetting at any stroke width.
    Otherwise a plane fitted to the cells (light from one side), for a digit that fills the picture.
    """
    h, w = arr.shape
    cells, padded = _cells(arr)
    if local:
        window = max(3, int(0.4 * max(cells.shape)) | 1)
        cells = ndimage.median_filter(cells, size=window, mode="nearest")
    else:
        cells = _plane(cells)
    return transform.resize(cells, padded, order=1, mode="edge", anti_aliasing=False)[:h, :w]


def _plane(cells: np.ndarray) -> np.ndarray:
    """A plane a + b*row + c*col fitted to the cells, twice, the second time without the cells far off it (ink)."""
    rows, cols = np.mgrid[0 : cells.shape[0], 0 : cells.shape[1]]
    design = np.stack([np.ones(cells.size), rows.ravel(), cols.ravel()], 1)
    keep = np.ones(cells.size, bool)
    for _ in range(2):
        coef = np.linalg.lstsq(design[keep], cells.ravel()[keep], rcond=None)[0]
        residual = cells.ravel() - design @ coef
        keep = np.abs(residual - np.median(residual)) <= 2 * _noise_sigma(residual) + 1e-9
    return (design @ coef).reshape(cells.shape)


def _noise_sigma(values: np.ndarray) -> float:
    """A robust standard deviation (median absolute deviation); ink is a minority, so it barely moves it."""
    values = values.ravel()[:: max(1, values.size // 65536)]  # a sample is as good and much quicker
    return max(1.4826 * float(np.median(np.abs(values - np.median(values)))), 0.5 / 255)


def _ink_map(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool, float]:
    """Ink strength (page level = 0) unsmoothed and smoothed, whether the ink is dark, the smoothing's sigma.

    The ink is on the side of the page's level where the picture strays furthest beyond its
    noise: dark ink on a page of any brightness, or chalk on a board. A grainy picture is
    smoothed more, and a digit that fills the picture needs a page level taken from the whole
    picture: of the two page estimates and three smoothing widths, the one where the ink stands
    out furthest from the noise is kept (wider smoothing lowers the noise faster than a
    stroke's contrast, until it is as wide as the stroke).
    """
    base = _base_smooth(arr.shape)
    if max(arr.shape) > GRAINY_SIDE:  # little noise is left per pixel once shrunk to MAX_SIDE: one smoothing does
        best = _ink_side(arr - background(arr), base)
        if best[0] < CLEAR_CONTRAST:  # a faint digit, or one filling the picture: try the page as a plane too
            best = max(best, _ink_side(arr - background(arr, local=False), base), key=lambda side: side[0])
    else:
        sides = [
            _ink_side(arr - background(arr, local), s) for local in (True, False) for s in (base, 2 * base, 3 * base)
        ]
        best = max(sides, key=lambda side: side[0])
    _, sign, diff, diff_s, smooth = best
    return sign * diff, sign * diff_s, sign < 0, smooth


def _base_smooth(shape: tuple[int, ...]) -> float:
    """The least smoothing, in pixels: ~1 px of an MNIST digit when the digit fills a quarter of the picture."""
    return max(0.7, max(shape) / 400)


def _ink_side(diff: np.ndarray, smooth: float) -> tuple[float, float, np.ndarray, np.ndarray, float]:
    """How far the ink stands out of the noise at this smoothing (its level over the noise's sigma), and its sign."""
    diff_s = ndimage.gaussian_filter(diff, smooth)
    sigma = _noise_sigma(diff_s)
    dark = np.clip(-diff_s - 4 * sigma, 0, None).sum() > np.clip(diff_s - 4 * sigma, 0, None).sum()
    sign = -1.0 if dark else 1.0
    candidates = sign * diff_s[sign * diff_s > 4 * sigma]
    contrast = float(np.percentile(candidates, 95)) / sigma if candidates.size >= 3 else 0.0
    return contrast, sign, diff, diff_s, smooth


def _components(core: np.ndarray) -> tuple[np.ndarray, list, np.ndarray]:
    """Label the strong ink; drop specks, ruled lines, and dark areas at the border thicker than a stroke.

    Returns the labels, the regions kept, and the pixels of the dark areas dropped (the page's edge, shadows).
    """
    labels = measure.label(core, connectivity=2)
    regions = measure.regionprops(labels, intensity_image=ndimage.distance_transform_edt(core))
    kept, blobs = [], []
    for region in regions:
        kind = _mark_kind(region, 2 * region.intensity_max, core.shape)
        (kept if kind == "mark" else blobs if kind == "blob" else []).append(region)
    largest = max((r.area for r in kept), default=0)
    return labels, [r for r in kept if r.area >= 0.05 * largest], np.isin(labels, [r.label for r in blobs])


def _mark_kind(region, thick: float, shape: tuple[int, int]) -> str:
    """ "blob" beyond the page's edge or a shadow, "line" ruled across the page, or a "mark" that may be the digit."""
    h, w = shape
    top, left, bottom, right = region.bbox
    extent = max(bottom - top, right - left)
    at_border = top == 0 or left == 0 or bottom == h or right == w
    spans = bottom - top > 0.9 * h or right - left > 0.9 * w
    if at_border and (thick > 0.4 * extent or (spans and region.solidity > 0.9)):
        return "blob"  # thicker than a stroke, or a solid band along a whole side
    if extent > 0.9 * max(h, w) and thick * 12 < extent:
        return "line"
    return "mark"


def _group(regions: list) -> tuple[list, int]:
    """The largest mark and the pieces beside it (a digit drawn in several strokes); and the count of marks.

    Boxes are compared as arrays: a picture of thousands of specks is grouped in milliseconds (region
    objects compared one by one, as `list.remove` does, took minutes)."""
    regions = sorted(regions, key=lambda r: -r.area)
    boxes = np.array([r.bbox for r in regions], dtype=float)  # (N, 4): top, left, bottom, right
    top, left, bottom, right = boxes[0]
    margin = 0.15 * max(bottom - top, right - left)
    taken = np.zeros(len(regions), bool)
    taken[0] = grew = True
    while grew:
        near = ~taken & (boxes[:, 0] < bottom + margin) & (boxes[:, 2] > top - margin)
        near &= (boxes[:, 1] < right + margin) & (boxes[:, 3] > left - margin)
        grew = bool(near.any())
        taken |= near
        top, left = boxes[taken, 0].min(), boxes[taken, 1].min()
        bottom, right = boxes[taken, 2].max(), boxes[taken, 3].max()
    similar = sum(r.area >= 0.15 * regions[0].area for r, t in zip(regions, taken, strict=True) if not t)
    return [r for r, t in zip(regions, taken, strict=True) if t], 1 + similar


def _refuse_specks(regions: list, group: list, shape: tuple[int, int]) -> None:
    """ImageError for a picture of many marks of one size (specks, grain, print): none of them is a digit.

    A digit is one mark, or a few pieces (a 5's flag, a broken stroke: at most 4 in every simulated
    photo); grouped, specks chain into one "digit" of hundreds of pieces the size of the picture."""
    areas = np.array([r.area for r in regions])
    similar = int((areas >= 0.15 * areas.max()).sum())
    pieces = sum(r.area >= 0.15 * areas.max() for r in group)
    top, left, bottom, right = regions[int(areas.argmax())].bbox
    small = max(bottom - top, right - left) < SPECK_SIDE * max(shape)
    if similar > MAX_MARKS or pieces > MAX_PIECES or (small and similar > MAX_SPECKS):
        raise ImageError(f"No digit found: the picture is blank but for specks ({similar:,} small marks of one size).")


def ink_peak(ink_s: np.ndarray, sigma: float, aside: np.ndarray) -> float:
    """The ink's peak level: the 95th percentile of the ink well above the noise `sigma`, outside `aside`;
    ImageError if that is too faint to be ink (a blank picture)."""
    candidates = ink_s[(ink_s > 4 * sigma) & ~aside]
    peak = float(np.percentile(candidates, 95)) if candidates.size >= 3 else 0.0
    if peak < MIN_CONTRAST:
        raise ImageError("No digit found: the picture is blank.")
    return peak


def strong_ink(
    ink_s: np.ndarray, sigma: float, aside: np.ndarray, peak: float | None = None
) -> tuple[np.ndarray, float]:
    """The ink well above the noise `sigma` and the ink's `peak` level (by `ink_peak` unless given), outside
    `aside`, and the peak; ImageError if blank."""
    peak = ink_peak(ink_s, sigma, aside) if peak is None else peak
    # Strong ink, and the fainter ink joined to it: a stroke that fades stays one mark.
    core = _hysteresis(np.where(aside, 0, ink_s), max(0.3 * peak, 3.5 * sigma), max(0.5 * peak, 5 * sigma))
    return core, peak


def _hysteresis(image: np.ndarray, low: float, high: float) -> np.ndarray:
    """The pixels above `low` joined to a pixel above `high`, as `skimage.filters.apply_hysteresis_threshold`
    finds them, with the marks joined to strong ink counted in one pass (skimage's sum over each of the
    thousands of marks of a page of specks took a fifth of a second)."""
    labels, count = ndimage.label(image > low)
    joined = np.bincount(labels[image > high], minlength=count + 1) > 0
    joined[0] = False
    return joined[labels]


def _find(ink_s: np.ndarray, smooth: float) -> tuple[np.ndarray, int, float]:
    """The digit's mask, the count of marks, and the ink's level; ImageError for a blank picture.

    The thresholds follow the ink's level; when a dark area beyond the page's edge is found, it is
    set aside and the level is taken again from the rest, or faint ink would fall below its threshold.
    """
    sigma = _noise_sigma(ink_s)
    aside = np.zeros(ink_s.shape, bool)
    for _ in range(2):
        core, peak = strong_ink(ink_s, sigma, aside)
        labels, regions, blobs = _components(core)
        if not blobs.any():
            break
        aside |= ndimage.binary_dilation(blobs, iterations=3)
    if not regions:
        raise ImageError(
            "No digit found: the picture is blank but for marks that cannot be a digit (specks, lines, edges)."
        )
    group, marks = _group(regions)
    _refuse_specks(regions, group, ink_s.shape)
    core = np.isin(labels, [r.label for r in group])
    mask = grow_strokes(core, ink_s, max(0.25 * peak, 3 * sigma), smooth)
    return mask, marks, float(np.percentile(ink_s[core], LEVEL_Q))


def grow_strokes(core: np.ndarray, ink_s: np.ndarray, faint: float, smooth: float) -> np.ndarray:
    """The strong ink `core` and the faint ink (`ink_s` above `faint`) within twice the smoothing of it:
    the smoothing spreads a stroke's edge that far, and a threshold on the strong ink alone would thin it."""
    reach = max(1, round(2 * smooth))
    mask = np.zeros_like(core)
    window = _window(core, 2 * reach + 2)  # dilations only near the digit: a 12-megapixel photo is mostly page
    mask[window] = (ink_s[window] > faint) & ndimage.binary_dilation(core[window], morphology.disk(reach))
    return mask


def _window(mask: np.ndarray, margin: int) -> tuple[slice, slice]:
    """The box of `mask` grown by `margin` pixels on each side, clipped to the picture."""
    top, left, bottom, right = _box(mask)
    h, w = mask.shape
    return slice(max(0, top - margin), min(h, bottom + margin)), slice(max(0, left - margin), min(w, right + margin))


def extract(grey: np.ndarray | Image.Image, *, keep_noise: bool = False) -> Extraction:
    """Find the digit in a greyscale picture and make it MNIST-style; ImageError if there is none.

    `keep_noise=False` gives the clean digit: only the digit's own strokes, on black. With
    `keep_noise=True` the same digit is cropped, scaled and centred, but every pixel of the field
    keeps its value, noise included.
    """
    arr = _as_grey_array(grey)
    ink, ink_s, dark_ink, smooth = _ink_map(arr)
    mask, marks, level = _find(ink_s, smooth)
    grainy = smooth > _base_smooth(arr.shape)  # a grainy picture: the smoothed strokes are the cleaner ones
    field, box = mnist_digit(ink, ink_s if grainy else ink, mask, level, keep_noise=keep_noise)
    digit = torch.from_numpy(field).float().unsqueeze(0)
    picture = np.round(arr * 255).astype(np.uint8)
    return Extraction(digit, picture, box, marks, dark_ink)


def to_mnist(grey: np.ndarray | Image.Image, *, keep_noise: bool = False) -> torch.Tensor:
    """A greyscale picture (uint8 or float in [0, 1]) -> MNIST-style tensor (1, 28, 28) in [0, 1]."""
    return extract(grey, keep_noise=keep_noise).digit


def extract_image(data: bytes, *, keep_noise: bool = False) -> Extraction:
    """Image file bytes (PNG, JPEG, BMP, WebP, ...) -> the digit found in them, with where it was found."""
    return extract(open_image(data), keep_noise=keep_noise)


def image_to_mnist(data: bytes, *, keep_noise: bool = False) -> torch.Tensor:
    """Image file bytes (PNG, JPEG, BMP, WebP, ...) -> MNIST-style tensor (1, 28, 28) in [0, 1]."""
    return extract_image(data, keep_noise=keep_noise).digit


def canvas_picture(rgba: np.ndarray) -> np.ndarray:
    """A drawing canvas's RGBA pixels (H, W, 4) -> grey (H, W) in [0, 1], transparent pixels black.

    Transparent pixels count as black (no ink), unlike uploads, where transparency is paper.
    """
    arr = np.asarray(rgba, dtype=np.float64)
    if arr.ndim != 3 or arr.shape[-1] != 4 or arr.size == 0:
        raise ImageError(f"Expected RGBA canvas pixels shaped (H, W, 4); got shape {arr.shape}.")
    grey = arr[..., :3].mean(axis=-1) * (arr[..., 3] / 255.0)  # (H, W) in [0, 255], composited on black
    if grey.max() < INK_THRESHOLD * 255:
        raise ImageError("No digit found: the canvas is blank.")
    return grey / 255.0


def canvas_to_mnist(rgba: np.ndarray, *, keep_noise: bool = False) -> torch.Tensor:
    """A drawing canvas's RGBA pixels (H, W, 4), light ink on a dark or transparent field -> (1, 28, 28)."""
    return to_mnist(canvas_picture(rgba), keep_noise=keep_noise)


def boxed(found: Extraction, width: int = 240) -> Image.Image:
    """The searched picture, `width` pixels wide, in colour, with a red box where the digit was found."""
    img = Image.fromarray(found.picture).convert("RGB")
    scale = width / img.width
    img = img.resize((width, max(1, round(img.height * scale))), Image.Resampling.BOX)
    top, left, bottom, right = (round(v * scale) for v in found.box)
    ImageDraw.Draw(img).rectangle((left - 2, top - 2, right + 1, bottom + 1), outline=(230, 30, 30), width=2)
    return img


def white_on_black(picture: torch.Tensor) -> torch.Tensor:
    """A (1, H, W) picture in [0, 1] with its ink made white on black, the polarity decided as `extract` decides it,
    whatever the picture's size (a 28x28 digit is not re-cropped or re-centred)."""
    dark_ink = _ink_map(picture[0].double().numpy())[2]
    return 1 - picture if dark_ink else picture
