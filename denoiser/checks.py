"""The input contract of every public function that takes digits, checked here and nowhere else.

`add_noise`, `denoise_batch`, the metrics and the models all accept the same pictures: a float
tensor (or numpy array) with values in [0, 1], shaped (H, W), (1, H, W) or (N, 1, H, W). Half
precision is computed in float32 (its largest number, 65504, is smaller than a Poisson peak of
1 / level²); integer pixels are refused rather than guessed at, since 0-255 and 0-1 both occur.
Results come back in the caller's shape and dtype, so a (28, 28) picture stays (28, 28).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

SHAPES = "(H, W), (1, H, W) or (N, 1, H, W)"


def _as_tensor(images: object, name: str) -> torch.Tensor:
    if isinstance(images, np.ndarray) and images.dtype.kind == "f":
        return torch.from_numpy(np.ascontiguousarray(images))
    if isinstance(images, np.ndarray):
        raise ValueError(f"{name} must hold floats in [0, 1]; got dtype {images.dtype} (divide 0-255 pixels by 255)")
    if not isinstance(images, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor or numpy array; got {type(images).__name__}")
    if not images.is_floating_point():
        raise ValueError(f"{name} must hold floats in [0, 1]; got dtype {images.dtype} (divide 0-255 pixels by 255)")
    return images


def _check_shape(images: torch.Tensor, name: str) -> torch.Tensor:
    """(H, W), (1, H, W) or (N, 1, H, W) -> a (N, 1, H, W) view."""
    shape = tuple(images.shape)
    if images.dim() == 2:
        images = images[None, None]
    elif images.dim() == 3 and shape[0] == 1:
        images = images[None]
    elif images.dim() != 4 or shape[1] != 1:
        raise ValueError(f"{name} must be shaped {SHAPES}; got {shape}")
    if images.numel() == 0:
        raise ValueError(f"{name} must hold at least one pixel; got shape {shape}")
    return images


def _check_range(images: torch.Tensor, name: str) -> None:
    if not torch.isfinite(images).all():
        raise ValueError(f"{name} must not contain NaN or infinite values")
    low, high = float(images.min()), float(images.max())
    if low < 0 or high > 1:
        hint = " (0-255 pixels? divide by 255)" if high > 1.5 else ""
        raise ValueError(f"{name} values must be in [0, 1]; got [{low:.3g}, {high:.3g}]{hint}")


def as_batch(
    images: object, name: str, dtype: torch.dtype | None = None
) -> tuple[torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]:
    """Check `images` against the contract; return them as a (N, 1, H, W) batch and a function
    that gives a result batch back in the caller's shape and dtype.

    The batch is in `dtype` if given (a model's own), else float32 or float64 as the input was.
    A ValueError names the argument `name` and what was expected."""
    tensor = _as_tensor(images, name)
    batch = _check_shape(tensor, name)
    _check_range(batch, name)
    work = dtype or (torch.float64 if tensor.dtype == torch.float64 else torch.float32)
    shape, caller_dtype = tuple(tensor.shape), tensor.dtype

    def restore(result: torch.Tensor) -> torch.Tensor:
        return result.reshape(shape).to(caller_dtype)

    return batch.to(work), restore


def check_images(images: object, name: str = "clean") -> torch.Tensor:
    """`images` as a (N, 1, H, W) float32/float64 batch if they meet the contract, else ValueError naming `name`."""
    return as_batch(images, name)[0]
