"""Where a mark wide for its line is cut into the digits it may be: two or three digits that touch make one
piece of ink, and a reader splits them where little ink joins them. Each way to cut is then read, and the
likeliest kept (`reading`). The holes in a mark's ink tell where it is not cut (a digit's own loop), and
writing crossed out (a scribble of many loops) from a digit.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
from scipy import ndimage

WIDE = 1.0  # a mark wider than this many of its line's heights is tried cut into 2 (3 if twice as wide) digits
CUTS = 3  # each cut is tried at this many columns of least ink near where an even cut would be, and at the one of
# most (where two 0s written overlapping cross, their loops are cut apart best)
LOOP_SMALLEST = 0.05  # line heights: a hole in the ink narrower than this on the square is a blot's, no loop
LOOP_AREA, LOOP_TALL = 0.15, 0.45  # a hole in a mark's ink this share of its box and of its height is a digit's loop


def ways(boxes: np.ndarray, widths: np.ndarray, ink: Callable[[int], np.ndarray],
         most: int) -> list[list[list[tuple[int, int, int]]]]:  # fmt: skip
    """For each mark (`boxes` (N, 4), `widths` (N,) in its line's heights, `ink` (H, W) bool of mark i in its box),
    the ways of reading it, each a list of parts (mark, first column, column past the last): as one digit and, for
    a mark wider than `WIDE`, cut into 2 or 3 (`cut_columns`). No more than `most` parts in all, counted once
    however many ways share one, given out a round at a time: every wide mark's likeliest cut in two first, the
    widest first, then each one's next, then the cuts in three (a page of many 000s spent them all on three marks'
    16 ways in three, and left its 00s whole; a table of a hundred numbers, half of them two digits that touch,
    spent them all on the widest thirty's every cut in two)."""
    options = [[[(i, int(box[1]), int(box[3]))]] for i, box in enumerate(boxes)]
    made = {way[0][0] for way in options}
    wide = sorted(np.flatnonzero(widths > WIDE), key=lambda i: -widths[i])
    for parts, marks in ((2, wide), (3, [i for i in wide if widths[i] > 2 * WIDE])):
        cuts = {i: cut_columns(ink(i), parts) for i in marks}
        for rank in range(max((len(c) for c in cuts.values()), default=0)):
            for i in marks:
                if rank >= len(cuts[i]):
                    continue
                way = cut_way(i, boxes[i], cuts[i][rank])
                if len(made | set(way)) > most:
                    return options
                made.update(way)
                options[i].append(way)
    return options


def cut_way(i: int, box: np.ndarray, cut: list[int]) -> list[tuple[int, int, int]]:
    """The parts of mark `i` (its `box`) cut at the columns `cut` of its box: (mark, first column, column past)."""
    left, right = int(box[1]), int(box[3])
    columns = [left, *(left + int(c) for c in cut), right]
    return [(i, a, b) for a, b in itertools.pairwise(columns)]


def cut_columns(ink: np.ndarray, parts: int) -> list[list[int]]:
    """Ways to cut a mark's ink (H, W) bool (its own pieces, in its box) into `parts` digits, each a list of
    columns: for each cut, the `CUTS` columns of least ink near where an even cut would be, and the one of most.
    None through a digit's own loop (`loop_columns`); no way at all when every column near a cut is."""
    profile = ink.sum(0)  # ink per column
    loop = loop_columns(ink)
    width, choices = ink.shape[1], []
    for k in range(1, parts):
        centre, reach = k * width / parts, 0.3 * width / parts
        columns = np.arange(max(1, int(centre - reach)), min(width - 1, int(centre + reach) + 1))
        columns = columns[~loop[columns]]
        if not len(columns):
            return []
        order = np.lexsort((np.abs(columns - centre), profile[columns]))  # least ink, then nearest the centre
        choices.append(columns[np.r_[order[:CUTS], order[-1:]]])
    return [list(cuts) for cuts in np.array(np.meshgrid(*choices)).reshape(parts - 1, -1).T]


def loop_columns(ink: np.ndarray) -> np.ndarray:
    """The columns (W,) bool of a mark's ink (H, W) bool that a hole in it as large as a digit's own loop spans: at
    least `LOOP_AREA` of the box and `LOOP_TALL` of its height. A 0 wider than tall, or slashed through, was cut
    into a 6 and a 7 there; the holes that two touching digits close between them are smaller, or lower."""
    labelled, areas = holes(ink)
    loop = np.zeros(ink.shape[1], bool)
    for k, (rows, columns) in enumerate(ndimage.find_objects(labelled), start=1):
        if areas[k] >= LOOP_AREA * ink.size and rows.stop - rows.start >= LOOP_TALL * ink.shape[0]:
            loop[columns] = True
    return loop


def loops(ink: np.ndarray, line_height: float) -> int:
    """How many loops a mark's ink (H, W) bool closes: its holes at least `LOOP_SMALLEST` line heights on the square.
    A digit closes two at most (an 8), two touching 8s four or five; a digit crossed out, a dozen."""
    _, areas = holes(ink)
    return int((areas[1:] >= (LOOP_SMALLEST * line_height) ** 2).sum())


def widest_loop(ink: np.ndarray, line_height: float) -> float:
    """The side of a square as large as the largest hole in a mark's ink (H, W) bool, in line heights (0: none)."""
    _, areas = holes(ink)
    return float(np.sqrt(areas[1:].max()) / line_height) if len(areas) > 1 else 0.0


def holes(ink: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The holes in the ink (H, W) bool, labelled (H, W) int (0: none), and each label's area (0: the rest)."""
    labelled, count = ndimage.label(ndimage.binary_fill_holes(ink) & ~ink)
    return labelled, np.bincount(labelled.ravel(), minlength=count + 1)
