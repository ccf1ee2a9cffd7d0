"""Ruled lines and grids on a page of handwritten digits, found in its strong ink and taken out.

A rule (lined paper, a table's line, a faint line the digits stand on) is ink in long runs along a row
or a column; a grid (squared paper, a table's cells) is three or more such runs over a third of the
picture. Only the ink thin across a rule is the rule's: a digit's stroke that crosses it goes on
beyond it and stays whole, and where a stroke is cut by a grid's line it is mended.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage import transform

from .ink import run_lengths

RULE_ACROSS = 1.5  # of a rule's band, the ink less than this many times a rule's thickness across it is the rule's
GRID_BAND, GRID_RUN = 0.006, 1 / 3  # a grid's lines: thickened by 0.6% of the picture's side, a third of it long
GRID_MEND = 2  # pixels beyond a grid line's thickness that a stroke crossing it is looked for at either side
TILT_RANGE, TILT_STEP = 20.0, 0.25  # degrees: the tilts of rules looked for, either way of level, and their step


def ruled_lines(core: np.ndarray, band: int, length: float, least: int = 1) -> np.ndarray:
    """The ink of ruled lines (H, W) bool: runs along a row (or a column) at least `length` long once the ink is
    thickened `band` pixels across them, in an orientation with at least `least` such lines. A rule a few
    degrees off level makes such runs and a digit's stroke does not. Of a rule's run, only the ink that is
    thin across it (`RULE_ACROSS`) is the rule's: a digit's stroke crossing the rule goes on beyond it, and
    stays whole."""
    ruled = np.zeros_like(core)
    for axis in (0, 1):  # rules along rows, then along columns
        flip = (lambda a: a) if axis == 0 else np.transpose
        thick = ndimage.maximum_filter1d(flip(core).view(np.uint8), 2 * band + 1, axis=0).astype(bool)
        runs = run_lengths(thick) >= length
        bands, count = ndimage.label(runs)
        if count >= least:
            across = run_lengths(flip(core).T).T * runs  # the ink's runs across the rules, on them
            thick = np.median(across[across > 0])  # a rule's own thickness: most of the ink on the rules is rule
            ruled |= flip(_on_rule(flip(core) & runs & (across <= RULE_ACROSS * thick + 1), bands, thick, length))
    return core & ruled


def _on_rule(thin: np.ndarray, bands: np.ndarray, thick: float, length: float) -> np.ndarray:
    """Of the thin ink in each rule's band (rules along rows), what lies on the rule itself (H, W) bool: in each
    column, the run of ink across the rule that meets its centre line (the median row of the band's ink in that
    column, smoothed along the rule over `length` columns); of a run thicker than a rule (a stroke lying on
    it), only what is within half a rule's thickness of the line. The bottom of a 0 or a 6 written just above
    a rule lies in the band too, and is kept: it is off the line, and too short to move it."""
    rows, cols = np.nonzero(thin)
    band = bands[rows, cols]
    order = np.lexsort((rows, cols, band))
    rows, cols, band = rows[order], cols[order], band[order]
    column = band.astype(np.int64) * thin.shape[1] + cols  # a band's column
    new_column = np.r_[True, column[1:] != column[:-1]]
    starts = np.flatnonzero(new_column)
    counts = np.diff(np.r_[starts, len(rows)])
    centre = rows[starts + counts // 2].astype(float)  # each band's median row in each of its columns
    window = 2 * int(length) // 2 + 1
    for run in np.split(np.arange(len(starts)), np.flatnonzero(np.diff(band[starts])) + 1):
        centre[run] = ndimage.median_filter(centre[run], size=min(window, len(run)), mode="nearest")
    centre = np.repeat(centre, counts)
    run_starts = np.flatnonzero(new_column | np.r_[True, np.diff(rows) != 1])  # runs of ink across the rule
    first, last = rows[run_starts], np.maximum.reduceat(rows, run_starts)
    on_line = (first - 1 <= centre[run_starts]) & (centre[run_starts] <= last + 1)
    run_length = np.diff(np.r_[run_starts, len(rows)])
    whole = np.repeat(on_line & (run_length <= thick + 1), run_length)
    near = whole | (np.repeat(on_line, run_length) & (np.abs(rows - centre) <= thick / 2 + 1))
    out = np.zeros_like(thin)
    out[rows[near], cols[near]] = True
    return out


def without_grid(core: np.ndarray, labels: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """The ink once a grid that holds the digits together is taken out: when a piece spans over half the
    picture both ways (squared paper, a table's cells, rules joined by a margin line), its runs over a third
    of the picture, if there are three or more of them (a digit filling the picture has one or two). Only that
    piece's: in a box drawn around a row of digits that fill its height, their strokes are as long."""
    h, w = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    spanning = np.flatnonzero((h > core.shape[0] / 2) & (w > core.shape[1] / 2))
    if not len(spanning):
        return core
    band = max(1, round(GRID_BAND * max(core.shape)))
    grid = ruled_lines(np.isin(labels, spanning + 1), band, GRID_RUN * min(core.shape), least=3)
    kept = (core & ~grid) | _under_strokes(core & ~grid, grid)
    return without_rest(kept, grid & ~kept, band)  # a hand-ruled line's bends, which read as 1s


def _under_strokes(kept: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """The grid's ink (H, W) bool with the kept ink on both sides of it along its row or its column, within the
    grid's thickness and `GRID_MEND` pixels: where a stroke crosses a line of the grid, or lies along one and
    stands out of it at both sides. Taken out with the grid, it cut the digits written on dark squared paper apart."""
    if not grid.any():
        return grid
    thick = float(np.median(np.minimum(run_lengths(grid), run_lengths(grid.T).T)[grid]))
    size, ink = int(thick) + GRID_MEND + 1, kept.view(np.uint8)  # the window holds the grid pixel, no kept ink
    mended = np.zeros_like(grid)
    for axis in (0, 1):
        before = ndimage.maximum_filter1d(ink, size, axis=axis, origin=(size - 1) // 2)  # ink in [x - size + 1, x]
        after = ndimage.maximum_filter1d(ink, size, axis=axis, origin=-(size // 2))  # ink in [x, x + size - 1]
        mended |= (before & after).astype(bool)
    return grid & mended


def without_rest(core: np.ndarray, rules: np.ndarray, band: int) -> np.ndarray:
    """`core` without the pieces that lie wholly within `band` pixels of a rule: bits of the rule left over
    where it is thicker than most of it, or bends with the page, that would read as a line of dashes."""
    labels, count = ndimage.label(core, structure=np.ones((3, 3), bool))
    near = ndimage.maximum_filter(rules.view(np.uint8), 2 * band + 1).astype(bool)
    outside = np.bincount(labels[core & ~near], minlength=count + 1)
    return core & (outside[labels] > 0)


def tilt(lines: np.ndarray) -> tuple[float, int]:
    """The tilt (radians, positive going down to the right) of the straight lines in `lines` (H, W) bool, within
    `TILT_RANGE` of level: the direction along which their ink lines up best (a Hough transform, each direction
    scored by the sum of its squared votes, so that all the rules of a page count, and digits on them do not); and
    the pixels of the straightest line along it (its most votes), as long as a rule is when it is one."""
    angles = np.radians(np.arange(-TILT_RANGE, TILT_RANGE + TILT_STEP / 2, TILT_STEP))
    votes, _, _ = transform.hough_line(lines, theta=angles - np.pi / 2)
    best = int(np.argmax((votes.astype(np.float64) ** 2).sum(axis=0)))
    return float(angles[best]), int(votes[:, best].max())
