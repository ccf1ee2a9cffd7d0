"""Read a folder of real photos of handwritten digits and compare with their ground truth.

    python -m scripts.read_photos /work/realphotos
    python -m scripts.read_photos /work/realphotos --truth other.json --json
    python -m scripts.read_photos /work/realphotos --side 1600
    python -m scripts.read_photos /work/realphotos --side 2048 --glare 0.5

The truth file ({file: [line, ...]}, files relative to the folder; default DIR/truth.json) lists
only the digits written: marks that are not digits (a hyphen, a letter) are left out of it, so
they are left out of the reading too ("?" dropped) before the two are compared. Prints, per
picture, the reading, the truth, the edit distance and the time to read it (decoding included);
then the digit-string accuracy (1 - edit distance / length, lines joined by a line break) over all
pictures, the pictures read exactly, and, for pictures of one digit, what `image_to_mnist` reads.
`--side N` reads each photo shrunk first to N pixels on its longer side, as a repository or a chat app
keeps a phone's photo (Lanczos, which sharpens, and JPEG at quality 90). `--glare S` lays a lamp's glare over each
photo first: a soft bright patch above and right of its middle whose light, added to page and ink alike, reaches
S x 255 grey levels at its centre, the picture clipped as a camera clips it (`glared`).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from denoiser.bench.sheets import compare
from denoiser.classifier import load_classifier, predict
from denoiser.digitize import ImageError, image_to_mnist
from denoiser.picture_io import MIN_SIDE
from denoiser.reading import NOT_A_DIGIT, find_digits


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folder", type=Path, help="the photos, and truth.json unless --truth is given")
    p.add_argument("--truth", type=Path, help="ground truth {file: [line, ...]} (default FOLDER/truth.json)")
    p.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    p.add_argument("--side", type=int, help="shrink each photo first to this many pixels on its longer side")
    p.add_argument("--glare", type=float, help="lay a glare over each photo, this share of white at its centre")
    args = p.parse_args(argv)
    if args.side is not None and args.side < MIN_SIDE:
        p.error(f"--side must be at least {MIN_SIDE} pixels, got {args.side}")
    if args.glare is not None and not 0 < args.glare <= 1:
        p.error(f"--glare must be in (0, 1], got {args.glare}")
    return args


def shrunk(data: bytes, side: int) -> bytes:
    """A photo shrunk to `side` pixels on its longer side (upright, by its EXIF orientation), with Lanczos, saved as
    a JPEG of quality 90; one no larger is only saved so. A file no picture can be made of is returned as it is, for
    `find_digits` to refuse as it refuses any."""
    if (picture := _upright(data)) is None:
        return data
    scale = side / max(picture.size)
    if scale < 1:
        size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
        picture = picture.resize(size, Image.Resampling.LANCZOS)
    return _jpeg(picture)


def _upright(data: bytes) -> Image.Image | None:
    """The picture in a file, RGB, turned upright by its EXIF orientation; None for a file no picture can be made of."""
    try:
        return ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    except (OSError, Image.DecompressionBombError):
        return None


def _jpeg(picture: Image.Image) -> bytes:
    """A picture saved as a JPEG of quality 90."""
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def glared(data: bytes, strength: float) -> bytes:
    """A photo (upright) with a lamp's glare laid over it, saved as a JPEG of quality 90: light added to every pixel,
    `strength` x 255 grey levels at the centre of an ellipse 0.35 of the way down and 0.6 across, falling off as
    exp(-1.5 d) with d its squared distance in radii of 0.12 (down) and 0.2 (across) of the longer side, clipped."""
    if (picture := _upright(data)) is None:
        return data
    side = max(picture.size)
    rows, columns = np.mgrid[0 : picture.height, 0 : picture.width] / side
    spot = ((rows - 0.35 * picture.height / side) / 0.12) ** 2 + ((columns - 0.6 * picture.width / side) / 0.2) ** 2
    light = 255 * strength * np.exp(-1.5 * spot)[..., None]
    return _jpeg(Image.fromarray((np.asarray(picture) + light).clip(0, 255).astype(np.uint8)))


def photo(path: Path, side: int | None = None, glare: float | None = None) -> bytes:
    """A photo's file, `shrunk` to `side` and `glared` with `glare` if given."""
    data = path.read_bytes() if side is None else shrunk(path.read_bytes(), side)
    return data if glare is None else glared(data, glare)


def read_one(path: Path, written: list[str], side: int | None = None, glare: float | None = None) -> dict:
    """One picture read by `find_digits` (shrunk first to `side` and glared with `glare`, if given): its lines, the
    comparison with `written`, and the seconds it took."""
    data = photo(path, side, glare)
    start = time.perf_counter()
    try:
        lines, error = find_digits(data).lines, None
    except ImageError as err:
        lines, error = [], str(err)
    seconds = time.perf_counter() - start
    digits_only = [kept for line in lines if (kept := line.replace(NOT_A_DIGIT, ""))]
    row = {"file": path.name, "read": lines, "truth": written, "seconds": seconds, "error": error}
    return row | compare(digits_only, written)


def single_digit(path: Path, classifier, side: int | None = None, glare: float | None = None) -> str:
    """What `image_to_mnist` and the classifier read in a picture of one digit (shrunk first to `side` and glared
    with `glare`, if given; "refused" if nothing)."""
    try:
        return str(int(predict(classifier, image_to_mnist(photo(path, side, glare))[None])))
    except ImageError:
        return "refused"


def summary(rows: list[dict]) -> dict:
    distance, length = sum(r["distance"] for r in rows), sum(r["length"] for r in rows)
    return {"pictures": len(rows), "accuracy": 1 - distance / max(1, length), "exact": sum(r["exact"] for r in rows),
            "found": sum(r["found"] for r in rows), "median_seconds": statistics.median(r["seconds"] for r in rows),
            "max_seconds": max(r["seconds"] for r in rows)}  # fmt: skip


def show(rows: list[dict], total: dict) -> None:
    for r in rows:
        mark = "ok " if r["exact"] else f"{r['distance']:>3d}"
        print(f"{mark} {r['seconds']:5.2f}s {r['file'][:60]:60s} read {'/'.join(r['read']) or r['error']}")
        if not r["exact"]:
            print(f"{'':71s}truth {'/'.join(r['truth'])}")
        if "single" in r:
            print(f"{'':71s}image_to_mnist reads {r['single']}")
    print(f"\n{total['pictures']} pictures: digit-string accuracy {total['accuracy']:.1%}, read exactly "
          f"{total['exact']}, right count of digits in every line {total['found']}, "
          f"{total['median_seconds']:.2f} s median, {total['max_seconds']:.2f} s at most")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    truth = json.loads((args.truth or args.folder / "truth.json").read_text())
    with contextlib.suppress(ImageError):  # the classifier's loading is not timed; the first may be no picture
        find_digits((args.folder / next(iter(truth))).read_bytes())
    classifier, rows = load_classifier(), []
    for name, written in truth.items():
        row = read_one(args.folder / name, written, args.side, args.glare) | {"file": name}
        if len("".join(written)) == 1:
            row["single"] = single_digit(args.folder / name, classifier, args.side, args.glare)
        rows.append(row)
    total = summary(rows)
    if args.json:
        print(json.dumps({"pictures": rows, "total": total}, indent=1))
    else:
        show(rows, total)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
