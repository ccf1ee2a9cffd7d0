"""Which pieces of ink make one digit: a digit written lightly, whose strokes fade in and out of the strong ink,
is still one digit, and two digits that a faint trail joins stay two."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage
from written import HEIGHT, encode, page_of

from denoiser import find_digits, pieces
from denoiser.pieces import one_digit


def lightly_across_the_middle(sure: dict[int, np.ndarray], digit: int) -> np.ndarray:
    """A 3, then `digit` with the rows across its middle written at a quarter of the ink, then an 8: the digit
    falls into a top and a bottom piece of strong ink, too far apart for two halves of one digit by their boxes
    alone, and joined by the faint stretch."""
    page = np.minimum(page_of(sure, "3", (320, 520), left=40, top=120), page_of(sure, "8", (320, 520), 400, 120))
    ink = np.asarray(Image.fromarray((sure[digit] * 255).astype(np.uint8)).resize((HEIGHT, HEIGHT)), np.float64)
    ink[int(0.45 * HEIGHT) : int(0.55 * HEIGHT)] *= 0.25
    window = page[120 : 120 + HEIGHT, 150 : 150 + HEIGHT]
    window[:] = np.minimum(window, (255 - ink * 220 / 255).astype(np.uint8))
    return page


@pytest.mark.parametrize("digit", [0, 4, 6])
def test_a_digit_written_lightly_across_its_middle_is_one_digit(sure, digit):
    """Read as its two halves, these came out as "1 5 7", "1 ? 5 7" and the like, and the 8 beside them was cut
    in two."""
    assert find_digits(encode(lightly_across_the_middle(sure, digit))).lines == [f"3{digit}8"]


def boxes(*rows: tuple[int, int, int, int]) -> np.ndarray:
    return np.array(rows, int)


def test_pieces_in_one_part_of_the_fainter_ink_are_one_digit_when_together_they_fit_one():
    """A top and a bottom half, 12 pixels apart in a page of digits 40 high (further than two halves of one digit
    by their boxes alone), are one digit when faint ink joins them; a piece joined to nothing stays apart."""
    halves = boxes((0, 0, 18, 20), (30, 0, 48, 20), (0, 40, 40, 60))
    assert len(set(one_digit(halves, 40.0))) == 3
    assert one_digit(halves, 40.0, np.array([1, 1, 2])).tolist()[:2] == [0, 0]
    assert len(set(one_digit(halves, 40.0, np.array([1, 1, 2])))) == 2
    assert len(set(one_digit(halves, 40.0, np.array([1, 2, 0])))) == 3


def test_two_whole_digits_side_by_side_that_faint_ink_joins_stay_two():
    """A 1 and a 3 written close, a faint trail of the pen between them: both as tall as a digit, side by side,
    together no wider than one; and a joined pair taller than two digits (one line's digit over the next's)."""
    side_by_side = boxes((0, 0, 40, 8), (0, 12, 40, 36))
    assert len(set(one_digit(side_by_side, 40.0, np.array([1, 1])))) == 2
    lines_apart = boxes((0, 0, 40, 24), (50, 0, 90, 24))
    assert len(set(one_digit(lines_apart, 40.0, np.array([1, 1])))) == 2


@pytest.mark.parametrize("share", [0.02, 0.3])
def test_the_boxes_of_ink_in_thousands_of_pieces_are_scipys(share):
    """The faint ink of a grainy photo falls into thousands of specks, whose boxes are found another way: the same."""
    core = np.random.default_rng(1).random((700, 900)) < share
    labels, boxes, areas = pieces.labelled(core)
    assert len(boxes) > pieces.MANY_PIECES
    expected = [[r.start, c.start, r.stop, c.stop] for r, c in ndimage.find_objects(labels)]
    assert boxes.tolist() == expected
    assert areas.tolist() == ndimage.sum_labels(core, labels, range(1, len(boxes) + 1)).astype(int).tolist()
