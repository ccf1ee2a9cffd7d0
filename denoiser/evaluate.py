"""Denoise with any method and measure it on a fixed, seeded set of noisy digits.

A *method* is any callable `noisy (N, 1, H, W) -> denoised (N, 1, H, W)`, values in [0, 1]:
a trained model wrapped by `model_method`, or a classical filter from `baselines`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
from torch import nn

from .checks import as_batch
from .device import model_device, resolve_device
from .metrics import image_metrics, mean_metrics, mean_psnr
from .noise import add_noise, check_seed

Method = Callable[[torch.Tensor], torch.Tensor]
NOISY = "noisy"  # the undenoised input, beside the methods in every table and chart; not a method


def denoise_batch(
    model: nn.Module, noisy: torch.Tensor, batch_size: int = 128, device: str | torch.device | None = None
) -> torch.Tensor:
    """Run `model` over `noisy` in chunks, without gradients, on the model's device; the result is on `noisy`'s.

    `noisy` follows the contract of `denoiser.checks`; the result has its shape and dtype. With
    `device` ("auto", "cpu", "cuda", "cuda:N", "mps") the model is first moved there (in place);
    its weights are not changed. Chunks of 128 keep a U-Net's activations in the CPU caches: faster
    than one batch of 1,024."""
    batch, restore = as_batch(noisy, "noisy")  # (N, 1, H, W)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a whole number >= 1; got {batch_size!r}")
    if device is not None:  # outside inference mode: moved parameters must stay trainable
        model.to(resolve_device(device))
    target = model_device(model)
    with torch.inference_mode():
        out = torch.cat([model(batch[i : i + batch_size].to(target)) for i in range(0, len(batch), batch_size)])
        return restore(out.to(batch.device))


def model_method(model: nn.Module, device: str | torch.device | None = None) -> Method:
    """Wrap a trained model as a method; with `device`, the model is moved there once (see `denoise_batch`)."""
    if device is not None:
        model.to(resolve_device(device))
    return lambda noisy: denoise_batch(model, noisy)


def make_noisy(clean: torch.Tensor, kind: str, level: float, seed: int = 0) -> torch.Tensor:
    """Noise `clean` from a fixed seed, so every method is measured on the same noisy digits."""
    return add_noise(clean, kind, level, torch.Generator().manual_seed(check_seed(seed)))


def evaluate(
    method: Method | nn.Module,
    clean: torch.Tensor,
    kind: str,
    level: float,
    seed: int = 0,
    device: str | torch.device | None = None,
) -> dict:
    """Mean MSE, PSNR, SSIM of the denoised and the noisy digits against `clean`, and the seconds taken.

    `method` may be a model itself, run on `device` (default: where it is); a classical filter takes no device."""
    if isinstance(method, nn.Module):
        method = model_method(method, device)
    elif device is not None:
        raise ValueError(f"device applies to a model (an nn.Module) as method; got {type(method).__name__}")
    noisy = make_noisy(clean, kind, level, seed)
    start = time.perf_counter()
    denoised = method(noisy)
    seconds = time.perf_counter() - start
    result = {"noise": kind, "level": level, "n": len(clean), "seconds": seconds}
    result.update(mean_metrics(clean, denoised))
    result.update({f"noisy_{k}": v for k, v in mean_metrics(clean, noisy).items()})
    return result


def curriculum_psnr(model: nn.Module, digits, curriculum, seed: int = 0, device=None) -> dict:
    """Mean PSNR of `model` on `digits` at the middle level of each curriculum entry, averaged over entries.

    The middle level rather than random ones: a level drawn near 0 can leave a digit untouched,
    and its infinite PSNR would swamp the mean.
    """
    method = model_method(model, device)
    runs = [evaluate(method, digits.images, r.kind, (r.low + r.high) / 2, seed) for r in curriculum]
    return {key: sum(r[key] for r in runs) / len(runs) for key in ("psnr", "noisy_psnr")}


def compare(methods: dict[str, Method], clean: torch.Tensor, noisy: torch.Tensor) -> list[dict]:
    """One row per method, `{"method", "mse", "psnr", "ssim"}` of its output against `clean`, best PSNR first."""
    return rank(clean, {name: method(noisy) for name, method in methods.items()})


def rank(clean: torch.Tensor, outputs: dict[str, torch.Tensor]) -> list[dict]:
    """One row per named output (each shaped like `clean`), `{"method", "mse", "psnr", "ssim"}`, best PSNR first."""
    if not outputs:
        return []
    # Scored in one call: on a single digit, checking and converting each output apart cost as much as SSIM.
    stacked = torch.cat([out.to(clean.device, clean.dtype) for out in outputs.values()])
    scores = image_metrics(clean.repeat(len(outputs), 1, 1, 1), stacked)
    per_method = {key: value.reshape(len(outputs), len(clean)).mean(axis=1) for key, value in scores.items()}
    rows = [{"method": name, **{key: float(v[i]) for key, v in per_method.items()}} for i, name in enumerate(outputs)]
    return sorted(rows, key=lambda row: (-row["psnr"], -row["ssim"]))


def psnr_by_level(
    methods_at: Callable[[float], dict[str, Method]],
    clean: torch.Tensor,
    kind: str,
    levels: tuple[float, ...] | list[float],
    seed: int = 0,
) -> dict[str, list[float]]:
    """Mean PSNR at each of `levels` for the noisy input (`NOISY`) and each method of `methods_at(level)`.

    `methods_at` takes the level because a classical filter is tuned per noise level. Every
    method sees the same seeded noisy digits at a given level. A method that `methods_at` gives as
    the same object at several levels (a shipped model, which ignores the level) runs once on all
    of their noisy digits: one batch, not a call per level.
    """
    noisy = [make_noisy(clean, kind, level, seed) for level in levels]
    curves = {NOISY: [mean_psnr(clean, x) for x in noisy]}
    by_level = [methods_at(level) for level in levels]
    for name in by_level[0]:
        outputs = _run_each([at[name] for at in by_level], noisy)
        curves[name] = [mean_psnr(clean, y) for y in outputs]
    return curves


def _run_each(methods: list[Method], inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    """`methods[i](inputs[i])` for every i; a method given for several inputs is called once, on them stacked."""
    outputs: list[torch.Tensor] = [torch.empty(0)] * len(inputs)
    groups: dict[int, list[int]] = {}  # by identity: a filter is a dataclass, which cannot be hashed
    for i, method in enumerate(methods):
        groups.setdefault(id(method), []).append(i)
    for indices in groups.values():
        stacked = methods[indices[0]](torch.cat([inputs[i] for i in indices]))
        for i, output in zip(indices, stacked.split([len(inputs[i]) for i in indices]), strict=True):
            outputs[i] = output
    return outputs
