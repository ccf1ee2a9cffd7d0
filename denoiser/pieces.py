"""Which pieces of a page's strong ink make one digit: a digit drawn in strokes that do not touch (a 5's flag,
an open 4, a crossed 7, a 0 whose ends do not meet) is several pieces, and two digits written close together or
one above the other are not one. Everything is decided on the pieces' boxes, as arrays, in the height of the
page's ink (`ink_height`).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage import measure

from .lines import union

PIECE_OVERLAP = 0.3  # pieces of one digit: the narrower lies over the wider for at least this share of its width
PIECE_GAP = 0.35  # ...side by side, or with at most this many heights between them and the lower one under
PIECE_SMALL = 0.6  # this many heights high; and together at most
PIECE_TALL = 1.4  # this many heights tall (a digit of the next line is further)
ARM_GAP, ARM_WIDE = 0.05, 1.0  # an arm and its stem: columns this many heights apart at most, together this wide...
ARM_LOW, ARM_TOP = 0.35, 0.05  # ...the arm this share of the stem's height at least, its top at most this share lower
PIECE_ALIKE, PIECE_SPLIT = 0.7, 0.1  # pieces one above the other of alike heights (the lower over this share of the
# higher) are one digit only this many heights apart: the halves of a broken 0 are, a small 1 over a small 2 not
STRAIGHT = 0.3  # a piece whose ink spreads across its main axis less than this share of its spread along it is straight
SIDEWAYS = 1.2  # a picture whose pieces' median width is more than this many of their heights may be turned
JOINED_TALL, JOINED_WIDE = 2.0, 1.0  # heights: pieces joined by fainter ink are one digit this tall and wide at most
BAR_FLAT, BAR_WIDE = 2.0, 0.8  # the strokes of an equals sign: this many times wider than high, and at most this many
# heights wide (the bits of a squared page's rules that the digits cut, one above another, are wider)
MANY_PIECES = 2000  # ink in more pieces than this has their boxes found from its pixels: the faint ink of a grainy
# photo, ten thousand specks, took `ndimage.find_objects` 70-90 ms, and 15 ms so (but 27 ms where it took 10-17 on 250)
FEET_APART, ON_RULE_WIDE = 0.1, 1.0  # heights: two pieces side by side standing on a rule, their feet this
# close and their columns overlapping, are one digit as wide as this at most (`_cut_by_rule`)


def labelled(core: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Label the strong ink's connected pieces: labels (H, W), each piece's box (N, 4) and area (N,)."""
    labels, count = ndimage.label(core, structure=np.ones((3, 3), bool))
    if count > MANY_PIECES:
        boxes = _boxes(labels, core, count)
    else:
        boxes = np.array([(r.start, c.start, r.stop, c.stop) for r, c in ndimage.find_objects(labels)], int)
    areas = np.bincount(labels[core], minlength=count + 1)[1:]  # of the ink alone: a tenth of the time on a photo
    return labels, boxes.reshape(-1, 4), areas


def _boxes(labels: np.ndarray, core: np.ndarray, count: int) -> np.ndarray:
    """Each of `count` labelled pieces' box (N, 4), as `ndimage.find_objects` gives them, from the ink's pixels."""
    rows, columns = np.nonzero(core)
    of = labels[rows, columns] - 1
    boxes = np.empty((count, 4), int)
    boxes[:, :2], boxes[:, 2:] = np.iinfo(int).max, 0
    for k, (at, where) in enumerate([(np.minimum, rows), (np.minimum, columns), (np.maximum, rows + 1),
                                     (np.maximum, columns + 1)]):  # fmt: skip
        at.at(boxes[:, k], of, where)
    return boxes


def window(box: tuple[int, int, int, int], shape: tuple[int, int], margin: int) -> tuple[slice, slice]:
    """The rows and columns of a box (top, left, bottom, right) grown by `margin`, within a picture of `shape`."""
    top, left, bottom, right = box
    return slice(max(0, top - margin), min(shape[0], bottom + margin)), slice(
        max(0, left - margin), min(shape[1], right + margin)
    )


def straight(piece: np.ndarray) -> bool:
    """Whether a piece of ink (H, W) bool lies along a straight line at any tilt (`STRAIGHT`, by the inertia of its
    ink): a rule, a pen lying on the page, a table's pencil line are; a large 3 drawn in a thin pen is not."""
    across, along = sorted(measure.inertia_tensor_eigvals(piece))
    return across < STRAIGHT**2 * along


def ink_height(boxes: np.ndarray, areas: np.ndarray) -> float:
    """The height of most of the ink: the median piece height, each piece weighted by its area."""
    heights = sides(boxes)[0]
    order = np.argsort(heights)
    cumulative = np.cumsum(areas[order])
    return float(heights[order][np.searchsorted(cumulative, cumulative[-1] / 2)])


def sides(boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Heights and widths of boxes (N, 4)."""
    return boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]


def merged_boxes(boxes: np.ndarray, group: np.ndarray) -> np.ndarray:
    """The box around each group's boxes (G, 4)."""
    low = np.full((group.max() + 1, 2), np.iinfo(np.int64).max)
    high = np.zeros((group.max() + 1, 2), np.int64)
    np.minimum.at(low, group, boxes[:, :2])
    np.maximum.at(high, group, boxes[:, 2:])
    return np.hstack([low, high])


def own_ink(labels: np.ndarray, box: np.ndarray, pieces: np.ndarray) -> np.ndarray:
    """A mark's own ink (H, W) bool in its `box`: its `pieces` only, not a neighbour's reaching in."""
    top, left, bottom, right = box
    return np.isin(labels[top:bottom, left:right], pieces)


def one_digit(boxes: np.ndarray, height: float, joined: np.ndarray | None = None,
              on_rule: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """Group index (N,) of the pieces: pieces that lie over one another (the narrower within the wider's columns) or
    are an arm and its stem (`_arms`), no taller together than a digit, and side by side (an open 4) or one above
    the other, close, the lower one low (a 5's flag, a 7's bar, the halves of a 0, a stroke cut by a rule), are one
    digit drawn in several strokes; the two strokes of an equals sign are one mark (`_bars`). Two digits written one
    above the other are both a digit's height: they stay two; and a low piece that is already beside another (the
    top of a 2 written in two strokes) joins nothing above or below it (the small 1 written over that 2). Pieces in
    one part of the fainter ink (`joined`: each piece's part, 0 for none) are one digit when they fit one
    (`_faintly_joined`), and so are the sides of a digit that a rule it stands on cut apart (`on_rule`: each piece's
    foot is on a rule; `_cut_by_rule`)."""
    h, w = sides(boxes)
    top, left, bottom, right = (boxes[:, k] for k in range(4))
    across = np.minimum(right[:, None], right) - np.maximum(left[:, None], left)
    gap = np.maximum(top[:, None], top) - np.minimum(bottom[:, None], bottom)  # negative: rows overlap
    tall = np.maximum(bottom[:, None], bottom) - np.minimum(top[:, None], top)
    fits = tall <= PIECE_TALL * height
    lying_over = across >= PIECE_OVERLAP * np.minimum(w[:, None], w)
    over = lying_over & fits
    lower = np.minimum(h[:, None], h)
    alike = lower > PIECE_ALIKE * np.maximum(h[:, None], h)  # two small digits one above the other, or a 0 broken
    beside = (over | (_arms(boxes, across, tall, height) & ~alike)) & (gap < 0)
    np.fill_diagonal(beside, False)
    shorter_beside = np.where(h[:, None] <= h, beside.any(1)[:, None], beside.any(1)[None, :])
    above = (gap >= 0) & (gap <= PIECE_GAP * height) & (lower <= PIECE_SMALL * height) & ~shorter_beside
    above &= ~alike | (gap <= PIECE_SPLIT * height) | _bars(w, h, gap, height)
    one = beside | (over & above)
    if joined is not None:
        one |= _faintly_joined(boxes, joined, (lying_over, tall, lower), height)
    if on_rule is not None:
        one |= _cut_by_rule(boxes, on_rule, np.where(gap < 0, across, 0), height)
    return union(len(boxes), np.argwhere(np.triu(one, 1)))


def _bars(w: np.ndarray, h: np.ndarray, gap: np.ndarray, height: float) -> np.ndarray:
    """Pairs of pieces (N, N) bool that may be the two strokes of an equals sign: both flat (`BAR_FLAT`) and no wider
    than a digit (`BAR_WIDE`), of widths alike (the narrower half the wider at least), no further apart (`gap`) than
    the narrower is wide. Alike in height, they stayed two marks, as two small digits one above the other do, and
    their line, two marks that are none, was taken for writing ("2x+3y=10")."""
    flat = (w >= BAR_FLAT * h) & (w <= BAR_WIDE * height)
    narrower = np.minimum(w[:, None], w)
    return flat[:, None] & flat & (narrower >= 0.5 * np.maximum(w[:, None], w)) & (gap <= narrower)


def _cut_by_rule(boxes: np.ndarray, on_rule: np.ndarray, overlap: np.ndarray, height: float) -> np.ndarray:
    """Pairs of pieces (N, N) bool that are one digit a rule cut in two: a 0 whose foot ran along the rule it stands
    on was taken out with the rule, and its sides, apart where the writer's stroke did not close, are two pieces side
    by side. Both stand on the rule (`on_rule`), their feet `FEET_APART` heights apart at most, their columns and
    rows overlap (`overlap`: the columns across where the rows overlap, else 0), and together they are no wider
    than a digit (`ON_RULE_WIDE`). Two digits written on a rule stand apart, or together are wider."""
    bottom, left, right = boxes[:, 2], boxes[:, 1], boxes[:, 3]
    wide = np.maximum(right[:, None], right) - np.minimum(left[:, None], left)
    feet = np.abs(bottom[:, None] - bottom) <= FEET_APART * height
    return on_rule[:, None] & on_rule & (overlap > 0) & feet & (wide <= ON_RULE_WIDE * height)


def _faintly_joined(boxes: np.ndarray, joined: np.ndarray, pairs: tuple[np.ndarray, np.ndarray, np.ndarray],
                    height: float) -> np.ndarray:  # fmt: skip
    """Pairs of pieces (N, N) bool that fainter ink joins (`joined`: each piece's part of it, 0 for none) into one
    digit: a stroke in pencil, or written lightly, whose faint stretches fell out of the strong ink, in pieces
    that the boxes alone would not put together (a 5's flag above its body in a digit written larger than the
    rest, the bottom of a 4's arm apart from both the arm and its stem). Together they fit a digit at most
    `JOINED_TALL` by `JOINED_WIDE` heights, and lie one over the other or one is low (`PIECE_SMALL`): two whole
    digits side by side that a faint trail of the pen joins (a 1 and a 3 written close) stay two. `pairs`: whether
    each lies over the other, how tall they are together and the lower one's height, as `one_digit` has them."""
    over, tall, lower = pairs
    left, right = boxes[:, 1], boxes[:, 3]
    wide = np.maximum(right[:, None], right) - np.minimum(left[:, None], left)
    fits = (tall <= JOINED_TALL * height) & (wide <= JOINED_WIDE * height)
    return (joined[:, None] == joined) & (joined[:, None] > 0) & fits & (over | (lower <= PIECE_SMALL * height))


def _arms(boxes: np.ndarray, across: np.ndarray, tall: np.ndarray, height: float) -> np.ndarray:
    """Pairs of pieces (N, N) bool that may be an arm and the stem of one digit: an open 4 whose arm stops at its
    stem, a 5 whose flag was written apart. They meet or nearly (`ARM_GAP`), are no wider together than a digit
    (`ARM_WIDE`) nor taller (`PIECE_TALL`), and the shorter is no speck or dash (`ARM_LOW`) and starts no lower
    than the taller's top (`ARM_TOP`); a small digit written beside a long-tailed 7 starts lower, and stays a digit
    of its own. A digit is measured by the page's height or, written larger than the rest, by its stem (`tall`:
    each pair's height together): a large open 4 is as wide as the page's digits are tall."""
    h, _ = sides(boxes)
    top, left, right = boxes[:, 0], boxes[:, 1], boxes[:, 3]
    taller = h[:, None] >= h  # [i, j]: piece i is the taller
    tall_top, short_top = np.where(taller, top[:, None], top), np.where(taller, top, top[:, None])
    longest = np.maximum(h[:, None], h)
    wide = np.maximum(right[:, None], right) - np.minimum(left[:, None], left)
    fits = (wide <= ARM_WIDE * np.maximum(height, tall)) & (tall <= PIECE_TALL * np.maximum(height, longest))
    near = (across >= -ARM_GAP * height) & fits
    return near & (np.minimum(h[:, None], h) >= ARM_LOW * longest) & (short_top <= tall_top + ARM_TOP * longest)


def sideways(labels: np.ndarray, pieces: list[np.ndarray]) -> bool:
    """Whether the marks' pieces of ink (`labels` (H, W), each mark's piece labels) are wider than tall (`SIDEWAYS`):
    most digits are one piece, taller than wide, and turned a quarter they are not. (The marks themselves are no
    guide: a row turned upright is a column of pieces, which are merged as a 5's flag is merged with its body.)"""
    if sum(len(p) for p in pieces) < 3:
        return False
    boxes = ndimage.find_objects(labels)
    sides = np.array([(boxes[k - 1][0].stop - boxes[k - 1][0].start, boxes[k - 1][1].stop - boxes[k - 1][1].start)
                      for k in np.concatenate(pieces)])  # fmt: skip
    return bool(np.median(sides[:, 1] / sides[:, 0]) > SIDEWAYS)
