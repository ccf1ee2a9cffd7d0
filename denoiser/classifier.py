"""A small CNN digit classifier, to check that denoising keeps a digit's identity.

PSNR and SSIM reward a smooth grey blob that sits close to the clean pixels; a classifier
trained on clean digits asks the other question: is the denoised 7 still a 7? The benchmark
reports its accuracy on clean, noisy and denoised test digits.

The network is two conv + pool stages and a small dense head (LeNet-style, LeCun et al. 1998),
about 420k parameters: trained 30 epochs on the 5,000 training digits here (about a minute
on one core) it classifies 98.5% of the 5,000 test digits. Its weights live in
`weights/classifier.pt`, stored like the denoisers' checkpoints ({"model", "config",
"state_dict", "meta"}, loaded with `torch.load(weights_only=True)`, checked against the
SHA-256 in `weights/manifest.json`), but outside `weights.REGISTRY`, which lists denoisers only.

`weights/not-a-digit.pt` is the same network with an eleventh class, `NO_DIGIT`, trained on the same
digits and on letters and symbols typeset by `denoiser.not_digits`: `find_digits` asks it whether a mark
is a digit at all, and the ten-class classifier which digit it is.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .checks import as_batch
from .data import Digits
from .device import model_device, resolve_device
from .models import MaxPool2
from .weights import WEIGHTS_DIR, atomic_write_bytes, check_fits, checkpoint_bytes, read_model, shipped_file

CLASSIFIER_NAME = "classifier"
CLASSIFIER_FILE = WEIGHTS_DIR / "classifier.pt"
REGENERATE = "python -m denoiser train-classifier --data-root DIR --out weights/classifier.pt"
NO_DIGIT = 10  # the eleventh class of a classifier trained with `not_digits` marks
NOT_A_DIGIT_FILE = WEIGHTS_DIR / "not-a-digit.pt"
REGENERATE_NOT_A_DIGIT = (
    "python -m denoiser train-classifier --not-a-digit --data-root DIR --out weights/not-a-digit.pt"
)


@dataclass
class ClassifierConfig:
    channels: int = 1  # image channels
    width: int = 32  # filters of the first convolution; the second has twice as many
    hidden: int = 128  # units of the dense layer
    classes: int = 10  # digits 0-9 (11 with `NO_DIGIT`)
    size: int = 28  # input height and width (divisible by 4)


class DigitClassifier(nn.Module):
    """Conv(1->w)+ReLU, pool, Conv(w->2w)+ReLU, pool, Linear(2w*7*7 -> hidden)+ReLU, dropout, Linear(-> 10)."""

    def __init__(self, config: ClassifierConfig) -> None:
        super().__init__()
        self.config = config
        c, w, s = config.channels, config.width, config.size
        # In place: the ReLUs' inputs are needed by nothing else, and a new tensor for each of them took a sixth of
        # the time of reading a batch of digits
        self.features = nn.Sequential(
            nn.Conv2d(c, w, 3, padding=1), nn.ReLU(inplace=True),
            MaxPool2(),  # (N, w, 14, 14)
            nn.Conv2d(w, 2 * w, 3, padding=1), nn.ReLU(inplace=True),
            MaxPool2(),  # (N, 2w, 7, 7)
        )  # fmt: skip
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(2 * w * (s // 4) ** 2, config.hidden), nn.ReLU(inplace=True),
            nn.Dropout(0.25),  # 5,000 digits overfit quickly without it
            nn.Linear(config.hidden, config.classes),
        )  # fmt: skip

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 1, 28, 28) in [0, 1] -> logits (N, 10)."""
        return self.head(self.features(images))


def train_classifier(
    digits: Digits,
    epochs: int = 30,
    seed: int = 0,
    batch_size: int = 64,
    lr: float = 2e-3,
    config: ClassifierConfig | None = None,
    on_step: Callable[[int, float], None] | None = None,
    device: str | torch.device = "cpu",
    not_digits: torch.Tensor | None = None,
) -> tuple[DigitClassifier, list[float]]:
    """Train a classifier on clean `digits` with Adam and cross-entropy; returns it (eval mode, on `device`)
    and each step's loss. With `not_digits` (N, 1, 28, 28), marks that are no digit (`not_digits.marks`),
    it has an eleventh class, `NO_DIGIT`, for them."""
    if len(digits) == 0 or epochs < 1:
        raise ValueError(f"need at least one digit and one epoch; got {len(digits)} digits, {epochs} epochs")
    if not_digits is not None:
        marks, _ = as_batch(not_digits, "not_digits")
        labels = torch.cat([digits.labels, torch.full((len(marks),), NO_DIGIT)])
        digits = Digits(torch.cat([digits.images, marks]), labels)
        config = dataclasses.replace(config or ClassifierConfig(), classes=NO_DIGIT + 1)
    device = resolve_device(device)
    # The initialisation and dropout draw from torch's global RNG (the GPU's for dropout on a GPU):
    # seed it, and restore it afterwards.
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        model = DigitClassifier(config or ClassifierConfig()).to(device)
        losses = _fit(model, digits, epochs, torch.Generator().manual_seed(seed), batch_size, lr, on_step)
    return model.eval(), losses


def _fit(model, digits, epochs, g, batch_size, lr, on_step) -> list[float]:
    """The optimisation loop of `train_classifier`: shuffled, augmented batches; Adam with cosine decay."""
    from .augment import augment  # small shifts and rotations: the same augmentation the denoisers get

    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    steps_per_epoch = math.ceil(len(digits) / batch_size)
    # Cosine decay to ~0: the last epochs fine-tune instead of bouncing around at the full rate.
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs * steps_per_epoch)
    losses: list[float] = []
    device = model_device(model)  # batches are drawn and augmented on the CPU, from the seeded generator
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(digits), generator=g)
        for i in range(steps_per_epoch):
            index = order[i * batch_size : (i + 1) * batch_size]
            images, labels = augment(digits.images[index], g).to(device), digits.labels[index].to(device)
            loss = F.cross_entropy(model(images), labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            losses.append(loss.item())
            if on_step:
                on_step(len(losses), losses[-1])
    return losses


@torch.inference_mode()
def predict(model: nn.Module, images: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """Predicted digit (N,) int64 for 28x28 pictures (its dense head's size) under the contract of `denoiser.checks`,
    run on the model's device."""
    return read(model, images, batch_size)[0]


# A digit and its four one-pixel shifts: the classifier's probabilities averaged over them (see `probabilities`).
SHIFTS = ((0, 0), (0, 1), (0, -1), (1, 0), (-1, 0))


@torch.inference_mode()
def read(
    model: nn.Module, images: torch.Tensor, batch_size: int = 1024, *, shifted: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """The digit each image (N, 1, 28, 28) shows (N,) and the classifier's confidence in it (N,), in [0, 1]
    (`NO_DIGIT` may be among them for a classifier with that class); `shifted` as for `probabilities`."""
    confidence, labels = probabilities(model, images, batch_size, shifted=shifted).max(1)
    return labels, confidence


@torch.inference_mode()
def probabilities(
    model: nn.Module, images: torch.Tensor, batch_size: int = 1024, *, shifted: bool = False
) -> torch.Tensor:
    """The classifier's probability of each of its classes (N, classes) for each image (N, 1, 28, 28).

    With `shifted`, the probabilities are averaged over each image and its four one-pixel shifts: a digit cut
    from a photo is centred a pixel differently from MNIST's as often as not, and one reading of it can hinge
    on that pixel (a 1 read at 58%, a 4 as a 6). The average hinges on no single placement."""
    batch, _ = as_batch(images, "images", next(model.parameters()).dtype)  # (N, 1, H, W)
    size = model.config.size
    if batch.shape[-2:] != (size, size):
        raise ValueError(f"images must be {size}x{size} pixels for the classifier; got shape {tuple(images.shape)}")
    device, padded = model_device(model), F.pad(batch, (1, 1, 1, 1))
    readings = []
    for dy, dx in SHIFTS if shifted else SHIFTS[:1]:
        moved = padded[..., 1 - dy : 1 - dy + size, 1 - dx : 1 - dx + size]  # moved by (dy, dx), background coming in
        chunks = [model(moved[i : i + batch_size].to(device)).softmax(1) for i in range(0, len(batch), batch_size)]
        readings.append(torch.cat(chunks))
    return torch.stack(readings).mean(0).to(batch.device)


def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of `images` classified as their `labels`."""
    return float((predict(model, images) == labels).float().mean())


def save_classifier(path: str | os.PathLike, model: DigitClassifier, meta: dict | None = None) -> Path:
    """Atomically save the classifier with its config and `meta` (plain types) to `path`."""
    atomic_write_bytes(path, checkpoint_bytes(CLASSIFIER_NAME, model, meta))
    return Path(path)


def load_classifier_file(path: str | os.PathLike) -> tuple[DigitClassifier, dict]:
    """(classifier in eval mode, meta) from a checkpoint file; WeightsError if missing or damaged."""
    _, model, meta = read_model(path, _build, "a classifier checkpoint", f"regenerate with `{REGENERATE}`")
    return model, meta


def _build(name: str, config: dict, file_size: int) -> DigitClassifier:
    """The classifier a checkpoint's config describes, once it is known to fit the file."""
    if name != CLASSIFIER_NAME:
        raise ValueError(f"it holds model {name!r}")
    fields = {f.name for f in dataclasses.fields(ClassifierConfig)}
    unknown = set(config) - fields
    if unknown:
        raise ValueError(f"unknown config keys {sorted(unknown)}")
    config = ClassifierConfig(**config)
    check_fits(DigitClassifier, config, file_size)
    return DigitClassifier(config)


def load_classifier(weights_dir: str | os.PathLike = WEIGHTS_DIR, *, not_a_digit: bool = False) -> DigitClassifier:
    """The shipped classifier (with `not_a_digit`, the one with the `NO_DIGIT` class), in eval mode on the
    CPU, after checking its SHA-256 against the manifest."""
    name, how = (NOT_A_DIGIT_FILE.name, REGENERATE_NOT_A_DIGIT) if not_a_digit else (CLASSIFIER_FILE.name, REGENERATE)
    return load_classifier_file(shipped_file(weights_dir, name, f"regenerate with `{how}`"))[0]
