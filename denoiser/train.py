"""The training routine: Adam, fresh seeded noise every batch, an optional per-step callback.

Nothing here knows about a UI (minGPT `trainer.py`): the command line hangs a tqdm bar on
`on_step`, the app a progress bar and a live loss chart. By default the model learns to map
noisy -> clean; without clean digits (`targets`, see `noisy_targets`) it learns from a second noisy copy
or from the noisy digit itself behind a blind spot, never by copying its own noisy input (the
tutorials' mistake, which teaches the identity). It runs on any torch device
(`device`), and under torchrun as one of several processes that share every batch (`distributed`).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .augment import augment, shift_digits, training_pair
from .data import Digits
from .device import Precision, model_device, resolve_device, to_cpu
from .distributed import PeerLost, Ranks, current
from .noise import BLIND_CURRICULUM, NoiseRange, add_curriculum_noise, check_seed
from .noisy_targets import check_targets, training_batch

LOSSES = ("bce", "mse", "l1", "psnr")
MAX_SHIFT = 4  # MNIST digits sit in a 20x20 box centred in 28x28: 4 px shifts keep the ink inside
MAX_BATCH_SIZE = 1024  # the unet's activations at 1,024 digits already take about 2 GB


@dataclass
class TrainConfig:
    epochs: int = 10  # passes over the training digits
    batch_size: int = 64
    lr: float = 1e-3  # Adam's learning rate at the start; decays to ~0 with `cosine`
    loss: str = "mse"  # "bce" (the tutorials' choice, for seed-ae), "mse", "l1" or "psnr" (mean per-image PSNR)
    # Per-image MSE floor of the "psnr" loss (1e-4 is 40 dB): digit i's gradient weight is
    # 1 / (mse_i + floor), so a larger floor gives heavily noised digits more say (see _loss).
    psnr_floor: float = 1e-4
    curriculum: tuple[NoiseRange, ...] = BLIND_CURRICULUM  # noise kinds and level ranges, mixed per batch
    # Random shifts (+-2 px) and rotations (+-10 deg). Off by default: fresh noise every batch
    # already keeps the model from overfitting, and the interpolation blurs the targets.
    augment: bool = False
    # Whole-pixel shifts of each digit by -shift..+shift px per axis, zero-filled: no resampling,
    # so the targets stay sharp, unlike `augment`. 0 turns it off.
    shift: int = 0
    # Share of each batch made to look like digits cut out of photos and scans (`pictures`):
    # other writers' shapes and pens, and for half of them a camera's noise. 0 turns it off.
    pictures: float = 0.0
    cosine: bool = True  # cosine learning-rate decay over all steps
    seed: int = 0  # seeds the shuffling, augmentation, noise and the weights' initialisation
    threads: int = 2  # torch CPU threads; 0 leaves torch's default
    max_seconds: float = 0.0  # stop after this wall time; 0 means no limit
    # What the model learns to give back (`noisy_targets`): "clean" digits; without them, "noisy" (a second
    # noisy copy: Noise2Noise), "self" (the noisy digit behind a blind spot: Noise2Self), or "noisy-clipped"
    # (Noise2Noise's trap). Without clean targets, `loss` must fit the noise: mse, or l1 for salt_pepper.
    targets: str = "clean"

    def __post_init__(self) -> None:
        self.curriculum = tuple(NoiseRange(**c) if isinstance(c, dict) else c for c in self.curriculum)
        _check_positive_int(self.epochs, "epochs")
        _check_int_in(self.batch_size, "batch_size", 1, MAX_BATCH_SIZE)
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and 0 < self.lr <= 1):
            raise ValueError(f"lr must be a number in (0, 1]; got {self.lr!r}")
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {', '.join(LOSSES)}; got {self.loss!r}")
        floor = self.psnr_floor
        if not (isinstance(floor, (int, float)) and math.isfinite(floor) and 0 < floor <= 1):
            raise ValueError(f"psnr_floor must be a number in (0, 1]; got {self.psnr_floor!r}")
        if not self.curriculum:
            raise ValueError("curriculum must name at least one noise range")
        if isinstance(self.shift, bool) or not isinstance(self.shift, int) or not 0 <= self.shift <= MAX_SHIFT:
            raise ValueError(f"shift must be a whole number of pixels in 0..{MAX_SHIFT}; got {self.shift!r}")
        if not (isinstance(self.pictures, (int, float)) and 0 <= self.pictures <= 1):
            raise ValueError(f"pictures must be a share in [0, 1]; got {self.pictures!r}")
        check_seed(self.seed)
        cores = os.cpu_count() or 1  # more threads than cores only slow each step down
        if isinstance(self.threads, bool) or not isinstance(self.threads, int) or not 0 <= self.threads <= cores:
            raise ValueError(
                f"threads must be a whole number in 0..{cores} (this machine's cores); got {self.threads!r}"
            )
        if not (isinstance(self.max_seconds, (int, float)) and self.max_seconds >= 0):
            raise ValueError(f"max_seconds must be >= 0; got {self.max_seconds!r}")
        check_targets(self.targets, self.loss, self.curriculum, self.pictures)

    def to_dict(self) -> dict:
        """Plain types only, so it can be stored in a weights_only checkpoint."""
        d = asdict(self)
        d["curriculum"] = [asdict(c) for c in self.curriculum]
        return d


def _check_int_in(value: object, name: str, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be a whole number in {low}..{high}; got {value!r}")


def _check_positive_int(value: object, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a whole number >= 1; got {value!r}")


@dataclass
class StepInfo:
    """What the callback sees after each optimisation step."""

    step: int  # steps done so far, from 1
    total_steps: int
    epoch: int  # from 1
    loss: float  # this batch's loss
    elapsed: float  # seconds since training started
    images_per_s: float


@dataclass
class TrainResult:
    steps: int
    seconds: float
    epoch_losses: list[float] = field(default_factory=list)  # mean loss of each finished epoch
    stopped_early: bool = False


def _loss(
    name: str, denoised: torch.Tensor, clean: torch.Tensor, psnr_floor: float = TrainConfig.psnr_floor, mask=None
) -> torch.Tensor:
    if mask is not None:  # Noise2Self scores the hidden pixels only; the loss is then mse or l1 (`noisy_targets`)
        denoised, clean = denoised[mask], clean[mask]
    if name == "bce":
        # Written out: F.binary_cross_entropy refuses targets outside [0, 1], which a noisy target's unclipped
        # noise leaves; linear in the target, the loss still averages to the clean target's (`noisy_targets`).
        p = denoised.clamp(1e-6, 1 - 1e-6)
        return -(clean * p.log() + (1 - clean) * (1 - p).log()).mean()
    if name == "psnr":
        # The benchmark's figure is the mean of per-image PSNRs. Plain MSE lets the hard, noisy
        # digits dominate and leaves lightly noised ones barely touched; -PSNR per image weighs each
        # digit's *relative* error. Its gradient weighs digit i by 1 / (mse_i + floor): the floor
        # caps how much a nearly clean digit can outweigh a heavily noised one.
        mse = (denoised - clean).pow(2).flatten(1).mean(1)
        return 10 * torch.log10(mse + psnr_floor).mean()
    return F.mse_loss(denoised, clean) if name == "mse" else F.l1_loss(denoised, clean)


def _batch(clean: torch.Tensor, config: TrainConfig, g: torch.Generator) -> tuple:
    """(input, target, mask or None) of a step on a clean batch: augmented, then noised as `config` says."""
    if config.augment:
        clean = augment(clean, g)
    clean = shift_digits(clean, config.shift, g)
    if config.targets != "clean":
        return training_batch(clean, config.curriculum, config.targets, g)
    if config.pictures:
        clean, noisy = training_pair(clean, config.curriculum, config.pictures, g)
    else:
        noisy = add_curriculum_noise(clean, config.curriculum, g)
    return noisy, clean, None


def _step(model, optimizer, schedule, clean: torch.Tensor, config: TrainConfig, g: torch.Generator, run) -> float:
    """One optimisation step on a global clean batch: augment, noise, fit input -> target (see `_batch`) on this
    process's share of it (all of it in one process); returns the whole batch's mean loss."""
    noisy, target, mask = _batch(clean, config, g)
    part, weight = run.ranks.share(len(clean))
    noisy, target = noisy[part].to(run.device), target[part].to(run.device)
    mask = mask[part].to(run.device) if mask is not None else None
    with run.precision.autocast():
        denoised = model(noisy)
    loss = _loss(config.loss, denoised.float(), target, config.psnr_floor, mask)
    optimizer.zero_grad(set_to_none=True)
    run.precision.backward_and_step(loss if weight == 1 else loss * weight, optimizer)
    if schedule:
        schedule.step()
    return run.ranks.mean_loss(loss.item() * weight, run.device)


@dataclass
class _Run:
    """Where a training runs: its device, precision and place among torchrun's processes."""

    device: torch.device
    precision: Precision
    ranks: Ranks


def train(
    model: nn.Module,
    digits: Digits,
    config: TrainConfig,
    on_step: Callable[[StepInfo], bool | None] | None = None,
    on_state: Callable[[dict], None] | None = None,
    resume: dict | None = None,
    device: str | torch.device | None = None,
    amp: bool = False,
) -> TrainResult:
    """Train `model` in place to denoise digits (from clean or noisy targets: `config.targets`); `on_step` may
    return True to stop early.

    `on_state` receives the run's state (see `_state`) after every epoch and when the run stops
    early; passing it back as `resume`, with the model's weights from that moment, continues the
    run exactly where it stopped: same schedule, same batches, same noise. That is what lets a
    multi-hour training be split over several sittings.

    `device` ("auto", "cpu", "cuda", "cuda:N" or "mps"; default: where the model is) is where the
    model is moved, in place, and trained; it stays there. `amp` trains with float16 autocast (CUDA
    only). Under torch.distributed (a process group the caller started, as `python -m denoiser train`
    does under torchrun), each process trains on its share of every batch of `config.batch_size`
    digits (see `distributed`); `on_step` and `on_state` are then called in rank 0 only, and its
    decision to stop holds for every process."""
    if len(digits) == 0:
        raise ValueError("digits must hold at least one image to train on")
    device = model_device(model) if device is None else resolve_device(device)
    run = _Run(device, Precision(device, amp), current())
    if not run.ranks.is_main:  # rank 0 reports and writes; the others follow its decision to stop
        on_step = on_state = None
    threads = torch.get_num_threads()
    if config.threads:
        torch.set_num_threads(config.threads)  # process-wide: restored below so a server's inference is unaffected
    try:
        return _train(model, digits, config, on_step, on_state, resume, run)
    finally:
        torch.set_num_threads(threads)


@dataclass
class _Parts:
    """What a run updates besides the model: its optimizer, schedule and noise generator, and where it runs."""

    optimizer: torch.optim.Optimizer
    schedule: torch.optim.lr_scheduler.LRScheduler | None
    g: torch.Generator
    run: _Run


def _parts(model: nn.Module, config: TrainConfig, total: int, run: _Run) -> _Parts:
    """Move `model` to the run's device and make the optimizer, the schedule over `total` steps and the generator."""
    g = torch.Generator().manual_seed(config.seed)  # on the CPU whatever the device: the same stream everywhere
    # On the device before the optimizer's state is restored: that state follows its parameters. oneDNN's
    # NHWC convolutions run a training step ~20% faster on one CPU thread than NCHW; the result differs
    # only by float rounding.
    model.to(run.device, memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, total) if config.cosine else None
    return _Parts(optimizer, schedule, g, run)


def _state(epoch: int, done: int, order, epoch_loss: float, result: TrainResult, parts: _Parts) -> dict:
    """Everything needed to continue a run after `done` steps of `epoch`, as plain types and CPU tensors."""
    return {
        "stopped": result.stopped_early, "epoch": epoch, "done_in_epoch": done,
        "order": order.clone(), "epoch_loss": epoch_loss, "steps": result.steps, "seconds": result.seconds,
        "epoch_losses": list(result.epoch_losses),
        "optimizer": to_cpu(parts.optimizer.state_dict()),
        "schedule": parts.schedule.state_dict() if parts.schedule else None,
        "generator": parts.g.get_state(), "scaler": parts.run.precision.state_dict(),
    }  # fmt: skip


def _restore(resume: dict, n_digits: int, steps_per_epoch: int, total: int, parts: _Parts, result: TrainResult):
    """Load a stopped run's state (see `_state`) into `parts` and `result`; returns where it continues:
    (epoch, steps done in it, its digit order or None to draw one, its loss so far)."""
    if len(resume["order"]) != n_digits:  # another data root or --limit: the batches would not be the same
        raise ValueError(f"resume state is for {len(resume['order'])} training digits; this run has {n_digits}")
    if not 0 < resume["steps"] < total:
        raise ValueError(f"resume state is at step {resume['steps']}, outside this run's 1..{total - 1} steps")
    parts.optimizer.load_state_dict(resume["optimizer"])
    if parts.schedule:
        parts.schedule.load_state_dict(resume["schedule"])
    parts.g.set_state(resume["generator"])
    parts.run.precision.load_state_dict(resume.get("scaler"))
    result.steps, result.seconds = resume["steps"], resume["seconds"]
    result.epoch_losses = list(resume["epoch_losses"])
    if resume["done_in_epoch"] >= steps_per_epoch:  # stopped at an epoch's end: the next one draws its own order
        return resume["epoch"] + 1, 0, None, 0.0
    return resume["epoch"], resume["done_in_epoch"], resume["order"], resume["epoch_loss"]


def _wrap(model: nn.Module, run: _Run) -> nn.Module:
    """`model` as the run trains it: under torchrun a DistributedDataParallel view of it; PeerLost if a process
    of the run is gone before the first step."""
    try:
        return run.ranks.wrap(model, run.device)
    except RuntimeError as err:
        if not run.ranks.lost_a_peer(err):
            raise
        raise PeerLost("another process of the run stopped before the first step") from None


def _step_and_agree(net, clean: torch.Tensor, config: TrainConfig, parts: _Parts, progress: tuple, on_step):
    """One step, counted and reported; (its loss, whether every process stops now)."""
    result, sitting, total, epoch = progress
    loss = _step(net, parts.optimizer, parts.schedule, clean, config, parts.g, parts.run)
    elapsed = sitting.count(result, len(clean))  # an epoch's last batch is short
    info = StepInfo(result.steps, total, epoch, loss, result.seconds, sitting.images / elapsed)
    stop = bool(on_step(info)) if on_step else False
    return loss, parts.run.ranks.agree(stop or bool(config.max_seconds and elapsed >= config.max_seconds),
                                       parts.run.device)  # fmt: skip


def _optimizer_steps(optimizer: torch.optim.Optimizer) -> int:
    """How many steps the optimizer has taken (Adam counts them per parameter; 0 before the first)."""
    return int(next((state["step"] for state in optimizer.state.values()), 0))


def _keep_last_step(mark: tuple, where: tuple, result: TrainResult, parts: _Parts, on_state) -> None:
    """A process of the run is gone mid-step: hand `on_state` this one's state as of its last finished step.

    `mark` is (the generator's state, the optimizer's steps, the run's steps) before the step. A step cut
    off before the optimizer stepped is undone (its batch and noise are drawn again on resume); one cut off
    after it, while the processes agreed on its loss or on stopping, is counted."""
    g_state, optimizer_steps, steps = mark
    epoch, i, order, epoch_loss, steps_per_epoch = where
    if _optimizer_steps(parts.optimizer) == optimizer_steps:
        parts.g.set_state(g_state)
        result.steps, done = steps, i
    else:
        result.steps, done = steps + 1, i + 1
    result.stopped_early = True
    if done == steps_per_epoch:  # the epoch is complete: its loss belongs in the record
        result.epoch_losses.append(epoch_loss / steps_per_epoch)
    if on_state and result.steps:
        on_state(_state(epoch, done, order, epoch_loss, result, parts))


@dataclass
class _Sitting:
    """This sitting's clock and digits seen; a resumed run's earlier sittings are in `before`."""

    before: float  # seconds of the earlier sittings
    start: float = field(default_factory=time.perf_counter)
    images: int = 0

    def count(self, result: TrainResult, n_images: int) -> float:
        """Count a step of `n_images` digits in `result`; returns this sitting's seconds so far."""
        result.steps, self.images = result.steps + 1, self.images + n_images
        elapsed = time.perf_counter() - self.start  # this sitting only: --max-minutes is per sitting
        result.seconds = self.before + elapsed
        return elapsed


def _train(model: nn.Module, digits: Digits, config: TrainConfig, on_step, on_state, resume, run) -> TrainResult:
    steps_per_epoch = math.ceil(len(digits) / config.batch_size)
    total = steps_per_epoch * config.epochs
    parts = _parts(model, config, total, run)
    result = TrainResult(steps=0, seconds=0.0)
    where = _restore(resume, len(digits), steps_per_epoch, total, parts, result) if resume else (1, 0, None, 0.0)
    first_epoch, first_step, order, epoch_loss = where
    sitting = _Sitting(result.seconds)
    net = _wrap(model, run)
    model.train()
    for epoch in range(first_epoch, config.epochs + 1):
        if order is None:
            order, epoch_loss = torch.randperm(len(digits), generator=parts.g), 0.0
        for i in range(first_step, steps_per_epoch):
            clean = digits.images[order[i * config.batch_size : (i + 1) * config.batch_size]]
            mark = (parts.g.get_state(), _optimizer_steps(parts.optimizer), result.steps)
            try:
                loss, stop = _step_and_agree(net, clean, config, parts, (result, sitting, total, epoch), on_step)
                epoch_loss += loss
            except RuntimeError as err:
                if not run.ranks.lost_a_peer(err):
                    raise
                _keep_last_step(mark, (epoch, i, order, epoch_loss, steps_per_epoch), result, parts, on_state)
                raise PeerLost(f"another process of the run stopped after step {result.steps}") from None
            if stop and result.steps < total:
                result.stopped_early = True
                if i + 1 == steps_per_epoch:  # the epoch is complete: its loss belongs in the record
                    result.epoch_losses.append(epoch_loss / steps_per_epoch)
                if on_state:
                    on_state(_state(epoch, i + 1, order, epoch_loss, result, parts))
                break
        if result.stopped_early:
            break
        result.epoch_losses.append(epoch_loss / steps_per_epoch)
        if on_state and epoch < config.epochs:
            on_state(_state(epoch, steps_per_epoch, order, epoch_loss, result, parts))
        first_step, order = 0, None
    model.to(memory_format=torch.contiguous_format)  # hand the model back in the layout it came in, on `device`
    model.eval()
    return result
