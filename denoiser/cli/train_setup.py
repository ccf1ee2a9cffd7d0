"""What a train run starts from: its TrainConfig, model, digits and placement, from the train arguments.

Each is checked before any step, so a bad combination of options is refused before the digits load.
"""

from __future__ import annotations

import argparse

from ..data import split_holdout
from ..device import resolve_device
from ..models import MAX_LEVELS
from ..noise import BLIND_CURRICULUM, NoiseRange
from ..noisy_targets import sound_loss
from ..train import TrainConfig
from . import common


def train_config(args: argparse.Namespace) -> TrainConfig:
    """The TrainConfig of the train arguments; checked before the digits are loaded."""
    from ..weights import get_spec

    if (args.noise is None) != (args.level is None):
        raise ValueError("--noise and --level go together (a specialist); leave both out for the blind curriculum")
    if args.noise and args.noise_range:
        raise ValueError("--noise/--level and --noise-range are alternatives; give one of them")
    curriculum = BLIND_CURRICULUM
    if args.noise:
        curriculum = (NoiseRange(args.noise, args.level, args.level),)
    if args.noise_range:
        curriculum = tuple(noise_range(*entry) for entry in args.noise_range)
    # Without clean targets the loss must fit the noise (`noisy_targets`); TrainConfig refuses one that does not.
    own = get_spec(args.model).loss
    loss = args.loss or (own if args.targets == "clean" else sound_loss(curriculum, own) or own)
    return TrainConfig(
        epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, loss=loss, psnr_floor=args.psnr_floor,
        augment=args.augment, shift=args.shift, pictures=args.pictures, seed=args.seed,
        max_seconds=args.max_minutes * 60, threads=args.threads, curriculum=curriculum, targets=args.targets,
    )  # fmt: skip


def train_digits(args: argparse.Namespace):
    """(training digits, held-out digits) of the train arguments."""
    digits = common.load_split(args, "train")
    digits = digits.subset(slice(0, args.limit)) if args.limit else digits
    if args.holdout > len(digits) // 2:
        raise ValueError(f"--holdout must be at most half of the {len(digits)} training digits; got {args.holdout}")
    return split_holdout(digits, args.holdout, seed=args.seed)


def placement(args: argparse.Namespace):
    """(device, ranks) of a train run: --device checked, and under torchrun this process joined to the others."""
    from ..distributed import join

    device = resolve_device(args.device, "--device")
    if args.amp and device.type != "cuda":
        raise ValueError(f"--amp needs a CUDA device; --device {args.device} is {device}")
    return join(device)


def placement_meta(device, ranks, amp: bool) -> dict:
    """How a run was placed, for its checkpoint: the result does not depend on it beyond float rounding."""
    return {"device": device.type, "processes": ranks.world_size, "amp": amp}


def noise_range(kind: str, low: str, high: str) -> NoiseRange:
    """One --noise-range entry; its numbers are checked by NoiseRange itself."""
    try:
        return NoiseRange(kind, float(low), float(high))
    except ValueError as err:
        raise ValueError(f"--noise-range {kind} {low} {high}: {err}") from None


def initial_model(args: argparse.Namespace):
    """A fresh model, or with --init the weights of an earlier run and what made them (its command and time)."""
    from ..models import grow_mid_blocks
    from ..weights import build_model, load_checkpoint, sha256

    if args.init is None:
        return build_model(args.model, model_config(args), seed=args.seed), {}
    if args.widths:
        raise ValueError("--widths comes from the --init checkpoint; leave it out")
    name, model, meta = load_checkpoint(args.init)
    if name != args.model:
        raise ValueError(f"--init {args.init} holds a {name} model, not {args.model}")
    if args.mid_blocks is not None:  # a deeper unet that starts as the --init one: see models.grow_mid_blocks
        model_config(args)  # raises for a model other than the unet
        if args.mid_blocks < model.config.mid_blocks:
            raise ValueError(f"--mid-blocks must be >= the --init unet's {model.config.mid_blocks} "
                             f"(blocks are added, never removed); got {args.mid_blocks}")  # fmt: skip
        model = grow_mid_blocks(model, args.mid_blocks)
    # The chain of runs that made the starting weights, so weights/README.md can give every command.
    chain = [*meta.get("init_chain", []), {key: meta.get(key) for key in ("command", "seconds", "steps", "sittings")}]
    return model, {"init": {"path": str(args.init), "sha256": sha256(args.init)}, "init_chain": chain}


def model_config(args: argparse.Namespace) -> dict:
    """The model's config from --widths / --mid-blocks (unet only); the model's defaults otherwise."""
    if args.widths and not 2 <= len(args.widths) <= MAX_LEVELS:  # each level halves 28 px: 28 -> 14 -> 7
        raise ValueError(f"--widths takes 2..{MAX_LEVELS} filter counts, one per level; got {len(args.widths)}")
    config = {"widths": tuple(args.widths) if args.widths else None, "mid_blocks": args.mid_blocks}
    config = {k: v for k, v in config.items() if v is not None}
    if config and args.model != "unet":
        raise ValueError(f"--widths and --mid-blocks apply to the unet only, not {args.model}")
    return config
