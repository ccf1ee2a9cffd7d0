"""Where a mark wide for its line is cut: between two digits that touch, never through one digit's own loop; and
writing crossed out, a scribble of many loops, is no digit."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from skimage import draw
from written import HEIGHT, encode, page_of

from denoiser import find_digits, hand, verdicts
from denoiser.cuts import cut_columns, loops, ways


def ring(shape: tuple[int, int], centre: tuple[float, float], radii: tuple[float, float], pen: float) -> np.ndarray:
    """An ellipse drawn with a pen `pen` pixels wide (H, W) bool: a 0."""
    ink = np.zeros(shape, bool)
    ink[draw.ellipse(*centre, radii[0] + pen / 2, radii[1] + pen / 2, shape=shape)] = True
    ink[draw.ellipse(*centre, radii[0] - pen / 2, radii[1] - pen / 2, shape=shape)] = False
    return ink


def slashed(ink: np.ndarray, pen: int) -> np.ndarray:
    """The 0 in `ink` with a stroke through it from its top right to its bottom left."""
    rows, cols = np.nonzero(ink)
    line = draw.line(rows.min(), cols.max() - 8, rows.max(), cols.min() + 8)
    out = ink.copy()
    for d in range(-(pen // 2), pen - pen // 2):
        out[line[0], np.clip(line[1] + d, 0, ink.shape[1] - 1)] = True
    return out


def test_two_touching_zeros_are_cut_between_them_and_a_wide_zero_is_not_cut():
    """Columns of least ink are where two digits touch; a 0 wider than tall has its least ink in the middle too,
    through its loop, and cut there it read as a 6 and a 7."""
    pair = ring((60, 120), (30, 30), (24, 24), 6) | ring((60, 120), (30, 86), (24, 24), 6)
    cuts = [int(c[0]) for c in cut_columns(pair, 2)]
    assert cuts and all(52 <= c <= 64 for c in cuts[:-1])  # the columns of least ink; the last is of the most
    assert cut_columns(ring((60, 90), (30, 45), (24, 38), 6), 2) == []
    assert cut_columns(slashed(ring((60, 90), (30, 45), (24, 38), 6), 6), 2) == []


def test_every_wide_mark_is_tried_cut_before_any_is_tried_every_way():
    """A table of numbers, each two digits that touch: with parts to read for only one cut of each, each is tried
    cut once, at its column of least ink, the widest first; given every part it needs, every way of each."""
    pair = ring((60, 120), (30, 30), (24, 24), 6) | ring((60, 120), (30, 86), (24, 24), 6)
    boxes = np.array([(0, 200 * k, 60, 200 * k + 120 - k) for k in range(10)])  # each a pixel narrower
    widths = (boxes[:, 3] - boxes[:, 1]) / 60
    few = ways(boxes, widths, lambda i: pair[:, : 120 - i], most=len(boxes) + 2 * len(boxes))
    assert [len(options) for options in few] == [2] * len(boxes)
    assert all(52 <= options[1][0][2] - boxes[i, 1] <= 64 for i, options in enumerate(few))
    every = ways(boxes, widths, lambda i: pair[:, : 120 - i], most=1000)
    assert all(len(options) == 1 + len(cut_columns(pair[:, : 120 - i], 2)) for i, options in enumerate(every))


@pytest.mark.parametrize("slash", [False, True])
def test_a_zero_wider_than_tall_in_a_row_reads_as_one_zero(sure, slash):
    """A row "3 0 8" whose 0 is half again as wide as tall (and, as some write it, slashed): read as one 0."""
    page = page_of(sure, "3", (200, 400), left=40, top=60)
    page = np.minimum(page, page_of(sure, "8", (200, 400), left=300, top=60))
    zero = ring((HEIGHT, 90), (HEIGHT / 2, 45), (HEIGHT / 2 - 6, 40), 7)
    zero = slashed(zero, 7) if slash else zero
    page[60 : 60 + HEIGHT, 140:230][zero] = 35
    assert find_digits(encode(page)).lines == ["308"]


def scribble(shape: tuple[int, int], pen: float) -> np.ndarray:
    """A digit crossed out (H, W) bool: loop after loop drawn over it, each a little further on and higher."""
    h, w = shape
    ink = np.zeros(shape, bool)
    for k in range(5):
        ink |= ring(shape, (h / 2 + (k % 2 - 0.5) * h / 6, w * (0.3 + 0.1 * k)), (h / 3, w / 4), pen)
    return ink


def test_loops_counts_the_holes_a_mark_closes():
    """A 0 closes one loop, two touching 0s two, a scribble many; a hole the size of a blot is none."""
    assert loops(ring((60, 60), (30, 30), (24, 20), 6), 60.0) == 1
    assert loops(ring((60, 120), (30, 30), (24, 24), 6) | ring((60, 120), (30, 86), (24, 24), 6), 60.0) == 2
    assert loops(scribble((44, 48), 3), 44.0) >= verdicts.SCRIBBLED
    blot = np.ones((60, 30), bool)
    blot[30, 15] = False
    assert loops(blot, 60.0) == 0


def test_a_digit_crossed_out_in_a_row_is_no_digit(sure):
    """A row "3 7" with a digit between them crossed out by a scribble of loops: "3?7", the scribble no digit, and
    the page says it is crossed out (the classifier read it as an 8)."""
    page = page_of(sure, "3", (200, 400), left=40, top=60)
    page = np.minimum(page, page_of(sure, "7", (200, 400), left=300, top=60))
    page[68:112, 160:208][scribble((44, 48), 3)] = 35  # as large as the digits beside it
    found = find_digits(encode(page))
    assert found.lines == ["3?7"]
    assert found.marks[1].why_not == verdicts.CROSSED_OUT
    from webapp.numbers import mark_text  # the page's caption of the marks

    assert mark_text(found.marks[1]) == "? (crossed out)"


def narrow_hand(sure: dict[int, np.ndarray], apart: str, pair: str) -> np.ndarray:
    """`apart` written a digit's width apart and `pair` half that (touching), the page then squeezed to half its
    width: a hand that writes its digits a third as wide as tall."""
    page = page_of(sure, apart, (160, 900), left=40, top=50)
    page = np.minimum(page, page_of(sure, pair, (160, 900), left=60 + len(apart) * HEIGHT, top=50, step=HEIGHT // 2))
    return np.asarray(Image.fromarray(page).resize((450, 160), Image.Resampling.LANCZOS))


@pytest.mark.parametrize(("apart", "pair"), [("360", "58"), ("3604", "27")])
def test_two_touching_digits_of_a_narrow_hand_are_read_as_two(sure, apart, pair):
    """The touching pair is narrower than a line's height, as wide as one digit of most hands: it is tried cut for a
    hand this narrow, and read as its two digits."""
    assert find_digits(encode(narrow_hand(sure, apart, pair))).lines == [apart + pair]


def test_a_hand_is_narrow_by_its_digits_read_surely():
    assert hand.narrow(np.array([0.38, 0.39, 0.36])) == pytest.approx(0.38)
    assert hand.narrow(np.array([0.38, 0.39])) is None  # too few to tell
    assert hand.narrow(np.array([0.6, 0.7, 0.4, 0.8])) is None  # an everyday hand
