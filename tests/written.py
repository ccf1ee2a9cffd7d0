"""Pictures of written digits for the reading tests: test digits the classifier is sure of, written in rows
on a photographed page (`denoiser.bench.sheets`) or in dark ink on a white page."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from denoiser.bench import sheets
from denoiser.classifier import load_classifier, read

HEIGHT = 60  # pixels: the digits' height in the pictures made here


def encode(arr: np.ndarray, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(arr).save(buffer, format=fmt, **options)
    return buffer.getvalue()


def glyphs(sure: dict[int, np.ndarray], text: str, seed: int) -> list[sheets.Glyph]:
    rng = np.random.default_rng(seed)
    return [sheets.written(sure[int(c)], c, HEIGHT, rng) for c in text]


def photo(rows: list[list[sheets.Glyph]], seed: int = 0, **kwargs) -> bytes:
    """The rows written with a clear gap between digits (a slanted digit leans into a close neighbour's box)."""
    kwargs.setdefault("spacing", (0.4, 0.7))
    return sheets.photograph_lines(rows, HEIGHT, np.random.default_rng(seed), **kwargs)


def page_of(sure: dict[int, np.ndarray], text: str, shape: tuple[int, int], left: int, top: int,
            step: int = HEIGHT) -> np.ndarray:  # fmt: skip
    """`text` written in dark ink on a white page of `shape`, from (`top`, `left`), a digit's width apart (`step`
    pixels: at half a digit's, most digits touch); a space leaves a digit's room blank."""
    page = np.full(shape, 255, np.uint8)
    for k, c in enumerate(text):
        if c == " ":
            continue
        digit = np.asarray(Image.fromarray((sure[int(c)] * 255).astype(np.uint8)).resize((HEIGHT, HEIGHT)))
        x = left + k * step
        page[top : top + HEIGHT, x : x + HEIGHT] = np.minimum(page[top : top + HEIGHT, x : x + HEIGHT],
                                                              255 - digit.astype(np.int32) * 220 // 255)  # fmt: skip
    return page


def sure_digits(test_digits) -> dict[int, np.ndarray]:
    """For each label 0-9, the first test digit the classifier reads right with confidence above 0.999."""
    labels, confidence = read(load_classifier(), test_digits.images[:500])
    good = (labels == test_digits.labels[:500]) & (confidence > 0.999)
    return {d: test_digits.images[int(np.flatnonzero(good & (labels == d))[0]), 0].numpy() for d in range(10)}
