"""Read a picture of many handwritten digits: a phone number, a row of thirty, a sheet of lines.

`find_digits` decodes the picture larger than `preprocess.open_image` does for one digit (a long
row of small digits would be a few pixels tall at 1024), takes the page's light out and finds the
ink as `preprocess` does, sorts the ink into marks and lines (`marks`), and makes each mark an
MNIST-style digit with `preprocess.mnist_digit`, the code that makes the digit of `image_to_mnist`.
The shipped classifier reads them all in one batch. A mark much wider than the line's digits may be
two that touch: it is cut at the columns of least ink, and the cut is kept when the classifier is
surer of the pieces than of the whole. A mark the classifier is unsure of, or shaped like no digit
(a dash), reads as "?".
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from scipy import ndimage
from skimage import segmentation

from .classifier import load_classifier, read
from .marks import Marks, find_marks
from .preprocess import (
    LEVEL_Q,
    MIN_CONTRAST,
    ImageError,
    _as_grey_array,
    _noise_sigma,
    grow_strokes,
    ink_peak,
    mnist_digit,
    open_image,
    strong_ink,
)

READ_SIDE = 2048  # pictures are decoded at up to this many pixels on their longer side (a 12 MP photo's row of
# forty digits is then ~30 px tall); the digits are made at 20x20 whatever the picture's size
VOTE_GRID, VOTE = 64, 0.7  # the ink's side is voted by cells of 1/64 of the longer side that stray 0.7 as far as most
GRAIN = 3  # ink stands this many times further from the page than the page's own grain
STEP = 1.3  # neighbouring cells whose light differs by more than this factor: a step (an edge, a shadow)
LIGHT_GRID = 128  # the page's light is measured in cells of 1/128 of the picture's longer side...
LIGHT_CLOSING = 7  # ...and strokes up to 7 cells wide (5% of the side) are bridged
SMOOTH = 1.0  # pixels: the least smoothing of the ink; a picture shrunk to READ_SIDE has little grain left
NOT_A_DIGIT = "?"
CONFIDENT = 0.6  # a mark the classifier gives less than this is not read as a digit
WIDEST = 1.6  # a mark wider than this many of its heights is no digit (a dash, a word)
WIDE = 1.0  # a mark wider than this many of its line's heights...
CUTS = 3  # ...is tried cut into 2 (3 if twice as wide) digits, at this many columns of least ink for each cut
PART_TALL = 0.6  # heights: each digit a mark is cut into is at least this tall
DIGIT_WIDTH = (0.8, 0.3)  # a digit's width in its line's heights: mean and spread (a 1 is 0.3, a 0 up to 1.2)


@dataclass(frozen=True)
class Mark:
    """A mark found in the picture: where, in which line, the MNIST-style digit made of it, and what it reads."""

    box: tuple[int, int, int, int]  # (top, left, bottom, right) in `Reading.picture`, bottom/right exclusive
    line: int  # its line, from 0 at the top
    position: int  # its place in the line, from 0 at the left
    digit: torch.Tensor  # (1, 28, 28) in [0, 1], white on black, made as `image_to_mnist` makes one
    label: int  # the digit the classifier reads in it
    confidence: float  # the classifier's confidence in `label`, in [0, 1]
    is_digit: bool  # False for a mark the classifier is unsure of or shaped like no digit

    @property
    def text(self) -> str:
        """The digit read, or "?" for a mark that is not a digit."""
        return str(self.label) if self.is_digit else NOT_A_DIGIT


@dataclass(frozen=True)
class Reading:
    """What `find_digits` found: every mark in reading order, and the picture searched."""

    marks: list[Mark]  # lines top to bottom, each left to right
    picture: np.ndarray  # (H, W) uint8: the upright greyscale picture searched, at most READ_SIDE on a side
    dark_ink: bool  # True when the ink was darker than the page

    @property
    def lines(self) -> list[str]:
        """One string per line of digits: the digits read in order, "?" for a mark that is not a digit."""
        count = 1 + max((m.line for m in self.marks), default=-1)
        return ["".join(m.text for m in self.marks if m.line == k) for k in range(count)]

    @property
    def digits(self) -> torch.Tensor:
        """Every mark's digit, in reading order: (N, 1, 28, 28)."""
        return torch.stack([m.digit for m in self.marks]) if self.marks else torch.zeros(0, 1, 28, 28)


@functools.cache
def _classifier():
    """The shipped classifier, loaded (and its checksum checked) once per process."""
    return load_classifier()


@dataclass(frozen=True)
class _Ink:
    """The ink of a picture, as `preprocess` finds it."""

    ink: np.ndarray  # (H, W) ink strength, page level 0
    ink_s: np.ndarray  # (H, W) the same, smoothed
    core: np.ndarray  # (H, W) bool: the strong ink
    faint: float  # the level down to which ink joined to the strong ink is a stroke
    smooth: float  # the smoothing's sigma, in pixels
    dark_ink: bool


def _page_light(arr: np.ndarray, dark_ink: bool) -> tuple[np.ndarray, int]:
    """The page's light by cell of a fine grid (`LIGHT_GRID` cells along the longer side), and the cell's side:
    each cell's median, the strokes taken out by a grey closing `LIGHT_CLOSING` cells wide (an opening for
    light ink).

    Unlike the smoothing of `preprocess.background`, a closing keeps a step of the light to within a
    cell: a table beyond the page's edge, or a shadow's edge, stays where it is instead of darkening the
    page beside it (which made the page's margin light "ink"), and a vignette's corners are followed."""
    cells, cell = _grid(arr, LIGHT_GRID)
    cells = np.median(cells, axis=-1)
    return (ndimage.grey_closing if dark_ink else ndimage.grey_opening)(cells, size=LIGHT_CLOSING, mode="nearest"), cell


def _steps(light: np.ndarray, cell: int, shape: tuple[int, int]) -> np.ndarray:
    """The pixels (H, W) bool beside a step of the light (the page's edge on a table, a shadow's edge): cells
    whose neighbours' light differs by more than `STEP` times. Interpolated across the step, the light is
    wrong by up to the step there, and the page's edge became a dashed line of marks."""
    log = np.log(np.maximum(light, 1 / 255))
    steps = ndimage.maximum_filter(log, 3) - ndimage.minimum_filter(log, 3) > np.log(STEP)
    return steps.repeat(cell, 0).repeat(cell, 1)[: shape[0], : shape[1]]


def _dark_ink(low: np.ndarray, middle: np.ndarray, high: np.ndarray) -> bool:
    """Whether the ink is darker than the page, from the 2nd, 50th and 98th percentiles of each cell of a grid:
    a cell whose darkest pixels stray from its median more than twice as far as its brightest, and far
    (`VOTE` of the strongest stray), votes for dark ink. Light ink (chalk on a board) needs twice the votes
    of dark ink: a table's or a shadow's edge sends votes both ways, and bright grain (leather, a glossy
    desk) light ones."""
    dark, light = middle - low, high - middle
    strong = max(MIN_CONTRAST, VOTE * float(np.percentile(np.maximum(dark, light), 99)))
    return int(((light > 2 * dark) & (light > strong)).sum()) <= 2 * int(((dark > 2 * light) & (dark > strong)).sum())


def _grid(arr: np.ndarray, grid: int) -> tuple[np.ndarray, int]:
    """The picture's pixels by cell of a grid `grid` cells along the longer side (rows, cols, pixels), the
    picture padded with its edge to whole cells; and the cell's side."""
    cell = max(2, -(-max(arr.shape) // grid))
    rows, cols = -(-arr.shape[0] // cell), -(-arr.shape[1] // cell)
    arr = np.pad(arr, ((0, rows * cell - arr.shape[0]), (0, cols * cell - arr.shape[1])), mode="edge")
    return arr.reshape(rows, cell, cols, cell).transpose(0, 2, 1, 3).reshape(rows, cols, -1), cell


def _enlarge(cells: np.ndarray, cell: int, shape: tuple[int, int]) -> np.ndarray:
    """A grid's values (rows, cols) at every pixel of the picture (H, W), interpolated between the cells' centres."""
    size = (cells.shape[1] * cell, cells.shape[0] * cell)
    return np.asarray(Image.fromarray(cells.astype(np.float32), mode="F").resize(size, Image.Resampling.BILINEAR))[
        : shape[0], : shape[1]
    ]


def _find_ink(arr: np.ndarray) -> _Ink:
    """The picture's ink: what stands out of the page's light by more than the noise, and by more than
    `GRAIN` times the page's own grain where it lies (so the texture of a desk or a carpet in view is no
    ink); the peak level is taken again without the ink at the picture's edge (a table, a shadow, the
    page's edge), or a dark border would set the thresholds above faint digits."""
    arr = arr.astype(np.float32)  # half the memory and time of float64 on a 12-megapixel photo
    cells, cell = _grid(arr, VOTE_GRID)
    low, below, middle, above, high = np.quantile(cells, [0.02, 0.16, 0.5, 0.84, 0.98], axis=-1)
    dark_ink = _dark_ink(low, middle, high)
    light, light_cell = _page_light(arr, dark_ink)
    ink = _enlarge(light, light_cell, arr.shape) - arr
    ink = ink if dark_ink else -ink
    ink_s = ndimage.gaussian_filter(ink, SMOOTH)
    sigma = _noise_sigma(ink_s)
    # The page's grain in each cell: the spread of one of its tails, the narrower. A stroke through a cell
    # widens its dark tail, and its light one only once it fills the cell (the spread about the median grew
    # with every stroke); a desk's grain or a carpet widens both.
    grain = _enlarge(np.minimum(high - above, below - low), cell, arr.shape)
    aside = (ink_s <= GRAIN * grain) | _steps(light, light_cell, arr.shape)
    core, peak = strong_ink(ink_s, sigma, aside)
    at_edge = core & ~segmentation.clear_border(core)
    if at_edge.any():  # the level without it; the ink itself stays, for the digits written on a rule
        peak = ink_peak(ink_s, sigma, aside | ndimage.binary_dilation(at_edge, iterations=3))
        core, peak = strong_ink(ink_s, sigma, aside, peak)
    return _Ink(ink, ink_s, core, max(0.25 * peak, 3 * sigma), SMOOTH, dark_ink)


def _window(box: tuple[int, int, int, int], shape: tuple[int, int], margin: int) -> tuple[slice, slice]:
    top, left, bottom, right = box
    return slice(max(0, top - margin), min(shape[0], bottom + margin)), slice(
        max(0, left - margin), min(shape[1], right + margin)
    )


Part = tuple[int, int, int]  # a mark's index, and the columns [start, stop) of it that make one digit


def _digit(found: _Ink, marks: Marks, part: Part, keep_noise: bool) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The MNIST-style digit (28, 28) of a part of a mark, made by `preprocess.mnist_digit`, and its box."""
    index, start, stop = part
    top, left, bottom, right = marks.boxes[index]
    cut = (start, stop) != (left, right)
    side = max(bottom - top, stop - start)
    # Only the window the digit needs: 1.5 boxes wide for the picture's own values around it (the 28x28
    # field is 1.4 of the 20x20 box), and the reach of the faint ink otherwise.
    win = _window((top, start, bottom, stop), found.ink.shape, side if keep_noise else round(2 * found.smooth) + 3)
    core = np.isin(marks.labels[win], marks.pieces[index])
    columns = np.arange(win[1].start, win[1].stop)
    inside = (columns >= start) & (columns < stop)
    core &= inside
    mask = grow_strokes(core, found.ink_s[win], found.faint, found.smooth) & (inside if cut else True)
    level = float(np.percentile(found.ink_s[win][core], LEVEL_Q))
    field, box = mnist_digit(found.ink[win], found.ink[win], mask, level, keep_noise=keep_noise)
    return field, (box[0] + win[0].start, box[1] + win[1].start, box[2] + win[0].start, box[3] + win[1].start)


def _cut_columns(marks: Marks, index: int, parts: int) -> list[list[int]]:
    """Ways to cut a mark into `parts` digits: for each cut, the `CUTS` columns of least ink near where
    an even cut would be (ink counted in the mark's own pieces)."""
    top, left, bottom, right = marks.boxes[index]
    profile = np.isin(marks.labels[top:bottom, left:right], marks.pieces[index]).sum(0)  # ink per column
    width, choices = right - left, []
    for k in range(1, parts):
        centre, reach = k * width / parts, 0.3 * width / parts
        columns = np.arange(max(1, int(centre - reach)), min(width - 1, int(centre + reach) + 1))
        order = np.lexsort((np.abs(columns - centre), profile[columns]))  # least ink, then nearest the centre
        choices.append(left + columns[order[:CUTS]])
    return [list(cuts) for cuts in np.array(np.meshgrid(*choices)).reshape(parts - 1, -1).T]


def _options(marks: Marks) -> tuple[list[list[list[Part]]], np.ndarray]:
    """For each mark, the ways of reading it: as one digit and, for a mark wide for its line, cut into 2 or 3;
    and the height of each mark's line (the median of its marks')."""
    heights, widths = marks.boxes[:, 2] - marks.boxes[:, 0], marks.boxes[:, 3] - marks.boxes[:, 1]
    options = [[[(i, int(box[1]), int(box[3]))]] for i, box in enumerate(marks.boxes)]
    line_height = np.zeros(len(marks.boxes))
    for line in marks.lines:
        line_height[line] = height = float(np.median(heights[line]))
        for i in (i for i in line if widths[i] > WIDE * height):
            left, right = int(marks.boxes[i, 1]), int(marks.boxes[i, 3])
            for parts in (2, 3) if widths[i] > 2 * WIDE * height else (2,):
                for cuts in _cut_columns(marks, i, parts):
                    edges = [left, *map(int, cuts), right]
                    options[i].append([(i, a, b) for a, b in itertools.pairwise(edges)])
    return options, line_height


def _choose(
    ways: list[list[Part]], height: float, confidence: dict[Part, float], boxes: dict[Part, tuple]
) -> list[Part]:
    """The likeliest way of reading a mark: the classifier's confidence in each digit of it, times how usual
    the digit's width is for its line's height (`DIGIT_WIDTH`). The classifier alone is as sure of two
    touching digits read as one as of the two: a digit half again as wide as tall is what tells them apart.
    A cut that leaves a part lower than `PART_TALL` heights cut a digit's tail off (a 6's, a 2's), not a digit."""

    def score(way: list[Part]) -> float:
        if len(way) > 1 and min(boxes[part][2] - boxes[part][0] for part in way) < PART_TALL * height:
            return -np.inf
        widths = np.array([(stop - start) / height for _, start, stop in way])
        usual = -0.5 * (((widths - DIGIT_WIDTH[0]) / DIGIT_WIDTH[1]) ** 2).sum()
        return float(np.log(np.maximum([confidence[part] for part in way], 1e-6)).sum() + usual)

    return max(ways, key=score)


def read_picture(grey: np.ndarray | Image.Image, *, keep_noise: bool = False) -> Reading:
    """Find and read every digit in a greyscale picture (uint8, or float in [0, 1]); see `find_digits`."""
    arr = _as_grey_array(grey)
    picture = np.round(arr * 255).astype(np.uint8)
    try:
        found = _find_ink(arr)
    except ImageError:  # no ink stands out of the page: a blank page holds no digits
        return Reading([], picture, True)
    marks = find_marks(found.core)
    options, line_height = _options(marks)
    parts = sorted({part for ways in options for way in ways for part in way})
    made = [_digit(found, marks, part, keep_noise=False) for part in parts]
    if not made:
        return Reading([], picture, found.dark_ink)
    digits = torch.from_numpy(np.stack([field for field, _ in made])).float().unsqueeze(1)  # (N, 1, 28, 28)
    labels, confidence = read(_classifier(), digits)  # every part of every way of reading, in one batch
    at = {part: k for k, part in enumerate(parts)}
    sure, boxes = {part: float(confidence[k]) for part, k in at.items()}, {part: made[k][1] for part, k in at.items()}
    result = []
    for line_index, line in enumerate(marks.lines):
        chosen = [part for i in line for part in _choose(options[i], line_height[i], sure, boxes)]
        for position, part in enumerate(chosen):
            k = at[part]
            digit = digits[k] if not keep_noise else torch.from_numpy(_digit(found, marks, part, True)[0]).float()[None]
            box = made[k][1]
            is_digit = confidence[k] >= CONFIDENT and (box[3] - box[1]) <= WIDEST * (box[2] - box[0])
            result.append(Mark(box, line_index, position, digit, int(labels[k]), float(confidence[k]), bool(is_digit)))
    return Reading(result, picture, found.dark_ink)


def find_digits(data: bytes, *, keep_noise: bool = False) -> Reading:
    """Image file bytes (PNG, JPEG, ...) -> every handwritten digit found in them, read, in reading order.

    `Reading.lines` holds one string per line (top to bottom, digits left to right, "?" for a mark
    that is not a digit); `Reading.marks` each mark's box, line, position, MNIST-style digit and
    reading. `keep_noise=True` makes each digit with the picture's own values (as
    `preprocess.extract(..., keep_noise=True)` does); the reading comes from the clean digit either way.
    A picture that cannot be decoded, or holds more than `marks.MAX_DIGITS` marks, raises ImageError; a
    blank page gives an empty reading.
    """
    return read_picture(open_image(data, READ_SIDE), keep_noise=keep_noise)
