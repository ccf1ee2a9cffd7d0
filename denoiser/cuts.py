"""Where a mark wide for its line is cut into the digits it may be: two or three digits that touch make one
piece of ink, and a reader splits them where little ink joins them. Each way to cut is then read, and the
likeliest kept (`reading`).
"""

from __future__ import annotations

import numpy as np

CUTS = 3  # each cut is tried at this many columns of least ink near where an even cut would be, and at the one of
# most (where two 0s written overlapping cross, their loops are cut apart best)


def cut_columns(ink: np.ndarray, parts: int) -> list[list[int]]:
    """Ways to cut a mark's ink (H, W) bool (its own pieces, in its box) into `parts` digits, each a list of
    columns: for each cut, the `CUTS` columns of least ink near where an even cut would be, and the one of most."""
    profile = ink.sum(0)  # ink per column
    width, choices = ink.shape[1], []
    for k in range(1, parts):
        centre, reach = k * width / parts, 0.3 * width / parts
        columns = np.arange(max(1, int(centre - reach)), min(width - 1, int(centre + reach) + 1))
        order = np.lexsort((np.abs(columns - centre), profile[columns]))  # least ink, then nearest the centre
        choices.append(columns[np.r_[order[:CUTS], order[-1:]]])
    return [list(cuts) for cuts in np.array(np.meshgrid(*choices)).reshape(parts - 1, -1).T]
