"""Where the ink is on a page of handwritten digits, whatever the page, its light and what lies around it.

`find_ink` does for a whole page what `digitize` does for one digit (the page's light taken out,
the ink's level from the picture's own noise, strong ink and the faint ink joined to it), with what
a page of many digits needs besides:

- the ink's side (dark ink or chalk) is voted by cells of a grid, so that a table or a shadow's edge,
  which sends as many votes either way, does not turn the page's margin into light "ink";
- the page's light is a grey closing of the cells' medians, which keeps a step of the light (the
  page's edge on a table, a shadow) where `digitize.background`'s smoothing spread it;
- ink must stand out of the page's own grain in its part of the picture (a leather desk, a carpet),
  and is not looked for along a step of the light, but along a shadow's edge on the page, where the light is
  followed to the pixel (`shade`);
- dark ink in a shadow is brought up to the lit page's, as far as its page is dimmer (at most 1.5 times).

`blurred` tells which marks found in it are far softer than the rest: a shadow's edge, not writing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage import segmentation

from . import faint, shade
from .desk import LIT, bend, bridged, enlarge_mask
from .digitize import MIN_CONTRAST, ImageError, _noise_sigma, ink_peak, strong_ink
from .halves import by_halves, gaussian_reach
from .pieces import window

VOTE_GRID, VOTE = 64, 0.7  # the ink's side is voted by cells of 1/64 of the longer side that stray 0.7 as far as most
VOTE_RING = 0.06  # the cells this share of the grid's rows (columns) from the picture's edge have no vote: a camera's
# date stamped in white in a corner outvoted the faint red digits of the page
REGION_DEEP, REGION_NEAR = 4, 0.5  # a cell beside this many cells whose medians lie within half its stray of its
# darkest (brightest) pixels lies on a region's edge, no stroke's: a white note on a black desk sent the votes of its
# edge's cells for light ink, and set the vote's threshold above its small digits' (a drawing app's strokes span 2-3
# cells)
LIGHT_PAGE, WHOLE_STEP = 3, 4  # a picture (each cell's every 4th pixel) straying 3 times as far light as dark
GRAIN = 3  # ink stands this many times further from the page than the page's own grain
HALO = 3  # a cell's grain is at most this many times its spread once smoothed: a desk's or a page's lost half of it
# to the smoothing (2-2.4 times), a cell crossed by sharpened strokes 10-20 times (its light halos)
STEP = 0.1  # the light bending by more than this (of white) between neighbouring cells: a step (an edge, a shadow)
PAGE_SHARE = 0.5  # of the marks: the region of the light between steps that holds this many is the page...
PAGE_EDGE = 0.05  # ...and the light bending by more than this parts it from what lies beyond: half a `STEP`, since
# a pale desk or cloth beyond a sheet bends it less, and at `STEP` the line of its edge had gaps
NEW_INK = 0.6  # the marks' heights: ink found again by a page's edge (`on_page`) in no piece this long is its bits
LIGHT_GRID = 128  # the page's light is measured in cells of 1/128 of the picture's longer side...
LIGHT_CLOSING = 7  # ...and strokes up to 7 cells wide (5% of the side) are bridged,
THICK = 0.75  # or, where the ink's strokes are wider than this share of that, twice their width
MIN_CELL = 4  # pixels: a small picture's cells are no smaller (strokes cross several)
SAMPLES = 256  # pixels of a cell enough for its median and percentiles
SHADOW_GAIN = 1.5  # ink in a shadow is brought up to the lit page's (`desk.LIT`), at most this many times (at twice,
# the grain of a deep shadow in a photo's corner became marks)
DESK_ROUNDS = 3  # the bridged desk (`desk.bridged`) is looked for again up to this many times, as the thresholds drop
JOINING = 0.3  # of the level down to which ink joined to the strong ink is a stroke: ink that joins pieces of one digit
FLAT_NOISE = 1.5 / 255  # the least noise taken for a picture first found blank
SMOOTH = 1.0  # pixels: the least smoothing of the ink; a picture shrunk to READ_SIDE has little grain left
BLURRED = 0.4  # a mark whose edges are less than this share as sharp as the page's marks' (median) is no writing
# (the shadows' edges at a photo's side were below 0.3; of the marks of 100 real pictures, no digit below 0.6)


@dataclass(frozen=True)
class Ink:
    """The ink of a picture."""

    ink: np.ndarray  # (H, W) ink strength, page level 0
    ink_s: np.ndarray  # (H, W) the same, smoothed
    core: np.ndarray  # (H, W) bool: the strong ink
    smooth: float  # the smoothing's sigma, in pixels
    dark_ink: bool
    light: np.ndarray  # (rows, cols) the page's light by cell (`_page_light`)
    cell: int  # the side of those cells, in pixels
    sigma: float  # the ink's noise
    peak: float  # the ink's peak level, which sets the strong ink's thresholds (`digitize.strong_ink`)
    grainy: np.ndarray  # (H, W) bool: ink no stronger than the page's grain where it lies, no ink
    split: bool = False  # the cells' votes on the ink's side were split, and the picture taken whole decided it

    @property
    def faint(self) -> float:  # the level down to which ink joined to the strong ink is a stroke
        return max(0.25 * self.peak, 3 * self.sigma)

    @property
    def fainter(self) -> np.ndarray:
        """(H, W) bool: the ink down to `JOINING` of the `faint` level, which may join pieces of strong ink into one
        digit (a pencil's stroke fades in and out of the strong ink)."""
        return self.ink_s > JOINING * self.faint


def _page_light(arr: np.ndarray, dark_ink: bool, closing: int = LIGHT_CLOSING) -> tuple[np.ndarray, int]:
    """The page's light by cell of a fine grid (`LIGHT_GRID` cells along the longer side), and the cell's side:
    each cell's median, the strokes taken out by a grey closing `closing` cells wide (an opening for
    light ink).

    Unlike the smoothing of `digitize.background`, a closing keeps a step of the light to within a
    cell: a table beyond the page's edge, or a shadow's edge, stays where it is instead of darkening the
    page beside it (which made the page's margin light "ink"), and a vignette's corners are followed."""
    cells, cell = _grid(arr, LIGHT_GRID)
    cells = by_halves(np.median, cells, 0, axis=-1)
    return (ndimage.grey_closing if dark_ink else ndimage.grey_opening)(cells, size=closing, mode="nearest"), cell


def run_lengths(mask: np.ndarray) -> np.ndarray:
    """For each pixel (H, W) of `mask`, the length of the run along its row that it belongs to (0 off the mask)."""
    h, w = mask.shape
    edges = np.diff(np.pad(mask, ((0, 0), (1, 1))).view(np.int8), axis=1)  # +1 where a run starts, -1 past its end
    (rows, starts), (_, ends) = np.nonzero(edges == 1), np.nonzero(edges == -1)  # both in row-major order: pairs
    lengths = (ends - starts).astype(np.int32)  # 32 bits: half the memory to go through on a 12-megapixel photo
    steps = np.zeros((h, w + 1), np.int32)
    steps[rows, starts] = lengths  # no run starts where another ends: each place is set once
    steps[rows, ends] = -lengths
    return np.cumsum(steps, axis=1, dtype=np.int32)[:, :w]


def stroke_width(core: np.ndarray) -> float:
    """The width of the widest strokes of `core` (H, W) bool, in pixels: the 90th percentile over the ink of the
    shorter of each pixel's runs along its row and its column. Measured on every other row and column: only
    strokes far wider than two pixels matter here."""
    half = core[::2, ::2]
    if not half.any():
        return 0.0
    across = np.minimum(run_lengths(half), run_lengths(half.T).T)[half]
    return 2.0 * float(np.percentile(across, 90))


def _steps(light: np.ndarray, cell: int, shape: tuple[int, int], page: np.ndarray | None = None) -> np.ndarray:
    """The pixels (H, W) bool beside a step of the light (the page's edge on a table, a shadow's sharp edge): cells
    near one where the light bends by more than `STEP` (its second difference along a row or a column), which the
    light interpolated between the cells' centres cannot follow: it is wrong there by up to the step, and the page's
    edge became a dashed line of marks. The bend, not the slope: across a soft shadow the light changes as fast, but
    evenly, and is followed; set aside, the strokes of the digits in it were lost (a 5 read as its bowl). The
    difference, not the ratio: the dim corner of a page under uneven light changes by a large ratio but a small step,
    and holds digits. The cells beside those are set aside too (a step between two cells bends both, and one that
    crosses a cell bends its neighbours), but on the `page` (rows, cols) bool when given: see `on_page`."""
    bent = bend(light)
    steps = ndimage.maximum_filter(bent, 3) > STEP
    if page is not None:
        steps = (bent > STEP) | (steps & ~page)
    return enlarge_mask(steps, cell, shape)


def beyond_page(found: Ink, boxes: np.ndarray) -> list[int]:
    """The marks (`boxes` (N, 4): top, left, bottom, right) in a region of the picture that steps of the light
    (`PAGE_EDGE`) part from the page's, the region holding most of the marks: the grain of a desk or a drawer beyond
    the page's edge, things lying on it. None when no region holds `PAGE_SHARE` of the marks, nor where no step
    closes a region off (a soft shadow, a vignette: the light bends evenly there), nor in a region that is the page
    under a shadow's sharp edge (`shade.shaded`)."""
    regions, at, page = _regions(found, boxes)
    if not page:
        return []
    others = set(at[(at > 0) & (at != page)].tolist())
    others -= set(shade.shaded(found.ink, found.core, found.light, regions, found.cell, page, others))
    return np.flatnonzero(np.isin(at, list(others))).tolist()


def on_page(found: Ink, boxes: np.ndarray) -> Ink | None:
    """The strong ink found again, at the same thresholds, with the cells beside a step of the light set aside only
    off the page: the page's region of the light (as `beyond_page` finds it, from the marks' `boxes` (N, 4)) is right
    up to its edge, and the digits written within two cells of a sheet's edge on a desk were set aside with it (a
    first digit lost, a 5 read as its flagless 7). Beyond the page, a desk's bevel or a bright strip beside the step
    stays set aside; the sheet's edge, found again, sets no thresholds (faint digits were lost). None when no region
    of the light holds the marks."""
    regions, _, page = _regions(found, boxes)
    if not page:
        return None
    aside = found.grainy | _steps(found.light, found.cell, found.ink.shape, regions == page)
    core, _ = strong_ink(found.ink_s, found.sigma, aside, found.peak)
    core = faint.with_faint_digits(found.ink_s, core, found.sigma, found.peak, aside)
    added, _ = ndimage.label(core & ~found.core, structure=np.ones((3, 3), bool))
    longest = max((max(r.stop - r.start, c.stop - c.start) for r, c in ndimage.find_objects(added)), default=0)
    if longest < NEW_INK * np.median(boxes[:, 2] - boxes[:, 0]):
        return None  # the same marks, but for bits of the edge: not worth finding them again
    return dataclasses.replace(found, core=core)


def _regions(found: Ink, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """The regions of the light between steps (`PAGE_EDGE`) (rows, cols) labelled, the one under each mark (`boxes`
    (N, 4); 0 for one on a step), and the page's: the region holding `PAGE_SHARE` of the marks (0 for none, and when
    no step parts the light)."""
    regions, count = ndimage.label(bend(found.light) <= PAGE_EDGE)
    at = np.zeros(len(boxes), int)
    if count < 2 or not len(boxes):
        return regions, at, 0
    for k, (top, left, bottom, right) in enumerate((boxes - [0, 0, 1, 1]) // found.cell):  # the cells it covers
        under = regions[top : bottom + 1, left : right + 1].ravel()
        under = under[under > 0]
        at[k] = np.bincount(under).argmax() if len(under) else 0  # a mark on the step itself stays
    counts = np.bincount(at, minlength=count + 1)
    counts[0] = 0
    page = int(counts.argmax())
    return regions, at, page if counts[page] >= PAGE_SHARE * len(boxes) else 0


def _dark_ink(cells: np.ndarray, low: np.ndarray, middle: np.ndarray, high: np.ndarray) -> tuple[bool, bool]:
    """Whether the ink is darker than the page, from the pixels of each cell of a grid (rows, cols, pixels) and
    their 2nd, 50th and 98th percentiles: a cell whose darkest pixels stray from its median more than twice as far as
    its brightest, and far (`VOTE` of the strongest stray), votes for dark ink. Light ink (chalk on a board) needs
    twice the votes of dark ink: a table's or a shadow's edge sends votes both ways, and bright grain (leather, a
    glossy desk) light ones; dark ink needs twice the votes of light ink too. Between, the picture taken whole
    decides: light ink if its brightest pixels stray from its median `LIGHT_PAGE` times as far as its darkest. Thick
    strokes send votes both ways (the cells along a stroke's edge, more stroke than page, vote for the page), and
    a drawing app's white strokes on black would be read as dark ink. The cells near the picture's edge
    (`VOTE_RING`), and those on the edge of a region of their stray's side (`_region_edge`: a sheet's on a desk), take
    no part, when enough are left. Also whether votes went both ways and the picture taken whole decided: a white
    note on a dark desk that fills most of the picture, its grain glinting, splits them, and whole it is mostly desk."""
    dark, light = middle - low, high - middle
    may_dark, may_light = ~_region_edge(middle, low, dark), ~_region_edge(middle, high, light)
    ring = [max(1, round(VOTE_RING * n)) for n in cells.shape[:2]]
    if all(n > 2 * r + 2 for n, r in zip(cells.shape[:2], ring, strict=True)):
        inside = (slice(ring[0], -ring[0]), slice(ring[1], -ring[1]))
        cells, dark, light, may_dark, may_light = (a[inside] for a in (cells, dark, light, may_dark, may_light))
    strong = max(MIN_CONTRAST, VOTE * float(np.percentile(np.maximum(dark * may_dark, light * may_light), 99)))
    votes_dark = int(((dark > 2 * light) & (dark > strong) & may_dark).sum())
    votes_light = int(((light > 2 * dark) & (light > strong) & may_light).sum())
    if votes_light > 2 * votes_dark:
        return False, False
    if 2 * votes_light < votes_dark:
        return True, False
    whole_low, whole_middle, whole_high = np.quantile(cells[..., ::WHOLE_STEP], [0.02, 0.5, 0.98])
    whole_dark = whole_high - whole_middle <= max(MIN_CONTRAST, LIGHT_PAGE * (whole_middle - whole_low))
    return bool(whole_dark), votes_dark > 0 and votes_light > 0


def _region_edge(middle: np.ndarray, extreme: np.ndarray, stray: np.ndarray) -> np.ndarray:
    """Cells (rows, cols) bool beside a region of their `extreme` pixels' level: in one direction the medians of the
    next `REGION_DEEP` cells all lie within `REGION_NEAR` of their `stray` from it. Past a stroke, the page again."""
    rows, cols = middle.shape
    padded = np.pad(middle, REGION_DEEP, mode="edge")
    edge = np.zeros(middle.shape, bool)
    for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0)):
        near = np.ones(middle.shape, bool)
        for k in range(1, REGION_DEEP + 1):
            top, left = REGION_DEEP + k * dy, REGION_DEEP + k * dx
            near &= np.abs(padded[top : top + rows, left : left + cols] - extreme) < REGION_NEAR * stray
        edge |= near
    return edge


def _grid(arr: np.ndarray, grid: int) -> tuple[np.ndarray, int]:
    """The picture's pixels by cell of a grid `grid` cells along the longer side (rows, cols, pixels), the
    picture padded with its edge to whole cells; and the cell's side. A cell over `SAMPLES` pixels is
    sampled every other row and column: its median and percentiles barely move, at a quarter of the cost."""
    cell = _cell(arr.shape, grid)
    rows, cols = -(-arr.shape[0] // cell), -(-arr.shape[1] // cell)
    arr = np.pad(arr, ((0, rows * cell - arr.shape[0]), (0, cols * cell - arr.shape[1])), mode="edge")
    step = 2 if cell * cell > SAMPLES else 1
    cells = arr.reshape(rows, cell, cols, cell)[:, ::step, :, ::step]
    return cells.transpose(0, 2, 1, 3).reshape(rows, cols, -1), cell


def _cell(shape: tuple[int, int], grid: int) -> int:
    """The side in pixels of the cells of a grid `grid` cells along a picture's longer side."""
    return max(MIN_CELL, -(-max(shape) // grid))


def _enlarge(cells: np.ndarray, cell: int, shape: tuple[int, int]) -> np.ndarray:
    """A grid's values (rows, cols) at every pixel of the picture (H, W), interpolated between the cells' centres."""
    size = (cells.shape[1] * cell, cells.shape[0] * cell)
    return np.asarray(Image.fromarray(cells.astype(np.float32), mode="F").resize(size, Image.Resampling.BILINEAR))[
        : shape[0], : shape[1]
    ]


def find_ink(arr: np.ndarray, dark_ink: bool | None = None) -> Ink:
    """The picture's ink: what stands out of the page's light by more than the noise, and by more than
    `GRAIN` times the page's own grain where it lies (so the texture of a desk or a carpet in view is no
    ink), nor along a step of the light. The ink is darker than the page when `dark_ink`, lighter when not, and
    voted on (`_dark_ink`) when None.

    A digit in thick marker filling the picture can have strokes wider than the page's light bridges: where two
    of them meet, the light followed the ink and cut the stroke in two (a 9 read as a 0 over a 1). The light is
    then measured again, bridging twice the strokes' width."""
    arr = arr.astype(np.float32)  # half the memory and time of float64 on a 12-megapixel photo
    cells, cell = _grid(arr, VOTE_GRID)
    low, below, middle, above, high = np.quantile(cells, [0.02, 0.16, 0.5, 0.84, 0.98], axis=-1)
    split = False
    if dark_ink is None:
        dark_ink, split = _dark_ink(cells, low, middle, high)
    grain = _enlarge(_grain(arr, (low, below, above, high)), cell, arr.shape)
    least = 0.0
    try:
        found, light_cell = _ink(arr, dark_ink, grain, LIGHT_CLOSING)
    except ImageError:  # a page flattened into blocks (a photo saved as a coarse JPEG) has no noise to measure, and the
        least = FLAT_NOISE  # blocks' steps and the ringing around the strokes set the ink's level below any stroke's
        found, light_cell = _ink(arr, dark_ink, grain, LIGHT_CLOSING, least)
    if (width := stroke_width(found.core)) > THICK * LIGHT_CLOSING * light_cell:
        found, _ = _ink(arr, dark_ink, grain, math.ceil(2 * width / light_cell), least)
    return dataclasses.replace(found, split=split)


def _grain(arr: np.ndarray, tails: tuple[np.ndarray, ...]) -> np.ndarray:
    """The page's grain in each cell (rows, cols), from the cells' `tails` (their 2nd, 16th, 84th and 98th
    percentiles): the spread of one tail, the narrower. A stroke through a cell widens its dark tail, and its light
    one only once it fills the cell (the spread about the median grew with every stroke); a desk's grain or a
    carpet widens both. But a camera sharpens its photos, and a picture shrunk with a sharpening filter (Lanczos)
    more: a light halo a pixel or two wide runs along each stroke and widened the light tail of every cell a stroke
    crosses, to 10-15 times the page's grain, and a thin pen's strokes fell under `GRAIN` times it. Smoothed as the
    ink is (`SMOOTH`), a halo merges with its stroke, while a page's or a desk's grain keeps half its spread: a cell's
    grain is at most `HALO` times its spread smoothed."""
    low, below, above, high = tails
    smooth, _ = _grid(_smoothed(arr), VOTE_GRID)
    s_low, s_below, s_above, s_high = np.quantile(smooth, [0.02, 0.16, 0.84, 0.98], axis=-1)
    return np.minimum(np.minimum(high - above, below - low), HALO * np.minimum(s_high - s_above, s_below - s_low))


def _ink(arr: np.ndarray, dark_ink: bool, grain: np.ndarray, closing: int, least_noise: float = 0.0) -> tuple[Ink, int]:
    """`find_ink` with the page's light bridging strokes `closing` cells wide, and the noise taken as `least_noise` at
    least; and the light's cell side. Dark ink is measured against the page's light where it lies, brought up to the
    lit page's (`_in_shadow`)."""
    light, light_cell = _page_light(arr, dark_ink, closing)
    page, steps = _beside_steps(arr, light, light_cell, grain, dark_ink, closing)
    ink = page - arr if dark_ink else arr - page
    if dark_ink:
        gain = _in_shadow(light, page)
        ink, grain = ink * gain, grain * gain
    ink_s = _smoothed(ink)
    sigma = max(_noise_sigma(ink_s), least_noise)
    grainy = ink_s <= GRAIN * grain
    core, peak = _strong_ink(ink_s, sigma, grainy | steps)
    for _ in range(DESK_ROUNDS if dark_ink else 0):  # the thresholds drop, and more of the desk may come up
        if not (desk := bridged(arr, light, light_cell, core)).any():
            break
        grainy |= desk
        core, peak = _strong_ink(ink_s, sigma, grainy | steps)
    return Ink(ink, ink_s, core, SMOOTH, dark_ink, light, light_cell, sigma, peak, grainy), light_cell


def _smoothed(image: np.ndarray) -> np.ndarray:
    """`image` (H, W) smoothed by a Gaussian of `SMOOTH` pixels."""
    return by_halves(ndimage.gaussian_filter, image, gaussian_reach(SMOOTH), SMOOTH)


def _beside_steps(arr: np.ndarray, light: np.ndarray, light_cell: int, grain: np.ndarray, dark_ink: bool,
                  closing: int) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """The page's light (H, W) at every pixel, and the pixels (H, W) bool beside a step of it that are set aside
    (`_steps`): not those along a shadow's edge on the page, where the light is followed to the pixel (`shade`)."""
    page, steps = _enlarge(light, light_cell, arr.shape), _steps(light, light_cell, arr.shape)
    if light_cell <= MIN_CELL:  # a small picture's cells are 4 pixels, what is set aside a stroke wide; followed, the
        return page, steps  # weave of the cloth around a crop of 180 x 45 pixels turned its reading (51 for 458)
    edge = shade.edge(steps, light, light_cell, grain, _cell(arr.shape, VOTE_GRID))
    if not edge.any():
        return page, steps
    size = max(shade.FINE_LEAST, round(shade.FINE * light_cell * closing / LIGHT_CLOSING)) | 1
    return shade.followed(arr, page, edge, dark_ink, size, SMOOTH, light_cell).astype(np.float32), steps & ~edge


def _in_shadow(light: np.ndarray, page: np.ndarray) -> np.ndarray:
    """How many times (H, W) the ink is brought up where the page's light (by cell, and at every pixel) is dimmer
    than the lit page's (`LIT` percentile of the cells): ink in a shadow (the phone's, a hand's) stands out of
    its page by as much less as the page is darker, and its faint strokes fell below the lit page's thresholds.
    At most `SHADOW_GAIN` times: a desk or a deep shadow beyond the page would have its grain made ink."""
    lit = float(np.percentile(light, LIT))
    return np.clip(lit / np.maximum(page, 1e-3), 1.0, SHADOW_GAIN).astype(np.float32)


def _strong_ink(ink_s: np.ndarray, sigma: float, aside: np.ndarray) -> tuple[np.ndarray, float]:
    """The strong ink and the ink's peak level, taken again without the ink at the picture's edge (a table,
    a shadow, the page's edge), or a dark border would set the thresholds above faint digits. The ink at the
    edge itself stays, for the digits written on a rule or a grid that runs off the picture; and the first
    level stays if the edge's ink was all there was (squared paper, every digit on its grid). Digits fainter than
    the strong ink beside the page's digits are taken in (`faint`)."""
    core, peak = strong_ink(ink_s, sigma, aside)
    at_edge = core & ~segmentation.clear_border(core)
    with contextlib.suppress(ImageError):  # raised when the edge's ink was all there was
        if at_edge.any():
            inner = ink_peak(ink_s, sigma, aside | by_halves(ndimage.binary_dilation, at_edge, 3, iterations=3))
            core, peak = strong_ink(ink_s, sigma, aside, inner)
    return faint.with_faint_digits(ink_s, core, sigma, peak, aside), peak


def blurred(found: Ink, boxes: np.ndarray, labels: np.ndarray, pieces: list[np.ndarray]) -> list[int]:
    """The marks (their `boxes` (N, 4) top, left, bottom, right; `labels`, the pieces of ink labelled, and each
    mark's `pieces`) whose edges are far softer than the page's other marks' (`BLURRED`): the edge of a shadow or of
    a thing out of focus beside the page, not writing. Sharpness is the steepest of the ink's slopes at the mark
    (its 90th percentile) over its ink's level; a picture blurred all over blurs its digits alike."""
    if len(boxes) < 3:
        return []
    sharpness = np.zeros(len(boxes))
    for k, box in enumerate(boxes):
        win = window(box, found.ink.shape, 2)
        ink = found.ink[win]
        core = np.isin(labels[win], pieces[k])
        slope = np.hypot(*np.gradient(ink))[ndimage.binary_dilation(core, iterations=2)]
        sharpness[k] = np.percentile(slope, 90) / max(float(np.percentile(ink[core], 90)), 1e-6)
    return np.flatnonzero(sharpness < BLURRED * np.median(sharpness)).tolist()
