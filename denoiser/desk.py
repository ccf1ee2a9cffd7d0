"""A sheet on a dark desk: the strips of the desk that the page's light bridges, taken for the strongest ink, and
the bits of the desk beyond the sheet read as a line of digits.

`ink` measures the page's light by cells of the picture; where a sheet lies on a dark desk, the desk's cells are
far darker than the lit page's, run off the picture (or fill much of it), and the sheet's edge steps the light.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .pieces import merged_boxes

LIT = 90  # the lit page's light is this percentile of the cells'
DESK, DESK_CELLS = 0.5, 4  # cells whose light is under this share of the lit page's are a dark desk, if this many
DESK_LARGE = 0.02  # of the cells: a dark region this large is a desk though the picture's edge is not dark (a sheet
# on a desk, turned level and its corners filled white)
DESK_EDGE = 0.1  # the light bending by more than this at a dark region's rim: a sheet's edge (as `ink.STEP`); a page
# under light falling to a quarter across it is as dark at its far side, but with no edge
DESK_NEAR, DESK_REACH, DESK_GROW = 0.1, 5, 3  # strong ink this near the desk's light, this many cells from it, is the
# desk bridged (`bridged`), and this many pixels around it go with it... (where a bridged strip opens onto the desk,
# the closing of the light bridges its mouth too: on Treekay/Learn-CV's 12330029 the desk's cells began 4 cells on)
DESK_SOLID = 3  # ...if it holds a solid square of this many cells a side: no digit's stroke in a shadow as dark does
EDGE, FEW = 0.06, 5  # a line within this share of the picture's longer side from its edge, of this many marks at most,
FAR, REACH = 4.0, 4  # ...further than this many of the ink's heights from every other line, this many cells from the
# desk, is the desk's grain where it glints or the sheet's edge: on Treekay/Learn-CV's sheets on a black desk, 2-6% of
# the side from the picture's edge, 8-40 heights from the writing


def bridged(arr: np.ndarray, light: np.ndarray, cell: int, core: np.ndarray) -> np.ndarray:
    """The pixels (H, W) bool of the strong ink `core` that are a dark desk, and a little around them: a strip of
    the desk between two sheets narrow enough for the page's `light` (by `cell`) to bridge it, as it bridges a stroke,
    is the strongest ink in the picture; its pieces set the thresholds above pencil digits and the ink's height above
    them all (a sheet read as one "1"). A piece is the desk's when it is as dark as the desk's light (`dark`; within
    `DESK_NEAR`), lies within `DESK_REACH` cells of it, and is no pen's stroke: it holds a solid square `DESK_SOLID`
    cells a side, wherever it lies (a wedge of the desk between a sheet and another lying turned on it fills few
    cells of the grid whole)."""
    desk = dark(light)
    if desk.sum() < DESK_CELLS:
        return np.zeros_like(core)
    side = DESK_SOLID * cell
    labels, _ = ndimage.label(core, structure=np.ones((3, 3), bool))
    near = enlarge_mask(ndimage.binary_dilation(desk, iterations=DESK_REACH), cell, core.shape)
    level = float(np.median(light[desk])) + DESK_NEAR
    found = np.zeros_like(core)
    for k, span in enumerate(ndimage.find_objects(labels), start=1):
        if min(span[0].stop - span[0].start, span[1].stop - span[1].start) < side:
            continue  # few are this large: a digit's strokes are thinner
        piece = labels[span] == k
        # the box's edges mirror the piece (the filter's default): where it runs to its box's edge, as a strip of the
        # desk cut off by its box does, it counts twice as thick (Treekay/Learn-CV's 12330029: solid only so)
        solid = piece.sum() >= side * side and ndimage.minimum_filter(piece, size=side).any()
        if solid and near[span][piece].any() and np.median(arr[span][piece]) <= level:
            found[span] |= piece
    return ndimage.binary_dilation(found, iterations=DESK_GROW) if found.any() else found


def dark(light: np.ndarray) -> np.ndarray:
    """The cells (rows, cols) bool of a dark desk in the page's `light`: under `DESK` of the lit page's light, in a
    region that runs off the picture or is large (`DESK_LARGE`), as the light around a thick stroke is not, and
    that a step of the light borders (`DESK_EDGE`): the edge of the sheet lying on it."""
    cells = light < DESK * float(np.percentile(light, LIT))
    labels, count = ndimage.label(cells)
    if not count:
        return cells
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    off = np.unique(np.r_[labels[0], labels[-1], labels[:, 0], labels[:, -1]])  # the regions at the picture's edge
    rim = ndimage.binary_dilation(cells, iterations=2) & ~ndimage.binary_erosion(cells)
    edged = np.unique(ndimage.grey_dilation(labels, size=5)[rim & (bend(light) > DESK_EDGE)])
    large = np.flatnonzero(sizes >= DESK_LARGE * light.size)
    keep = np.intersect1d(np.union1d(off, large), edged)
    return np.isin(labels, keep[keep > 0])


def bend(light: np.ndarray) -> np.ndarray:
    """How much the light (rows, cols) bends at each cell: its second difference along a row or a column, the larger."""
    bent = np.zeros_like(light)
    for axis in (0, 1):
        if light.shape[axis] >= 3:
            pad = [(0, 0), (0, 0)]
            pad[axis] = (1, 1)
            bent = np.maximum(bent, np.pad(np.abs(np.diff(light, 2, axis=axis)), pad, mode="edge"))
    return bent


def on_desk(light: np.ndarray, cell: int, shape: tuple[int, int], boxes: np.ndarray, lines: list[list[int]],
            height: float) -> list[int]:  # fmt: skip
    """The marks (`boxes` (N, 4), in `lines`) of the lines that lie on a dark desk beyond the sheet (the page's
    `light` by `cell`, in a picture of `shape`): a line of `FEW` marks at most, within `EDGE` of the picture's edge
    and `REACH` cells of the desk, further than `FAR` of the ink's `height` from every other line, on a picture
    where some line stands clear of its edge. A number written in a corner of a page that fills the picture lies by
    no desk, and stays."""
    desk = dark(light)
    if desk.sum() < DESK_CELLS or len(lines) < 2:
        return []
    marks = np.concatenate(lines)
    spans = merged_boxes(boxes[marks], np.repeat(np.arange(len(lines)), [len(line) for line in lines]))
    edge = [_by_edge(span, shape) for span in spans]
    if all(edge):  # a crop of the writing: no line stands clear of the picture's edge
        return []
    near, gone = ndimage.binary_dilation(desk, iterations=REACH), []
    for k, line in enumerate(lines):
        top, left, bottom, right = (spans[k] - [0, 0, 1, 1]) // cell  # the cells it covers
        if len(line) > FEW or not edge[k] or not near[top : bottom + 1, left : right + 1].any():
            continue
        if min(_gap(spans[k], other) for j, other in enumerate(spans) if j != k) > FAR * height:
            gone += line
    return gone


def _by_edge(span: np.ndarray, shape: tuple[int, int]) -> bool:
    """Whether a box lies within `EDGE` of the longer side from the edge of a picture of `shape`."""
    top, left, bottom, right = span
    return min(top, left, shape[0] - bottom, shape[1] - right) < EDGE * max(shape)


def _gap(one: np.ndarray, other: np.ndarray) -> int:
    """Pixels between two boxes, across or down, the larger (negative where they overlap both ways)."""
    return int(max(other[0] - one[2], one[0] - other[2], other[1] - one[3], one[1] - other[3]))


def enlarge_mask(cells: np.ndarray, cell: int, shape: tuple[int, int]) -> np.ndarray:
    """A grid's cells (rows, cols) bool at every pixel of the picture (H, W)."""
    return cells.repeat(cell, 0).repeat(cell, 1)[: shape[0], : shape[1]]
