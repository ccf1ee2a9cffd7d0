"""Subcommands that denoise: `evaluate` (a method on a split, measured) and `denoise` (one picture file)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..device import resolve_device
from ..weights import REGISTRY, WEIGHTS_DIR
from . import common


def add_evaluate_parser(sub) -> None:
    e = sub.add_parser("evaluate", help="denoise the test split (or --split train) and print MSE, PSNR, SSIM")
    e.add_argument("--model", required=True, help=f"one of {', '.join(REGISTRY)}, or a classical filter")
    e.add_argument("--weights", type=Path, help="a checkpoint file instead of the shipped weights")
    common.add_data_args(e, "mnist")
    common.add_noise_args(e, required=True)
    e.add_argument("--limit", type=common.positive_int, help="the first N digits only")
    # The train split shows how much a model has memorised: compare it with the test split's figure.
    e.add_argument("--split", choices=("test", "train"), default="test", help="which digits (default: test)")
    e.add_argument("--seed", type=common.seed, default=0, help="noise seed")
    e.add_argument("--json", action="store_true", help="print one JSON object")
    common.add_device_arg(e)


def add_denoise_parser(sub) -> None:
    d = sub.add_parser("denoise", help="denoise one image file")
    d.add_argument("--model", default="unet", help=f"one of {', '.join(REGISTRY)}, or a classical filter")
    d.add_argument("input", type=Path)
    d.add_argument("output", type=Path)
    common.add_noise_args(d, required=False)
    d.add_argument("--seed", type=common.seed, default=0, help="noise seed")
    common.add_device_arg(d)


def resolve_method(
    name: str, weights: Path | None = None, kind: str | None = None, level: float | None = None, device=None
):
    """A method (noisy -> denoised) for a registry model, a checkpoint file, or a classical filter.

    A filter gets the parameters tuned for `kind` and `level` when both are given; a model runs on `device`.
    """
    return _resolve(name, weights, kind, level, device)[0]


def _resolve(name: str, weights: Path | None, kind: str | None, level: float | None, device=None) -> tuple:
    """(method, what runs): the architecture read from the checkpoint, the file it came from and the targets
    it learned from (None for a filter), so that results are labelled by what ran, never by the --model typed."""
    from ..evaluate import model_method
    from ..methods import check_name, get
    from ..noisy_targets import trained_on
    from ..weights import get_spec, load_checkpoint, pretrained_meta

    if weights is not None:
        stored, model, meta = load_checkpoint(weights)
        if stored != name:
            raise ValueError(f"--weights {weights} holds a {stored} model, not {name!r}; give --model {stored}")
        return model_method(model, device), {"model": stored, "weights": str(weights), "targets": trained_on(meta)}
    method = get(check_name(name, "--model"), kind, level, device=device, strict=True)
    if name not in REGISTRY:
        return method, {"model": name, "weights": None, "targets": None}
    shipped = str(WEIGHTS_DIR / get_spec(name).filename)
    return method, {"model": name, "weights": shipped, "targets": trained_on(pretrained_meta(name))}


def cmd_evaluate(args: argparse.Namespace) -> int:
    from ..evaluate import evaluate
    from ..metrics import json_ready

    device = resolve_device(args.device, "--device")
    method, what = _resolve(args.model, args.weights, args.noise, args.level, device)
    clean = common.load_split(args, args.split).images
    clean = clean[: args.limit] if args.limit else clean
    result = {**what, "split": args.split, **evaluate(method, clean, args.noise, args.level, args.seed)}
    if args.json:
        print(json.dumps(json_ready(result), allow_nan=False))  # strict JSON: an infinite PSNR becomes null
        return 0
    source = f" ({what['weights']})" if what["weights"] else ""
    learned = f", learned from {what['targets']} targets" if what["targets"] else ""
    print(f"{what['model']}{source} on {result['n']} {args.split} digits, {args.noise} noise at level {args.level}"
          f"{learned}:")  # fmt: skip
    for prefix, label in (("", "denoised"), ("noisy_", "noisy")):
        print(
            f"  {label:9s} MSE {result[prefix + 'mse']:.5f}  PSNR {result[prefix + 'psnr']:.2f} dB  "
            f"SSIM {result[prefix + 'ssim']:.4f}"
        )
    print(f"  {result['seconds']:.2f} s to denoise")
    return 0


def cmd_denoise(args: argparse.Namespace) -> int:
    """Denoise one picture: a 28x28 image is used as is, anything else is made MNIST-style first."""
    from ..digitize import image_to_mnist, white_on_black
    from ..evaluate import make_noisy
    from ..picture_io import load_png_as_is
    from ..weights import atomic_write_bytes

    device = resolve_device(args.device, "--device")
    if (args.noise is None) != (args.level is None):
        raise ValueError("--noise and --level go together")
    picture_format(args.output)  # an unknown extension is refused before any work
    if args.output.exists() and args.input.exists() and args.output.samefile(args.input):
        raise ValueError(f"output {args.output} is the input file; give another path, or the original is lost")
    data = common.read_picture(args.input)
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
