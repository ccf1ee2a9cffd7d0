"""Training without clean digits: what a training step fits the model to, and the loss that fits the noise.

`TrainConfig.targets` names it:

- "clean": noisy -> the clean digit, as every shipped model learned.
- "noisy" (Noise2Noise, Lehtinen et al., ICML 2018): the target is a second noisy copy of the digit, its
  noise drawn independently and *unclipped*. With a loss whose minimiser the noise leaves in place (the mean
  for zero-mean noise, the median for salt-and-pepper), the model learns what clean targets teach it.
- "noisy-clipped": the same, the copy clipped to [0, 1] as `add_noise` gives it: the trap, kept to show it.
  The clip takes away the negative half of the noise on black, so a black pixel's copy averages
  level / sqrt(2 pi) (0.2 at gaussian 0.5): the model learns a grey background and greyer strokes.
- "self" (Noise2Self, Batson and Royer, ICML 2019; Noise2Void, Krull et al., CVPR 2019): the noisy digit
  alone. A random `MASK_SHARE` of its pixels are hidden, each replaced in the input by one of its 8
  neighbours, and the loss is taken on those pixels only, against their own noisy values (unclipped, as for
  "noisy"). A hidden pixel's noise is independent of all the model sees, so its best guess is the clean value.

Both papers' arguments need noise that is independent from pixel to pixel and, for the mean, of mean zero:
true of the four kinds before the clip, not of the smoothed noise of `pictures`. As for clean targets, input
and target noise are drawn afresh every batch (as in the papers' experiments on synthetic noise).
"""

from __future__ import annotations

import torch

from .noise import NoiseRange, curriculum_copies

TARGETS = ("clean", "noisy", "noisy-clipped", "self")
MASK_SHARE = 1 / 16  # pixels hidden per digit, as Noise2Self's 4x4 grid: more scores more, but hides more context

# The losses that learn the clean digit from each kind's noisy targets. Unclipped gaussian and speckle noise is
# symmetric, so mean (mse, and bce: linear in the target, its minimiser is the mean target too) and median (l1) are
# the clean value; Poisson noise is skewed, so only its mean is. Salt-and-pepper moves a hit pixel to 0 or 1 at
# random: the mean is pulled to 0.5, but a copy lies below the clean value at most half the time (pepper) and above
# it at most half the time (salt), so the clean value is the median.
SOUND_LOSSES = {"gaussian": ("mse", "bce", "l1"), "speckle": ("mse", "bce", "l1"), "poisson": ("mse", "bce"),
                "salt_pepper": ("l1",)}  # fmt: skip
MEAN_PULLED = "a hit pixel becomes 0 or 1 at random, so the mean of its noisy copies is pulled to 0.5"
WHY_NOT = {  # each loss is refused for one reason only: mse and bce for salt_pepper alone, l1 for poisson alone
    "mse": MEAN_PULLED,
    "bce": MEAN_PULLED,
    "l1": "poisson noise is skewed, so the median of a pixel's noisy copies is not its clean value",
    "psnr": "psnr weighs each digit by its own error, which the target's noise inflates unevenly",
}


def sound_loss(curriculum: tuple[NoiseRange, ...], preferred: str = "mse") -> str | None:
    """`preferred` if it fits every noise kind of `curriculum` with noisy targets, else the loss that does (mse
    before l1), or None if no one loss does."""
    kinds = {r.kind for r in curriculum}
    fits = [loss for loss in (preferred, "mse", "l1") if all(loss in SOUND_LOSSES[kind] for kind in kinds)]
    return fits[0] if fits else None


def check_targets(targets: object, loss: str, curriculum: tuple[NoiseRange, ...], pictures: float) -> None:
    """ValueError, naming the parameter, saying why and what to use instead, unless `targets` can be learned
    with `loss` from `curriculum`'s noise."""
    if targets not in TARGETS:
        raise ValueError(f"targets must be one of {', '.join(TARGETS)}; got {targets!r}")
    if targets == "clean":
        return
    if pictures:
        raise ValueError(f"pictures must be 0 with targets {targets!r}: a picture's noise is smoothed over its "
                         "neighbours; learning without clean digits needs noise independent per pixel")  # fmt: skip
    fit = sound_loss(curriculum)
    if fit is None:
        raise ValueError(f"curriculum: with targets {targets!r} one loss must fit all its noise kinds, and none "
                         "fits both poisson (mse) and salt_pepper (l1); train on them apart "
                         "(--noise, --noise-range)")  # fmt: skip
    for kind in sorted({r.kind for r in curriculum}):
        if loss not in SOUND_LOSSES[kind]:
            raise ValueError(f"loss {loss!r} does not fit {kind} noise with targets {targets!r} ({WHY_NOT[loss]}); "
                             f"use the {fit} loss (--loss {fit})")  # fmt: skip


def trained_on(meta: dict) -> str | None:
    """The targets a checkpoint's model learned from, by its meta; None if the meta does not say how it trained."""
    train = meta.get("train")
    if not isinstance(train, dict):
        return None
    return train.get("targets", "clean")  # recorded since targets existed: before, every run used clean ones


def training_batch(
    clean: torch.Tensor, curriculum: tuple[NoiseRange, ...], targets: str, g: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """(input, target, mask) for a batch (N, 1, H, W) learned without its clean digits; the loss is taken
    where `mask` is True (None: everywhere). The input is clipped to [0, 1], as any picture is."""
    if targets == "self":
        (noisy,) = curriculum_copies(clean, curriculum, g, copies=1)
        seen, mask = blind_spot(noisy.clamp(0, 1), g)
        return seen, noisy, mask
    first, second = curriculum_copies(clean, curriculum, g, copies=2)
    return first.clamp(0, 1), second.clamp(0, 1) if targets == "noisy-clipped" else second, None


def blind_spot(noisy: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(input, mask) for a batch (N, C, H, W): a random `MASK_SHARE` of its pixels (mask True) each replaced by one
    of its 8 neighbours drawn at random. Reflected at the edges, so that no pixel is ever replaced by itself."""
    h, w = noisy.shape[-2:]
    mask = torch.rand(noisy.shape, generator=g) < MASK_SHARE
    offsets = torch.tensor([(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx])
    pick = offsets[torch.randint(len(offsets), noisy.shape, generator=g)]  # (N, C, H, W, 2)
    rows = _reflect(torch.arange(h).view(h, 1) + pick[..., 0], h)
    cols = _reflect(torch.arange(w).view(1, w) + pick[..., 1], w)
    neighbour = noisy.flatten(2).gather(2, (rows * w + cols).flatten(2)).view_as(noisy)
    return torch.where(mask, neighbour, noisy), mask


def _reflect(index: torch.Tensor, size: int) -> torch.Tensor:
    """Indices one step outside 0..size-1 mirrored back inside: -1 -> 1, size -> size - 2."""
    return torch.where(index < 0, -index, torch.where(index >= size, 2 * (size - 1) - index, index))
