"""A shadow's sharp edge across the page (a phone's or a hand's, in sunlight or under a lamp): the page's light
followed to the pixel beside it, and the page's part in the shadow told from what lies beyond the page's edge.

`ink` measures the page's light by cells, and sets aside the ink beside a step of that light, where the light
interpolated between cells is wrong by up to the step: the page's edge on a desk. A shadow's edge on the page is such
a step too. Set aside, the digits it crosses lost their strokes along it; and the page's shaded part, parted by the
step from the lit part, was taken for a desk beyond the page, and its digits left out.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage import measure, transform

from .desk import DESK, LIT, dark, enlarge_mask
from .digitize import _noise_sigma

FINE, FINE_LEAST = 2, 15  # the light beside a shadow's edge bridges strokes this many light cells wide, this many
# pixels at least: the closing follows a straight edge exactly, whatever its width
AROUND = 5  # cells of the light (of the grain): the neighbourhood that tells a shadow's edge from the page's
GRAIN_REF = 25  # the page's grain is this percentile of the cells'...
CALM, ROUGH = 2, 10  # ...a shadow's edge has a cell as calm as twice it nearby, and none beside it rougher than ten
# times it: a leather desk beyond a sheet's edge was 7.7 times as grainy (its edge became marks), a pen's strokes
# through cells beside a shadow's edge up to 6 times
LEAST_GRAIN = 1.5 / 255  # the page's grain is taken as no less: a JPEG's steps (a flat page's grain is none, and the
# strokes' own ringing made every cell of them rough)
SHADED_GRAIN = 2  # a region of the light beyond the page's, as grainy as this many times the page, is the page in
# shadow: a carpet beyond a sheet was 3 times as grainy; a shadow on the page, 0.9 times


def edge(steps: np.ndarray, light: np.ndarray, light_cell: int, grain: np.ndarray, grain_cell: int) -> np.ndarray:
    """The pixels (H, W) bool of `steps` (H, W) bool that lie along a shadow's edge on the page: where the page's
    `light` (by `light_cell`) is no darker than a desk's (`desk.DESK`) all around, no dark desk is near, and the
    page's `grain` (H, W, from cells of `grain_cell`) is calm nearby and nowhere rough (`CALM`, `ROUGH`)."""
    lit = float(np.percentile(light, LIT))
    paper = ndimage.minimum_filter(light, AROUND) >= DESK * lit
    paper &= ~ndimage.binary_dilation(dark(light), iterations=AROUND)
    centres = tuple(slice(min(grain_cell // 2, side - 1), None, grain_cell) for side in steps.shape)  # a strip's too
    cells, stepped = grain[centres], steps[centres]
    page = max(float(np.percentile(cells, GRAIN_REF)), LEAST_GRAIN)
    calm = ndimage.minimum_filter(cells, AROUND) <= CALM * page
    calm &= ndimage.maximum_filter(np.where(stepped, 0, cells), AROUND) <= ROUGH * page  # the step's own cells aside
    return steps & _at_pixels(paper, light_cell, steps.shape) & _at_pixels(calm, grain_cell, steps.shape)


def followed(arr: np.ndarray, page: np.ndarray, along: np.ndarray, dark_ink: bool, size: int, smooth: float,
             cell: int) -> np.ndarray:  # fmt: skip
    """The page's light (H, W) `page`, followed to the pixel `along` (H, W) bool a shadow's edge: a grey closing
    `size` pixels wide of the picture `arr` smoothed by `smooth` (an opening for light ink), which takes out the
    strokes and keeps the step where it is. A closing is the grain's upper envelope: it is taken down by each cell's
    (`cell` pixels) median of its distance to the picture, which the step leaves alone; an opening over the cells
    drops those a thick stroke fills."""
    out = page.copy()
    labels, _ = ndimage.label(along[::cell, ::cell], structure=np.ones((3, 3), bool))  # each stretch of the edge
    for rows, cols in ndimage.find_objects(labels):  # on its own: a turned photo's four white corners are four
        win = (slice(max(0, rows.start * cell - size), (rows.stop + 1) * cell + size),
               slice(max(0, cols.start * cell - size), (cols.stop + 1) * cell + size))  # fmt: skip
        part = ndimage.gaussian_filter(arr[win], smooth)
        envelope = (ndimage.grey_closing if dark_ink else ndimage.grey_opening)(part, size=(size, size), mode="nearest")
        distance = np.abs(envelope - arr[win])
        bias = ndimage.grey_opening(measure.block_reduce(distance, (cell, cell), np.median), size=3, mode="nearest")
        bias = transform.resize(bias, distance.shape, order=1, mode="edge", anti_aliasing=False)
        out[win] = np.where(along[win], envelope - bias if dark_ink else envelope + bias, out[win])
    return out


def shaded(ink: np.ndarray, core: np.ndarray, light: np.ndarray, regions: np.ndarray, cell: int, page: int,
           others: set[int]) -> list[int]:  # fmt: skip
    """Of the regions of the light (`regions`, by `cell`) in `others`, those that are the page in shadow, not beyond
    its edge: no darker than a desk (`desk.DESK`) and as grainy as the `page` region's at most `SHADED_GRAIN` times
    (the spread of the `ink` (H, W) off the strong ink `core`, every quarter cell). None when the page's region lies
    clear of the picture's edge: a pale desk all round a sheet is as even as the page in a shadow."""
    lit_page = regions == page
    if not (lit_page[[0, -1]].any() or lit_page[:, [0, -1]].any()):
        return []  # a sheet lying whole in the picture: its edge parts it from the desk all round
    step = max(1, cell // 4)
    at = regions[np.arange(0, ink.shape[0], step) // cell][:, np.arange(0, ink.shape[1], step) // cell]
    off = ~core[::step, ::step]
    values, region = ink[::step, ::step][off], at[off]
    lit = float(np.percentile(light, LIT))

    def grain(k: int) -> float:
        return _noise_sigma(values[region == k]) if (region == k).sum() > 50 else np.inf

    usual = grain(page)
    lighter = [k for k in sorted(others) if np.median(light[regions == k]) >= DESK * lit]
    return [k for k in lighter if grain(k) <= SHADED_GRAIN * usual]


def _at_pixels(cells: np.ndarray, cell: int, shape: tuple[int, int]) -> np.ndarray:
    """`desk.enlarge_mask`, padded with the grid's last row and column where its cells, sampled from their centres,
    fall short of the picture (H, W)."""
    out = enlarge_mask(cells, cell, shape)
    return np.pad(out, ((0, shape[0] - out.shape[0]), (0, shape[1] - out.shape[1])), mode="edge")
