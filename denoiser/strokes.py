"""Thin strokes among the marks that are no digit: a rule's tick, a hand-ruled table's line, what is left of a rule
once it is taken out (`rules`), and the writing on a page's other side seen through it. A stroke is told from a
1 by its size against its line's digits (but a 1 written long hangs from its line's top, where a table's line runs
on above the digits), and from a digit's long stem by the loop such a digit closes.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .cuts import holes
from .lines import line_heights
from .pieces import own_ink, sides

STROKE_THIN, STROKE_LOW, STROKE_TALL = 0.25, 0.55, 1.8  # a mark this many times narrower than tall, and lower
# or taller than this many of its line's heights, is a stroke, no digit: a 1 is about as tall as the digits beside
# it; the sliver a page's edge leaves once a ruled line is taken out of it, a tick, a hand-ruled table's line
# between two digits are not
HANG_TOP, HANG_MOST = 0.4, 2.5  # line heights: a tall thin mark whose top lies this near its line's top, and no taller
# than this, hangs from the line: a 1 written long, where a table's line runs on above the digits too (a 1 begun a
# third of the line's height above its digits' tops, twice their height, ended a card's line of small digits)
RULE_GOES_ON, RULE_FILLS = 0.5, 0.6  # a thin mark is a bit of a rule when ink that is no mark goes on from it, up or
# down, in this share of the rows up to this many heights away
RULE_DRIFT = 0.1  # a rule that a thin mark goes on drifts up to this many pixels aside per row (6 degrees)


def strokes(boxes: np.ndarray, lines: list[list[int]]) -> list[int]:
    """The thin marks low or tall for their line, by their size alone (`STROKE_THIN`, `STROKE_LOW`, `STROKE_TALL`):
    a rule's tick, a table's line; but not a tall one that hangs from its line (`_hanging`)."""
    h, w = sides(boxes)
    line_h = line_heights(boxes, lines)
    tall = (h > STROKE_TALL * line_h) & ~_hanging(boxes, lines, line_h)
    return np.flatnonzero((w < STROKE_THIN * h) & ((h < STROKE_LOW * line_h) | tall)).tolist()


def _hanging(boxes: np.ndarray, lines: list[list[int]], line_h: np.ndarray) -> np.ndarray:
    """The marks (N,) bool whose top lies within `HANG_TOP` of their line's heights (`line_h` (N,)) of the line's top
    (the median of its other marks' tops), no taller than `HANG_MOST` heights."""
    hanging = np.zeros(len(boxes), bool)
    for line in (line for line in lines if len(line) > 1):
        for i in line:
            top = np.median(boxes[[j for j in line if j != i], 0])
            near = abs(boxes[i, 0] - top) < HANG_TOP * line_h[i]
            hanging[i] = near and boxes[i, 2] - boxes[i, 0] < HANG_MOST * line_h[i]
    return hanging


def looped(box: np.ndarray, pieces: np.ndarray, labels: np.ndarray) -> bool:
    """Whether a mark closes a loop at least a third of its width across, once gaps of a pixel are closed (a pencil
    loop thins out): a 9 or a 6 whose stem runs on far below or above its line is as thin and tall as a stroke, but
    a stroke (a table's line, a tick) has no loop."""
    labelled, _ = holes(ndimage.binary_closing(np.pad(own_ink(labels, box, pieces), 1), np.ones((3, 3), bool)))
    widths = [c.stop - c.start for _, c in ndimage.find_objects(labelled)] or [0]
    return max(widths) * 3 >= box[3] - box[1]


def rule_bits(boxes: np.ndarray, pieces: list[np.ndarray], labels: np.ndarray, ruled: np.ndarray,
               height: float) -> list[int]:  # fmt: skip
    """The thin upright marks that are bits of a rule: ink that is no mark (a rule taken out, or left out as a
    line) goes on from them up or down (`_rule_goes_on`: a hand-ruled table's lines bend and thin out, and what is
    left of them between two of its rules reads as a 1), lies beside them (`_along_rule`: a page's edge), or meets
    them at both ends (`_between_rules`: a box's side). And the marks lower than `STROKE_LOW` heights that a rule
    runs through: strokes of the writing on the page's other side, seen through it, stand across its rules."""
    h, w = sides(boxes)
    low = np.zeros(len(boxes), bool)
    if ruled.any():  # no page without rules has a mark a rule runs through
        low = (h < STROKE_LOW * height) & np.array([_rule_through(ruled, box) for box in boxes])
    thin = np.flatnonzero((w < STROKE_THIN * h) & ~low)
    marked, reach, bits = np.concatenate(pieces), max(2, round(RULE_GOES_ON * height)), np.flatnonzero(low).tolist()
    for i in thin:
        across = own_ink(labels, boxes[i], pieces[i]).sum(axis=1)
        width = float(np.median(across[across > 0]))
        if (_rule_goes_on(labels, ruled, marked, boxes[i], width, reach) or _along_rule(ruled, boxes[i], width)
                or _between_rules(ruled, boxes[i])):  # fmt: skip
            bits.append(int(i))
    return bits


def _rule_goes_on(labels: np.ndarray, ruled: np.ndarray, marked: np.ndarray, box: np.ndarray, width: float,
                  reach: int) -> bool:  # fmt: skip
    """Whether ink that is no mark (`marked` pieces) and no narrower than a thin mark's `width` goes on from it, up
    or down, in its columns, in most of the rows (`RULE_FILLS`) up to `reach` rows away."""
    top, left, bottom, right = box
    drift = 1 + round(RULE_DRIFT * reach)  # its columns widened by what a rule a few degrees off upright drifts
    columns = slice(max(0, left - drift), right + drift)
    for rows in (slice(max(0, top - reach), top), slice(bottom, bottom + reach)):
        near = labels[rows, columns]
        filled = (ruled[rows, columns] | ((near > 0) & ~np.isin(near, marked))).sum(axis=1)
        # No wider than the rule: a 1 written along a line of squared paper is wider than the line
        if len(filled) >= reach // 2 and (filled > 0).mean() >= RULE_FILLS and width <= np.median(filled) + 1:
            return True
    return False


def _between_rules(ruled: np.ndarray, box: np.ndarray) -> bool:
    """Whether a thin upright mark runs from a rule taken out across it to another: the side of a box, of a form's
    row of boxes or a table's cell, once its top and bottom lines are gone. At both its ends, ink of a rule runs
    on beside it, at its left or its right, for at least its width (a line of squared paper that a 1 is written
    along runs on above and below it, in its own columns only)."""
    top, left, bottom, right = box
    width = right - left
    ends = (slice(max(0, top - 2), top + 2), slice(bottom - 2, bottom + 2))
    return all(any(ruled[rows, side].any(axis=0).sum() >= width for side in _beside(box, width)) for rows in ends)


def _along_rule(ruled: np.ndarray, box: np.ndarray, width: float) -> bool:
    """Whether a thin upright mark lies along a rule taken out, wider than the mark: the ink of a rule beside it, at
    its left or its right, in most of its rows (`RULE_FILLS`). A page's edge on a dark desk, a few degrees off
    upright, is taken out as a rule where it is long enough and leaves a sliver where it widens."""
    top, bottom = box[0], box[2]
    for columns in _beside(box, 2 * round(width)):
        beside = ruled[top:bottom, columns]
        if beside.shape[1] and beside.any(axis=1).mean() >= RULE_FILLS and beside.sum(axis=1).max() >= width:
            return True
    return False


def _beside(box: np.ndarray, reach: int) -> tuple[slice, slice]:
    """The columns `reach` wide at the left and at the right of a box (top, left, bottom, right)."""
    return slice(max(0, box[1] - reach), box[1]), slice(box[3], box[3] + reach)


def _rule_through(ruled: np.ndarray, box: np.ndarray) -> bool:
    """Whether a rule runs through a box: the ink of a rule at both its sides, in one of its rows that has rows of
    the box above and below (a digit standing on a rule has the rule at its bottom)."""
    top, left, bottom, right = box
    rows = slice(top + 2, bottom - 2)
    before = ruled[rows, max(0, left - 3) : left].any(axis=1)
    after = ruled[rows, right : right + 3].any(axis=1)
    return bool((before & after).any())
