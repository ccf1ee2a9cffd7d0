"""Shared fixtures: the MNIST data root, a few digits, and small seeded generators.

The data root comes from $DENOISER_DATA_ROOT (CI sets it to ../shared/mnist). Without it a
test that needs real digits is skipped on a developer's machine, but fails under CI=true,
so CI can never pass by skipping what it is meant to check.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch

from denoiser.data import DATA_ROOT_ENV, load_mnist
from webapp import panel

IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = os.environ.get("DENOISER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def skip_or_fail(reason: str) -> None:
    """Skip on a developer's machine; fail under CI, where nothing may be skipped silently."""
    if IN_CI:
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


def require_chromium() -> None:
    """Skip (or, under CI, fail) without Playwright or without the Chromium it drives."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        skip_or_fail("playwright is not installed")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        skip_or_fail(f"no Chromium at {CHROMIUM}")


@contextmanager
def headless_chromium() -> Iterator:
    """Debian's Chromium (or $DENOISER_CHROMIUM) driven by Playwright, headless."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


def view_blocks(app) -> list[str]:
    """The app's blocks of pictures and figures on the page (`webapp.panel`): the main view, the batch."""
    return [m.value for m in app.markdown if m.value.startswith('<div class="dn-view">')]


def figures(app) -> dict[str, panel.Figure]:
    """Every figure the page shows by label: its metrics' and its main view's (label -> value and delta)."""
    shown = {m.label: panel.Figure(m.label, m.value, m.delta or None) for m in app.metric}
    for block in view_blocks(app):
        shown |= panel.read_figures(block)
    return shown


def shown_pictures(app) -> list[panel.Picture]:
    """The pictures of the page's blocks, in order: the main view's (original, noisy, denoised, ...), then the
    batch's if it is open."""
    return [picture for block in view_blocks(app) for picture in panel.read_pictures(block)]


def table_rows(app) -> list[dict]:
    """The rows of the first markdown table on the page, as dicts keyed by its header."""
    text = next(m.value for m in app.markdown if m.value.startswith("| method"))
    header, _, *lines = text.splitlines()
    names = [cell.strip() for cell in header.strip("|").split("|")]
    return [dict(zip(names, (c.strip() for c in line.strip("|").split("|")), strict=True)) for line in lines]


@pytest.fixture(scope="session")
def data_root() -> Path:
    root = os.environ.get(DATA_ROOT_ENV)
    if not root or not (Path(root) / "MNIST" / "raw").is_dir():
        skip_or_fail(f"${DATA_ROOT_ENV} does not point at an MNIST root (got {root!r})")
    return Path(root)


@pytest.fixture(scope="session")
def train_digits(data_root):
    return load_mnist(data_root, "train", download=False)


@pytest.fixture(scope="session")
def test_digits(data_root):
    return load_mnist(data_root, "test", download=False)


@pytest.fixture
def clean(test_digits) -> torch.Tensor:
    """Sixteen real test digits, (16, 1, 28, 28) in [0, 1]."""
    return test_digits.images[:16].clone()


@pytest.fixture
def gen() -> torch.Generator:
    return torch.Generator().manual_seed(1234)


def number_picture(digits, text: str, fmt: str = "PNG") -> bytes:
    """`text` written with test digits the shipped classifier is sure of (a letter in it typeset), dark on a light
    page, enlarged 3 times."""
    import io

    import numpy as np
    from PIL import Image

    from denoiser.bench import sheets
    from denoiser.classifier import load_classifier, read

    labels, confidence = read(load_classifier(), digits.images[:500])

    def tile(c: str) -> np.ndarray:  # (36, 36)
        if not c.isdigit():
            ink = sheets.letter(24, np.random.default_rng(0), char=c)[0]
            return np.pad(ink, [((36 - n) // 2, 36 - n - (36 - n) // 2) for n in ink.shape])
        i = int(np.flatnonzero((labels.numpy() == int(c)) & (confidence.numpy() > 0.99))[0])
        return np.pad(digits.images[i, 0].numpy(), 4)

    strip = np.concatenate([tile(c) for c in text], axis=1)  # (36, 36 * N)
    page = np.pad(255 - np.kron(strip, np.ones((3, 3))) * 220, 40, constant_values=255)
    buffer = io.BytesIO()
    Image.fromarray(page.astype(np.uint8)).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def sure(test_digits):
    """For each label 0-9, a test digit the classifier reads right and is sure of (`written.sure_digits`)."""
    from written import sure_digits

    return sure_digits(test_digits)
