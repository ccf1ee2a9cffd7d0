"""Signs among digits that the classifier reads as digits: round brackets and slashes, read as 1s, and plus signs,
read as 4s.

A round bracket is one stroke bowed to one side, as a 1 written with a curve can be; the classifier, which sees
each mark alone at MNIST's size, reads most brackets as 1s. The pair gives them away: an opening bracket bows to
the left (its middle left of its ends), a closing one to the right, and the opening one comes first (one of the
two may be bowed so far that the classifier was unsure what it is). A writer's 1s bow the same way, when they bow
at all, so two 1s are rarely read as a pair; digits written by many hands, as in the benchmark's scenes, can hold
such a pair.

A slash is one straight stroke too, leaning further right than a 1 does: in a line of a sum or a fraction, among
other signs, a stroke read as a 1 that leans far right is a slash. In a row of digits without signs it stays a 1,
since some writers' 1s lean as far. A "+" as tall as the digits is read as a 4, and the classifier with a class for
none gives it a fair chance of being none, as it gives few 4s: in a sum, such a 4 is a "+".
"""

from __future__ import annotations

import numpy as np
from skimage import measure

BOW = 0.3  # a stroke is a bracket's when its path bows by this much: the squared term of its middle's column
# against its row, both in its heights (the brackets of the photos bow by 0.25-0.95, most by over 0.35; a 1 by
# up to 0.7, but no writer's 1s in the photos bow both ways by 0.3)
ONE_STROKE = 0.9  # a mark is one stroke when this share of its middle rows cross it once
INK = 0.35  # a digit's pixels above this are its strokes
SLASH_LEAN = 35.0  # degrees: a stroke leaning right further than this from upright is a slash's, in a sum (the slashes
# of photographed fractions lean 36-47 degrees, the 1s of the real photos up to 34; one MNIST 1 in 60 leans as far)
PLUS_NONE = 0.25  # a mark read as a 4 that the classifier with a class for none gives this much, in a sum, is a "+"
# (the tall "+" of photographed sums 0.28-0.61, read as 4s at 0.57-1.0; three of MNIST's 508 4s as much)
SIGNS = 0.15  # a line is a sum when this share of its other marks at least are signs (a long row of digits with one
# of them refused is not)
ENDS = 0.1  # the rows this share of its height from its top and bottom (a 1's flag or foot) are left out


def bow(digit: np.ndarray) -> float:
    """How a mark's stroke bows, from its MNIST-style digit (28, 28) in [0, 1]: > 0 for one like "(", < 0 for one
    like ")", 0 when it is not one stroke (a row of its middle crosses two strokes, or too few rows)."""
    ink = digit > INK
    rows = np.flatnonzero(ink.any(axis=1))
    if len(rows) < 8:
        return 0.0
    height = rows[-1] + 1 - rows[0]
    middle = ink[rows[0] + int(ENDS * height) : rows[-1] + 1 - int(ENDS * height)]
    ys, xs = one_run_rows(middle)
    if len(ys) < max(5, ONE_STROKE * len(middle)):
        return 0.0
    return float(np.polyfit((ys - ys.mean()) / height, xs / height, 2)[0])


def one_run_rows(ink: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows of `ink` (H, W) bool that hold one run of ink along them, where a stroke crosses them once, and the
    middle column of that run in each."""
    rows = np.flatnonzero((np.diff(ink.astype(np.int8), axis=1, prepend=0) == 1).sum(axis=1) == 1)
    middles = (ink[rows] * np.arange(ink.shape[1])).sum(axis=1) / ink[rows].sum(axis=1)
    return rows, middles


def pairs(bows: list[float]) -> set[int]:
    """The places in a line of marks' `bows` that pair as brackets: each bowing like ")" by `BOW` or more with the
    nearest open one before it that bows like "(", nested as brackets are."""
    paired, opened = set(), []
    for k, b in enumerate(bows):
        if b >= BOW:
            opened.append(k)
        elif b <= -BOW and opened:
            paired |= {opened.pop(), k}
    return paired


def lean(digit: np.ndarray) -> float:
    """How far a mark leans right from upright, in degrees (negative: left), from its MNIST-style digit (28, 28): the
    direction of its ink's longest axis, by its second moments."""
    moments = measure.moments_central(digit.astype(np.float64))
    return -0.5 * float(np.degrees(np.arctan2(2 * moments[1, 1], moments[2, 0] - moments[0, 2])))


def slashes(leans: list[float], ones: list[bool], signs: list[bool]) -> set[int]:
    """The places in a line of marks that are slashes: read as 1s (`ones`), leaning right `SLASH_LEAN` or more
    (`leans`), in a line of a sum (`signs`: each mark's being a sign; `_in_a_sum`)."""
    return {k for k, (leaning, one) in enumerate(zip(leans, ones, strict=True))
            if one and leaning >= SLASH_LEAN and _in_a_sum(signs, k)}  # fmt: skip


def pluses(fours: list[bool], nones: list[float], signs: list[bool]) -> set[int]:
    """The places in a line of marks that are plus signs: read as 4s (`fours`) that the classifier with a class for
    none gives `PLUS_NONE` at least (`nones`), in a line of a sum (`signs`, as for `slashes`)."""
    return {k for k, (four, none) in enumerate(zip(fours, nones, strict=True))
            if four and none >= PLUS_NONE and _in_a_sum(signs, k)}  # fmt: skip


def _in_a_sum(signs: list[bool], k: int) -> bool:
    """Whether `SIGNS` of a line's marks but its `k`th at least are signs: a sum, not a row of digits with one of
    them refused."""
    others = signs[:k] + signs[k + 1 :]
    return bool(others) and sum(others) >= SIGNS * len(others)
