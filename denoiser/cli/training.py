"""Subcommands of training: `train` a model into a checkpoint, `resume` a run that stopped.

A run rewrites OUT.resume about once a minute and when it stops early, so a run killed or
stopped continues with `resume` from close to where it was; SIGINT and SIGTERM stop it after
the current step, with its state and weights saved (exit 130 / 143).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import sys
from pathlib import Path

import torch

from ..device import resolve_device
from ..distributed import PeerLost
from ..models import MAX_LEVELS, MAX_MID_BLOCKS, MAX_WIDTH
from ..noisy_targets import TARGETS
from ..runs import StopSignals, check_space, check_writable, claim, resume_path, write_or_keep
from ..train import LOSSES, MAX_BATCH_SIZE, TrainConfig
from ..weights import REGISTRY, WEIGHTS_DIR
from . import common, train_setup

RESUME_EVERY_S = 60  # how often a run rewrites its .resume file: a killed run loses at most this much
RESUME_HINT = "give the .resume file a stopped train run left"
# A sitting stopped by --max-minutes: not done, not failed. sysexits.h's EX_TEMPFAIL ("try again later"),
# so a script tells it from a finished run (0) and from a failure; `resume` continues the run.
TIME_LIMIT_EXIT = 75


def add_train_parser(sub) -> None:
    t = sub.add_parser("train", help="train a model; writes a checkpoint atomically")
    t.add_argument("--model", choices=REGISTRY, required=True)
    common.add_data_args(t, "mnist")
    common.add_noise_args(t, required=False)
    t.add_argument("--noise-range", nargs=3, action="append", metavar=("KIND", "LOW", "HIGH"),
                   help="a curriculum entry (repeatable); default: the blind curriculum over every kind")  # fmt: skip
    t.add_argument("--epochs", type=common.positive_int, default=10)
    t.add_argument("--batch-size", type=common.int_in(1, MAX_BATCH_SIZE), default=64)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--targets", choices=TARGETS, default="clean",
                   help="what the model learns to give back: clean digits (default), a second noisy copy (noisy: "
                        "Noise2Noise), the noisy digit behind a blind spot (self: Noise2Self), or noisy-clipped "
                        "(Noise2Noise's trap: a grey background)")  # fmt: skip
    t.add_argument("--loss", choices=LOSSES,
                   help="default: the model's own (bce for seed-ae); without clean targets, the one that fits the "
                        "noise (mse; l1 for salt_pepper)")  # fmt: skip
    t.add_argument("--psnr-floor", type=float, default=TrainConfig.psnr_floor,
                   help="psnr loss: per-image MSE floor (larger: noisier digits weigh more)")  # fmt: skip
    t.add_argument("--init", type=Path, help="start from this checkpoint's weights and model config")
    t.add_argument("--widths", type=common.int_in(1, MAX_WIDTH), nargs="+",
                   help=f"unet: filters per level, 2..{MAX_LEVELS} levels, e.g. 16 32 64")  # fmt: skip
    t.add_argument("--mid-blocks", type=common.int_in(0, MAX_MID_BLOCKS),
                   help="unet: residual blocks at the coarsest level (with --init: grow it to this many)")  # fmt: skip
    t.add_argument("--augment", action=argparse.BooleanOptionalAction, default=False,
                   help="random shifts and rotations of the training digits (default: off)")  # fmt: skip
    t.add_argument("--shift", type=common.non_negative_int, default=0,
                   help="shift training digits by up to this many whole px, no resampling (0: off)")  # fmt: skip
    t.add_argument("--pictures", type=float, default=0.0,
                   help="share of each batch made to look like digits from photos and scans (0: off)")  # fmt: skip
    t.add_argument("--holdout", type=common.non_negative_int, default=500, help="training digits held out for the PSNR")
    t.add_argument("--limit", type=common.positive_int, help="train on the first N digits only")
    t.add_argument("--seed", type=common.seed, default=0)
    t.add_argument("--max-minutes", type=float, default=0.0, help="stop after this wall time (0: no limit)")
    t.add_argument("--threads", type=common.threads(0), default=min(2, os.cpu_count() or 1),
                   help="torch CPU threads, at most the machine's cores (0: torch's default)")  # fmt: skip
    t.add_argument("--out", type=Path, help="checkpoint path (default runs/NAME.pt; weights/ only when named)")
    common.add_device_arg(t)
    t.add_argument("--amp", action="store_true", help="mixed precision (float16 autocast; CUDA only)")
    t.add_argument("--overwrite", action="store_true", help="start afresh over an unfinished run's OUT.resume")


def add_resume_parser(sub) -> None:
    r = sub.add_parser("resume", help="continue a stopped train run from its OUT.resume file")
    r.add_argument("state", type=Path, help="the .resume file a stopped or killed train run left beside its --out")
    r.add_argument("--max-minutes", type=float, help="stop this sitting after this wall time (default: the run's own)")
    r.add_argument("--threads", type=common.threads(0), help="torch CPU threads (default: the run's own)")
    common.add_device_arg(r, default=None)


def _out_path(args: argparse.Namespace) -> Path:
    """Where `train` writes its checkpoint: --out, else runs/ under the model's own file name."""
    from ..weights import get_spec

    return args.out or Path("runs") / get_spec(args.model).filename


def cmd_train(args: argparse.Namespace) -> int:
    """Train a model into --out; refused before any step if --out cannot be written or another run is on it."""
    out = _out_path(args)
    check_writable(out)
    with claim(out):
        state = resume_path(out)
        if state.exists() and not args.overwrite:  # the new run would replace it: the unfinished one is lost
            raise ValueError(
                f"{state} holds an unfinished run; continue it with: python -m denoiser resume {state} "
                f"(or pass --overwrite to start afresh and replace it)"
            )
        return _train(args, out)


def cmd_resume(args: argparse.Namespace) -> int:
    """Continue a train run exactly where its .resume file left it, with the run's own arguments."""
    from ..weights import load_checkpoint

    if args.device is not None:  # refused before the state is read; the run's own --device is checked by train
        resolve_device(args.device, "--device")
    if not args.state.is_file():
        load_checkpoint(args.state, hint=RESUME_HINT)  # says the file does not exist
    out = args.state.with_name(args.state.name.removesuffix(".resume"))
    check_writable(out, "the run's --out")
    with claim(out):  # the state is read under the lock: a run still writing it would change it
        _, model, meta = load_checkpoint(args.state, hint=RESUME_HINT)
        _check_resume_meta(args.state, meta)
        run = _resumed_args(args, meta["argv"])
        if resume_path(_out_path(run)).resolve() != args.state.resolve():
            raise ValueError(f"{args.state} was written for --out {run.out}; move it back beside that file")
        return _train(run, _out_path(run), resumed=(model, meta))


def _resumed_args(args: argparse.Namespace, argv: list[str]) -> argparse.Namespace:
    """The train arguments of the run, with this sitting's --max-minutes, --threads and --device if given."""
    # Given again last, so they override the run's own (argparse keeps the last value).
    extra = [*(["--max-minutes", str(args.max_minutes)] if args.max_minutes is not None else []),
             *(["--threads", str(args.threads)] if args.threads is not None else []),
             *(["--device", args.device] if args.device is not None else [])]  # fmt: skip
    parser = common.Parser(prog="denoiser")
    add_train_parser(parser.add_subparsers(dest="command", required=True, parser_class=common.Parser))
    run = parser.parse_args([*argv, *extra])
    run.argv = argv
    return run


def _check_resume_meta(path: Path, meta: dict) -> None:
    """ValueError unless `meta` has what a .resume file's meta holds, each of its type."""
    if "resume" not in meta:
        raise ValueError(f"{path} is a checkpoint, not a train run's .resume file")
    argv = meta.get("argv")
    kinds = {"resume": dict, "init": dict, "sittings": int}
    wrong = [key for key, kind in kinds.items() if not isinstance(meta.get(key), kind)]
    if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
        wrong.append("argv")
    if not wrong:
        wrong = [f"training state's {key}" for key in _wrong_state_keys(meta["resume"])]
    if wrong:
        raise ValueError(f"{path} is a damaged .resume file (its {', '.join(wrong)} are missing or of the wrong type)")


# What a run's training state holds (`denoiser.train`'s `_state`), each of its types: checked before it is used.
STATE_KINDS = {"epoch": int, "done_in_epoch": int, "order": torch.Tensor, "epoch_loss": (int, float), "steps": int,
               "seconds": (int, float), "epoch_losses": list, "optimizer": dict, "schedule": (dict, type(None)),
               "generator": torch.Tensor}  # fmt: skip


def _wrong_state_keys(state: dict) -> list[str]:
    """The keys of a training state that are missing or of the wrong type."""
    wrong = [key for key, kind in STATE_KINDS.items() if not isinstance(state.get(key), kind)]
    optimizer = state.get("optimizer")
    if "optimizer" not in wrong and not ({"state", "param_groups"} <= optimizer.keys()):
        wrong.append("optimizer")
    generator = state.get("generator")
    if "generator" not in wrong and generator.dtype != torch.uint8:  # what torch.Generator.set_state takes
        wrong.append("generator")
    return wrong


def _train(args: argparse.Namespace, out: Path, resumed: tuple | None = None) -> int:
    """Train, or with `resumed` (the model and meta of a .resume file) continue, the run that writes `out`."""
    from ..evaluate import curriculum_psnr
    from ..train import train

    device, ranks = train_setup.placement(args)
    config = train_setup.train_config(args)
    model, init, sittings, state = _starting_point(args, resumed)
    if ranks.is_main:  # before any step: a run that cannot save its result is refused, not lost at its end
        check_space(out, sum(p.numel() for p in model.parameters()))
    train_set, held_out = train_setup.train_digits(args)
    on_state = _state_saver(args, out, model, {"argv": args.argv, "init": init, "sittings": sittings})
    with StopSignals() as stop, _progress(config, len(train_set), state, ranks.is_main) as on_step:
        try:
            result = train(model, train_set, config, on_step=lambda info: on_step(info) or stop.signum is not None,
                           on_state=on_state, resume=state, device=device, amp=args.amp)  # fmt: skip
        except PeerLost as err:  # one line, not gloo's traceback; rank 0 kept the last finished step's state
            kept = f"; continue with: python -m denoiser resume {resume_path(out)}" if resume_path(out).exists() else ""
            raise OSError(f"{err}{kept}") from None
        if ranks.is_main:  # under torchrun, rank 0 alone measures, writes and reports
            psnr = curriculum_psnr(model, held_out, config.curriculum, device=device) if len(held_out) else {}
            meta = _run_meta(args, config, result, (len(train_set), len(held_out)), psnr, sittings)
            saved = _save_run(
                out, args.model, model, {**meta, **init, **train_setup.placement_meta(device, ranks, args.amp)}
            )
        try:
            ranks.finish()
        except PeerLost as err:
            raise OSError(str(err)) from None
    if not ranks.is_main:
        return _exit_status(result, stop)
    _report_run(saved, result, psnr, len(held_out), stop)
    return _exit_status(result, stop) if saved == out else 1  # kept elsewhere: the run did not write its --out


def _exit_status(result, stop: StopSignals) -> int:
    """0 for a finished run; 128 + the signal's number for one a signal stopped; TIME_LIMIT_EXIT for --max-minutes."""
    if not result.stopped_early:
        return 0  # a signal during the last step stopped nothing
    return stop.exit_code or TIME_LIMIT_EXIT


def _starting_point(args: argparse.Namespace, resumed: tuple | None) -> tuple:
    """(model, init, sittings, state): a new run's fresh or --init model, or a .resume file's model and state.
    Sittings count how many times the run was started or resumed."""
    if resumed is None:
        model, init = train_setup.initial_model(args)
        return model, init, 1, None
    model, meta = resumed
    return model, meta["init"], meta["sittings"] + 1, meta["resume"]


def _run_meta(args: argparse.Namespace, config: TrainConfig, result, sizes: tuple, psnr: dict, sittings: int) -> dict:
    """What a checkpoint records of its run: the command, the digits, the settings and what came of them."""
    n_train, n_holdout = sizes
    return {
        "command": common.command(args),
        "source": args.source, "data_root": str(args.data_root or ""), "n_train": n_train,
        "n_holdout": n_holdout, "train": config.to_dict(), "steps": result.steps,
        "seconds": round(result.seconds, 1), "stopped_early": result.stopped_early,
        "holdout": psnr, "sittings": sittings, "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "versions": common.versions(),
    }  # fmt: skip


@contextlib.contextmanager
def _progress(config: TrainConfig, n_train: int, state: dict | None, shown: bool = True):
    """A tqdm bar on stderr for the block (unless not `shown`); yields the `on_step` callback that moves it."""
    from tqdm import tqdm

    bar = tqdm(total=config.epochs * -(-n_train // config.batch_size), unit="step", file=sys.stderr,
               disable=not shown)  # fmt: skip
    bar.update(state["steps"] if state else 0)

    def on_step(info) -> None:
        bar.update(1)
        bar.set_postfix(epoch=info.epoch, loss=f"{info.loss:.4f}", img_s=f"{info.images_per_s:.0f}")

    try:
        yield on_step
    finally:
        bar.close()


def _state_saver(args: argparse.Namespace, out: Path, model, meta: dict):
    """The `on_state` callback of a run: rewrites OUT.resume atomically about once a minute and whenever
    the run stops early, so a run killed or stopped continues with `denoiser resume` from close to there."""
    import time

    from ..weights import atomic_write_bytes, checkpoint_bytes

    saved = [time.monotonic()]

    def on_state(state: dict) -> None:
        if state["stopped"] or time.monotonic() - saved[0] >= RESUME_EVERY_S:
            data = checkpoint_bytes(args.model, model, {**meta, "resume": state})
            write_or_keep(resume_path(out), data, atomic_write_bytes)
            saved[0] = time.monotonic()

    return on_state


def _save_run(out: Path, name: str, model, meta: dict) -> Path:
    """Write the run's checkpoint, or keep it elsewhere if OUT cannot be written; where it is.

    Once the run is complete and saved at OUT, its .resume state has nothing left to continue."""
    from ..weights import atomic_write_bytes, checkpoint_bytes, write_manifest

    saved = write_or_keep(out, checkpoint_bytes(name, model, meta), atomic_write_bytes)
    if saved == out and out.resolve().parent == WEIGHTS_DIR:
        write_manifest()
    if saved == out and not meta["stopped_early"]:
        resume_path(out).unlink(missing_ok=True)
    return saved


def _report_run(out: Path, result, psnr: dict, n_held_out: int, stop: StopSignals) -> None:
    if stop.signum and result.stopped_early:
        print(f"{stop.name} received: stopped after step {result.steps}; the weights so far are in {out}")
    if result.stopped_early:
        print(f"stopped early; continue with: python -m denoiser resume {resume_path(out)}")
    if psnr:
        print(
            f"held-out PSNR {psnr['psnr']:.2f} dB (noisy {psnr['noisy_psnr']:.2f} dB) on {n_held_out} digits; "
            f"{result.steps} steps in {result.seconds:.0f} s; saved {out}"
        )
    else:
        print(f"{result.steps} steps in {result.seconds:.0f} s; saved {out} (no held-out digits)")
