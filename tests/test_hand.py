"""A 1 written with a flag, which the classifier reads as a 7: read as a 1 when the writer's own 7s look unlike it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw
from written import encode, page_of

from denoiser import find_digits, hand


def flagged(one: np.ndarray) -> np.ndarray:
    """A 1 (28x28 in [0, 1]) with a flag drawn from its top down to the left, as many writers outside the US do."""
    rows, cols = np.nonzero(one > 0.3)
    top, x = rows.min(), cols[rows == rows.min()].mean()
    big = Image.fromarray((one * 255).astype(np.uint8)).resize((112, 112), Image.BILINEAR)
    ImageDraw.Draw(big).line([(4 * x, 4 * top + 2), (4 * (x - 6), 4 * (top + 4))], fill=255, width=10)
    return np.asarray(big.resize((28, 28), Image.BOX), np.float64) / 255


def written_with_flags(sure: dict[int, np.ndarray], text: str) -> bytes:
    return encode(page_of({**sure, 1: flagged(sure[1])}, text, (200, 60 * len(text) + 100), left=50, top=70))


@pytest.mark.parametrize("text", ["1234567890", "7101"])
def test_a_flagged_one_beside_the_writers_own_sevens_reads_as_a_one(sure, text):
    """The classifier, which learnt its 1s from MNIST's single strokes, reads the flagged 1 as a 7 (at 52%); the
    writer's 7 on the same page, which it is sure of, looks nothing like it."""
    found = find_digits(written_with_flags(sure, text))
    assert found.lines == [text]
    assert [m.overruled for m in found.marks] == [7 if c == "1" else None for c in text]


def test_the_page_says_why_a_flagged_one_reads_as_a_one(sure):
    from webapp.numbers import mark_text

    one, seven = find_digits(written_with_flags(sure, "17")).marks
    assert mark_text(one) == "1 (with a flag: read as a 7, but unlike this writer's 7s)"
    assert mark_text(seven) == f"7 ({100 * seven.confidence:.0f}%)"


def chances(*readings: dict[int, float]) -> torch.Tensor:
    """The classifier's probabilities (N, 10), from each mark's {digit: probability}."""
    table = torch.zeros(len(readings), 10)
    for k, reading in enumerate(readings):
        for digit, p in reading.items():
            table[k, digit] = p
    return table


def stack(*digits: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.stack(digits)).float().unsqueeze(1)


def test_only_a_doubted_mark_unlike_every_sure_one_of_its_digit_is_read_as_a_one(sure):
    doubted, seven, three = {7: 0.7, 1: 0.3}, {7: 1.0}, {3: 1.0}
    one = flagged(sure[1])
    assert hand.flagged_ones(chances(doubted, seven, three), stack(one, sure[7], sure[3])) == [0]
    # the doubted mark looks like the writer's sure 7: a 7 it is
    assert hand.flagged_ones(chances(doubted, seven, three), stack(sure[7], sure[7], sure[3])) == []
    # no sure 7 to judge it by
    assert hand.flagged_ones(chances(doubted, three, three), stack(one, sure[3], sure[3])) == []
    # the classifier gives it no chance of a 1, or is sure of its 7
    assert hand.flagged_ones(chances({7: 0.99, 3: 0.01}, seven, three), stack(one, sure[7], sure[3])) == []
    assert hand.flagged_ones(chances({7: 0.96, 1: 0.04}, seven, three), stack(one, sure[7], sure[3])) == []


def test_only_a_mark_read_as_a_seven_or_a_two_is_taken_for_a_flagged_one(sure):
    """A 9 with a long stem, doubted and unlike the writer's sure 9s, is a 9 written otherwise, not a 1."""
    one = flagged(sure[1])
    for digit, expected in [(7, [0]), (2, [0]), (9, []), (4, [])]:
        marks = chances({digit: 0.7, 1: 0.3}, {digit: 1.0}, {3: 1.0})
        assert hand.flagged_ones(marks, stack(one, sure[digit], sure[3])) == expected


def test_a_doubted_mark_unlike_the_writers_own_ones_stays_as_read(sure):
    """The writer's 1s, which the classifier is sure of, lean the other way: the doubted mark is no 1 of theirs."""
    leaning_back = sure[1][:, ::-1].copy()
    marks = chances({7: 0.7, 1: 0.3}, {7: 1.0}, {1: 0.9})
    assert hand.flagged_ones(marks, stack(flagged(sure[1]), sure[7], leaning_back)) == []
    assert hand.flagged_ones(marks, stack(flagged(sure[1]), sure[7], sure[1])) == [0]


def test_likeness_is_one_for_the_same_digit_and_lower_for_another(sure):
    alike = hand.likeness(stack(sure[7], sure[7], sure[1]))
    assert alike[0, 1] == pytest.approx(1.0)
    assert alike[0, 2] < hand.ALIKE


@pytest.fixture(scope="module")
def read_as_twos(test_digits):
    """MNIST's first 5,000 test digits that the classifier reads as 2s: (digits (N, 1, 28, 28), their true labels,
    the classifier's probabilities (N, 10))."""
    from denoiser.classifier import load_classifier, probabilities

    digits, labels = test_digits.images[:5000], test_digits.labels[:5000]
    chances = probabilities(load_classifier(), digits, shifted=True)
    twos = chances.argmax(1) == 2
    return digits[twos], labels[twos], chances[twos]


def test_only_ones_with_a_foot_that_read_as_twos_are_taken_for_ones(read_as_twos):
    """Of the test digits the classifier reads as 2s, those taken for 1s with a foot are all 1s, and there are some:
    a 2's stroke through its middle leans, a footed 1's stem stands upright."""
    digits, labels, chances = read_as_twos
    footed = hand.footed_ones(chances, digits)
    assert footed
    assert (labels[footed] == 1).all()


@pytest.mark.parametrize("seed", [0, 1])
def test_a_one_with_a_foot_in_a_row_reads_as_a_one(sure, read_as_twos, seed):
    """An MNIST 1 with a foot (a short base) and a flag, which the classifier reads as a 2, written in a row: read
    as a 1 all the same, the classifier's 2 kept as what it overruled."""
    from written import HEIGHT, glyphs, photo

    from denoiser.bench import sheets

    digits, _, chances = read_as_twos
    one = digits[int(hand.footed_ones(chances, digits)[0]), 0].numpy()
    row = [*glyphs(sure, "56", 30 + seed), sheets.written(one, "1", HEIGHT, np.random.default_rng(seed)),
           *glyphs(sure, "3", 40 + seed)]  # fmt: skip
    found = find_digits(photo([row], seed=seed))
    assert found.lines == ["5613"]
    assert found.marks[2].overruled == 2
