"""What the subcommands share: the one-line usage errors, argument types and the common options."""

from __future__ import annotations

import argparse
import os
import platform
import stat
from pathlib import Path

from ..data import DATA_ROOT_ENV, SOURCES, load_digits
from ..device import DEVICE_NAMES, check_device_name
from ..noise import MAX_SEED, NOISE_KINDS, check_level


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line and exits 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def level(text: str) -> float:
    try:
        return check_level(float(text), "--level")
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a finite number in [0, 1]; got {text!r}") from None


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1; got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0; got {text!r}")
    return value


def int_in(low: int, high: int):
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


seed = int_in(0, MAX_SEED)  # --seed: refused here rather than by the noise generator after the data is loaded


def threads(low: int):
    """--threads: at most the machine's cores; more only slows every step (and torch fails far above)."""
    return int_in(low, os.cpu_count() or 1)


def _device_name(text: str) -> str:
    try:
        return check_device_name(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be one of {DEVICE_NAMES}; got {text!r}") from None


def add_device_arg(p: argparse.ArgumentParser, default: str | None = "auto") -> None:
    """--device; whether the machine has it is checked when the command starts, before any work."""
    text = "default: CUDA if available, else MPS, else the CPU" if default else "default: the run's own"
    p.add_argument("--device", type=_device_name, default=default, help=f"{DEVICE_NAMES} ({text})")


def add_data_args(p: argparse.ArgumentParser, default_source: str) -> None:
    p.add_argument("--data-root", help=f"torchvision MNIST root (default: ${DATA_ROOT_ENV})")
    p.add_argument("--source", choices=SOURCES, default=default_source, help="where the digits come from")


def add_noise_args(p: argparse.ArgumentParser, required: bool) -> None:
    p.add_argument("--noise", choices=NOISE_KINDS, required=required, help="noise kind")
    p.add_argument("--level", type=level, required=required, help="noise strength in [0, 1]")


def load_split(args: argparse.Namespace, split: str):
    """The digits of `split` ("train" or "test") from --source and --data-root."""
    return load_digits(args.source, args.data_root, split)


def command(args: argparse.Namespace) -> str:
    """The command line that ran, recorded in what it wrote, so weights/README.md can say how each file was made."""
    return "python -m denoiser " + " ".join(args.argv)


def versions() -> dict:
    import numpy
    import torch

    return {"python": platform.python_version(), "torch": str(torch.__version__), "numpy": numpy.__version__}


# A picture file is read whole into memory: 64 MB holds any picture the decoder accepts (16 megapixels, a JPEG 67).
MAX_PICTURE_BYTES = 64 * 1024 * 1024


def read_picture(path: Path) -> bytes:
    """The bytes of the picture file `path`; ValueError for what is not a regular file or is too large.

    A device (/dev/zero) would be read until memory runs out, and a FIFO would block for ever."""
    info = path.stat()  # FileNotFoundError (an OSError: exit status 1) for a missing file
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"{path} is not a regular file (a device, a FIFO or a folder): give a picture file")
    with path.open("rb") as file:
        data = file.read(MAX_PICTURE_BYTES + 1)  # never more, whatever the file claims to be
    if len(data) > MAX_PICTURE_BYTES:
        raise ValueError(f"{path} is larger than {MAX_PICTURE_BYTES:,} bytes: not a picture this reads")
    return data
