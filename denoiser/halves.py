"""Filters of a large picture run on the two halves of its rows at once.

SciPy's filters let go of Python's lock while they work, and on the picture of a phone photo (2048 x 1536 as
`reading.find_digits` decodes it) each takes tens of milliseconds: smoothing it took 60 ms, and half that as two halves
in two threads. `by_halves` gives exactly the filter's own values: each half is filtered with the rows of the
other half that its filter reaches, and the picture's own edges stay its edges.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

LARGE = 1 << 20  # pixels: a smaller picture is filtered whole, where a thread's hand-off costs as much as it saves
GAUSSIAN_TRUNCATE = 4.0  # scipy.ndimage.gaussian_filter's kernel reaches this many sigmas (its default)


def _other_half() -> ThreadPoolExecutor | None:
    """One thread beside the caller's (the machines this runs on have two cores or a few, shared by visitors), or
    none on a machine of one core."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="halves") if (os.cpu_count() or 1) > 1 else None


def _renew() -> None:
    """A forked process has none of its parent's threads: its copy of the pool would never run the other half."""
    global _OTHER_HALF
    _OTHER_HALF = _other_half()


_OTHER_HALF = _other_half()
os.register_at_fork(after_in_child=_renew)


def by_halves(filter_: Callable[..., np.ndarray], image: np.ndarray, reach: int, *args, **kwargs) -> np.ndarray:
    """`filter_(image, *args, **kwargs)` for a filter whose value at a pixel depends on the rows no more than `reach`
    from it, worked out on the top and the bottom half of the rows at once."""
    rows = image.shape[0]
    if _OTHER_HALF is None or image.size < LARGE or rows < 4 * (reach + 1):
        return filter_(image, *args, **kwargs)
    half = rows // 2
    top = _OTHER_HALF.submit(filter_, image[: half + reach], *args, **kwargs)
    bottom = filter_(image[half - reach :], *args, **kwargs)
    return np.concatenate([top.result()[:half], bottom[reach:]])


def gaussian_reach(sigma: float) -> int:
    """The rows that `scipy.ndimage.gaussian_filter` with `sigma` reaches on either side of a pixel."""
    return int(GAUSSIAN_TRUNCATE * sigma + 0.5)
