"""Marks sorted into lines of writing: which marks are one line, in what order, and at what slant a number was written.

`marks.find_marks` gives these its marks' boxes, (N, 4) top, left, bottom, right; every step works on them as arrays.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

LINE_OVERLAP = 0.5  # neighbours in a line share at least this share of the lower one's height
STRAY_GAP = 0.5  # heights: a mark alone in its line this close after a line's last mark, and beside it, ends it
SLANT, SLANT_AGREE = (10, 50), 10  # degrees: a number written at a slant this steep is turned level first, when
SLANT_SHARE = 0.5  # this share of the marks' nearest neighbours lie within SLANT_AGREE of one direction (a digit
# in two pieces has a neighbour in any direction)
LINE_TILT = 1.0  # degrees: the least lean of the links between neighbours by which a page's lines are grouped again
TURNS = 3  # times at most a page's lines are grouped again, each turned by the lean its links still show
CROSSED = 0.4  # heights: a line whose marks lie this far off a straight line through them (their mean) crossed over
# into the next; grouped turned, a page where no line does so much as half that is kept though it has more lines
NEAR_LEVEL = 15.0  # degrees: digits this near level are taken as one line's to measure the lean of a page whose
# digits stand too far apart to be linked (a number written wide, a few degrees off level: each digit was a line)


def in_lines(boxes: np.ndarray, angle: float = 0.0) -> list[list[int]]:
    """The marks in lines: each linked to its nearest neighbour on the right among those level with it
    (sharing at least `LINE_OVERLAP` of the lower one's height), so a slightly tilted line stays one; lines
    written at a slant `angle` (radians, `slant_of`) are first turned level. Lines are ordered by their middle's height,
    marks by their left edge. A page whose links lean one way (`LINE_TILT`, their median) is grouped again turned
    level by as much, up to `TURNS` times while they still lean, and kept when that gives fewer lines, as many
    running straighter, or lines none of which crosses over as one did before (`_crooked`, `CROSSED`): on a page
    photographed a few degrees off level, a wide gap in a line drifts by more than half a digit's height, and the
    line fell apart in two there, or the numbers at its end went on into the next line's; links within a line lean
    less than the line (its marks stand at varied heights), so once turned by their lean a page may still lean. A
    page whose links do not lean is turned by the lean of its digits from their nearest neighbours near level
    (`_spread_tilt`)."""
    lines, tilt = _grouped(boxes, angle)
    if not angle and abs(tilt) < np.radians(LINE_TILT):
        tilt = _spread_tilt(boxes)
    turned = 0.0
    for _ in range(0 if angle else TURNS):
        if abs(tilt) < np.radians(LINE_TILT):
            break
        turned += tilt
        level, tilt = _grouped(boxes, turned)
        (off, worst), (level_off, level_worst) = _crooked(boxes, lines), _crooked(boxes, level)
        fewer, straighter = len(level) < len(lines), len(level) == len(lines) and level_off < off
        if fewer or straighter or (worst > CROSSED and level_worst < worst / 2):
            lines = level
    return lines


def _spread_tilt(boxes: np.ndarray) -> float:
    """The median angle (radians) from each mark as tall as a digit (`LINE_OVERLAP` of the median height) to its
    nearest on the right within `NEAR_LEVEL` of level: how a page leans whose digits stand too far apart to share
    rows."""
    top, left, bottom, right = (boxes[:, k].astype(float) for k in range(4))
    middle, centre, h = (top + bottom) / 2, (left + right) / 2, bottom - top
    rise, run = middle[None, :] - middle[:, None], centre[None, :] - centre[:, None]
    whole = h >= LINE_OVERLAP * np.median(h)
    near = (run > 0) & (np.abs(rise) <= np.tan(np.radians(NEAR_LEVEL)) * run) & whole[:, None] & whole[None, :]
    distance = np.where(near, np.hypot(rise, run), np.inf)
    nearest = distance.argmin(1)
    has = np.isfinite(distance[np.arange(len(boxes)), nearest])
    if not has.any():
        return 0.0
    return float(np.median(np.arctan2(rise[has, nearest[has]], run[has, nearest[has]])))


def _crooked(boxes: np.ndarray, lines: list[list[int]]) -> tuple[float, float]:
    """How far the marks' middles lie off a straight line through each line of three marks or more, in the marks'
    median heights: summed over all, and the mean of the line where it is most (a line that runs on into the next has
    a step where it crosses over)."""
    middle, centre = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    height = max(float(np.median(boxes[:, 2] - boxes[:, 0])), 1.0)
    off, worst = 0.0, 0.0
    for line in (line for line in lines if len(line) >= 3):
        along = np.stack([centre[line], np.ones(len(line))], 1)
        fit = np.linalg.lstsq(along, middle[line], rcond=None)[0]
        apart = float(np.abs(middle[line] - along @ fit).sum()) / height
        off, worst = off + apart, max(worst, apart / len(line))
    return off, worst


def _grouped(boxes: np.ndarray, angle: float) -> tuple[list[list[int]], float]:
    """`in_lines` with the boxes turned by `angle`; and the median angle of the links between neighbours."""
    top, left, bottom, right = (boxes[:, k].astype(float) for k in range(4))
    if angle:  # the boxes turned about their centres so the slanted line runs level, their sides kept
        cy, cx, h, w = (top + bottom) / 2, (left + right) / 2, bottom - top, right - left
        along, across = cx * np.cos(angle) + cy * np.sin(angle), cy * np.cos(angle) - cx * np.sin(angle)
        top, left, bottom, right = across - h / 2, along - w / 2, across + h / 2, along + w / 2
    h = bottom - top
    shared = rows_shared(top, bottom)
    level = shared >= LINE_OVERLAP * np.minimum(h[:, None], h)
    centre = (left + right) / 2
    gap = np.where(level & (centre[None, :] > centre[:, None]), left[None, :] - right[:, None], np.inf)
    nearest = gap.argmin(1)
    linked = np.isfinite(gap[np.arange(len(boxes)), nearest])
    pairs = _bridges_cut(np.stack([np.flatnonzero(linked), nearest[linked]], 1), shared, h)
    line = _followers_joined(
        _strays_joined(union(len(boxes), pairs), top, left, bottom, right), top, left, bottom, right
    )
    middle = (top + bottom) / 2
    order = sorted(range(line.max() + 1), key=lambda k: np.median(middle[line == k]))
    lines = [sorted(np.flatnonzero(line == k).tolist(), key=lambda i: left[i]) for k in order]
    rise, run = middle[pairs[:, 1]] - middle[pairs[:, 0]], centre[pairs[:, 1]] - centre[pairs[:, 0]]
    return lines, float(np.median(np.arctan2(rise, run))) if len(pairs) else 0.0


def rows_shared(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """How many rows each two of the spans [top, bottom) (N,) share (N, N): negative for spans apart."""
    return np.minimum(bottom[:, None], bottom) - np.maximum(top[:, None], top)


def _bridges_cut(pairs: np.ndarray, shared: np.ndarray, h: np.ndarray) -> np.ndarray:
    """The links (M, 2) from a mark to its nearest neighbour on the right, without those that would run two lines
    together through one mark: when marks as high as a digit (`LINE_OVERLAP` of the median height `h`, (N,)) that share
    no rows (`shared`, (N, N)) are linked to the same one, only the one sharing the largest share of its height with it,
    and those sharing rows with that one, keep their link. A bit of a page's edge photographed a few degrees off level,
    two lines high beside both lines' last digits, ran the two lines together."""
    keep = np.ones(len(pairs), bool)
    whole = h >= LINE_OVERLAP * np.median(h)  # a digit's own piece (a 5's flag, a 2's broken arc) is left linked
    for target in np.unique(pairs[:, 1]):
        into = np.flatnonzero((pairs[:, 1] == target) & whole[pairs[:, 0]])
        sources = pairs[into, 0]
        if len(into) > 1 and not (shared[np.ix_(sources, sources)] > 0).all():
            best = sources[np.argmax(shared[sources, target] / np.minimum(h[sources], h[target]))]
            keep[into] = shared[sources, best] > 0
    return pairs[keep]


def _strays_joined(line: np.ndarray, top, left, bottom, right) -> np.ndarray:
    """Each mark's line (N,) with a mark that is a line of its own joined to the line it follows: one that starts
    within `STRAY_GAP` of its height after a line's last mark ends, and shares some of that mark's rows (a 1 drawn
    lower than the "92" it ends). A mark under another (a column of digits, a grid's last row) starts before it
    ends, and stays a line of its own."""
    lone = np.flatnonzero(np.bincount(line)[line] == 1)
    if not len(lone):
        return line
    order = np.lexsort((right, line))
    ends = order[np.r_[np.flatnonzero(np.diff(line[order])), len(order) - 1]]  # each line's last mark
    for i in lone:
        gap = left[i] - right[ends]
        beside = np.minimum(bottom[i], bottom[ends]) > np.maximum(top[i], top[ends])
        near = ends[(gap >= 0) & (gap <= STRAY_GAP * (bottom[i] - top[i])) & beside & (line[ends] != line[i])]
        if len(near) == 1:
            line = np.where(line == line[i], line[near[0]], line)
    return np.unique(line, return_inverse=True)[1]  # lines numbered from 0 again, none empty


def _followers_joined(line: np.ndarray, top, left, bottom, right) -> np.ndarray:
    """Each mark's line (N,) with two lines joined where one follows the other: it starts right of where the other
    ends and the two share `LINE_OVERLAP` of the lower line's height in rows, and neither line has another such
    partner. Two numbers written side by side, the second lower ("5678" and "0331" a digit's height apart, the "8"
    and "0" sharing too few rows to be level), are one line; lines of a page, one under another, share no rows."""
    count = line.max() + 1
    if count < 2:
        return line
    extent = [(top[line == k].min(), left[line == k].min(), bottom[line == k].max(), right[line == k].max(),
               np.median(bottom[line == k] - top[line == k])) for k in range(count)]  # fmt: skip
    tops, lefts, bottoms, rights, heights = np.array(extent).T
    shared = rows_shared(tops, bottoms)
    follows = (shared >= LINE_OVERLAP * np.minimum(heights[:, None], heights)) & (lefts[None, :] > rights[:, None])
    alone = (follows.sum(1, keepdims=True) == 1) & (follows.sum(0, keepdims=True) == 1)
    pairs = np.argwhere(follows & alone)
    return union(count, pairs)[line] if len(pairs) else line


def slant_of(boxes: np.ndarray) -> float:
    """The angle (radians, positive going down to the right) of a number written at a slant: the direction
    from each mark to its nearest neighbour, when most of them agree on one between `SLANT` degrees; else 0.
    A level line, lines one under another and a column of digits all give 0."""
    if len(boxes) < 3:
        return 0.0
    centres = np.stack([boxes[:, 0] + boxes[:, 2], boxes[:, 1] + boxes[:, 3]], 1) / 2
    distance = np.linalg.norm(centres[:, None] - centres[None], axis=-1)
    np.fill_diagonal(distance, np.inf)
    dy, dx = (centres[distance.argmin(1)] - centres).T
    angles = np.degrees(np.arctan2(dy * np.sign(dx + 1e-9), np.abs(dx)))  # pointing right: within (-90, 90]
    angle = float(np.median(angles))
    agree = np.mean(np.abs(angles - angle) <= SLANT_AGREE)
    return np.radians(angle) if SLANT[0] <= abs(angle) <= SLANT[1] and agree >= SLANT_SHARE else 0.0


def union(n: int, pairs: np.ndarray) -> np.ndarray:
    """Group index (n,) of the graph on n nodes with edges `pairs` (M, 2)."""
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def line_heights(boxes: np.ndarray, lines: list[list[int]]) -> np.ndarray:
    """The median height of the marks of each mark's line (N,)."""
    heights, out = boxes[:, 2] - boxes[:, 0], np.zeros(len(boxes))
    for line in lines:
        out[line] = np.median(heights[line])
    return out
