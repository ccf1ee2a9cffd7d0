"""The digit classifier: shapes, a short training run, checkpoint I/O, and the shipped weights' accuracy."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from denoiser import not_digits
from denoiser.bench import sheets
from denoiser.classifier import (
    CLASSIFIER_FILE,
    NO_DIGIT,
    NOT_A_DIGIT_FILE,
    ClassifierConfig,
    DigitClassifier,
    accuracy,
    load_classifier,
    load_classifier_file,
    predict,
    probabilities,
    read,
    save_classifier,
    train_classifier,
)
from denoiser.data import Digits
from denoiser.digitize import to_mnist
from denoiser.weights import MANIFEST, WeightsError, sha256


def test_forward_gives_ten_logits_per_digit():
    model = DigitClassifier(ClassifierConfig())
    assert model(torch.rand(3, 1, 28, 28)).shape == (3, 10)


def test_one_epoch_dry_run_gives_finite_falling_loss(train_digits):
    """One epoch on 200 digits: every loss finite, the last steps lower than the first."""
    digits = train_digits.subset(slice(0, 200))
    model, losses = train_classifier(digits, epochs=1, seed=0, batch_size=16, config=ClassifierConfig(width=8))
    assert len(losses) == 13 and all(math.isfinite(x) for x in losses)
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3
    assert not model.training


def test_training_is_seeded():
    digits = Digits(torch.rand(32, 1, 28, 28), torch.arange(32) % 10)
    runs = [train_classifier(digits, epochs=1, seed=3, config=ClassifierConfig(width=4))[1] for _ in range(2)]
    assert runs[0] == runs[1]


def test_empty_digits_raise_value_error():
    with pytest.raises(ValueError, match="at least one digit"):
        train_classifier(Digits(torch.zeros(0, 1, 28, 28), torch.zeros(0, dtype=torch.int64)), epochs=1)


def test_checkpoint_round_trip_keeps_predictions(tmp_path):
    model = DigitClassifier(ClassifierConfig(width=4, hidden=16)).eval()
    path = save_classifier(tmp_path / "classifier.pt", model, {"epochs": 1})
    loaded, meta = load_classifier_file(path)
    images = torch.rand(5, 1, 28, 28)
    assert torch.equal(predict(model, images), predict(loaded, images))
    assert meta == {"epochs": 1} and loaded.config == model.config


def test_damaged_or_missing_file_raises_weights_error_naming_it(tmp_path):
    damaged = tmp_path / "classifier.pt"
    damaged.write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsError, match=r"classifier\.pt is damaged"):
        load_classifier_file(damaged)
    with pytest.raises(WeightsError, match="does not exist"):
        load_classifier(tmp_path / "nowhere")


def test_manifest_mismatch_is_caught(tmp_path):
    save_classifier(tmp_path / "classifier.pt", DigitClassifier(ClassifierConfig(width=4)))
    (tmp_path / MANIFEST).write_text(json.dumps({"sha256": {"classifier.pt": "0" * 64}}))
    with pytest.raises(WeightsError, match="SHA-256"):
        load_classifier(tmp_path)


def test_shipped_classifier_is_listed_in_the_manifest():
    manifest = json.loads((CLASSIFIER_FILE.parent / MANIFEST).read_text())["sha256"]
    assert manifest["classifier.pt"] == sha256(CLASSIFIER_FILE)


def test_shipped_classifier_is_accurate_on_test_digits(test_digits):
    """At least 97% on the first 1,000 test digits (it scores about 98-99% on all of them)."""
    digits = test_digits.subset(slice(0, 1000))
    assert accuracy(load_classifier(), digits.images, digits.labels) >= 0.97


def test_a_shifted_reading_reads_off_centre_digits_better(test_digits):
    """Averaged over each digit and its four one-pixel shifts, the classifier reads digits placed a little off
    MNIST's centring (as digits cut from photos are) more often right, and its confidence is that average."""
    model = load_classifier()
    moved = torch.roll(test_digits.images[:1000], (2, 2), dims=(2, 3))
    plain, steady = read(model, moved), read(model, moved, shifted=True)
    right = [int((labels == test_digits.labels[:1000]).sum()) for labels, _ in (plain, steady)]
    assert right[1] > right[0]
    padded = torch.nn.functional.pad(moved[:5], (1, 1, 1, 1))
    shifts = [padded[..., 1 - dy : 29 - dy, 1 - dx : 29 - dx] for dy, dx in ((0, 0), (0, 1), (0, -1), (1, 0), (-1, 0))]
    mean = torch.stack([model(s).softmax(1) for s in shifts]).mean(0).detach()
    assert torch.allclose(steady[1][:5], mean.max(1).values, atol=1e-6)
    assert torch.equal(steady[0][:5], mean.argmax(1))


def test_a_classifier_file_is_checked_like_a_denoiser_checkpoint(tmp_path):
    """NaN weights and a config larger than the file are refused here too, in one line."""
    from denoiser.classifier import ClassifierConfig, DigitClassifier, load_classifier_file

    state = DigitClassifier(ClassifierConfig()).state_dict()
    state["head.1.weight"][0, 0] = float("nan")
    torch.save({"model": "classifier", "config": {}, "state_dict": state, "meta": {}}, tmp_path / "nan.pt")
    with pytest.raises(WeightsError, match=r"head\.1\.weight holds NaN or infinite weights"):
        load_classifier_file(tmp_path / "nan.pt")
    crafted = {"model": "classifier", "config": {"width": 4096, "size": 4096}, "state_dict": {}, "meta": {}}
    torch.save(crafted, tmp_path / "crafted.pt")
    with pytest.raises(WeightsError, match=r"asks for [\d,]+ weights, more than a file of"):
        load_classifier_file(tmp_path / "crafted.pt")


@pytest.mark.parametrize(
    ("images", "named"),
    [
        (torch.zeros(2, 1, 28, 28, dtype=torch.uint8), r"images must hold floats in \[0, 1\]"),
        (torch.full((2, 1, 28, 28), 255.0), r"images values must be in \[0, 1\]"),
        (torch.zeros(2, 1, 30, 30), r"images must be 28x28 pixels for the classifier"),
    ],
)
def test_the_classifier_takes_digits_under_the_common_contract(images, named):
    from denoiser.classifier import ClassifierConfig, DigitClassifier, predict

    model = DigitClassifier(ClassifierConfig()).eval()
    with pytest.raises(ValueError, match=named):
        predict(model, images)
    assert predict(model, torch.zeros(28, 28, dtype=torch.float64)).shape == (1,)


def test_not_digit_marks_are_made_like_the_digits_the_classifier_is_shown():
    """Typeset letters and symbols, made as a digit found in a picture is: 28x28, ink in [0, 1] inside MNIST's
    20x20 box, one picture per glyph, font and copy."""
    marks = not_digits.marks(copies=2, glyphs="A+")
    assert marks.shape == (2 * 2 * len(not_digits.fonts()), 1, 28, 28)
    assert marks.min() >= 0 and marks.amax(dim=(1, 2, 3)).min() > 0.9
    assert marks[..., :3, :].max() < 0.05 and marks[..., -3:, :].max() < 0.05  # the margin MNIST leaves
    with pytest.raises(ValueError, match="copies"):
        not_digits.marks(copies=0)


def test_a_classifier_trained_with_marks_learns_a_class_for_no_digit(train_digits):
    """With `not_digits`, training adds an eleventh class; a few epochs on 200 digits and the marks of four
    glyphs already read most of those marks as no digit, and few of the digits."""
    digits = train_digits.subset(slice(0, 200))
    marks = not_digits.marks(copies=1, glyphs="AEKM")
    model, _ = train_classifier(digits, epochs=8, seed=0, batch_size=16, config=ClassifierConfig(width=8),
                                not_digits=marks)  # fmt: skip
    assert model.config.classes == NO_DIGIT + 1
    on_marks, on_digits = probabilities(model, marks), probabilities(model, digits.images)
    assert torch.allclose(on_digits.sum(1), torch.ones(len(digits)), atol=1e-5)
    assert (on_marks.argmax(1) == NO_DIGIT).float().mean() >= 0.8
    assert (on_digits.argmax(1) == NO_DIGIT).float().mean() <= 0.2


def test_shipped_not_a_digit_classifier_reads_digits_and_refuses_letters_of_another_typeface(test_digits):
    """The shipped classifier with the class for no digit still reads test digits (>= 97%, rarely calling one no
    digit), and takes most letters typeset in DejaVu, a family it was not trained on, for no digit."""
    model = load_classifier(not_a_digit=True)
    digits = test_digits.subset(slice(0, 1000))
    labels, _ = read(model, digits.images)
    assert float((labels == digits.labels).float().mean()) >= 0.97 and int((labels == NO_DIGIT).sum()) <= 10
    glyphs = [sheets.letter(60, np.random.default_rng(k), char=c)[0] for k, c in enumerate(sheets.LETTERS)]
    letters = torch.stack([to_mnist(1 - np.pad(ink, 20)) for ink in glyphs])  # dark ink on a white page
    assert float((read(model, letters)[0] == NO_DIGIT).float().mean()) >= 0.8


def test_shipped_not_a_digit_classifier_is_listed_in_the_manifest():
    manifest = json.loads((NOT_A_DIGIT_FILE.parent / MANIFEST).read_text())["sha256"]
    assert manifest[NOT_A_DIGIT_FILE.name] == sha256(NOT_A_DIGIT_FILE)


@pytest.mark.slow
def test_the_command_line_trains_a_classifier_with_a_class_for_no_digit(tmp_path, capsys):
    """`train-classifier --not-a-digit` typesets the marks, trains with them and records how many in the file."""
    from denoiser.cli import main

    out = tmp_path / "not-a-digit.pt"
    assert main(["train-classifier", "--not-a-digit", "--source", "sample", "--epochs", "1", "--out", str(out)]) == 0
    model, meta = load_classifier_file(out)
    assert model.config.classes == NO_DIGIT + 1
    assert meta["n_not_digits"] == len(not_digits.GLYPHS) * 3 * len(not_digits.fonts())
    assert f"saved {out}" in capsys.readouterr().out
