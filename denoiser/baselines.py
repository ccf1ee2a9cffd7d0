"""Classical denoising filters behind the same interface as the models, tuned per noise kind and level.

A method maps noisy (N, 1, H, W) float tensors in [0, 1] to denoised ones of the same shape.
The filters come from SciPy and scikit-image: a 3x3 median, a Gaussian blur, total variation
(Chambolle 2004), non-local means (Buades et al. 2005), bilateral (Tomasi & Manduchi 1998)
and wavelet shrinkage (BayesShrink, Chang et al. 2000). A filter tuned for one noise is not
a fair baseline for another, so `tune` grid-searches each filter's parameters per noise kind
and level on the *training* split (mean PSNR), and `get_method` reads the result from
`weights/baselines.json`, using the nearest tuned level. Every filter takes well under a
millisecond or two on a 28x28 digit, so the app can use them interactively.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from scipy.ndimage import median_filter
from skimage.filters import gaussian
from skimage.restoration import denoise_bilateral, denoise_nl_means, denoise_tv_chambolle, denoise_wavelet

from .checks import as_batch
from .evaluate import make_noisy
from .metrics import json_ready, psnr_from_mse
from .noise import NOISE_KINDS, check_kind, check_level
from .weights import WEIGHTS_DIR, WeightsError, atomic_write_bytes

BASELINE_NAMES = ("median", "gaussian_blur", "tv", "nl_means", "bilateral", "wavelet")
TUNED_FILE = WEIGHTS_DIR / "baselines.json"
REGENERATE = "python -m denoiser tune-baselines --data-root DIR --limit 200"

# Levels tuned for: the benchmark's grid and enough in between for the app's slider over [0, 1].
TUNE_LEVELS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def _median(image: np.ndarray, size: int) -> np.ndarray:
    return median_filter(image, size=size, mode="nearest")


def _gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    return gaussian(image, sigma=sigma, mode="nearest", preserve_range=True)


def _tv(image: np.ndarray, weight: float) -> np.ndarray:
    return denoise_tv_chambolle(image, weight=weight)


def _nl_means(image: np.ndarray, h: float, patch_size: int, patch_distance: int) -> np.ndarray:
    # Small patches and search windows: a 28x28 digit has few similar patches far away anyway.
    return denoise_nl_means(image, h=h, patch_size=patch_size, patch_distance=patch_distance, fast_mode=True)


def _bilateral(image: np.ndarray, sigma_color: float, sigma_spatial: float) -> np.ndarray:
    return denoise_bilateral(image, sigma_color=sigma_color, sigma_spatial=sigma_spatial, mode="edge")


def _wavelet(image: np.ndarray, sigma: float | None, mode: str) -> np.ndarray:
    # sigma None lets skimage estimate it from the finest detail coefficients.
    return denoise_wavelet(image, sigma=sigma, mode=mode, wavelet="db1", method="BayesShrink", rescale_sigma=True)


FILTERS: dict[str, Callable[..., np.ndarray]] = {
    "median": _median,
    "gaussian_blur": _gaussian_blur,
    "tv": _tv,
    "nl_means": _nl_means,
    "bilateral": _bilateral,
    "wavelet": _wavelet,
}

# Parameters used when no noise is named: reasonable for moderate Gaussian noise.
DEFAULTS: dict[str, dict] = {
    "median": {"size": 3},
    "gaussian_blur": {"sigma": 0.8},
    "tv": {"weight": 0.15},
    "nl_means": {"h": 0.2, "patch_size": 3, "patch_distance": 3},
    "bilateral": {"sigma_color": 0.2, "sigma_spatial": 1.0},
    "wavelet": {"sigma": None, "mode": "soft"},
}


def _product(**axes: tuple) -> list[dict]:
    """Every combination of the given parameter values, as keyword dicts."""
    return [dict(zip(axes, values, strict=True)) for values in itertools.product(*axes.values())]


# The search space of `tune`; about 80 settings in all, so a tuning run takes minutes on one core.
GRIDS: dict[str, list[dict]] = {
    "median": _product(size=(3,)),  # the benchmark's median is 3x3 by definition
    "gaussian_blur": _product(sigma=(0.3, 0.5, 0.7, 0.9, 1.2, 1.5, 2.0)),
    "tv": _product(weight=(0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.8, 1.2)),
    "nl_means": _product(h=(0.05, 0.1, 0.15, 0.2, 0.3, 0.45, 0.6, 0.8, 1.0), patch_size=(3,), patch_distance=(2, 4)),
    "bilateral": _product(sigma_color=(0.05, 0.1, 0.2, 0.4, 0.8, 1.6), sigma_spatial=(0.5, 1.0, 2.0)),
    "wavelet": _product(sigma=(None, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.2), mode=("soft", "hard")),
}


def check_name(name: object, argument: str = "name") -> str:
    """Return `name` if it names a classical filter, else raise ValueError listing the allowed ones."""
    if name not in FILTERS:
        raise ValueError(f"{argument} must be one of {', '.join(BASELINE_NAMES)}; got {name!r}")
    return name  # type: ignore[return-value]


@dataclass
class Baseline:
    """A classical filter with fixed parameters, callable as a method: noisy (N, 1, H, W) -> denoised."""

    name: str
    params: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_name(self.name)

    def denoise_array(self, noisy: np.ndarray) -> np.ndarray:
        """(N, H, W) float64 in [0, 1] -> (N, H, W) float64 in [0, 1], one image at a time."""
        fn = FILTERS[self.name]
        return np.clip(np.stack([fn(image, **self.params) for image in noisy]), 0.0, 1.0)

    def __call__(self, noisy: torch.Tensor) -> torch.Tensor:
        """Pictures under the contract of `denoiser.checks` -> denoised, in their shape and dtype."""
        batch, restore = as_batch(noisy, "noisy", torch.float64)  # (N, 1, H, W)
        denoised = self.denoise_array(batch[:, 0].detach().cpu().numpy())  # (N, H, W): filters are 2-D
        return restore(torch.from_numpy(denoised))


def load_tuned(path: str | os.PathLike = TUNED_FILE) -> dict | None:
    """The tuning result stored at `path`, or None if there is none; WeightsError if it is damaged."""
    path = Path(path)
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    # Read again only when the file changes: the app asks for a tuned filter on every slider move.
    return _read_tuned(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _read_tuned(path: Path, mtime_ns: int, size: int) -> dict:
    try:
        tuned = json.loads(path.read_text())
        if not isinstance(tuned.get("params"), dict):
            raise ValueError("no 'params' table")
    except (ValueError, AttributeError) as err:
        raise WeightsError(f"tuned parameters {path} are damaged ({err}); regenerate with `{REGENERATE}`") from None
    return tuned


def tuned_params(name: str, kind: str, level: float, tuned: dict) -> dict:
    """The parameters tuned for `name` at `kind` and the tuned level nearest to `level`."""
    by_level = tuned["params"].get(kind, {})
    if not by_level:
        return dict(DEFAULTS[name])
    nearest = min(by_level, key=lambda key: abs(float(key) - level))
    return dict(by_level[nearest].get(name, DEFAULTS[name]))


def get_method(
    name: str,
    kind: str | None = None,
    level: float | None = None,
    path: str | os.PathLike = TUNED_FILE,
) -> Baseline:
    """Filter `name` tuned for `kind` at `level` (nearest tuned level); defaults when no noise is named.

    Without a tuning file (never run) the defaults are used; a damaged one raises WeightsError.
    """
    check_name(name)
    if (kind is None) != (level is None):
        raise ValueError("kind and level go together: give both, or neither for the default parameters")
    if kind is None:
        return Baseline(name, dict(DEFAULTS[name]))
    check_kind(kind)
    level = check_level(level)
    tuned = load_tuned(path)
    params = tuned_params(name, kind, level, tuned) if tuned else dict(DEFAULTS[name])
    return Baseline(name, params)


def mean_psnr(clean: np.ndarray, denoised: np.ndarray) -> float:
    """Mean per-image PSNR of (N, H, W) arrays in [0, 1]; the metric `tune` maximises."""
    mse = ((clean - denoised) ** 2).reshape(len(clean), -1).mean(axis=1)
    return float(np.mean([psnr_from_mse(m) for m in mse]))


def tune_cell(name: str, clean: np.ndarray, noisy: np.ndarray) -> tuple[dict, float]:
    """The grid setting of filter `name` with the highest mean PSNR on these digits, and that PSNR."""
    best, best_psnr = dict(DEFAULTS[name]), -math.inf
    for params in GRIDS[name]:
        score = mean_psnr(clean, Baseline(name, params).denoise_array(noisy))
        if score > best_psnr:
            best, best_psnr = params, score
    return best, best_psnr


def tune(
    clean: torch.Tensor,
    kinds: tuple[str, ...] = NOISE_KINDS,
    levels: tuple[float, ...] = TUNE_LEVELS,
    names: tuple[str, ...] = BASELINE_NAMES,
    seed: int = 0,
    on_cell: Callable[[str, float], None] | None = None,
) -> dict:
    """Grid-search every filter per noise kind and level on `clean` (training digits!); returns the table.

    The result maps params[kind][level][name] -> parameters and psnr[kind][level][name] -> mean PSNR.
    """
    start = time.perf_counter()
    params: dict = {kind: {} for kind in kinds}
    psnr: dict = {kind: {} for kind in kinds}
    target = clean.to(torch.float64).numpy()[:, 0]  # (N, H, W)
    for kind, level in itertools.product(kinds, levels):
        noisy = make_noisy(clean, kind, level, seed).to(torch.float64).numpy()[:, 0]
        key = str(level)
        params[kind][key], psnr[kind][key] = {}, {"noisy": mean_psnr(target, noisy)}
        for name in names:
            params[kind][key][name], psnr[kind][key][name] = tune_cell(name, target, noisy)
        if on_cell:
            on_cell(kind, level)
    meta = {"n": len(clean), "seed": seed, "seconds": round(time.perf_counter() - start, 1)}
    return {"params": params, "psnr": psnr, "meta": meta}


def save_tuned(tuned: dict, path: str | os.PathLike = TUNED_FILE, meta: dict | None = None) -> Path:
    """Atomically write a tuning result (plus `meta`, e.g. the command and date) as JSON."""
    stamp = {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    payload = {**tuned, "meta": {**tuned.get("meta", {}), **stamp, **(meta or {})}}
    text = json.dumps(json_ready(payload), indent=1, sort_keys=True, allow_nan=False)
    atomic_write_bytes(path, (text + "\n").encode())
    return Path(path)
