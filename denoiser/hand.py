"""The writer's own digits as the guide: to a 1 the classifier doubts (a 1 with a flag), and to how wide a digit is.

The classifier learnt the 1 from MNIST, where nearly every 1 is a single stroke. Many writers give
theirs a flag at the top (and cross their 7s to tell the two apart), and the classifier reads such a
1 as a 7 or a 2, unsure. The picture holds the writer's own 7s and 2s: when it is sure of some of
them, and the doubted mark looks like none of them, that mark is no 7 (or 2) of this hand. It is read
as a 1 if the classifier gives a 1 a chance, and the 1s the writer wrote plainly do not look unlike it.

A 1 written with a foot (a short base under its stem) the classifier reads as a 2: its stem stands upright
through the digit's middle, where a 2's stroke leans (`footed_ones`).

Among the marks read in 140 real photos, the writer's hand read 10 flagged 1s right and no digit wrong. The
benchmark's pictures mix the digits of many hands, which is where it can mislead: one writer's sure 7
says little about another's 1 (five of its fourteen scenes lost 0.1 to 0.25 points of accuracy).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .brackets import one_run_rows

DOUBTED = 0.95  # a mark read at a confidence below this may be read again
SURE = 0.98  # marks read at this confidence at least show how the writer writes their digit...
SURE_ONE = 0.85  # ...and, for a 1, this (a plain 1 is rarely read surer: MNIST's 1s lean every way)
ALIKE = 0.7  # two digits less alike than this are written differently (`likeness`): a writer's own 7s are
# 0.8 alike and more, a flagged 1 and the same writer's 7 0.4-0.7
TAKEN_FOR = (7, 2)  # the digits the classifier reads a flagged 1 as: a 9 with a long stem, unlike the writer's
# rounder 9s, was read as a 1 too
ONE_CHANCE = 0.02  # the classifier gives the doubted mark at least this chance of being a 1
FOOTED_CHANCE = 0.1  # a mark read as a 2 that the classifier gives a 1 this chance at least...
STEM_ROWS, STEM_LEAN = 0.6, 10.0  # ...whose middle rows (a quarter down to four fifths) are one stroke in this share
# at least, standing within this many degrees of upright, is a 1 with a foot: a 2's stroke through its middle leans
# (of MNIST's 531 test digits read as 2s, 7 were given a 1 this chance: three 1s with a foot, upright within 6 degrees,
# and four 2s, leaning 13 degrees and more or no one stroke)
STEM_INK = 0.3  # of an MNIST-style digit's range: its ink
WIDE, WIDE_MARKS = 0.9, 5  # a hand whose marks are wider than this many line heights on median (of this many marks at
# least) writes wide: as wide as tall, its 3s and 5s were cut in two. The benchmark's median marks are narrower.
NARROW, NARROW_LEAST = 0.55, 3  # a hand whose digits read surely (`NARROW_SURE`), 1s aside, are narrower than this many
# line heights on median (of this many at least) writes narrow: a 2 and a 6 of its that touched, 0.82 of their line's
# height wide, were never tried cut (`cuts.WIDE`), and read as one mark that is none. The benchmark's are wider.
NARROW_SURE, NARROW_NONE = 0.9, 0.5  # ...read at this confidence at least, and given no digit less than even odds
PAIR = 1.8  # a narrow hand's mark this many times as wide as its digits may be two of them that touch


def likeness(digits: torch.Tensor) -> torch.Tensor:
    """(N, N) likeness of MNIST-style digits (N, 1, 28, 28): the correlation of their pixels, each digit blurred by
    a 3x3 mean first so that a stroke a pixel off still meets its match. 1 for the same digit."""
    x = F.avg_pool2d(digits.float(), 3, 1, 1).flatten(1)
    x = F.normalize(x - x.mean(1, keepdim=True), dim=1)
    return x @ x.T


def flagged_ones(probabilities: torch.Tensor, digits: torch.Tensor) -> list[int]:
    """The marks of one picture to read as 1s: the classifier's probabilities (N, 10) of each mark's digits
    (N, 1, 28, 28). A mark qualifies when the classifier doubts it (`DOUBTED`), reads it as a 7 or a 2 (`TAKEN_FOR`),
    gives a 1 some chance (`ONE_CHANCE`), is sure of marks it reads as this one's digit (`SURE`) that look unlike
    it, and of no mark it reads as 1 (`SURE_ONE`) that looks unlike it."""
    confidence, labels = probabilities.max(1)
    alike = likeness(digits) >= ALIKE

    def unlike_the_hand(k: int, label: int, sure: float) -> bool:
        """Whether the picture holds sure marks read as `label` and mark `k` looks like none of them."""
        hand = (labels == label) & (confidence >= sure)
        hand[k] = False
        return bool(hand.any()) and not bool(alike[k, hand].any())

    return [k for k in range(len(labels))
            if confidence[k] < DOUBTED and int(labels[k]) in TAKEN_FOR and probabilities[k, 1] >= ONE_CHANCE
            and unlike_the_hand(k, int(labels[k]), SURE) and not unlike_the_hand(k, 1, SURE_ONE)]  # fmt: skip


def width(widths: np.ndarray) -> float:
    """How much wider than most the writer's digits are, from the widths of a picture's marks (in line heights): their
    median over `WIDE`, and 1 if that is less (or the picture holds fewer than `WIDE_MARKS` marks)."""
    if len(widths) < WIDE_MARKS:
        return 1.0
    return max(1.0, float(np.median(widths)) / WIDE)


def narrow(widths: np.ndarray) -> float | None:
    """How wide a narrow hand writes, from the widths (in line heights) of a picture's marks read surely whole as
    digits other than 1: their median, when under `NARROW` (of `NARROW_LEAST` marks at least); else None."""
    if len(widths) < NARROW_LEAST or (median := float(np.median(widths))) >= NARROW:
        return None
    return median


def footed_ones(probabilities: torch.Tensor, digits: torch.Tensor) -> list[int]:
    """The marks of one picture to read as 1s written with a foot (a short base under the stem, and often a flag),
    which the classifier reads as 2s: the classifier's probabilities (N, 10) of each mark's digits (N, 1, 28, 28).
    A mark qualifies when read as a 2, given a 1 `FOOTED_CHANCE` at least, with an upright stem (`upright_stem`)."""
    labels = probabilities.argmax(1)
    return [k for k in range(len(labels)) if int(labels[k]) == 2 and probabilities[k, 1] >= FOOTED_CHANCE
            and upright_stem(digits[k, 0].numpy())]  # fmt: skip


def upright_stem(digit: np.ndarray) -> bool:
    """Whether an MNIST-style digit (28, 28) stands on one upright stroke through its middle: its rows from a quarter
    down to four fifths of its height one run of ink in `STEM_ROWS` of them at least, the runs' centres in a line
    within `STEM_LEAN` degrees of upright."""
    ink = digit > STEM_INK
    rows = np.flatnonzero(ink.any(1))
    if not len(rows):
        return False
    top, height = int(rows[0]), int(rows[-1] - rows[0] + 1)
    middle = ink[top + int(0.25 * height) : top + int(0.8 * height) + 1]
    single, centres = one_run_rows(middle)
    if len(single) < max(3, STEM_ROWS * len(middle)):
        return False
    return bool(abs(np.degrees(np.arctan(np.polyfit(single, centres, 1)[0]))) <= STEM_LEAN)
