"""The sizes a picture of many digits is read at: `READ_SIDE`, and the part of it to read again closer.

`reading.find_digits` decodes a picture at up to `READ_SIDE` pixels on its longer side. A long row of small
digits across a 12 MP photo is then 10-15 pixels tall, where a stroke is a pixel wide: such marks are read
again from the part of the picture around them, decoded larger (`part`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from PIL import Image
from skimage.transform import SimilarityTransform

from .picture_io import open_image
from .pieces import window

READ_SIDE = 2048  # pictures are decoded at up to this many pixels on their longer side (a 12 MP photo's row of
# forty digits is then ~30 px tall); the digits are made at 20x20 whatever the picture's size
ZOOM_SMALL = 24  # pixels: marks lower than this (the median) at READ_SIDE are read again closer...
ZOOM_SIDE, ZOOM_GAIN = 2 * READ_SIDE, 1.5  # ...from the picture decoded up to this, when they are this much larger
ZOOM_MARGIN = 3  # the marks' heights around them in the part read closer: enough page to tell ink from paper

Box = tuple[int, int, int, int]  # top, left, bottom (exclusive), right (exclusive)


class Part(NamedTuple):
    """A part of a picture decoded larger: `picture`, `scale` times as large, began at (`top`, `left`)."""

    picture: Image.Image
    scale: float
    top: int
    left: int

    def box(self, box: Box) -> Box:
        """A box in the part, in the picture."""
        t, lt, b, r = box
        s, top, left = self.scale, self.top, self.left
        return (round(t / s + top), round(lt / s + left), round(b / s + top), round(r / s + left))


def part(data: bytes, boxes: np.ndarray, decoded: tuple[int, int], heights: np.ndarray | None = None) -> Part | None:
    """The part of the picture around marks (`boxes` (N, 4) in the picture as decoded, `decoded`: (H, W)) that are
    small (`ZOOM_SMALL`; their `heights` as read, when their boxes bound them turned), decoded up to `ZOOM_SIDE` (and
    no more than `READ_SIDE` for that part); None when they are not small, the picture was decoded whole, or the part
    would not be `ZOOM_GAIN` times as large."""
    heights = boxes[:, 2] - boxes[:, 0] if heights is None else heights
    small = len(boxes) > 0 and np.median(heights) < ZOOM_SMALL
    shrunk = max(decoded) >= READ_SIDE  # else it was decoded whole, and is no larger decoded again
    if not (small and shrunk):
        return None
    around = (*boxes[:, :2].min(0), *boxes[:, 2:].max(0))
    rows, columns = window(around, decoded, round(ZOOM_MARGIN * float(np.median(heights))))
    top, left, bottom, right = rows.start, columns.start, rows.stop, columns.stop
    large = open_image(data, ZOOM_SIDE)
    size = large.size[0] / decoded[1]  # how much larger it decoded
    scale = min(size, READ_SIDE / max(bottom - top, right - left))
    if scale < ZOOM_GAIN:
        return None
    picture = large.crop((round(left * size), round(top * size), round(right * size), round(bottom * size)))
    picture = picture.resize((round((right - left) * scale), round((bottom - top) * scale)), Image.LANCZOS)
    return Part(picture, scale, top, left)


def unturned(boxes: np.ndarray, angle: float, shape: tuple[int, int]) -> np.ndarray:
    """Boxes (N, 4) in a picture of `shape` (H, W) turned `angle` degrees by `skimage.transform.rotate` (resized to
    hold it whole), as the boxes (N, 4) that bound them in the picture before it was turned."""
    rows, cols = shape
    centre = np.array((cols, rows)) / 2.0 - 0.5
    turn = SimilarityTransform(translation=-centre) + SimilarityTransform(rotation=np.deg2rad(angle))
    turn += SimilarityTransform(translation=centre)  # the turned picture's point -> the picture's, as `rotate` warps
    corners = turn.inverse(np.array([[0, 0], [0, rows - 1], [cols - 1, rows - 1], [cols - 1, 0]]))
    turn = SimilarityTransform(translation=corners.min(0)) + turn
    top, left, bottom, right = boxes.T
    xs, ys = np.stack([left, right, left, right], 1), np.stack([top, top, bottom, bottom], 1)  # each box's corners
    points = turn(np.stack([xs.ravel(), ys.ravel()], 1)).reshape(-1, 4, 2)
    low, high = np.floor(points.min(1)), np.ceil(points.max(1))
    found = np.stack([low[:, 1], low[:, 0], high[:, 1], high[:, 0]], 1).astype(int)
    return np.clip(found, 0, [rows, cols, rows, cols])
