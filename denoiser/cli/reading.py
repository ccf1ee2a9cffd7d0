"""The `read` subcommand: every handwritten digit in pictures of numbers, read in order, and denoised.

    python -m denoiser read PICTURE... [--model unet] [--out DIR] [--json]

With one picture, stdout holds exactly the lines read, one per line of digits ("?" for a mark that is
not a digit), so a script can take them as they are; with several, each line starts with its
picture's name. `--out DIR` writes every digit found, denoised as it is (the picture's own noise
removed, all of a picture's digits in one batch), as DIR/STEM-LINE-POSITION.png, counted from 1.
`--json` prints one strict JSON object instead: boxes, readings and confidences, and why a mark is no digit.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..device import resolve_device
from ..weights import REGISTRY
from . import common

# Filters have settings per noise kind and level; a picture's own noise has neither: the app's default.
AS_IS_NOISE = ("gaussian", 0.5)


def add_read_parser(sub) -> None:
    r = sub.add_parser("read", help="read every handwritten digit in pictures of numbers, in order")
    r.add_argument("pictures", type=Path, nargs="+", metavar="PICTURE", help="photos, scans or drawings")
    r.add_argument("--model", default="unet", help=f"denoiser for --out: one of {', '.join(REGISTRY)}, or a filter")
    r.add_argument("--out", type=Path, help="write each digit found, denoised, as DIR/STEM-LINE-POSITION.png")
    r.add_argument("--json", action="store_true", help="print one JSON object: boxes, readings, confidences")
    common.add_device_arg(r)


def cmd_read(args: argparse.Namespace) -> int:
    """Read each picture; an unreadable one is named on stderr and the others are still read (exit 2 at the end)."""
    from ..digitize import ImageError

    method = _denoiser(args) if args.out else None
    results, failed = [], False
    for path in args.pictures:
        try:
            results.append(_read_one(path, method, args.out))
        except (ImageError, ValueError) as err:
            if len(args.pictures) == 1:
                raise
            print(f"denoiser read: {path}: {err}", file=sys.stderr)
            results.append({"picture": str(path), "error": str(err)})
            failed = True
    _print(results, args.json, several=len(args.pictures) > 1)
    return 2 if failed else 0


def _denoiser(args: argparse.Namespace):
    from .denoising import resolve_method

    device = resolve_device(args.device, "--device")
    return resolve_method(args.model, None, *AS_IS_NOISE, device)


def _read_one(path: Path, method, out: Path | None) -> dict:
    """What one picture reads, as the JSON object of --json; with `out`, its digits written denoised."""
    from ..reading import find_digits

    reading = find_digits(common.read_picture(path), keep_noise=out is not None)
    if not reading.marks:  # a clear answer on stderr; stdout holds the lines read: none
        print(f"denoiser read: {path}: no digits found", file=sys.stderr)
    if out is not None and reading.marks:
        _write_digits(out, path.stem, reading.marks, method(reading.digits))
    return {"picture": str(path), "lines": reading.lines, "quarters": reading.quarters,
            "digits": [_mark_json(m) for m in reading.marks]}  # fmt: skip


def _mark_json(mark) -> dict:
    return {"line": mark.line + 1, "position": mark.position + 1, "box": [int(v) for v in mark.box],
            "text": mark.text, "label": int(mark.label), "confidence": round(float(mark.confidence), 4),
            "is_digit": bool(mark.is_digit), "not_a_digit": round(float(mark.not_a_digit), 4),
            "why_not": mark.why_not, "overruled": mark.overruled}  # fmt: skip


def _write_digits(out: Path, stem: str, marks: list, denoised) -> None:
    """Each mark's denoised digit (N, 1, 28, 28) as OUT/STEM-LINE-POSITION.png, line and position from 1."""
    from ..picture_io import tensor_to_png
    from ..weights import atomic_write_bytes

    for mark, digit in zip(marks, denoised, strict=True):
        atomic_write_bytes(out / f"{stem}-{mark.line + 1}-{mark.position + 1}.png", tensor_to_png(digit))


def _print(results: list[dict], as_json: bool, several: bool) -> None:
    if as_json:
        print(json.dumps({"pictures": results}, allow_nan=False))
        return
    for result in results:
        prefix = f"{result['picture']}: " if several else ""
        for line in result.get("lines", []):
            print(prefix + line)
