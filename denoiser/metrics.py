"""Image-quality metrics: MSE, PSNR and SSIM from scikit-image, wrapped once.

Every image is compared on the same [0, 1] scale (`data_range=1`), the mistake the
tutorials make most often being a PSNR over mismatched scales: pictures outside [0, 1]
(0-255 pixels, say) are refused by the input contract of `denoiser.checks`, not scored.
Identical images have PSNR = inf, which is returned as such rather than raising or warning.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from skimage.metrics import mean_squared_error, structural_similarity
from skimage.restoration import estimate_sigma

from .checks import as_batch

METRIC_NAMES = ("mse", "psnr", "ssim")
SSIM_WINDOW = 7  # scikit-image's default window for SSIM, which every figure here uses


def _as_arrays(images: object, name: str) -> np.ndarray:
    """Pictures under the contract of `denoiser.checks` -> float64 array (N, H, W)."""
    return as_batch(images, name, torch.float64)[0][:, 0].detach().cpu().numpy()


def psnr_from_mse(mse: float) -> float:
    """PSNR in dB for images in [0, 1]; inf when the images are identical."""
    return math.inf if mse == 0 else 10.0 * math.log10(1.0 / mse)


def _pair(clean: torch.Tensor | np.ndarray, other: torch.Tensor | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = _as_arrays(clean, "clean"), _as_arrays(other, "other")
    if a.shape != b.shape:
        raise ValueError(f"clean and other must have the same shape; got {a.shape} and {b.shape}")
    return a, b


def mean_psnr(clean: torch.Tensor | np.ndarray, other: torch.Tensor | np.ndarray) -> float:
    """The mean of per-image PSNRs, as `mean_metrics` gives it, without the SSIM that costs most of it."""
    a, b = _pair(clean, other)
    return float(np.mean([psnr_from_mse(mean_squared_error(x, y)) for x, y in zip(a, b, strict=True)]))


def image_metrics(clean: torch.Tensor | np.ndarray, other: torch.Tensor | np.ndarray) -> dict[str, np.ndarray]:
    """Per-image MSE, PSNR and SSIM of `other` against `clean`; each value an array of length N."""
    a, b = _pair(clean, other)
    mse = np.array([mean_squared_error(x, y) for x, y in zip(a, b, strict=True)])
    psnr = np.array([psnr_from_mse(m) for m in mse])
    return {"mse": mse, "psnr": psnr, "ssim": _ssim(a, b)}


def _ssim(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-image SSIM of (N, H, W) arrays, from one scikit-image call on the pictures laid side by side.

    SSIM averages a map over each picture less a border of half its 7-pixel window, and the window of
    every pixel so kept lies inside its own picture: the values are those of one call per picture (to
    1e-15), at a third of the cost on a page that ranks nine pictures per slider move."""
    n, h, w = a.shape
    if n == 1 or min(h, w) < SSIM_WINDOW:  # too small to crop: skimage's own error or per-picture handling
        return np.array([structural_similarity(x, y, data_range=1.0) for x, y in zip(a, b, strict=True)])
    side_by_side = lambda images: images.transpose(1, 0, 2).reshape(h, n * w)  # noqa: E731
    _, full = structural_similarity(side_by_side(a), side_by_side(b), data_range=1.0, full=True)
    pad = (SSIM_WINDOW - 1) // 2
    return full.reshape(h, n, w).transpose(1, 0, 2)[:, pad : h - pad, pad : w - pad].mean(axis=(1, 2))


def mean_metrics(clean: torch.Tensor | np.ndarray, other: torch.Tensor | np.ndarray) -> dict[str, float]:
    """MSE, PSNR and SSIM averaged over the batch (PSNR is the mean of per-image PSNRs)."""
    return {k: float(v.mean()) for k, v in image_metrics(clean, other).items()}


def json_ready(data: object) -> object:
    """`data` with every infinite or NaN float replaced by None, so that strict JSON can hold it
    (`json.dumps(..., allow_nan=False)`); a dict gains a "note" naming what was replaced and why.

    JSON has no infinity, and Python's default `Infinity` is refused by strict parsers; an infinite
    PSNR (identical images, e.g. noise at level 0) is a real result, so it is marked, not dropped."""
    replaced: list[str] = []

    def walk(value: object, path: str) -> object:
        if isinstance(value, float) and not math.isfinite(value):
            replaced.append(f"{path} ({value})")
            return None
        if isinstance(value, dict):
            return {key: walk(item, f"{path}.{key}" if path else str(key)) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [walk(item, f"{path}[{i}]") for i, item in enumerate(value)]
        return value

    ready = walk(data, "")
    if replaced and isinstance(ready, dict):
        ready["note"] = (
            f"null stands for a number JSON cannot hold: {', '.join(replaced)}; "
            "an infinite PSNR means the images were identical"
        )
    return ready


def noise_sigma(images: torch.Tensor) -> list[float]:
    """The noise's standard deviation in each image (N, 1, H, W), estimated from the image alone (wavelets)."""
    return [float(estimate_sigma(image[0].double().numpy())) for image in images]


BACKGROUND_INK = 0.25  # a pixel this bright, or up to two pixels from one, belongs to a stroke


def background_noise(images: torch.Tensor, ink: torch.Tensor) -> list[float]:
    """The noise left on the background of each image (N, 1, H, W): the RMS of its pixels away from the strokes
    of `ink` (1, H, W), a white-on-black digit whose background is black, so whatever is there is noise.

    Unlike `noise_sigma`, sharp strokes are not read as noise: a clean picture denoised measures as clean."""
    from scipy import ndimage

    strokes = ndimage.binary_dilation(ink[0].detach().cpu().numpy() > BACKGROUND_INK, iterations=2)
    if strokes.all():  # no background to measure
        return [0.0] * len(images)
    return [float(np.sqrt(np.mean(image[0].detach().cpu().double().numpy()[~strokes] ** 2))) for image in images]
