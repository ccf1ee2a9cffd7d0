"""Subcommands of the quality benchmark: `tune-baselines`, `train-classifier` and `benchmark`."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path

from ..device import resolve_device
from ..runs import check_writable
from ..weights import WEIGHTS_DIR
from . import common


def add_tune_baselines_parser(sub) -> None:
    tb = sub.add_parser("tune-baselines", help="tune the classical filters on the training split")
    common.add_data_args(tb, "mnist")
    tb.add_argument("--limit", type=common.positive_int, default=200, help="tune on the first N training digits")
    tb.add_argument("--seed", type=common.seed, default=0, help="noise seed")
    tb.add_argument("--out", type=Path, help="JSON path (default weights/baselines.json)")
    tb.add_argument("--threads", type=common.threads(1), default=1, help="torch CPU threads")


def add_train_classifier_parser(sub) -> None:
    tc = sub.add_parser("train-classifier", help="train the digit classifier on clean training digits")
    common.add_data_args(tc, "mnist")
    tc.add_argument("--epochs", type=common.positive_int, default=30)
    tc.add_argument("--seed", type=common.seed, default=0)
    tc.add_argument(
        "--not-a-digit",
        action="store_true",
        help="an eleventh class, not a digit, learnt from typeset letters and symbols (for find_digits)",
    )
    tc.add_argument(
        "--out",
        type=Path,
        help="checkpoint path (default runs/classifier.pt, or runs/not-a-digit.pt with "
        "--not-a-digit; weights/ only when named)",
    )
    tc.add_argument("--threads", type=common.threads(1), default=min(2, os.cpu_count() or 1), help="torch CPU threads")
    common.add_device_arg(tc)


def add_benchmark_parser(sub) -> None:
    b = sub.add_parser("benchmark", help="every method on the noise grid; table, figure and JSON")
    common.add_data_args(b, "mnist")
    b.add_argument("--limit", type=common.positive_int, help="the first N test digits only (a quick run)")
    b.add_argument("--out", type=Path, default=Path("bench"), help="output folder (default bench/)")
    b.add_argument("--seed", type=common.seed, default=0, help="noise seed")
    b.add_argument("--specialists", type=Path, help="folder of specialist unet checkpoints to compare")
    b.add_argument("--threads", type=common.threads(1), default=1, help="torch CPU threads (timings are per image)")
    common.add_device_arg(b)


def cmd_tune_baselines(args: argparse.Namespace) -> int:
    """Grid-search the classical filters per noise kind and level on training digits; write the JSON."""
    import torch

    from .. import baselines

    check_writable(args.out or baselines.TUNED_FILE)  # before the hour of tuning, not after it
    torch.set_num_threads(args.threads)
    clean = common.load_split(args, "train").images[: args.limit]

    def on_cell(kind: str, level: float) -> None:
        print(f"  tuned {kind} {level}", file=sys.stderr)

    tuned = baselines.tune(clean, seed=args.seed, on_cell=on_cell)
    meta = {"command": common.command(args), "split": "train", "source": args.source}
    out = baselines.save_tuned(tuned, args.out or baselines.TUNED_FILE, meta)
    print(f"tuned {len(baselines.BASELINE_NAMES)} filters on {len(clean)} training digits in "
          f"{tuned['meta']['seconds']:.0f} s; saved {out}")  # fmt: skip
    return 0


def cmd_train_classifier(args: argparse.Namespace) -> int:
    """Train the digit classifier on clean training digits; print its test accuracy; save it."""
    import time

    import torch

    from .. import not_digits
    from ..classifier import accuracy, save_classifier, train_classifier
    from ..weights import write_manifest

    device = resolve_device(args.device, "--device")
    out = args.out or Path("runs") / ("not-a-digit.pt" if args.not_a_digit else "classifier.pt")
    check_writable(out)  # before the training, not after it
    torch.set_num_threads(args.threads)
    digits = common.load_split(args, "train")
    start = time.perf_counter()
    marks = not_digits.marks(seed=args.seed) if args.not_a_digit else None
    model, losses = train_classifier(digits, epochs=args.epochs, seed=args.seed, device=device, not_digits=marks)
    seconds = time.perf_counter() - start
    test = common.load_split(args, "test") if args.source == "mnist" else None
    test_accuracy = accuracy(model, test.images, test.labels) if test else None
    meta = {
        "command": common.command(args), "source": args.source, "n_train": len(digits),
        "n_not_digits": len(marks) if marks is not None else 0,
        "epochs": args.epochs, "seed": args.seed, "seconds": round(seconds, 1), "final_loss": losses[-1],
        "test_accuracy": test_accuracy, "n_test": len(test) if test else 0,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "versions": common.versions(),
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

    from ..bench.benchmark import BenchmarkConfig, run_benchmark
    from ..bench.report import write_outputs

    device = resolve_device(args.device, "--device")
    check_writable(args.out / "results.json")  # before the benchmark's hour, not after it
    clean = common.load_split(args, "test")
    clean = clean.subset(slice(0, args.limit)) if args.limit else clean
    torch.set_num_threads(args.threads)
    config = BenchmarkConfig(seed=args.seed, specialists=args.specialists, device=str(device))
    meta = {"command": common.command(args), "data_root": str(args.data_root or "")}
    results = run_benchmark(clean, config, meta, log=lambda line: print(line, file=sys.stderr))
    for path in write_outputs(results, args.out):
        print(f"wrote {path}")
    return 0
