"""A sheet on a dark desk: the strips of the desk that the page's light bridges, taken for the strongest ink.

`ink` measures the page's light by cells of the picture; where a sheet lies on a dark desk, the desk's cells are
far darker than the lit page's, and run off the picture.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage import segmentation

LIT = 90  # the lit page's light is this percentile of the cells'
DESK, DESK_CELLS = 0.5, 4  # cells whose light is under this share of the lit page's are a dark desk, if this many
DESK_NEAR, DESK_REACH, DESK_GROW = 0.1, 3, 3  # strong ink this near the desk's light, this many cells from it, is the
# desk bridged (`bridged`), and this many pixels around it go with it...
DESK_SOLID, DESK_FULL = 3, 0.9  # ...if it fills a square of this many cells a side (each to this share): no digit's
# stroke in a shadow as dark does


def bridged(arr: np.ndarray, light: np.ndarray, cell: int, core: np.ndarray) -> np.ndarray:
    """The pixels (H, W) bool of the strong ink `core` that are a dark desk, and a little around them: a strip of
    the desk between two sheets narrow enough for the page's `light` (by `cell`) to bridge it, as it bridges a stroke,
    is the strongest ink in the picture; its pieces set the thresholds above pencil digits and the ink's height above
    them all (a sheet read as one "1"). A piece is the desk's when it is as dark as the desk's light (`DESK`, where
    it runs off the picture; within `DESK_NEAR`), lies within `DESK_REACH` cells of it, and is no pen's stroke
    (`DESK_SOLID`)."""
    lit = float(np.percentile(light, LIT))
    dark = light < DESK * lit
    desk = dark & ~segmentation.clear_border(dark)  # runs off the picture, as the light around a thick stroke does not
    if desk.sum() < DESK_CELLS:
        return np.zeros_like(core)
    rows, cols = light.shape
    inked = np.pad(core, ((0, rows * cell - core.shape[0]), (0, cols * cell - core.shape[1])))
    inked = inked.reshape(rows, cell, cols, cell).mean(axis=(1, 3)) >= DESK_FULL  # cells filled with ink
    thick = enlarge_mask(ndimage.minimum_filter(inked, size=DESK_SOLID), cell, core.shape) & core
    if not thick.any():
        return np.zeros_like(core)
    labels, _ = ndimage.label(core, structure=np.ones((3, 3), bool))
    near = enlarge_mask(ndimage.binary_dilation(desk, iterations=DESK_REACH), cell, core.shape)
    level = float(np.median(light[desk])) + DESK_NEAR
    found, objects = np.zeros_like(core), ndimage.find_objects(labels)
    for k in np.unique(labels[thick]):  # few: a digit's strokes fill no such square
        span = objects[k - 1]
        piece = labels[span] == k
        if near[span][piece].any() and np.median(arr[span][piece]) <= level:
            found[span] |= piece
    return ndimage.binary_dilation(found, iterations=DESK_GROW) if found.any() else found


def enlarge_mask(cells: np.ndarray, cell: int, shape: tuple[int, int]) -> np.ndarray:
    """A grid's cells (rows, cols) bool at every pixel of the picture (H, W)."""
    return cells.repeat(cell, 0).repeat(cell, 1)[: shape[0], : shape[1]]
