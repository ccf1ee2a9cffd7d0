"""Noise generators with one strength scale for every kind.

`level` is in [0, 1]; 0 returns the input unchanged, and for the three additive-style
kinds `level` is the standard deviation of the noise that a white pixel (value 1) sees:

- gaussian:    clip(clean + level * N(0, 1), 0, 1)
- speckle:     clip(clean + level * clean * N(0, 1), 0, 1)   (skimage speckle, var = level^2)
- poisson:     clip(Poisson(clean * peak) / peak, 0, 1) with peak = 1 / level^2 photons at white
- salt_pepper: a fraction `level` of the pixels is replaced, half by 1 (salt), half by 0 (pepper)

All randomness comes from an explicit `torch.Generator`, never the global seed, so the
same generator state gives the same noisy image (KAIR adds noise in the dataset the same way).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import torch

from .checks import as_batch

NOISE_KINDS = ("gaussian", "salt_pepper", "speckle", "poisson")


def check_kind(kind: object, name: str = "kind") -> str:
    """Return `kind` if it names a noise kind, else raise ValueError listing the allowed ones."""
    if kind not in NOISE_KINDS:
        raise ValueError(f"{name} must be one of {', '.join(NOISE_KINDS)}; got {kind!r}")
    return kind  # type: ignore[return-value]


def check_level(level: object, name: str = "level") -> float:
    """Return `level` as a float if it is a finite number in [0, 1], else raise ValueError."""
    if isinstance(level, bool) or not isinstance(level, (int, float)):
        raise ValueError(f"{name} must be a number in [0, 1]; got {level!r}")
    level = float(level)
    if not math.isfinite(level) or not 0.0 <= level <= 1.0:
        raise ValueError(f"{name} must be a finite number in [0, 1]; got {level!r}")
    return level


# torch's generator takes 64 bits, but a seed also travels through the app's number input and a
# shared link: Streamlit takes whole numbers up to JavaScript's largest exact one, 2**53 - 1.
MAX_SEED = 2**53 - 1


def check_seed(seed: object, name: str = "seed") -> int:
    """Return `seed` as an int if it is a whole number in [0, MAX_SEED], else raise ValueError."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed <= MAX_SEED:
        raise ValueError(f"{name} must be a whole number in [0, 2**53 - 1]; got {seed!r}")
    return int(seed)


def add_noise(
    clean: torch.Tensor,
    kind: str,
    level: float,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Return a noisy copy of `clean` (same shape and dtype, values in [0, 1]); `clean` is not modified.

    `clean` follows the contract of `denoiser.checks`: (H, W), (1, H, W) or (N, 1, H, W) floats in [0, 1]."""
    batch, restore = as_batch(clean, "clean")
    check_kind(kind)
    level = check_level(level)
    levels = torch.full((), level, dtype=batch.dtype)
    return restore(_apply(batch, kind, levels, generator))


def _apply(clean: torch.Tensor, kind: str, levels: torch.Tensor, g: torch.Generator | None) -> torch.Tensor:
    """Apply one noise kind; `levels` broadcasts against `clean` (a scalar or one per image)."""
    return _unclipped(clean, kind, levels, g).clamp(0, 1)


def _unclipped(clean: torch.Tensor, kind: str, levels: torch.Tensor, g: torch.Generator | None) -> torch.Tensor:
    """One noise kind before the clip to [0, 1]: for every kind but salt_pepper, noise of mean zero."""
    if kind == "gaussian":
        noise = torch.randn(clean.shape, generator=g, dtype=clean.dtype)
        return clean + levels * noise
    if kind == "speckle":
        noise = torch.randn(clean.shape, generator=g, dtype=clean.dtype)
        return clean + levels * clean * noise
    if kind == "poisson":
        # peak = 1 / level^2; a zero level means infinitely many photons, i.e. no noise.
        peak = 1.0 / levels.clamp_min(1e-6) ** 2
        counts = torch.poisson((clean * peak).to(torch.float64), generator=g).to(clean.dtype)
        return torch.where(levels > 0, counts / peak, clean)
    # salt_pepper: one uniform draw picks the pixels, a second picks salt or pepper.
    hit = torch.rand(clean.shape, generator=g) < levels
    salt = torch.rand(clean.shape, generator=g) < 0.5
    return torch.where(hit, salt.to(clean.dtype), clean)


@dataclass(frozen=True)
class NoiseRange:
    """One entry of a training curriculum: a noise kind and the range its level is drawn from."""

    kind: str
    low: float
    high: float

    def __post_init__(self) -> None:
        check_kind(self.kind, "NoiseRange.kind")
        check_level(self.low, "NoiseRange.low")
        check_level(self.high, "NoiseRange.high")
        if self.low > self.high:
            raise ValueError(f"NoiseRange.low must be <= high; got {self.low} > {self.high}")


# The blind curriculum: every kind over the strengths the app and benchmark use, level 0 included
# so that a clean digit passes through unchanged.
BLIND_CURRICULUM = (
    NoiseRange("gaussian", 0.0, 0.8),
    NoiseRange("salt_pepper", 0.0, 0.5),
    NoiseRange("speckle", 0.0, 0.8),
    NoiseRange("poisson", 0.0, 0.8),
)


def add_curriculum_noise(
    clean: torch.Tensor,
    curriculum: tuple[NoiseRange, ...] | list[NoiseRange],
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Noise a batch (N, 1, H, W): each image gets a kind drawn from `curriculum` and a level uniform in its range."""
    clean, restore = as_batch(clean, "clean")
    return restore(curriculum_copies(clean, curriculum, generator, copies=1)[0].clamp(0, 1))


def curriculum_copies(
    clean: torch.Tensor,
    curriculum: tuple[NoiseRange, ...] | list[NoiseRange],
    generator: torch.Generator | None,
    copies: int,
) -> list[torch.Tensor]:
    """`copies` noisy versions of a batch (N, 1, H, W), *unclipped*: each image's kind and level are drawn once
    from `curriculum`, its noise afresh for every copy. Unclipped, every kind but salt_pepper is zero-mean
    noise around the clean digit, which Noise2Noise needs of its targets (see `noisy_targets`)."""
    if not curriculum:
        raise ValueError("curriculum must name at least one NoiseRange")
    n = clean.shape[0]
    which = torch.randint(len(curriculum), (n,), generator=generator)
    u = torch.rand(n, generator=generator, dtype=clean.dtype)
    out = [clean.clone() for _ in range(copies)]
    for i, spec in enumerate(curriculum):
        idx = (which == i).nonzero(as_tuple=True)[0]
        if len(idx) == 0:
            continue
        levels = (spec.low + (spec.high - spec.low) * u[idx]).view(-1, 1, 1, 1)
        for noisy in out:
            noisy[idx] = _unclipped(clean[idx], spec.kind, levels, generator)
    return out
