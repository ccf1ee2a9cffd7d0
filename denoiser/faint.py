"""Digits written fainter than the rest of the page: a lamp's glare over part of a row, a lighter pen, a digit gone
over less firmly.

The page's strong ink is what reaches half the ink's peak (`digitize.strong_ink`). A lamp's glare adds its light
to the page and to the ink alike, and the camera squeezes the brightest part of the picture: a digit under it keeps
its strokes' shape but stands out of the page by half as much or less, and never reaches half the peak.
`with_faint_digits` takes in such a digit when it reaches a quarter of the peak (`FAINT`), is as large as the page's
digits, and stands in a line of them, beside one. A faint mark apart from the digits' lines (a digit rubbed out above
them, the back of the sheet showing through) stays out, and so does a faint straight stroke: a table's pencil line,
broken beside a digit, as likely as a 1. A digit only part of which is strong (a 7 whose stem, a 0 whose sides were
drawn lighter than its top) is taken whole on the same terms (`_faint_rest`).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .pieces import ink_height, labelled, sides, straight, window

FAINT = 0.25  # of the ink's peak: a faint digit's strongest ink reaches this (strong ink, half the peak)...
FAINT_LOW = 0.15  # ...and its strokes are the ink above this joined to it (strong ink's, 0.3 of the peak)
OWN_LOW = 0.3  # of a faint digit's strongest ink: its strokes' edge, as strong ink's is 0.3 of the peak
NOISE_HIGH = 25  # the noise's sigmas that a faint digit's strongest ink stands above: a grainy photo's shading and
# the page's texture reach a quarter of the peak at 12-14 sigmas, a faint digit under a glare 50-200
NOISE_LOW = 3.5  # ...and its strokes
SIZED = (0.6, 1.6)  # of the strong ink's height: a digit is this high, and no wider than the larger
BESIDE = 1.5  # heights: a faint digit stands no further than this from a digit of its line
SHARED = 0.5  # ...and shares this much of the lower one's rows with it
MOST = 800  # faint marks the size of digits looked at, at most
GROWN = 0.25  # of the strong ink's height: the faint rest of a digit reaches this much higher or wider than its
# strong part (a stroke's faint edge only a few pixels)
SMALL_DIGIT = 0.4  # of the strong ink's height: a strong mark this high is a digit that a faint one may stand beside
# (a hand's 0s and 2s may stand half as high as its 8s and 9s)
APART = 2  # pixels: a faint mark this near strong ink is joined to it, and the strong ink's hysteresis had its say


def with_faint_digits(ink_s: np.ndarray, core: np.ndarray, sigma: float, peak: float, aside: np.ndarray) -> np.ndarray:
    """The strong ink `core` (H, W) bool with the faint digits beside its digits added: the marks of the smoothed ink
    `ink_s` above `FAINT_LOW` of the `peak` (and the noise `sigma`), outside `aside` and apart from the strong ink,
    that reach `FAINT` of the peak, are digit-sized (`SIZED`), no straight stroke (`pieces.straight`), and stand
    beside a strong digit or a faint one taken in (`BESIDE`), each cut at `OWN_LOW` of its own strongest ink; and the
    faint rest of a digit only part of which is strong (`_faint_rest`)."""
    pieces, boxes, areas = labelled(core)
    if not len(boxes):
        return core
    height = ink_height(boxes, areas)
    low = max(FAINT_LOW * peak, NOISE_LOW * sigma)
    core = _faint_rest(np.where(aside, 0, ink_s), core, pieces, boxes, height, low)
    faint = np.where(aside | core, 0, ink_s)
    marks, found, _ = labelled(faint > low)
    if not len(found):
        return core
    reach = np.bincount(marks[faint >= max(FAINT * peak, NOISE_HIGH * sigma)], minlength=len(found) + 1)[1:] > 0
    likely = [k for k in np.flatnonzero(reach & _digit_sized(found, height)) if _may_be_digit(marks, k, found[k], core)]
    out = core.copy()
    for k in _in_lines(found, np.array(likely, int), boxes[_digit_sized(boxes, height, SMALL_DIGIT)], height):
        inside = window(found[k], core.shape, 0)
        mark = marks[inside] == k + 1
        out[inside] |= _own_strokes(faint[inside], mark, low)
    return out


def _faint_rest(
    ink_s: np.ndarray, core: np.ndarray, pieces: np.ndarray, boxes: np.ndarray, height: float, low: float
) -> np.ndarray:
    """The strong ink `core` with the faint rest of a digit only part of which is strong: the ink above `low` joined to
    strong ink (labelled `pieces`, their `boxes`), where it reaches `GROWN` further than the strong ink it holds, is
    digit-sized and no straight stroke, and stands beside a strong digit of its line not its own (`SMALL_DIGIT`); cut
    at `OWN_LOW` of its strongest ink."""
    regions, found, _ = labelled(ink_s > low)
    region_of, strong = _strong_parts(regions, len(found), core, pieces, boxes)
    h, w = sides(found)
    sh, sw = sides(strong)
    grown = (strong[:, 2] >= 0) & (np.maximum(h - sh, w - sw) >= GROWN * height) & _digit_sized(found, height)
    digits = _digit_sized(boxes, height, SMALL_DIGIT)
    out = core.copy()
    for k in np.flatnonzero(grown)[:MOST]:
        others = digits & (region_of != k)
        if not _beside(found[k : k + 1], boxes[others], height).any():
            continue
        inside = window(found[k], core.shape, 0)
        mark = regions[inside] == k + 1
        if not straight(mark):
            out[inside] |= _own_strokes(ink_s[inside], mark, low)
    return out


def _own_strokes(ink: np.ndarray, mark: np.ndarray, low: float) -> np.ndarray:
    """A faint mark's strokes (H, W) bool: of the `mark`, the `ink` above `OWN_LOW` of its own strongest (and `low`)."""
    return mark & (ink > max(OWN_LOW * ink[mark].max(), low))


def _strong_parts(regions: np.ndarray, count: int, core: np.ndarray, pieces: np.ndarray,
                  boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """For the strong ink's pieces (labelled `pieces`, their `boxes` (N, 4)), the region of the fainter ink
    (`regions`, `count` of them) that holds each (N,), and for each region, the box of the strong ink it holds
    (`count`, 4), bottom -1 for none. Each piece lies whole in one region: the regions are of ink fainter still."""
    region_of = np.zeros(len(boxes) + 1, int)
    region_of[pieces[core]] = regions[core]
    region_of = region_of[1:] - 1
    strong = np.tile(np.array([np.iinfo(int).max, np.iinfo(int).max, -1, -1]), (count, 1))
    held = region_of >= 0
    np.minimum.at(strong[:, :2], region_of[held], boxes[held, :2])
    np.maximum.at(strong[:, 2:], region_of[held], boxes[held, 2:])
    return region_of, strong


def _may_be_digit(marks: np.ndarray, k: int, box: np.ndarray, core: np.ndarray) -> bool:
    """Whether the faint mark `k` (0-based) of the labelled `marks` (H, W), in its `box`, keeps `APART` pixels from
    the strong ink `core` (H, W) bool, and is no straight stroke (`pieces.straight`)."""
    near = window(box, core.shape, APART)
    mark = marks[near] == k + 1
    return not (ndimage.binary_dilation(mark, iterations=APART) & core[near]).any() and not straight(mark)


def _digit_sized(boxes: np.ndarray, height: float, least: float = SIZED[0]) -> np.ndarray:
    """Boxes (N,) bool as high as a digit of the page's ink `height` (`least` of it, to `SIZED`), and no wider than
    the highest."""
    h, w = sides(boxes)
    return (h >= least * height) & (h <= SIZED[1] * height) & (w <= SIZED[1] * height)


def _in_lines(found: np.ndarray, likely: np.ndarray, digits: np.ndarray, height: float) -> np.ndarray:
    """Of the `likely` faint marks (indices into their boxes `found`), those beside one of the page's `digits`
    (boxes), or beside one taken in so, and so on: a row under a glare fades digit by digit. None when they are more
    than `MOST`: a page of so many faint marks the size of its digits is no page of digits in places faint."""
    if len(likely) > MOST:
        return likely[:0]
    boxes = found[likely]
    taken = _beside(boxes, digits, height).any(axis=1)
    near = _beside(boxes, boxes, height)
    while (more := taken | near[:, taken].any(axis=1)).sum() > taken.sum():
        taken = more
    return likely[taken]


def _beside(boxes: np.ndarray, others: np.ndarray, height: float) -> np.ndarray:
    """Which of `others` (M, 4) stand beside each of `boxes` (N, 4) in its line (N, M) bool: sharing `SHARED` of
    the lower one's rows, at most `BESIDE` heights apart."""
    box, other = boxes[:, None, :], others[None, :, :]
    shared = np.minimum(box[..., 2], other[..., 2]) - np.maximum(box[..., 0], other[..., 0])
    lower = np.minimum(box[..., 2] - box[..., 0], other[..., 2] - other[..., 0])
    gap = np.maximum(other[..., 1] - box[..., 3], box[..., 1] - other[..., 3])
    return (shared >= SHARED * lower) & (gap <= BESIDE * height)
