"""Each mark on a page read as a digit: made an MNIST-style digit with `mnist_style.mnist_digit`, the code that
makes the digit of `image_to_mnist`, and read by the shipped classifier, every mark of a page in one batch. A mark
wide for its line may be two digits that touch: it is also read cut in two or three at columns of little ink, and the
likeliest reading is kept (the classifier's confidence, times how usual each digit's width is). A mark the classifier is
unsure of (but for one that the classifier with a class for what is no digit, `classifier.NO_DIGIT`, rules out as none),
that this one takes for none (a letter, a symbol), or shaped like no digit (a dash), reads as "?"; so do two strokes
that pair as round brackets, and, in a sum, a 1 leaning far right (a slash) and a 4 that the classifier with a class for
none doubts (a "+"; `brackets`). The writer's own digits are the guide to a 1 written with a flag, which the classifier
reads as a 7, and to how wide the writer's digits are (`hand`). A mark read as a doubted 1 whose tail runs far below its
line (a 7's, a 9's) is read again on its top alone (`_tails`); one whose ink closes a loop is no 1 (`_looped_one`).
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
from scipy import ndimage

from . import brackets, hand
from .classifier import NO_DIGIT, load_classifier, probabilities
from .cuts import cut_columns, cut_way, loops, ways, widest_loop
from .digitize import LEVEL_Q, grow_strokes
from .ink import Ink
from .lines import rows_shared
from .marks import Marks
from .mnist_style import mnist_digit
from .pieces import own_ink, window
from .verdicts import CONFIDENT, FLAT_SURE, LOOP_NONE, NOT_SURE, RULED_OUT, SHAPED_LIKE_NONE, TAKEN_FOR_NONE, verdict

NOT_A_DIGIT = "?"
BRACKET = "a bracket"
SLASH = "a slash"
PLUS = "a plus sign"
BRACKET_TALL = 1.0  # a round bracket stands at least this many of its line's heights tall (the median mark's):
# of the 1s that bowed apart in one line of the benchmark's scenes, written by many hands, most were shorter
BRACKET_SURE = 0.99  # a bracket whose ends curl is read as another digit (a ")" as a 3, a "(" with a long tail as a
# 6, at 0.74-0.98 in photos of sums); one read this surely is that digit
MAX_PARTS = 300  # digits made and read at most (every mark, and the cut ones' parts)
PART_TALL = 0.7  # heights: each digit a mark is cut into is at least this tall (a 5 whose bowl ran on to the left
# was cut into a 6 of 0.65 heights and a 5)
ALIKE_SURE = 0.99  # a mark read this surely whole, that the classifier with a class for none gives `RULED_OUT` at
# most, is one digit, not parts that each read as it again: a 5 as wide as tall, cut through its bowl, read 5 and 5
# (two touching 7s, 8s or 4s, each read whole as one, the class for none doubted: 0.09-1.0)
SIDE_BY_SIDE = 0.5  # of the lower part's height: the rows two parts of a cut share, as digits side by side do
TAIL_TALL, TAIL_BELOW = 1.4, 0.3  # line heights: a mark this tall, reaching this far below its line's foot, that
# reads as a 1 the classifier doubts, may be a digit with a long tail...
TAIL_TOP, TAIL_SURE = 1.1, 0.9  # ...and read again on its top, this many heights tall, is the digit read there this
# surely (a 7 whose tail ran on far below, read 0.52-0.78 as a 1 whole, 0.998 as a 7 on its top)
ONE_LOOP = 0.12  # line heights, on the square: a 1 closes no loop this large (of 1,035 1s read in photos, one closed
# a hole, of 0.06; three 9s with small loops, read as 1s, loops of 0.17-0.19)...
LOOPED = (0, 4, 6, 8, 9)  # ...but one of the digits that close a loop does
DIGIT_WIDTH = (0.8, 0.35)  # a digit's width in its line's heights: mean and spread (a 1 is 0.3, a 0 up to 1.2, a 2
# with a long base or a 4 with a long crossbar 1.3), scaled up for a hand that writes wide (`hand.width`)...
OWN_HEIGHT = 1.5  # ...and, for a digit this many of its line's heights tall, in its own height: a line of lowercase
# letters and signs is lower than its digits (a 3 of 1.9 heights as wide as 0.76 of its own was cut in two)


@dataclass(frozen=True)
class Mark:
    """A mark found in the picture: where, in which line, the MNIST-style digit made of it, and what it reads."""

    box: tuple[int, int, int, int]  # (top, left, bottom, right) in `Reading.picture`, bottom/right exclusive
    line: int  # its line, from 0 at the top
    position: int  # its place in the line, from 0 at the left
    digit: torch.Tensor  # (1, 28, 28) in [0, 1], white on black, made as `image_to_mnist` makes one
    label: int  # the digit the classifier reads in it
    confidence: float  # the classifier's confidence in `label`, in [0, 1]
    not_a_digit: float  # the probability that it is no digit at all (a letter, a symbol), in [0, 1]
    why_not: str | None  # why it is no digit (`verdicts`: CROSSED_OUT, TAKEN_FOR_NONE, UNSURE, SHAPED_LIKE_NONE;
    # or BRACKET, or `reading.WORD`); None for a digit
    overruled: int | None = None  # the digit the classifier read, when the writer's own digits overruled it: a 1
    # with a flag read as a 7 or a 2 (`hand`); `confidence` is then the classifier's in a 1

    @property
    def is_digit(self) -> bool:
        return self.why_not is None

    @property
    def text(self) -> str:
        """The digit read, or "?" for a mark that is not a digit."""
        return str(self.label) if self.is_digit else NOT_A_DIGIT


@functools.cache
def _classifier(not_a_digit: bool = False):
    """The shipped classifier (or the one with the `NO_DIGIT` class), loaded and checked once per process."""
    # Channels last: on the CPU the shifted reading of a batch of digits takes half the time so (the same values to
    # a few millionths)
    return load_classifier(not_a_digit=not_a_digit).to(memory_format=torch.channels_last)


Part = tuple[int, int, int]  # a mark's index, and the columns [start, stop) of it that make one digit
Box = tuple[int, int, int, int]  # top, left, bottom (exclusive), right (exclusive)


class _Read(NamedTuple):
    """A part of a mark made a digit and read."""

    digit: torch.Tensor  # (1, 28, 28)
    box: Box  # in the picture
    label: int
    confidence: float
    not_a_digit: float  # the probability that it is no digit at all
    chances: torch.Tensor  # (10,) the classifier's probability of each digit


def _digit(found: Ink, marks: Marks, part: Part, keep_noise: bool, foot: int | None = None) -> tuple[np.ndarray, Box]:
    """The MNIST-style digit (28, 28) of a part of a mark, made by `mnist_style.mnist_digit`, and its box; with a
    `foot` (a row of the picture), of its ink above that row only (`_tails`)."""
    index, start, stop = part
    top, left, bottom, right = marks.boxes[index]
    cut = (start, stop) != (left, right) or foot is not None
    bottom = bottom if foot is None else min(bottom, foot)
    side = max(bottom - top, stop - start)
    # Only the window the digit needs: 1.5 boxes wide for the picture's own values around it (the 28x28
    # field is 1.4 of the 20x20 box), and the reach of the faint ink otherwise.
    win = window((top, start, bottom, stop), found.ink.shape, side if keep_noise else round(2 * found.smooth) + 3)
    core = np.isin(marks.labels[win], marks.pieces[index])
    columns = np.arange(win[1].start, win[1].stop)
    inside = np.broadcast_to((columns >= start) & (columns < stop), core.shape)
    if foot is not None:
        inside = inside & (np.arange(win[0].start, win[0].stop) < foot)[:, None]
    core &= inside
    if not core.any():  # a cut through a gap between a digit's pieces: no digit, and too low to be chosen
        return np.zeros((28, 28)), (int(top), start, int(top), stop)
    # A faint digit's own ink (`faint`) lies partly below the page's faint level: its strokes all the same
    mask = (grow_strokes(core, found.ink_s[win], found.faint, found.smooth) | core) & (inside if cut else True)
    mask &= core | ~ndimage.binary_dilation(marks.ruled[win])  # a digit written on a rule grows no underline
    level = float(np.percentile(found.ink_s[win][core], LEVEL_Q))
    field, box = mnist_digit(found.ink[win], found.ink[win], mask, level, keep_noise=keep_noise)
    top, left = win[0].start, win[1].start
    return field, (int(box[0] + top), int(box[1] + left), int(box[2] + top), int(box[3] + left))


def _options(marks: Marks, most: int = MAX_PARTS) -> list[list[list[Part]]]:
    """For each mark, the ways of reading it (`cuts.ways`), no more than `most` digits to make in all: a page of
    200 marks is read in well under 2 s."""
    return ways(marks.boxes, _widths(marks), lambda i: own_ink(marks.labels, marks.boxes[i], marks.pieces[i]), most)


def _choose(ways: list[list[Part]], height: float, readings: dict[Part, _Read], wide: float = 1.0) -> list[Part]:
    """The likeliest way of reading a mark: the classifier's confidence in each digit of it, times how usual the digit's
    width is for its line's height (`DIGIT_WIDTH`, times `wide`: `hand.width`), and, for a mark cut, the odds that
    each part is a digit at all (the classifier with a class for no digit). The classifier alone is as sure of two
    touching digits read as one as of the two: a digit half again as wide as tall is what tells them apart; and it
    reads the end of a 2's long base, or the stem of a 4 with a long crossbar, as a digit too, but as one unlike any.
    A cut that leaves a part lower than `PART_TALL` heights cut a digit's tail off (a 6's, a 2's), not a digit (but
    for a 0 written small, read surely: "300" with its 0s at 0.6 of the 3's height), and
    one that makes a digit the classifier is unsure of (`CONFIDENT`), or a part the classifier with a class for no
    digit is sure is none (`NOT_SURE`), cut one digit apart (a 2's long base). Parts that share less than
    `SIDE_BY_SIDE` of their rows are no digits side by side but a stroke cut across (a long 1 leaning, read "11").
    A mark read surely whole is not cut into parts that each read as it again (`_alike_parts`)."""
    ways = [way for way in ways if not _alike_parts(way, ways[0], readings)]

    def score(way: list[Part]) -> float:
        boxes = np.array([readings[part].box for part in way])
        confidence = np.array([readings[part].confidence for part in way])
        none = np.array([readings[part].not_a_digit for part in way])
        tall = boxes[:, 2] - boxes[:, 0]
        shared = np.diagonal(rows_shared(boxes[:, 0], boxes[:, 2]), 1)  # each part and the next
        apart = (shared < SIDE_BY_SIDE * np.minimum(tall[1:], tall[:-1])).any()
        labels = np.array([readings[part].label for part in way])
        small_zero = (labels == 0) & (confidence >= FLAT_SURE) & (none < LOOP_NONE)  # as `verdicts` holds one
        short = (tall < PART_TALL * height) & ~small_zero
        if len(way) > 1 and (short.any() or apart or confidence.min() < CONFIDENT
                             or none.max() > NOT_SURE):  # fmt: skip
            return -np.inf
        # A digit far taller than its line (beside small letters and signs: "3y", "a+2b") is judged by its own height
        against = np.where(tall > OWN_HEIGHT * height, tall, height) * wide
        widths = np.array([stop - start for _, start, stop in way]) / against
        usual = -0.5 * (((widths - DIGIT_WIDTH[0]) / DIGIT_WIDTH[1]) ** 2).sum()
        # A mark read whole is a digit or not by `verdicts.verdict`; the parts of a cut must each be one
        digits = np.log(np.maximum(1 - none, 1e-6)).sum() if len(way) > 1 else 0.0
        return float(np.log(np.maximum(confidence, 1e-6)).sum() + digits + usual)

    return max(ways, key=score)


def _alike_parts(way: list[Part], whole: list[Part], readings: dict[Part, _Read]) -> bool:
    """Whether `way` cuts a mark read `ALIKE_SURE` whole (`whole`, its one part), and no digit by `RULED_OUT`, into
    parts that each read as the same digit: a digit wide for its line is cut into halves that each look like it."""
    one = readings[whole[0]]
    return (len(way) > 1 and one.confidence >= ALIKE_SURE and one.not_a_digit <= RULED_OUT
            and all(readings[part].label == one.label for part in way))  # fmt: skip


def _read_all(found: Ink, marks: Marks, parts: list[Part]) -> dict[Part, _Read]:
    """Every part's digit made and read, in one batch of the classifier."""
    made = [_digit(found, marks, part, keep_noise=False) for part in parts]
    digits = torch.from_numpy(np.stack([field for field, _ in made])).float().unsqueeze(1)  # (N, 1, 28, 28)
    chances = probabilities(_classifier(), digits, shifted=True)
    confidence, labels = chances.max(1)
    no_digit = probabilities(_classifier(not_a_digit=True), digits, shifted=True)[:, NO_DIGIT].tolist()
    return {part: _Read(digits[k], box, int(labels[k]), float(confidence[k]), no_digit[k], chances[k])
            for k, (part, (_, box)) in enumerate(zip(parts, made, strict=True))}  # fmt: skip


def _mark(found: Ink, marks: Marks, part: Part, reading: _Read, place: tuple[int, int], keep_noise: bool) -> Mark:
    """The mark a part makes, at `place` (line, position); with `keep_noise`, its digit keeps the picture's values.
    It is no digit if it is crossed out, the classifier is unsure of it or takes it for none (a letter), or it is
    far wider than tall or far lower than its line's digits (a dash, a dot that is not a speck): `verdicts`."""
    digit = reading.digit
    if keep_noise:
        digit = torch.from_numpy(_digit(found, marks, part, keep_noise=True)[0]).float().unsqueeze(0)
    index, start, stop = part
    box = marks.boxes[index]
    ink = own_ink(marks.labels, box, marks.pieces[index])[:, start - box[1] : stop - box[1]]
    height = marks.line_heights[index]
    reading = _looped_one(reading, ink, height)
    why_not = verdict(reading.box, reading.confidence, reading.not_a_digit, height, loops(ink, height), reading.label)
    return Mark(reading.box, *place, digit, reading.label, reading.confidence, reading.not_a_digit, why_not)


def _looped_one(reading: _Read, ink: np.ndarray, height: float) -> _Read:
    """A part read as a 1 whose ink (H, W) bool closes a loop `ONE_LOOP` of its line's `height` wide at least, read
    as the digit with a loop (`LOOPED`) the classifier gives most, its confidence among those: a 9 written thin
    with a small loop, which the strokes thickened to MNIST's width filled, is the 1 with a thick top it became."""
    if reading.label != 1 or widest_loop(ink, height) < ONE_LOOP:
        return reading
    chances = reading.chances[list(LOOPED)]
    k = int(chances.argmax())
    return reading._replace(label=LOOPED[k], confidence=float(chances[k] / chances.sum()))


def read_marks(found: Ink, marks: Marks, keep_noise: bool, cuts: int = MAX_PARTS) -> list[Mark]:
    """Every mark read, in reading order, each wide one as one digit or cut into the likeliest digits, the writer's
    own digits taken as the guide to how wide a digit is (the page's, or its line's when that writes wider; a narrow
    hand's marks as wide as two of its digits tried cut too: `_narrow_pairs`) and to a 1 with a flag (`hand`), and a
    digit with a long tail read on its top (`_tails`). No more than `cuts` digits are made of marks cut."""
    most = min(MAX_PARTS, len(marks.boxes) + cuts)
    options = _options(marks, most)
    parts = sorted({part for ways in options for way in ways for part in way})
    readings = _read_all(found, marks, parts) if parts else {}
    widths = _widths(marks)
    result, reads, wide = [], [], hand.width(widths)
    narrow = _narrow_pairs(found, marks, options, readings, widths, most - len(parts)) if readings else None
    chosen_lines = []
    for indices in marks.lines:  # a row of flat 2s on a page of 1s is cut less readily
        line_wide = max(wide, hand.width(widths[indices])) if narrow is None else narrow / DIGIT_WIDTH[0]
        chosen_lines.append([part for i in indices for part in _choose(options[i], marks.line_heights[i], readings,
                                                                       line_wide)])  # fmt: skip
    readings |= _tails(found, marks, chosen_lines, readings)
    for line, (indices, chosen) in enumerate(zip(marks.lines, chosen_lines, strict=True)):
        line_reads = [readings[part] for part in chosen]
        line_marks = [_mark(found, marks, part, r, (line, k), keep_noise) for k, (part, r) in
                      enumerate(zip(chosen, line_reads, strict=True))]  # fmt: skip
        digits = [r.digit for r in line_reads]
        result += _without_signs(_without_brackets(line_marks, digits, marks.line_heights[indices[0]]), digits)
        reads += line_reads
    return _flagged_ones(result, reads)


def _narrow_pairs(found: Ink, marks: Marks, options: list, readings: dict[Part, _Read], widths: np.ndarray,
                  most: int) -> float | None:  # fmt: skip
    """How wide a narrow hand writes (`hand.narrow`, from the marks read surely whole, none of them cut), with its
    marks `hand.PAIR` times as wide as its digits, and not yet tried cut, tried cut in two: their ways added to
    `options`, their parts read into `readings` (`most` more parts at most: a page of print in a narrow face holds
    hundreds of letters as wide); None for a hand that is not narrow. `widths`: the marks' (`_widths`)."""
    whole = [readings[ways[0][0]] if len(ways) == 1 else None for ways in options]
    sure = [k for k, r in enumerate(whole) if r and r.label != 1 and r.confidence >= hand.NARROW_SURE
            and r.not_a_digit < hand.NARROW_NONE]  # fmt: skip
    if (narrow := hand.narrow(widths[sure])) is None:
        return None
    new = []
    for i in np.flatnonzero(widths > hand.PAIR * narrow):
        if len(options[i]) == 1:
            ink = own_ink(marks.labels, marks.boxes[i], marks.pieces[i])
            options[i] += [cut_way(int(i), marks.boxes[i], cut) for cut in cut_columns(ink, 2)]
            new += [part for way in options[i][1:] for part in way]
    if new := sorted(set(new) - set(readings))[: max(0, most)]:
        readings |= _read_all(found, marks, new)
        options[:] = [[way for way in ways if all(part in readings for part in way)] for ways in options]
    return narrow


def _tails(found: Ink, marks: Marks, chosen: list[list[Part]], readings: dict[Part, _Read]) -> dict[Part, _Read]:
    """The readings of the marks that are digits with a long tail: a whole mark that reads as a 1 the classifier
    doubts (`hand.DOUBTED`), `TAIL_TALL` of its line's heights tall and reaching `TAIL_BELOW` of them below the
    line's foot (the median bottom of its marks, `chosen`: each line's parts). Made an MNIST-style digit whole, a 7
    whose tail runs on far below its line is squeezed into a 1 with a small flag, a 9 with a long stem into a 1 with
    a knot. Read again on its top alone (`TAIL_TOP` heights), it is the digit read there, when that is surely
    (`TAIL_SURE`) another than a 1: the top of a tall 1 is a 1."""
    tailed = []
    for line in chosen:
        foot = np.median([readings[part].box[2] for part in line])
        for part in line:
            (top, _, bottom, _), height = readings[part].box, marks.line_heights[part[0]]
            whole = tuple(part[1:]) == tuple(marks.boxes[part[0], 1::2])
            if (whole and readings[part].label == 1 and readings[part].confidence < hand.DOUBTED
                    and bottom - top >= TAIL_TALL * height and bottom >= foot + TAIL_BELOW * height):  # fmt: skip
                tailed.append((part, int(top + TAIL_TOP * height)))
    if not tailed:
        return {}
    tops = [_digit(found, marks, part, keep_noise=False, foot=row)[0] for part, row in tailed]
    chances = probabilities(_classifier(), torch.from_numpy(np.stack(tops)).float().unsqueeze(1), shifted=True)
    confidence, labels = chances.max(1)
    return {part: readings[part]._replace(label=int(labels[k]), confidence=float(confidence[k]), chances=chances[k])
            for k, (part, _) in enumerate(tailed) if labels[k] != 1 and confidence[k] >= TAIL_SURE}  # fmt: skip


def _widths(marks: Marks) -> np.ndarray:
    """Each mark's width in its line's heights (N,)."""
    return (marks.boxes[:, 3] - marks.boxes[:, 1]) / np.maximum(marks.line_heights, 1)


def _flagged_ones(result: list[Mark], reads: list[_Read]) -> list[Mark]:
    """The picture's marks, with the 1s written with a flag that the classifier read as 7s or 2s read as 1s, judged
    by the writer's own digits among the marks (`hand.flagged_ones`), and those written with a foot read as 2s
    (`hand.footed_ones`); on the digits as read, without the noise that `keep_noise` leaves in the marks'."""
    kept = [k for k, m in enumerate(result) if m.is_digit]
    if not kept:
        return result
    chances = torch.stack([reads[k].chances for k in kept])
    digits = torch.stack([reads[k].digit for k in kept])
    for j in sorted(set(hand.flagged_ones(chances, digits)) | set(hand.footed_ones(chances, digits))):
        mark = result[kept[j]]
        result[kept[j]] = dataclasses.replace(mark, label=1, confidence=float(chances[j, 1]), overruled=mark.label)
    return result


def _without_brackets(line: list[Mark], digits: list[torch.Tensor], height: float) -> list[Mark]:
    """A line's marks, with those that stand as tall as the line's digits at least (`BRACKET_TALL` of its `height`),
    read as 1s or as no digit, and pair as round brackets (`brackets.pairs`) made brackets; their bows are measured
    on their `digits` as read, without the picture's noise that `keep_noise` leaves in the marks'."""
    bows = [brackets.bow(d[0].numpy()) if _bracket_like(m, height) else 0.0 for m, d in zip(line, digits, strict=True)]
    paired = brackets.pairs(bows)
    return [dataclasses.replace(m, why_not=BRACKET) if k in paired else m for k, m in enumerate(line)]


def _without_signs(line: list[Mark], digits: list[torch.Tensor]) -> list[Mark]:
    """A line's marks, with those read as digits that are signs of a sum made signs: a 1 leaning far right a slash,
    a 4 that the classifier with a class for none doubts a "+" (`brackets.slashes`, `brackets.pluses`), in a line
    among signs (a mark taken for none or shaped like none: a "+", a "-"; or a bracket). A mark the classifier was
    unsure of is no sign: it may be a digit. Their lean is measured on their `digits` as read."""
    signs = [m.why_not in (TAKEN_FOR_NONE, SHAPED_LIKE_NONE, BRACKET) for m in line]
    read = [m.label if m.is_digit else None for m in line]
    leans = [brackets.lean(d[0].numpy()) for d in digits]
    slashes = brackets.slashes(leans, [label == 1 for label in read], signs)
    pluses = brackets.pluses([label == 4 for label in read], [m.not_a_digit for m in line], signs)
    why = {**dict.fromkeys(slashes, SLASH), **dict.fromkeys(pluses, PLUS)}
    return [dataclasses.replace(m, why_not=why[k]) if k in why else m for k, m in enumerate(line)]


def _bracket_like(mark: Mark, height: float) -> bool:
    """Whether a mark may be a round bracket: read as a 1, as no digit (a bracket bowed far, which the classifier
    was unsure of) or as another digit less surely than `BRACKET_SURE`, and as tall as its line (`height`) at least."""
    read_so = not mark.is_digit or mark.label == 1 or mark.confidence < BRACKET_SURE
    return read_so and mark.box[2] - mark.box[0] >= BRACKET_TALL * height
