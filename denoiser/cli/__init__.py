"""Command line: `python -m denoiser` train, resume, evaluate, denoise, read, tune-baselines, train-classifier,
benchmark.

Bad arguments exit with status 2 and one line on stderr; a missing data set or a damaged
weights file exits with status 1 and one line that says what to do.

One module per group of subcommands: `training` (train, resume; `train_setup` turns the
train arguments into what a run starts from), `denoising` (evaluate, denoise), `reading` (read: every
digit in pictures of numbers) and `quality` (tune-baselines, train-classifier, benchmark); `common` holds
what they share.
"""

from __future__ import annotations

import argparse
import sys

from ..data import DataUnavailableError
from ..digitize import ImageError
from ..runs import RunBusyError, resume_path
from ..weights import WeightsError
from . import denoising, quality, reading, training
from .common import Parser

__all__ = ["SUBCOMMANDS", "build_parser", "main", "resume_path"]

# Each subcommand: (adds its parser, runs it), in the order `denoiser --help` lists them.
SUBCOMMANDS = {
    "train": (training.add_train_parser, training.cmd_train),
    "resume": (training.add_resume_parser, training.cmd_resume),
    "evaluate": (denoising.add_evaluate_parser, denoising.cmd_evaluate),
    "denoise": (denoising.add_denoise_parser, denoising.cmd_denoise),
    "read": (reading.add_read_parser, reading.cmd_read),
    "tune-baselines": (quality.add_tune_baselines_parser, quality.cmd_tune_baselines),
    "train-classifier": (quality.add_train_classifier_parser, quality.cmd_train_classifier),
    "benchmark": (quality.add_benchmark_parser, quality.cmd_benchmark),
}


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="denoiser", description="Denoise MNIST digits: train, evaluate, benchmark.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for add_parser, _ in SUBCOMMANDS.values():
        add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    args.argv = argv  # recorded in checkpoints, so weights/README.md can say how each file was made
    try:
        return SUBCOMMANDS[args.command][1](args)
    except (ValueError, ImageError) as err:
        print(f"denoiser {args.command}: error: {err}", file=sys.stderr)
        return 2
    except (DataUnavailableError, WeightsError, RunBusyError, OSError) as err:
        print(f"denoiser {args.command}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C outside a training loop (which stops cleanly by itself): no traceback
        print(f"denoiser {args.command}: interrupted", file=sys.stderr)
        return 130
