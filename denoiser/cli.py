"""Command line: `python -m denoiser train | evaluate | denoise | benchmark | tune-baselines | train-classifier`.

Bad arguments exit with status 2 and one line on stderr; a missing data set or a damaged
weights file exits with status 1 and one line that says what to do.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import sys
from pathlib import Path

from .data import DATA_ROOT_ENV, SOURCES, DataUnavailableError, load_digits, split_holdout
from .device import DEVICE_NAMES, check_device_name, resolve_device
from .models import MAX_LEVELS, MAX_MID_BLOCKS, MAX_WIDTH
from .noise import NOISE_KINDS, NoiseRange, check_level
from .preprocess import ImageError
from .runs import RunBusyError, StopSignals, check_writable, claim, resume_path
from .train import LOSSES, MAX_BATCH_SIZE, TrainConfig
from .weights import REGISTRY, WEIGHTS_DIR, WeightsError


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line and exits 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def _level(text: str) -> float:
    try:
        return check_level(float(text), "--level")
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a finite number in [0, 1]; got {text!r}") from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1; got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0; got {text!r}")
    return value


def _int_in(low: int, high: int):
    """An argparse type: a whole number in low..high, the range given in the error."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be a whole number in {low}..{high}; got {text!r}")
        return value

    return parse


def _threads(low: int):
    """--threads: at most the machine's cores; more only slows every step (and torch fails far above)."""
    return _int_in(low, os.cpu_count() or 1)


def _device_name(text: str) -> str:
    try:
        return check_device_name(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be one of {DEVICE_NAMES}; got {text!r}") from None


def _add_device_arg(p: argparse.ArgumentParser, default: str | None = "auto") -> None:
    """--device; whether the machine has it is checked when the command starts, before any work."""
    text = "default: CUDA if available, else MPS, else the CPU" if default else "default: the run's own"
    p.add_argument("--device", type=_device_name, default=default, help=f"{DEVICE_NAMES} ({text})")


def _add_data_args(p: argparse.ArgumentParser, default_source: str) -> None:
    p.add_argument("--data-root", help=f"torchvision MNIST root (default: ${DATA_ROOT_ENV})")
    p.add_argument("--source", choices=SOURCES, default=default_source, help="where the digits come from")


def _add_noise_args(p: argparse.ArgumentParser, required: bool) -> None:
    p.add_argument("--noise", choices=NOISE_KINDS, required=required, help="noise kind")
    p.add_argument("--level", type=_level, required=required, help="noise strength in [0, 1]")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="denoiser", description="Denoise MNIST digits: train, evaluate, benchmark.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    _add_train_parsers(sub)
    e = sub.add_parser("evaluate", help="denoise the test split (or --split train) and print MSE, PSNR, SSIM")
    e.add_argument("--model", required=True, help=f"one of {', '.join(REGISTRY)}, or a classical filter")
    e.add_argument("--weights", type=Path, help="a checkpoint file instead of the shipped weights")
    _add_data_args(e, "mnist")
    _add_noise_args(e, required=True)
    e.add_argument("--limit", type=_positive_int, help="the first N digits only")
    # The train split shows how much a model has memorised: compare it with the test split's figure.
    e.add_argument("--split", choices=("test", "train"), default="test", help="which digits (default: test)")
    e.add_argument("--seed", type=_non_negative_int, default=0, help="noise seed")
    e.add_argument("--json", action="store_true", help="print one JSON object")
    _add_device_arg(e)

    d = sub.add_parser("denoise", help="denoise one image file")
    d.add_argument("--model", default="unet", help=f"one of {', '.join(REGISTRY)}, or a classical filter")
    d.add_argument("input", type=Path)
    d.add_argument("output", type=Path)
    _add_noise_args(d, required=False)
    d.add_argument("--seed", type=_non_negative_int, default=0, help="noise seed")
    _add_device_arg(d)
    _add_benchmark_parsers(sub)
    return parser


def _add_train_parsers(sub) -> None:
    """Subcommands of training: train, resume."""
    t = sub.add_parser("train", help="train a model; writes a checkpoint atomically")
    t.add_argument("--model", choices=REGISTRY, required=True)
    _add_data_args(t, "mnist")
    _add_noise_args(t, required=False)
    t.add_argument("--noise-range", nargs=3, action="append", metavar=("KIND", "LOW", "HIGH"),
                   help="a curriculum entry (repeatable); default: the blind curriculum over every kind")  # fmt: skip
    t.add_argument("--epochs", type=_positive_int, default=10)
    t.add_argument("--batch-size", type=_int_in(1, MAX_BATCH_SIZE), default=64)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--loss", choices=LOSSES, help="default: the model's own (bce for seed-ae)")
    t.add_argument("--psnr-floor", type=float, default=TrainConfig.psnr_floor,
                   help="psnr loss: per-image MSE floor (larger: noisier digits weigh more)")  # fmt: skip
    t.add_argument("--init", type=Path, help="start from this checkpoint's weights and model config")
    t.add_argument("--widths", type=_int_in(1, MAX_WIDTH), nargs="+",
                   help=f"unet: filters per level, 2..{MAX_LEVELS} levels, e.g. 16 32 64")  # fmt: skip
    t.add_argument("--mid-blocks", type=_int_in(0, MAX_MID_BLOCKS),
                   help="unet: residual blocks at the coarsest level (with --init: grow it to this many)")  # fmt: skip
    t.add_argument("--augment", action=argparse.BooleanOptionalAction, default=False,
                   help="random shifts and rotations of the training digits (default: off)")  # fmt: skip
    t.add_argument("--shift", type=_non_negative_int, default=0,
                   help="shift training digits by up to this many whole px, no resampling (0: off)")  # fmt: skip
    t.add_argument("--pictures", type=float, default=0.0,
                   help="share of each batch made to look like digits from photos and scans (0: off)")  # fmt: skip
    t.add_argument("--holdout", type=_non_negative_int, default=500, help="training digits held out for the PSNR")
    t.add_argument("--limit", type=_positive_int, help="train on the first N digits only")
    t.add_argument("--seed", type=_non_negative_int, default=0)
    t.add_argument("--max-minutes", type=float, default=0.0, help="stop after this wall time (0: no limit)")
    t.add_argument("--threads", type=_threads(0), default=min(2, os.cpu_count() or 1),
                   help="torch CPU threads, at most the machine's cores (0: torch's default)")  # fmt: skip
    t.add_argument("--out", type=Path, help="checkpoint path (default runs/NAME.pt; weights/ only when named)")
    _add_device_arg(t)
    t.add_argument("--amp", action="store_true", help="mixed precision (float16 autocast; CUDA only)")
    t.add_argument("--overwrite", action="store_true", help="start afresh over an unfinished run's OUT.resume")

    r = sub.add_parser("resume", help="continue a stopped train run from its OUT.resume file")
    r.add_argument("state", type=Path, help="the .resume file a stopped or killed train run left beside its --out")
    r.add_argument("--max-minutes", type=float, help="stop this sitting after this wall time (default: the run's own)")
    r.add_argument("--threads", type=_threads(0), help="torch CPU threads (default: the run's own)")
    _add_device_arg(r, default=None)


def _add_benchmark_parsers(sub) -> None:
    """Subcommands of the quality benchmark: tune-baselines, train-classifier, benchmark."""
    tb = sub.add_parser("tune-baselines", help="tune the classical filters on the training split")
    _add_data_args(tb, "mnist")
    tb.add_argument("--limit", type=_positive_int, default=200, help="tune on the first N training digits")
    tb.add_argument("--seed", type=_non_negative_int, default=0, help="noise seed")
    tb.add_argument("--out", type=Path, help="JSON path (default weights/baselines.json)")
    tb.add_argument("--threads", type=_threads(1), default=1, help="torch CPU threads")

    tc = sub.add_parser("train-classifier", help="train the digit classifier on clean training digits")
    _add_data_args(tc, "mnist")
    tc.add_argument("--epochs", type=_positive_int, default=30)
    tc.add_argument("--seed", type=_non_negative_int, default=0)
    tc.add_argument("--out", type=Path, help="checkpoint path (default runs/classifier.pt; weights/ only when named)")
    tc.add_argument("--threads", type=_threads(1), default=min(2, os.cpu_count() or 1), help="torch CPU threads")
    _add_device_arg(tc)

    b = sub.add_parser("benchmark", help="every method on the noise grid; table, figure and JSON")
    _add_data_args(b, "mnist")
    b.add_argument("--limit", type=_positive_int, help="the first N test digits only (a quick run)")
    b.add_argument("--out", type=Path, default=Path("bench"), help="output folder (default bench/)")
    b.add_argument("--seed", type=_non_negative_int, default=0, help="noise seed")
    b.add_argument("--specialists", type=Path, help="folder of specialist unet checkpoints to compare")
    b.add_argument("--threads", type=_threads(1), default=1, help="torch CPU threads (timings are per image)")
    _add_device_arg(b)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    args.argv = argv  # recorded in checkpoints, so weights/README.md can say how each file was made
    commands = {
        "train": cmd_train, "resume": cmd_resume, "evaluate": cmd_evaluate, "denoise": cmd_denoise,
        "benchmark": cmd_benchmark,
        "tune-baselines": cmd_tune_baselines, "train-classifier": cmd_train_classifier,
    }  # fmt: skip
    try:
        return commands[args.command](args)
    except (ValueError, ImageError) as err:
        print(f"denoiser {args.command}: error: {err}", file=sys.stderr)
        return 2
    except (DataUnavailableError, WeightsError, RunBusyError, OSError) as err:
        print(f"denoiser {args.command}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C outside a training loop (which stops cleanly by itself): no traceback
        print(f"denoiser {args.command}: interrupted", file=sys.stderr)
        return 130


def _load_split(args: argparse.Namespace, split: str):
    return load_digits(args.source, args.data_root, split)


RESUME_EVERY_S = 60  # how often a run rewrites its .resume file: a killed run loses at most this much
RESUME_HINT = "give the .resume file a stopped train run left"


def _out_path(args: argparse.Namespace) -> Path:
    """Where `train` writes its checkpoint: --out, else runs/ under the model's own file name."""
    from .weights import get_spec

    return args.out or Path("runs") / get_spec(args.model).filename


def cmd_resume(args: argparse.Namespace) -> int:
    """Continue a train run exactly where its .resume file left it, with the run's own arguments."""
    from .weights import load_checkpoint

    if args.device is not None:  # refused before the state is read; the run's own --device is checked by train
        resolve_device(args.device, "--device")
    if not args.state.is_file():
        load_checkpoint(args.state, hint=RESUME_HINT)  # says the file does not exist
    out = args.state.with_name(args.state.name.removesuffix(".resume"))
    check_writable(out, "the run's --out")
    with claim(out):  # the state is read under the lock: a run still writing it would change it
        _, model, meta = load_checkpoint(args.state, hint=RESUME_HINT)
        _check_resume_meta(args.state, meta)
        argv = meta["argv"]
        # Given again last, so they override the run's own (argparse keeps the last value).
        extra = [*(["--max-minutes", str(args.max_minutes)] if args.max_minutes is not None else []),
                 *(["--threads", str(args.threads)] if args.threads is not None else []),
                 *(["--device", args.device] if args.device is not None else [])]  # fmt: skip
        run = build_parser().parse_args([*argv, *extra])
        run.argv = argv
        if resume_path(_out_path(run)).resolve() != args.state.resolve():
            raise ValueError(f"{args.state} was written for --out {run.out}; move it back beside that file")
        return _train(run, _out_path(run), resumed=(model, meta))


def _check_resume_meta(path: Path, meta: dict) -> None:
    """ValueError unless `meta` has what a .resume file's meta holds, each of its type."""
    if "resume" not in meta:
        raise ValueError(f"{path} is a checkpoint, not a train run's .resume file")
    argv = meta.get("argv")
    kinds = {"resume": dict, "init": dict, "sittings": int}
    wrong = [key for key, kind in kinds.items() if not isinstance(meta.get(key), kind)]
    if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
        wrong.append("argv")
    if wrong:
        raise ValueError(f"{path} is a damaged .resume file (its {', '.join(wrong)} are missing or of the wrong type)")


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


def _train(args: argparse.Namespace, out: Path, resumed: tuple | None = None) -> int:
    """Train, or with `resumed` (the model and meta of a .resume file) continue, the run that writes `out`.

    SIGINT and SIGTERM stop it after the current step, with its state and weights saved: exit 130 / 143."""
    from .evaluate import curriculum_psnr
    from .train import train

    device, ranks = _placement(args)
    config = _train_config(args)
    model, init = _initial_model(args) if resumed is None else (resumed[0], resumed[1]["init"])
    train_set, held_out = _train_digits(args)
    sittings = resumed[1]["sittings"] + 1 if resumed else 1  # how many times the run was started or resumed
    on_state = _state_saver(args, out, model, {"argv": args.argv, "init": init, "sittings": sittings})
    state = resumed[1]["resume"] if resumed else None
    with StopSignals() as stop, _progress(config, len(train_set), state, ranks.is_main) as on_step:
        result = train(model, train_set, config, on_step=lambda info: on_step(info) or stop.signum is not None,
                       on_state=on_state, resume=state, device=device, amp=args.amp)  # fmt: skip
        if not ranks.is_main:  # under torchrun, rank 0 alone measures, writes and reports
            return stop.exit_code if result.stopped_early else 0
        psnr = curriculum_psnr(model, held_out, config.curriculum, device=device) if len(held_out) else {}
        meta = {
            "command": "python -m denoiser " + " ".join(args.argv),
            "source": args.source, "data_root": str(args.data_root or ""), "n_train": len(train_set),
            "n_holdout": len(held_out), "train": config.to_dict(), "steps": result.steps,
            "seconds": round(result.seconds, 1), "stopped_early": result.stopped_early,
            "holdout": psnr, "sittings": sittings, "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "versions": _versions(), **init, **_placement_meta(device, ranks, args.amp),
        }  # fmt: skip
        _save_run(out, args.model, model, meta)
    _report_run(out, result, psnr, len(held_out), stop)
    return stop.exit_code if result.stopped_early else 0  # a signal during the last step stopped nothing


def _train_config(args: argparse.Namespace) -> TrainConfig:
    """The TrainConfig of the train arguments; checked before the digits are loaded."""
    from .weights import get_spec

    if (args.noise is None) != (args.level is None):
        raise ValueError("--noise and --level go together (a specialist); leave both out for the blind curriculum")
    if args.noise and args.noise_range:
        raise ValueError("--noise/--level and --noise-range are alternatives; give one of them")
    config_kwargs = {}
    if args.noise:
        config_kwargs["curriculum"] = (NoiseRange(args.noise, args.level, args.level),)
    if args.noise_range:
        config_kwargs["curriculum"] = tuple(_noise_range(*entry) for entry in args.noise_range)
    return TrainConfig(
        epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, loss=args.loss or get_spec(args.model).loss,
        psnr_floor=args.psnr_floor, augment=args.augment, shift=args.shift, pictures=args.pictures, seed=args.seed,
        max_seconds=args.max_minutes * 60, threads=args.threads,
        **config_kwargs,
    )  # fmt: skip


def _train_digits(args: argparse.Namespace):
    """(training digits, held-out digits) of the train arguments."""
    digits = _load_split(args, "train")
    digits = digits.subset(slice(0, args.limit)) if args.limit else digits
    if args.holdout > len(digits) // 2:
        raise ValueError(f"--holdout must be at most half of the {len(digits)} training digits; got {args.holdout}")
    return split_holdout(digits, args.holdout, seed=args.seed)


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

    from .weights import save_checkpoint

    saved = [time.monotonic()]

    def on_state(state: dict) -> None:
        if state["stopped"] or time.monotonic() - saved[0] >= RESUME_EVERY_S:
            save_checkpoint(resume_path(out), args.model, model, {**meta, "resume": state})
            saved[0] = time.monotonic()

    return on_state


def _save_run(out: Path, name: str, model, meta: dict) -> None:
    """Write the run's checkpoint; once the run is complete, its .resume state has nothing left to continue."""
    from .weights import save_checkpoint, write_manifest

    save_checkpoint(out, name, model, meta)
    if out.resolve().parent == WEIGHTS_DIR:
        write_manifest()
    if not meta["stopped_early"]:
        resume_path(out).unlink(missing_ok=True)


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


def _placement(args: argparse.Namespace):
    """(device, ranks) of a train run: --device checked, and under torchrun this process joined to the others."""
    from .distributed import join

    device = resolve_device(args.device, "--device")
    if args.amp and device.type != "cuda":
        raise ValueError(f"--amp needs a CUDA device; --device {args.device} is {device}")
    return join(device)


def _placement_meta(device, ranks, amp: bool) -> dict:
    """How a run was placed, for its checkpoint: the result does not depend on it beyond float rounding."""
    return {"device": device.type, "processes": ranks.world_size, "amp": amp}


def _noise_range(kind: str, low: str, high: str) -> NoiseRange:
    """One --noise-range entry; its numbers are checked by NoiseRange itself."""
    try:
        return NoiseRange(kind, float(low), float(high))
    except ValueError as err:
        raise ValueError(f"--noise-range {kind} {low} {high}: {err}") from None


def _initial_model(args: argparse.Namespace):
    """A fresh model, or with --init the weights of an earlier run and what made them (its command and time)."""
    from .models import grow_mid_blocks
    from .weights import build_model, load_checkpoint, sha256

    if args.init is None:
        return build_model(args.model, _model_config(args), seed=args.seed), {}
    if args.widths:
        raise ValueError("--widths comes from the --init checkpoint; leave it out")
    name, model, meta = load_checkpoint(args.init)
    if name != args.model:
        raise ValueError(f"--init {args.init} holds a {name} model, not {args.model}")
    if args.mid_blocks is not None:  # a deeper unet that starts as the --init one: see models.grow_mid_blocks
        _model_config(args)  # raises for a model other than the unet
        if args.mid_blocks < model.config.mid_blocks:
            raise ValueError(f"--mid-blocks must be >= the --init unet's {model.config.mid_blocks} "
                             f"(blocks are added, never removed); got {args.mid_blocks}")  # fmt: skip
        model = grow_mid_blocks(model, args.mid_blocks)
    # The chain of runs that made the starting weights, so weights/README.md can give every command.
    chain = [*meta.get("init_chain", []), {key: meta.get(key) for key in ("command", "seconds", "steps", "sittings")}]
    return model, {"init": {"path": str(args.init), "sha256": sha256(args.init)}, "init_chain": chain}


def _model_config(args: argparse.Namespace) -> dict:
    """The model's config from --widths / --mid-blocks (unet only); the model's defaults otherwise."""
    if args.widths and not 2 <= len(args.widths) <= MAX_LEVELS:  # each level halves 28 px: 28 -> 14 -> 7
        raise ValueError(f"--widths takes 2..{MAX_LEVELS} filter counts, one per level; got {len(args.widths)}")
    config = {"widths": tuple(args.widths) if args.widths else None, "mid_blocks": args.mid_blocks}
    config = {k: v for k, v in config.items() if v is not None}
    if config and args.model != "unet":
        raise ValueError(f"--widths and --mid-blocks apply to the unet only, not {args.model}")
    return config


def _versions() -> dict:
    import numpy
    import torch

    return {"python": platform.python_version(), "torch": str(torch.__version__), "numpy": numpy.__version__}


def resolve_method(
    name: str, weights: Path | None = None, kind: str | None = None, level: float | None = None, device=None
):
    """A method (noisy -> denoised) for a registry model, a checkpoint file, or a classical filter.

    A filter gets the parameters tuned for `kind` and `level` when both are given; a model runs on `device`.
    """
    return _resolve(name, weights, kind, level, device)[0]


def _resolve(name: str, weights: Path | None, kind: str | None, level: float | None, device=None) -> tuple:
    """(method, what runs): the architecture read from the checkpoint and the file it came from,
    so that results are labelled by what ran, never by the --model that was typed."""
    from .evaluate import model_method
    from .methods import check_name, get
    from .weights import get_spec, load_checkpoint

    if weights is not None:
        stored, model, _ = load_checkpoint(weights)
        if stored != name:
            raise ValueError(f"--weights {weights} holds a {stored} model, not {name!r}; give --model {stored}")
        return model_method(model, device), {"model": stored, "weights": str(weights)}
    method = get(check_name(name, "--model"), kind, level, device=device, strict=True)
    shipped = str(WEIGHTS_DIR / get_spec(name).filename) if name in REGISTRY else None
    return method, {"model": name, "weights": shipped}


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluate import evaluate
    from .metrics import json_ready

    device = resolve_device(args.device, "--device")
    method, what = _resolve(args.model, args.weights, args.noise, args.level, device)
    clean = _load_split(args, args.split).images
    clean = clean[: args.limit] if args.limit else clean
    result = {**what, "split": args.split, **evaluate(method, clean, args.noise, args.level, args.seed)}
    if args.json:
        print(json.dumps(json_ready(result), allow_nan=False))  # strict JSON: an infinite PSNR becomes null
        return 0
    source = f" ({what['weights']})" if what["weights"] else ""
    print(f"{what['model']}{source} on {result['n']} {args.split} digits, {args.noise} noise at level {args.level}:")
    for prefix, label in (("", "denoised"), ("noisy_", "noisy")):
        print(
            f"  {label:9s} MSE {result[prefix + 'mse']:.5f}  PSNR {result[prefix + 'psnr']:.2f} dB  "
            f"SSIM {result[prefix + 'ssim']:.4f}"
        )
    print(f"  {result['seconds']:.2f} s to denoise")
    return 0


def cmd_denoise(args: argparse.Namespace) -> int:
    """Denoise one picture: a 28x28 image is used as is, anything else is made MNIST-style first."""
    from .evaluate import make_noisy
    from .preprocess import image_to_mnist, load_png_as_is, white_on_black
    from .weights import atomic_write_bytes

    device = resolve_device(args.device, "--device")
    if (args.noise is None) != (args.level is None):
        raise ValueError("--noise and --level go together")
    picture_format(args.output)  # an unknown extension is refused before any work
    if args.output.exists() and args.input.exists() and args.output.samefile(args.input):
        raise ValueError(f"output {args.output} is the input file; give another path, or the original is lost")
    data = args.input.read_bytes()
    image = load_png_as_is(data)  # a 28x28 picture is a digit already: only its polarity is decided
    image = white_on_black(image) if image.shape[-2:] == (28, 28) else image_to_mnist(data)
    if args.noise:
        image = make_noisy(image, args.noise, args.level, args.seed)
    denoised = resolve_method(args.model, None, args.noise, args.level, device)(image.unsqueeze(0))[0]
    atomic_write_bytes(args.output, encode_picture(denoised, args.output))
    print(f"wrote {args.output} (28x28, denoised with {args.model})")
    return 0


# Formats a denoised digit is written in, chosen by the output's extension, as an image viewer expects.
PICTURE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF",
                   ".webp": "WEBP", ".gif": "GIF"}  # fmt: skip


def picture_format(path: Path) -> str:
    """The PIL format that `path`'s extension names; ValueError listing the extensions otherwise."""
    fmt = PICTURE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"output {path}: the extension must be one of {', '.join(PICTURE_FORMATS)}")
    return fmt


def encode_picture(image, path: Path) -> bytes:
    """A (1, H, W) or (H, W) tensor in [0, 1] as grey picture bytes in the format of `path`'s extension."""
    import io

    import numpy as np
    from PIL import Image

    pixels = (image.detach().squeeze().clamp(0, 1).numpy() * 255).round().astype(np.uint8)
    buffer = io.BytesIO()
    fmt = picture_format(path)
    Image.fromarray(pixels).save(buffer, format=fmt, **({"quality": 95} if fmt in ("JPEG", "WEBP") else {}))
    return buffer.getvalue()


def cmd_tune_baselines(args: argparse.Namespace) -> int:
    """Grid-search the classical filters per noise kind and level on training digits; write the JSON."""
    import torch

    from . import baselines

    check_writable(args.out or baselines.TUNED_FILE)  # before the hour of tuning, not after it
    torch.set_num_threads(args.threads)
    clean = _load_split(args, "train").images[: args.limit]

    def on_cell(kind: str, level: float) -> None:
        print(f"  tuned {kind} {level}", file=sys.stderr)

    tuned = baselines.tune(clean, seed=args.seed, on_cell=on_cell)
    meta = {"command": "python -m denoiser " + " ".join(args.argv), "split": "train", "source": args.source}
    out = baselines.save_tuned(tuned, args.out or baselines.TUNED_FILE, meta)
    print(f"tuned {len(baselines.BASELINE_NAMES)} filters on {len(clean)} training digits in "
          f"{tuned['meta']['seconds']:.0f} s; saved {out}")  # fmt: skip
    return 0


def cmd_train_classifier(args: argparse.Namespace) -> int:
    """Train the digit classifier on clean training digits; print its test accuracy; save it."""
    import time

    import torch

    from .classifier import accuracy, save_classifier, train_classifier
    from .weights import write_manifest

    device = resolve_device(args.device, "--device")
    out = args.out or Path("runs") / "classifier.pt"
    check_writable(out)  # before the training, not after it
    torch.set_num_threads(args.threads)
    digits = _load_split(args, "train")
    start = time.perf_counter()
    model, losses = train_classifier(digits, epochs=args.epochs, seed=args.seed, device=device)
    seconds = time.perf_counter() - start
    test = _load_split(args, "test") if args.source == "mnist" else None
    test_accuracy = accuracy(model, test.images, test.labels) if test else None
    meta = {
        "command": "python -m denoiser " + " ".join(args.argv), "source": args.source, "n_train": len(digits),
        "epochs": args.epochs, "seed": args.seed, "seconds": round(seconds, 1), "final_loss": losses[-1],
        "test_accuracy": test_accuracy, "n_test": len(test) if test else 0,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "versions": _versions(),
    }  # fmt: skip
    save_classifier(out, model, meta)
    if out.resolve().parent == WEIGHTS_DIR:
        write_manifest()
    score = f"test accuracy {test_accuracy:.4f} on {len(test)} digits" if test else "no test split"
    print(f"{score}; {len(losses)} steps in {seconds:.0f} s; saved {out}")
    return 0


def cmd_benchmark(args: argparse.Namespace) -> int:
    """Every method over the noise grid on the test split; writes results.md/.json and the PSNR figures."""
    import torch

    from .benchmark import BenchmarkConfig, run_benchmark
    from .report import write_outputs

    device = resolve_device(args.device, "--device")
    check_writable(args.out / "results.json")  # before the benchmark's hour, not after it
    clean = _load_split(args, "test")
    clean = clean.subset(slice(0, args.limit)) if args.limit else clean
    torch.set_num_threads(args.threads)
    config = BenchmarkConfig(seed=args.seed, specialists=args.specialists, device=str(device))
    meta = {"command": "python -m denoiser " + " ".join(args.argv), "data_root": str(args.data_root or "")}
    results = run_benchmark(clean, config, meta, log=lambda line: print(line, file=sys.stderr))
    for path in write_outputs(results, args.out):
        print(f"wrote {path}")
    return 0
