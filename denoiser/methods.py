"""The methods by name: the one place where a name becomes a denoiser (noisy -> denoised).

The shipped models of `weights.REGISTRY` come first, then the classical filters of `baselines`.
The command line, the benchmark, the app and the scripts all ask `get`, and add only what is
their own: a checkpoint file given on the command line, the app's cache and a visitor's
retrained model. `NOISY` (from `evaluate`) names the undenoised input wherever it stands beside the
methods as the reference to beat (a table row, a chart's curve); it is not a method.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import torch

from . import baselines, weights
from .device import resolve_device
from .evaluate import NOISY, Method, model_method

MODEL_NAMES: tuple[str, ...] = tuple(weights.REGISTRY)
FILTER_NAMES: tuple[str, ...] = baselines.BASELINE_NAMES
NAMES: tuple[str, ...] = (*MODEL_NAMES, *FILTER_NAMES)
__all__ = ["FILTER_NAMES", "MODEL_NAMES", "NAMES", "NOISY", "check_name", "forget_models", "get"]


def check_name(name: object, argument: str = "method") -> str:
    """Return `name` if it names a method, else raise ValueError listing them."""
    if name not in NAMES:
        raise ValueError(f"{argument} must be one of {', '.join(NAMES)}; got {name!r}")
    return name  # type: ignore[return-value]


def get(
    name: str,
    kind: str | None = None,
    level: float | None = None,
    *,
    device: str | torch.device | None = None,
    weights_dir: str | os.PathLike = weights.WEIGHTS_DIR,
    tuned_file: str | os.PathLike = baselines.TUNED_FILE,
    strict: bool = False,
) -> Method:
    """noisy -> denoised for method `name`.

    A shipped model ignores `kind` and `level`; it is loaded once per process and folder and
    device, and a missing or damaged file raises WeightsError. A filter gets the parameters
    tuned for `kind` at `level` (its defaults when neither is given); a damaged tuning file
    gives its default parameters too, so a page still denoises, unless `strict` (a measurement
    must not silently change its filters): then it raises WeightsError.
    """
    check_name(name)
    if name in weights.REGISTRY:
        where = str(resolve_device(device)) if device is not None else None
        return _shipped_method(name, Path(weights_dir).resolve(), where)
    try:
        return baselines.get_method(name, kind, level, tuned_file)
    except weights.WeightsError:
        if strict:
            raise
        return baselines.get_method(name)


@functools.cache
def _shipped(name: str, weights_dir: Path, device: str | None) -> torch.nn.Module:
    """Shipped model `name` from `weights_dir`, on `device` (the CPU if None); a failed load is not kept."""
    model = weights.load_pretrained(name, weights_dir)
    return model.to(device) if device is not None else model


@functools.cache
def _shipped_method(name: str, weights_dir: Path, device: str | None) -> Method:
    """The method of shipped model `name`: one object per model, so that a caller can tell it is the same
    whatever the noise (`evaluate.psnr_by_level` runs it once for every level)."""
    return model_method(_shipped(name, weights_dir, device))


def forget_models() -> None:
    """Drop the shipped models loaded so far: the next `get` reads their files again."""
    _shipped_method.cache_clear()
    _shipped.cache_clear()
