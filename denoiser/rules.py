"""Ruled lines and grids on a page of handwritten digits, found in its strong ink and taken out.

A rule (lined paper, a table's line, a faint line the digits stand on) is ink in long runs along a row
or a column; a grid (squared paper, a table's cells) is three or more such runs over a third of the
picture. Only the ink thin across a rule is the rule's: a digit's stroke that crosses it goes on
beyond it and stays whole, and where a stroke is cut by a grid's line it is mended. A grid printed far fainter
than the writing, that the pen's strokes cross everywhere, is taken below the ink instead (`above_rules`).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import ndimage
from skimage import filters, transform

from . import faint, pieces
from .digitize import strong_ink
from .halves import by_halves
from .ink import Ink, run_lengths

RULE_ACROSS = 1.5  # of a rule's band, the ink less than this many times a rule's thickness across it is the rule's
GRID_BAND, GRID_RUN = 0.006, 1 / 3  # a grid's lines: thickened by 0.6% of the picture's side, a third of it long
GRID_SPAN = 0.34  # a grid is looked for in a piece of ink over this share of the picture wide and high (a row of
# boxes photographed with the page around it is less than half its height)
GRID_MEND = 2  # pixels beyond a grid line's thickness that a stroke crossing it is looked for at either side
TILT_RANGE, TILT_STEP = 20.0, 0.25  # degrees: the tilts of rules looked for, either way of level, and their step
RULED_MOST = 0.5  # of the strong ink: a page whose rules taken out were more than this...
RULES_FAINT = 2.5  # ...and whose writing's ink is this many times as strong as theirs at least (`above_rules`), is
# read with the rules below its ink: a blue grid printed half as dark as the blue pen's digits made one piece of
# ink with them, cut up by the grid's removal into bits read as 1s
RULES_ABOVE = 0.2  # ...the stronger levels being the writing's: this share of the rules' ink at most (the dark rules of
# lined pages that were most of the stronger levels, 0.44 of their ink, were as strong as the writing)


def ruled_lines(core: np.ndarray, band: int, length: float, least: int = 1) -> np.ndarray:
    """The ink of ruled lines (H, W) bool: runs along a row (or a column) at least `length` long once the ink is
    thickened `band` pixels across them, in an orientation with at least `least` such lines. A rule a few
    degrees off level makes such runs and a digit's stroke does not. Of a rule's run, only the ink that is
    thin across it (`RULE_ACROSS`) is the rule's: a digit's stroke crossing the rule goes on beyond it, and
    stays whole. A rule is as thin as the thinnest of the page's two ways' rules: on a page ruled one way, what
    runs the other way is a digit's bar, thicker."""
    ruled, found = np.zeros_like(core), {}
    for axis in (0, 1):  # rules along rows, then along columns
        bands = _bands(core, band, length, axis)
        if bands.max() >= least:
            found[axis] = (bands, _across(core, bands, axis))
    if found:
        thick = min(_thickness(across) for _, across in found.values())
        for axis, (bands, across) in found.items():
            ruled |= _on_bands(core, bands, across, thick, length, axis)
    return core & ruled


def _along(a: np.ndarray, axis: int) -> np.ndarray:
    """`a` turned so that lines along `axis` (0: rows, 1: columns) run along its rows (its own inverse)."""
    return a if axis == 0 else a.T


def _bands(core: np.ndarray, band: int, length: float, axis: int) -> np.ndarray:
    """The bands (H, W) int, labelled (0: none), where the ink thickened `band` pixels across runs at least `length`
    along rows (`axis` 0) or along columns (1): a rule's band is whole where a stroke crossing it splits its ink."""
    thick = by_halves(ndimage.maximum_filter1d, _along(core, axis).view(np.uint8), band, 2 * band + 1, axis=0)
    thick = thick.astype(bool)
    return _along(ndimage.label(run_lengths(thick) >= length)[0], axis)


def _across(core: np.ndarray, bands: np.ndarray, axis: int) -> np.ndarray:
    """The runs of ink across the rules along `axis` (H, W) int, on their `bands`, 0 elsewhere: their median is
    a rule's own thickness (`_thickness`), as most of the ink on the rules is rule."""
    core, bands = _along(core, axis), _along(bands, axis)
    return _along(run_lengths(core.T).T * (bands > 0), axis)


def _thickness(across: np.ndarray) -> float:
    """A rule's own thickness: the median of the runs of ink across the rules (`_across`)."""
    return float(np.median(across[across > 0]))


def _on_bands(core: np.ndarray, bands: np.ndarray, across: np.ndarray, thick: float, length: float,
              axis: int) -> np.ndarray:  # fmt: skip
    """The ink of the rules in `bands` (`_bands`) along `axis`: of each band, only the ink thin across it (`across`,
    no more than `RULE_ACROSS` times a rule's thickness `thick`)."""
    core, bands, across = _along(core, axis), _along(bands, axis), _along(across, axis)
    thin = core & (bands > 0) & (across <= RULE_ACROSS * thick + 1)
    return _along(_on_rule(thin, bands, thick, length), axis)


def _on_rule(thin: np.ndarray, bands: np.ndarray, thick: float, length: float) -> np.ndarray:
    """Of the thin ink in each rule's band (rules along rows), what lies on the rule itself (H, W) bool: in each
    column, the run of ink across the rule that meets its centre line (the median row of the band's ink in that
    column, smoothed along the rule over `length` columns); of a run thicker than a rule (a stroke lying on
    it), only what is within half a rule's thickness of the line. The bottom of a 0 or a 6 written just above
    a rule lies in the band too, and is kept: it is off the line, and too short to move it."""
    rows, cols = np.nonzero(thin)
    if not len(rows):  # every band's ink is thicker than a rule of the other way: a bar, no rule
        return np.zeros_like(thin)
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
    """The ink once a grid that holds the digits together is taken out: when a piece spans over `GRID_SPAN` of
    the picture both ways (squared paper, a table's cells, a form's row of boxes, rules joined by a margin line),
    its lines (`_across_grid`). Only that piece's: in a box drawn around a row of digits that fill its height,
    their strokes are as long."""
    h, w = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    spanning = np.flatnonzero((h > GRID_SPAN * core.shape[0]) & (w > GRID_SPAN * core.shape[1]))
    if not len(spanning):
        return core
    band = max(1, round(GRID_BAND * max(core.shape)))
    piece = np.isin(labels, spanning + 1)
    grid = _across_grid(piece, band)
    kept = (core & ~grid) | _under_strokes(core & ~grid, grid)
    return without_rest(kept, grid & ~kept, band)  # a hand-ruled line's bends, which read as 1s


def _across_grid(piece: np.ndarray, band: int) -> np.ndarray:
    """A grid's lines in `piece` (H, W) bool: runs a third of the picture long (`GRID_RUN` of its width along
    rows, of its height along columns), three or more of them one way, each a line of the grid (`_grid_line`)."""
    lengths = [GRID_RUN * piece.shape[1 - axis] for axis in (0, 1)]
    found = [_bands(piece, band, lengths[axis], axis) for axis in (0, 1)]
    rows, cols = np.nonzero(piece)
    grid = np.zeros_like(piece)
    for axis in (0, 1):
        bands, across = found[axis], found[1 - axis]
        if bands.max() < 3:
            continue
        near = ndimage.grey_dilation(across, size=3)  # the lines the other way, and what touches them
        ends = (cols.min(), cols.max() + 1) if axis == 0 else (rows.min(), rows.max() + 1)
        reach = 2 * band + 2
        keep = [False] + [_grid_line(_along(bands[box] == b, axis), _along(near[box], axis), box[1 - axis], ends, reach)
                          for b, box in enumerate(ndimage.find_objects(bands), start=1)]  # fmt: skip
        runs = _across(piece, bands, axis)
        lines = _on_bands(piece, bands, runs, _thickness(runs), lengths[axis], axis)
        grid |= lines & np.array(keep)[bands]
    return grid


def _grid_line(line: np.ndarray, near: np.ndarray, span: slice, ends: tuple[int, int], reach: int) -> bool:
    """Whether the band of a run along rows (`line`, in its box; `near`, the labels of the lines across in that
    box) is a line of the grid: it meets two lines across, or each of its ends (within `reach`) meets one or is
    at the grid's end. A square's or a table's line runs from one line of it to another, and a page's rules from
    the margin's line to the page's edge; the stroke of a digit touching the grid (a 4's stem standing on a
    box's bottom line, as long as the box is high) meets one, and ends free."""
    met = near[line & (near > 0)]
    if len(np.unique(met)) >= 2:
        return True
    start = span.start <= ends[0] + reach or bool(near[:, :reach][line[:, :reach]].any())
    stop = span.stop >= ends[1] - reach or bool(near[:, -reach:][line[:, -reach:]].any())
    return start and stop


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
    near = by_halves(ndimage.maximum_filter, rules.view(np.uint8), band, 2 * band + 1).astype(bool)
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


def straight(labels: np.ndarray, box: np.ndarray, label: int) -> bool:
    """Whether the piece `label` of `labels` (its `box`: top, left, bottom, right) lies along a straight line at any
    tilt (`pieces.STRAIGHT`, by the inertia of its ink): a rule, a pen lying on the page, a rule with digits standing
    on it are; a large 3 drawn in a thin pen, as long and thin as a rule beside small digits, is not."""
    top, left, bottom, right = box
    return pieces.straight(labels[top:bottom, left:right] == label)


def above_rules(found: Ink, ruled: np.ndarray) -> Ink | None:
    """The ink `found` with its ruled lines and grid (`ruled` (H, W) bool: the strong ink that was theirs) taken
    below the ink, when they were most of its strong ink (`RULED_MOST`) and far fainter than the writing: the strong
    ink's levels parted in two by Otsu's threshold, the stronger's mean `RULES_FAINT` times the fainter's at least,
    and at most `RULES_ABOVE` of the rules' ink among the stronger. Only what is stronger than nearly all the
    fainter levels (98%) is then ink, and its thresholds follow the writing's level. None when they were not."""
    if ruled.sum() <= RULED_MOST * found.core.sum():
        return None
    levels = found.ink_s[found.core]
    parting = filters.threshold_otsu(levels)
    fainter, stronger = levels[levels <= parting], levels[levels > parting]
    if stronger.mean() < RULES_FAINT * fainter.mean() or (found.ink_s[ruled] > parting).mean() > RULES_ABOVE:
        return None
    above = found.ink_s > np.percentile(fainter, 98)  # not the parting: the writing's fainter strokes fall below it
    ink_s = np.where(above, found.ink_s, 0).astype(np.float32)
    core, peak = strong_ink(ink_s, found.sigma, found.grainy, float(np.percentile(stronger, 95)))
    core = faint.with_faint_digits(ink_s, core, found.sigma, peak, found.grainy)
    ink = np.where(above, found.ink, 0).astype(np.float32)
    return dataclasses.replace(found, ink=ink, ink_s=ink_s, core=core, peak=peak)
