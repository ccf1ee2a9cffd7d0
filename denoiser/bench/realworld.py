"""Measuring what visitors bring: digits found in pictures, and digits that are not MNIST's.

- `extraction`: pictures of a scene (`simulate.SCENES`) made from test digits go through
  `digitize.extract_image`; how often the classifier reads the written digit in what was
  found, how close it is to the source (PSNR after the best whole-pixel shift), what was refused.
- `as_is`: the same pictures through `keep_noise=True` and a model: the picture's own noise
  removed, scored against the source digit.
- `typeset_digits` and `drawn_digits`: digits in other hands than MNIST's writers (computer
  fonts, and strokes of one width as a drawing canvas makes them), to measure denoisers on.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage
from skimage import morphology, transform

from .. import digitize
from ..classifier import predict
from ..data import Digits
from ..metrics import noise_sigma, psnr_from_mse
from . import simulate

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")  # Debian's fonts-dejavu-core; Pillow's own font otherwise
FONTS = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf",
         "DejaVuSansMono.ttf", "DejaVuSansCondensed-Oblique.ttf", "DejaVuSerifCondensed-Italic.ttf",
         "DejaVuSans-ExtraLight.ttf")  # fmt: skip


def aligned_psnr(found: torch.Tensor, source: torch.Tensor, shift: int = 2) -> float:
    """PSNR of `found` against `source` (both (1, 28, 28)) at the best whole-pixel shift in -shift..shift.

    A digit cut from a photo is centred by its own centre of mass, which a rotation or a stroke
    lost at the edge moves by a pixel or two; the shift keeps that from counting as noise.
    """
    best = math.inf
    for dy in range(-shift, shift + 1):
        for dx in range(-shift, shift + 1):
            moved = torch.roll(found, (dy, dx), dims=(-2, -1))
            best = min(best, float((moved - source).pow(2).mean()))
    return psnr_from_mse(best)


def _pictures(scene: str, digits: Digits, seed: int) -> list[bytes]:
    """One picture of `scene` per digit, from a generator seeded by `seed` and the scene's name."""
    rng = np.random.default_rng([seed, sum(map(ord, scene))])
    make = simulate.SCENES[scene][0]
    return [make(digit[0].numpy(), rng) for digit in digits.images]


def extraction(scene: str, digits: Digits, classifier, seed: int = 0) -> dict:
    """Read rate, PSNR to the source and refusals of the clean extraction, over one picture per digit."""
    read, psnrs, refused, several = 0, [], 0, 0
    for picture, source, label in zip(_pictures(scene, digits, seed), digits.images, digits.labels, strict=True):
        try:
            found = digitize.extract_image(picture)
        except digitize.ImageError:
            refused += 1
            continue
        psnrs.append(aligned_psnr(found.digit, source))
        read += int(predict(classifier, found.digit[None]).item() == int(label))
        several += int(found.marks > 1)
    n = len(digits)
    return {"scene": scene, "n": n, "read": read / n, "refused": refused, "several_marks": several,
            "psnr_median": float(np.median(psnrs)) if psnrs else None}  # fmt: skip


def as_is(scene: str, digits: Digits, classifier, methods: dict[str, Callable], seed: int = 0) -> dict:
    """The picture's own noise: as-is extraction and each method's result, against the source digit."""
    found, kept = [], []
    for i, picture in enumerate(_pictures(scene, digits, seed)):
        try:
            found.append(digitize.image_to_mnist(picture, keep_noise=True))
            kept.append(i)
        except digitize.ImageError:
            pass
    noisy = torch.stack(found)  # (N, 1, 28, 28)
    source, labels = digits.images[kept], digits.labels[kept]
    rows = {"as it is": noisy} | {name: method(noisy) for name, method in methods.items()}
    return {"scene": scene, "n": len(digits), "refused": len(digits) - len(kept)} | {
        name: _scores(images, source, labels, classifier) for name, images in rows.items()
    }


def _scores(images: torch.Tensor, source: torch.Tensor, labels: torch.Tensor, classifier) -> dict:
    psnr = [aligned_psnr(x, s) for x, s in zip(images, source, strict=True)]
    sigma = noise_sigma(images)
    read = float((predict(classifier, images) == labels).float().mean())
    return {"psnr_median": float(np.median(psnr)), "read": read, "noise_sigma_median": float(np.median(sigma))}


def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    path = FONT_DIR / name
    return ImageFont.truetype(str(path), size) if path.exists() else ImageFont.load_default(size)


def typeset_digits(seed: int = 0, per_font: int = 3) -> Digits:
    """Each digit 0-9 typeset in each font of `FONTS`, `per_font` times at slight random angles, MNIST-style."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for name in FONTS:
        font = _font(name, 160)
        for label in range(10):
            for _ in range(per_font):
                img = Image.new("L", (240, 240), 0)
                ImageDraw.Draw(img).text((120, 120), str(label), fill=255, font=font, anchor="mm")
                img = img.rotate(rng.uniform(-8, 8), resample=Image.Resampling.BILINEAR)
                images.append(digitize.to_mnist(np.asarray(img)))
                labels.append(label)
    return Digits(torch.stack(images), torch.tensor(labels))


def drawn_digits(digits: Digits, seed: int = 0) -> Digits:
    """The digits' skeletons redrawn with a round brush of one width, as a drawing canvas makes them."""
    rng = np.random.default_rng(seed)
    images = []
    for digit in digits.images:
        up = transform.resize(digit[0].numpy(), (112, 112), order=1) > 0.5
        brush = morphology.disk(int(rng.integers(3, 8)))
        stroke = ndimage.binary_dilation(morphology.skeletonize(up), brush).astype(np.float64)
        images.append(digitize.to_mnist(ndimage.gaussian_filter(stroke, 1.0)))
    return Digits(torch.stack(images), digits.labels.clone())


def photographed_digits(digits: Digits, seed: int = 0) -> Digits:
    """The digits as the clean extraction finds them in phone photos (refused pictures are left out)."""
    images, labels = [], []
    for picture, label in zip(_pictures("phone", digits, seed + 1), digits.labels, strict=True):
        try:
            images.append(digitize.image_to_mnist(picture))
            labels.append(int(label))
        except digitize.ImageError:
            pass
    return Digits(torch.stack(images), torch.tensor(labels))
