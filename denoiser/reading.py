"""Read a picture of many handwritten digits: a phone number, a row of thirty, a sheet of lines.

`find_digits` decodes the picture larger than `picture_io.open_image` does for one digit (a long
row of small digits would be a few pixels tall at 1024), finds the ink on the page (`ink`), sorts
it into marks and lines (`marks`), and reads each mark as a digit (`mark_reading`): made an MNIST-style digit
with the code that makes the digit of `image_to_mnist`, read by the shipped classifier in one batch, a wide
mark also cut where two digits touch, and a mark that is no digit read as "?". A line of marks that are
none is no line of digits, nor is a line of print or a word beside a number; a picture written at a slant is
read turned level, one photographed sideways turned a quarter, and one of small digits read closer (`zoom`).
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from skimage import transform

from . import zoom
from .desk import on_desk
from .digitize import ImageError, _as_grey_array
from .ink import Ink, beyond_page, blurred, find_ink, on_page
from .mark_reading import BRACKET, MAX_PARTS, NOT_A_DIGIT, PLUS, SLASH, Mark, read_marks
from .marks import Marks, find_marks, without
from .picture_io import open_image
from .pieces import sideways
from .rules import above_rules
from .verdicts import LOW, SHORTEST, TAKEN_FOR_NONE, UNSURE
from .zoom import READ_SIDE

__all__ = ["BRACKET", "NOT_A_DIGIT", "PLUS", "SLASH", "WORD", "Mark", "Reading", "find_digits", "read_picture"]

WORD = "a word's letter"
SIGNS = (BRACKET, SLASH)  # marks that are no digit but signs among digits, not letters: no word, no line of writing

STRAY = 3.0  # line heights: a mark that is none and low, this far from the rest of its line, is left out
SIDEWAYS_GAIN = 0.05  # a picture whose pieces are wider than tall (`pieces.sideways`) is read turned when the
# classifier's mean log-confidence gains this much (a row of 0s reads nearly as surely either way; a sideways photo
# of 30 digits gained 0.1, with no "?" left)
SIDEWAYS_MOST = 60  # marks: a page with more is not read three times...
SIDEWAYS_CUTS = 40  # ...and turned, no more than this many digits are made of wide marks cut (a page of print, its
# words wide marks, took near 2 s; a photo of digits has few that touch)
WORD_GAP = 0.5  # of its line's median height: marks closer than this to the next are one run of writing
WORD_LEAST = 3  # marks: a run this long, more of them none than digits, is a word
TEXT_RUNS, TEXT_SHARE = 4, 2 / 3  # a line with this many runs holding a letter, this share of its runs, is printed
# text (a sum drawn with its signs as tall as its digits, "98÷76×54+32−10", holds four of its seven runs)


@dataclass(frozen=True)
class Reading:
    """What `find_digits` found: every mark in reading order, and the picture searched."""

    marks: list[Mark]  # lines top to bottom, each left to right
    picture: np.ndarray  # (H, W) uint8: the upright greyscale picture searched, at most READ_SIDE on a side
    # (turned level when its digits were written at a slant, and so a little larger)
    dark_ink: bool  # True when the ink was darker than the page
    quarters: int = 0  # quarter turns to the left (as `np.rot90`) the picture was read turned: 1 or 3 for a photo
    # taken sideways, else 0
    turned: float = 0.0  # degrees the picture was turned level by (`skimage.transform.rotate`), else 0

    @property
    def lines(self) -> list[str]:
        """One string per line of digits: the digits read in order, "?" for a mark that is not a digit."""
        count = 1 + max((m.line for m in self.marks), default=-1)
        return ["".join(m.text for m in self.marks if m.line == k) for k in range(count)]

    @property
    def digits(self) -> torch.Tensor:
        """Every mark's digit, in reading order: (N, 1, 28, 28)."""
        return torch.stack([m.digit for m in self.marks]) if self.marks else torch.zeros(0, 1, 28, 28)


Closer = Callable[[np.ndarray], zoom.Part | None]  # marks' boxes (N, 4) -> the part of the picture to read them in


class ReadCloser(Exception):
    """Raised by `read_picture` given a `closer`, for marks to read from the `part` it gave, unread here; `picture`
    is the picture searched, as `Reading.picture`."""

    def __init__(self, part: zoom.Part, picture: np.ndarray) -> None:
        super().__init__("the marks are read closer")
        self.part, self.picture = part, picture


def read_picture(grey: np.ndarray | Image.Image, *, keep_noise: bool = False, closer: Closer | None = None) -> Reading:
    """Find and read every digit in a greyscale picture (uint8, or float in [0, 1]); see `find_digits`. A picture
    whose pieces of ink are wider than tall may be a photo taken sideways: when the classifier is unsure of it
    and it holds few marks (`SIDEWAYS_MOST`), it is also read turned a quarter each way, and the reading the
    classifier is surest of, by `SIDEWAYS_GAIN` over the picture as it is, is kept. Lines of marks that are none
    are left out (`_digit_lines`). Marks found level, that `closer` gives a part to read closer, are not read here:
    `ReadCloser` is raised."""
    arr = _as_grey_array(grey)
    reading, marks = _read_level(arr, keep_noise, closer=closer)
    few = 0 < len(reading.marks) <= SIDEWAYS_MOST
    # the cheap tests first
    if not few or _sureness(reading) > -SIDEWAYS_GAIN or not sideways(marks.labels, marks.pieces):
        return _digit_lines(reading)
    turned = [dataclasses.replace(_read_level(np.rot90(arr, k).copy(), keep_noise, SIDEWAYS_CUTS)[0], quarters=k)
              for k in (1, 3)]  # fmt: skip
    best = max(turned, key=_sureness)
    return _digit_lines(best if _sureness(best) > _sureness(reading) + SIDEWAYS_GAIN else reading)


def _digit_lines(reading: Reading) -> Reading:
    """A reading without its stray marks (`_stray`), nor its lines of writing: a line whose marks are more often
    taken for none, shaped like none, crossed out or ones the classifier is unsure of than digits (brackets and
    slashes aside) is a word, a name in a script of many strokes torn into pieces, a printed logo or what is left of
    a rule, no line of digits. The letters of a word are none (`_words`), and a word counts as one mark that is
    none: a line of a number and its label ("Marks 08") is a line of digits. Lines and places are numbered again."""
    reading, words = _words(reading)
    lines = _by_line(reading.marks)
    marks = [m for m in reading.marks if not _stray(m, lines[m.line])]
    digits = collections.Counter(m.line for m in marks if m.is_digit)
    apart = (*SIGNS, WORD)  # a word's letters count once, as `words`
    nones = collections.Counter(m.line for m in marks if not m.is_digit and m.why_not not in apart) + words
    kept = sorted(line for line, count in digits.items() if count >= nones[line])
    number, places = {line: k for k, line in enumerate(kept)}, collections.Counter()
    renumbered = []
    for m in (m for m in marks if m.line in number):
        renumbered.append(dataclasses.replace(m, line=number[m.line], position=places[m.line]))
        places[m.line] += 1
    return dataclasses.replace(reading, marks=renumbered)


def _words(reading: Reading) -> tuple[Reading, collections.Counter]:
    """A reading whose words' letters are none (`WORD`), and how many words each line holds. A word is a run of
    `WORD_LEAST` marks or more, each less than `WORD_GAP` of their line's height from the next, of which more are none
    than digits (brackets and slashes aside). The classifier takes a word's "M", "k" or "e" for none but reads its "l"
    as a 1, its "o" as a 0, its "s" as a 5: the words of a printed form ("Marks obtained 08") were read as digits among
    the numbers. A number with a letter or a sign among its digits holds more digits than none. In a line that holds a
    word, every run with a letter in it (`_lettered`) is a word too, however short ("is" read "1?", "sell" "5?11"); a
    line where `TEXT_RUNS` runs at least, and `TEXT_SHARE` of them, hold a letter is printed text, all words: typeset
    letters close up into runs of a few, where the classifier reads each o, s and l as a digit and takes most others
    for none, and runs of the letters it reads as digits alone ("oil" read "011") are numbers for all it can tell."""
    worded, words = set(), collections.Counter()
    for line, in_line in _by_line(reading.marks).items():
        runs = _runs(in_line)
        lettered, whole = _lettered(runs, in_line), {k for k, run in enumerate(runs) if _is_word(run)}
        if len(lettered) >= TEXT_RUNS and len(lettered) >= TEXT_SHARE * len(runs):
            whole = set(range(len(runs)))  # printed text, its "o", "s" and "l" read as digits: no line of digits
        elif whole:
            whole |= lettered
        for k in whole:
            worded |= {id(m) for m in runs[k]}
            words[line] += 1
    marks = [dataclasses.replace(m, why_not=WORD) if id(m) in worded else m for m in reading.marks]
    return dataclasses.replace(reading, marks=marks), words


def _is_word(run: list[Mark]) -> bool:
    """Whether a run of writing is a word: `WORD_LEAST` marks at least, more of them none than digits."""
    nones = sum(not m.is_digit and m.why_not not in SIGNS for m in run)
    return len(run) >= WORD_LEAST and nones > sum(m.is_digit for m in run)


def _lettered(runs: list[list[Mark]], line: list[Mark]) -> set[int]:
    """Which runs hold a letter: a mark the classifier with a class for none takes for none, or the digit classifier
    is unsure of (or a word's, already), as tall as its line's marks (`LOW`): the signs of a sum are lower."""
    tall, letters = LOW * float(np.median([m.box[2] - m.box[0] for m in line])), (TAKEN_FOR_NONE, UNSURE, WORD)
    return {k for k, run in enumerate(runs) if any(m.why_not in letters and m.box[2] - m.box[0] >= tall for m in run)}


def _by_line(marks: list[Mark]) -> dict[int, list[Mark]]:
    """The marks of each line, each line's in reading order."""
    lines = collections.defaultdict(list)
    for mark in marks:
        lines[mark.line].append(mark)
    return lines


def _runs(line: list[Mark]) -> list[list[Mark]]:
    """A line's marks (left to right) in runs of writing: each mark less than `WORD_GAP` of the line's median
    height from the next."""
    height = float(np.median([m.box[2] - m.box[0] for m in line]))
    runs = [[line[0]]]
    for before, mark in itertools.pairwise(line):
        if mark.box[1] - before.box[3] > WORD_GAP * height:
            runs.append([])
        runs[-1].append(mark)
    return runs


def _stray(mark: Mark, line: list[Mark]) -> bool:
    """Whether a mark that is none (not one the classifier was only unsure of) is lower than `SHORTEST` of its
    `line`'s digits and further than `STRAY` of their heights from every other mark of it: a speck, or a bit of a
    rule in the margin, where a dash or a minus sign stands by the digits."""
    heights = [o.box[2] - o.box[0] for o in line if o.is_digit]
    if mark.is_digit or mark.why_not == UNSURE or not heights:
        return False
    height = float(np.median(heights))
    gaps = [max(o.box[1] - mark.box[3], mark.box[1] - o.box[3]) for o in line if o is not mark]
    return mark.box[2] - mark.box[0] < SHORTEST * height and min(gaps, default=np.inf) > STRAY * height


def _read_level(
    arr: np.ndarray, keep_noise: bool, cuts: int = MAX_PARTS, closer: Closer | None = None
) -> tuple[Reading, Marks | None]:
    """Every digit in a picture (H, W) float read, the picture turned level first when they were written at a
    slant, with at most `cuts` digits made of wide marks cut; and the marks read (None on a blank page). When the
    vote on the ink's side was split (`Ink.split`), the picture is read with the ink on the other side too, and the
    reading the classifier is surer of is kept: the glinting grain of a dark desk read as light ink is a hundred
    marks it doubts, the note's dark digits a dozen it is sure of."""
    reading, marks, split = _read_side(arr, keep_noise, cuts, closer=closer)
    if not split:
        return reading, marks
    other, other_marks, _ = _read_side(arr, keep_noise, cuts, dark_ink=not reading.dark_ink)
    return (other, other_marks) if _sureness(other) > _sureness(reading) else (reading, marks)


def _read_side(
    arr: np.ndarray, keep_noise: bool, cuts: int, dark_ink: bool | None = None, closer: Closer | None = None
) -> tuple[Reading, Marks | None, bool]:
    """`_read_level` with the ink on the side `dark_ink` (voted on when None); and whether that vote was split.
    `ReadCloser` when the vote was not split, the marks were found level and `closer` gives a part for them."""
    try:
        found = find_ink(arr, dark_ink)
    except ImageError:  # no ink stands out of the page: a blank page holds no digits
        return Reading([], np.round(arr * 255).astype(np.uint8), True), None, False
    found, marks = _marks(found)
    turned = 0.0
    if marks.slant:  # a number written at a slant (its digits lean with it), or rules too steep to take out
        turned = float(np.degrees(marks.slant))
        arr = transform.rotate(arr, turned, resize=True, mode="edge", preserve_range=True)
        found, marks = _marks(find_ink(arr, dark_ink))
    if (again := on_page(found, marks.boxes)) is not None:  # the digits by a sheet's edge, no longer set aside
        found, marks = again, find_marks(again.core, again.fainter)
    gone = blurred(found, marks.boxes, marks.labels, marks.pieces) + beyond_page(found, marks.boxes)
    gone += on_desk(found.light, found.cell, found.ink.shape, marks.boxes, marks.lines, marks.height)
    marks = without(marks, sorted(set(gone)))
    picture = np.round(arr * 255).astype(np.uint8)
    if closer is not None and not turned and not found.split and (part := closer(marks.boxes)) is not None:
        raise ReadCloser(part, picture)
    reading = Reading(read_marks(found, marks, keep_noise, cuts), picture, found.dark_ink, turned=turned)
    return reading, marks, found.split


def _marks(found: Ink) -> tuple[Ink, Marks]:
    """The marks in the ink `found`, and that ink: found again above the page's rules when they were fainter than
    its writing and most of its strong ink (`rules.above_rules`)."""
    marks = find_marks(found.core, found.fainter)
    if (above := above_rules(found, marks.ruled)) is None:
        return found, marks
    return above, find_marks(above.core, above.fainter)


def _sureness(reading: Reading) -> float:
    """The mean log-confidence of the classifier in a reading's marks (-inf for none)."""
    if not reading.marks:
        return -np.inf
    return float(np.log(np.maximum([m.confidence for m in reading.marks], 1e-6)).mean())


def find_digits(data: bytes, *, keep_noise: bool = False) -> Reading:
    """Image file bytes (PNG, JPEG, ...) -> every handwritten digit found in them, read, in reading order.

    `Reading.lines` holds one string per line (top to bottom, digits left to right, "?" for a mark
    that is not a digit; a line of such marks alone is left out); `Reading.marks` each mark's box, line,
    position, MNIST-style digit and reading. `keep_noise=True` makes each digit with the picture's own values
    (as `digitize.extract(..., keep_noise=True)` does); the reading comes from the clean digit either way.
    A picture that cannot be decoded, or holds more than `marks.MAX_DIGITS` marks, raises ImageError; a
    blank page gives an empty reading. Small digits in a large picture are read closer: found small, they are read
    only from the part of the picture around them decoded larger (`zoom.part`); read small, they are read again
    there (`_closer`).
    """
    picture = open_image(data, READ_SIDE)
    decoded = picture.size[::-1]
    try:
        reading = read_picture(picture, keep_noise=keep_noise, closer=lambda boxes: zoom.part(data, boxes, decoded))
    except ReadCloser as small:  # marks small enough to read closer are not read first at this size
        close = read_picture(small.part.picture, keep_noise=keep_noise)
        if (marks := _part_marks(small.part, close)) is not None:
            return Reading(marks, small.picture, close.dark_ink)
        reading = read_picture(picture, keep_noise=keep_noise)
    return _closer(data, reading, decoded, keep_noise)


def _closer(data: bytes, reading: Reading, decoded: tuple[int, int], keep_noise: bool) -> Reading:
    """A reading whose marks are small read again closer, from the part of the picture around them decoded larger
    (`zoom.part`). The boxes stay in the picture as first decoded (`decoded`: (H, W)); a reading turned level is
    read closer turned level again, and is then the part's reading (its picture the part, turned); one turned a
    quarter is kept as it is."""
    if reading.quarters:
        return reading
    boxes = np.array([m.box for m in reading.marks]).reshape(-1, 4)
    heights = boxes[:, 2] - boxes[:, 0]
    if reading.turned:
        boxes = zoom.unturned(boxes, reading.turned, decoded)
    closer = zoom.part(data, boxes, decoded, heights)
    if closer is None:
        return reading
    close = read_picture(closer.picture, keep_noise=keep_noise)
    if reading.turned and close.marks and not close.quarters:  # its boxes are in the part as turned
        return close
    marks = _part_marks(closer, close)
    return reading if marks is None else dataclasses.replace(reading, marks=marks, dark_ink=close.dark_ink)


def _part_marks(part: zoom.Part, close: Reading) -> list[Mark] | None:
    """The marks read in a `part` of the picture (`close`), their boxes in the picture; None when it holds none, or
    was read turned (a quarter, or level: its boxes lie in the part turned)."""
    if not close.marks or close.quarters or close.picture.shape != part.picture.size[::-1]:
        return None
    return [dataclasses.replace(m, box=part.box(m.box)) for m in close.marks]
