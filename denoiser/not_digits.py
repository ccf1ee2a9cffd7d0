"""Marks that are not digits, made the way a digit found in a picture is made: what teaches a classifier to say so.

A classifier trained on the ten digits alone has no way to answer "none of them": shown a letter among
the digits of a photo, it reads an A as a 4 and an E as a 6, and is as sure of them as of the digits
(a softmax over ten classes sums to one whatever it is shown). `marks` typesets letters and symbols
that nobody would take for a digit, in several typefaces, stroke widths and slants, and makes each an
MNIST-style 28x28 picture with `digitize.to_mnist`, the code that makes a digit found in a picture;
a classifier trained on them as an eleventh class (`classifier.NO_DIGIT`) learns that answer.

Left out are the letters that are written like digits (O, I, l, S, Z, B, b, g, q, D, G, T, P, U, V, J, L,
r, u, v, y, Y): a reader cannot tell them apart either, and a classifier taught they are no digit
would refuse the 0s, 1s, 5s, 2s, 8s, 6s, 9s and 7s that look like them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from .digitize import to_mnist

GLYPHS = "ACEFHKMNRWXacefhkmnwx+×÷=#%&@"
# Another family than the DejaVu faces that the reading benchmark writes its letters in (docs/reading), so
# that the benchmark measures letters the classifier has not seen. Debian's fonts-liberation; Pillow's own
# font where it is missing.
FONT_DIR = Path("/usr/share/fonts/truetype/liberation")
FONTS = ("LiberationSans-Regular.ttf", "LiberationSans-Bold.ttf", "LiberationSans-Italic.ttf",
         "LiberationSerif-Regular.ttf", "LiberationSerif-Bold.ttf", "LiberationSerif-Italic.ttf",
         "LiberationMono-Regular.ttf", "LiberationMono-Bold.ttf", "LiberationSansNarrow-Regular.ttf",
         "LiberationSansNarrow-Italic.ttf")  # fmt: skip
SIZE = 160  # pixels: the glyphs are typeset this tall, then made 28x28 as a photographed digit is
STROKE = 7  # the glyphs' outlines are thickened by 0 to STROKE - 1 pixels: a fine pen to a marker
SLANT = 10.0  # degrees either way


def fonts() -> list[ImageFont.FreeTypeFont]:
    """The typefaces found of `FONTS`, or Pillow's own when none is installed."""
    found = [ImageFont.truetype(str(FONT_DIR / name), SIZE) for name in FONTS if (FONT_DIR / name).exists()]
    return found or [ImageFont.load_default(SIZE)]


def marks(copies: int = 3, seed: int = 0, glyphs: str = GLYPHS) -> torch.Tensor:
    """Every one of `glyphs` in every font `copies` times, each with a random stroke width and slant, made
    MNIST-style: (N, 1, 28, 28) in [0, 1]."""
    if copies < 1 or not glyphs:
        raise ValueError(f"copies must be >= 1 and glyphs not empty; got {copies} and {glyphs!r}")
    rng = np.random.default_rng(seed)
    made = []
    for font in fonts():
        for glyph in glyphs:
            for _ in range(copies):
                img = Image.new("L", (3 * SIZE // 2, 3 * SIZE // 2), 0)
                width = int(rng.integers(STROKE))
                ImageDraw.Draw(img).text((img.width // 2, img.height // 2), glyph, fill=255, font=font, anchor="mm",
                                         stroke_width=width, stroke_fill=255)  # fmt: skip
                img = img.rotate(rng.uniform(-SLANT, SLANT), resample=Image.Resampling.BILINEAR)
                made.append(to_mnist(np.asarray(img)))
    return torch.stack(made)
