"""What the app shows, as plain data: the view's defaults, reading them from a shared link, number formats.

The app mirrors its state in the URL's query parameters so a view can be shared as a link.
A link is user input: `parse_query` keeps the values it can use and explains each one it
drops, so the page can fall back to the defaults with a notice instead of failing.
"""

from __future__ import annotations

import math

from denoiser.noise import MAX_SEED, NOISE_KINDS, check_level

from .panel import Figure

SOURCES = ("pick", "draw", "upload", "camera")
# torch threads the app denoises with. One digit is too small to split across cores (the
# U-Net takes about a millisecond either way), and with many visitors a second thread would
# spin-wait on a core that another visitor's rerun or a training needs.
SERVE_THREADS = 1
# The noise slider's positions: 0 to 1 in steps of 0.05. Neighbouring positions differ visibly on a
# digit (0.01 apart they did not), and a server computes each digit's results at 21 levels, not 101:
# a visitor moving the slider back and forth soon finds every level already computed.
SLIDER_STEP = 0.05
SLIDER_LEVELS = [round(SLIDER_STEP * i, 2) for i in range(round(1 / SLIDER_STEP) + 1)]
# A noise choice for drawings and uploads: add none, and denoise the noise the picture already has.
AS_IS = "as_is"
AS_IS_LABEL = "as it is"  # the row of the undenoised picture
KIND_LABELS = {"gaussian": "Gaussian", "salt_pepper": "Salt & pepper", "speckle": "Speckle", "poisson": "Poisson",
               AS_IS: "None: denoise the picture as it is"}  # fmt: skip
DEFAULTS = {
    "source": "pick",  # where the digit comes from
    "digit_class": 3,  # sample digit: its class ...
    "digit_index": 0,  # ... and its number within the class
    "noise_kind": "gaussian",
    "noise_level": 0.5,
    "noise_seed": 0,
    "model": "unet",  # the denoiser shown
}
URL_NAMES = {"source": "source", "digit_class": "digit", "digit_index": "index", "noise_kind": "kind",
             "noise_level": "level", "noise_seed": "seed", "model": "model"}  # fmt: skip
_MAX_INT = {"digit_class": 9, "digit_index": 499, "noise_seed": MAX_SEED}


def _parse_one(key: str, text: str, models: list[str]) -> str | int | float:
    """One URL value for view key `key`; ValueError saying what is allowed."""
    choices = {"source": list(SOURCES), "noise_kind": [*NOISE_KINDS, AS_IS], "model": list(models)}
    if key in choices:
        if text not in choices[key]:
            raise ValueError(f"must be one of {', '.join(choices[key])}")
        return text
    if key == "noise_level":
        try:
            level = check_level(float(text))
        except ValueError:
            raise ValueError("must be a number from 0 to 1") from None
        return min(SLIDER_LEVELS, key=lambda position: abs(position - level))  # -0.0 is 0.0 (the URL written back too)
    # The length first: Python refuses to convert over 4,300 digits, in words of its own.
    if not (text.isascii() and text.isdigit() and len(text) <= len(str(_MAX_INT[key])) and int(text) <= _MAX_INT[key]):
        raise ValueError(f"must be a whole number from 0 to {_MAX_INT[key]}")
    return int(text)


def _inert(text: str) -> str:
    """A link's value as a notice shows it: the notice is markdown (no backticks, newlines or control characters)."""
    return "".join(c for c in text[:40] if c.isprintable() and c != "`")


def parse_query(query: dict[str, str | list[str]], models: list[str]) -> tuple[dict, list[str]]:
    """View values from URL query parameters, and a notice for each one dropped (the default is used)."""
    values, notices = {}, []
    for key, name in URL_NAMES.items():
        if name not in query:
            continue
        raw = query[name]
        text = raw[-1] if isinstance(raw, list) and raw else str(raw) if not isinstance(raw, list) else ""
        try:
            values[key] = _parse_one(key, text, models)
            if key == "noise_level" and abs(values[key] - float(text)) > 1e-9:
                shown = f"{values[key]:.2f}"
                notices.append(f"The link's `level={_inert(text)}` is shown at the slider's nearest level, {shown}.")
        except ValueError as err:
            notices.append(f"Ignored `{name}={_inert(text)}` from the link ({err}); using the default.")
    if values.get("noise_kind") == AS_IS and values.get("source", DEFAULTS["source"]) == "pick":
        del values["noise_kind"]  # a sample digit has no noise of its own to denoise
        notices.append(f"Ignored `kind={AS_IS}` from the link: it needs a drawing or an upload; using the default.")
    return values, notices


def to_query(values: dict) -> dict[str, str]:
    """The URL query parameters for view `values` (keys as in `DEFAULTS`)."""
    return {name: str(values[key]) for key, name in URL_NAMES.items() if key in values}


def format_metric(key: str, value: float) -> str:
    """A metric as the page shows it: PSNR in dB (∞ for identical images), MSE and SSIM as plain numbers."""
    if key == "psnr":
        return "∞ dB" if math.isinf(value) else f"{value:.2f} dB"
    return f"{value:.4f}" if key == "mse" else f"{value:.3f}"


def metric_delta(key: str, value: float, before: float) -> str | None:
    """The change of metric `key` from `before` to `value`, signed; None when either is not finite."""
    if not (math.isfinite(value) and math.isfinite(before)):
        return None
    change = value - before
    return f"{change:+.2f} dB" if key == "psnr" else f"{change:+.4f}" if key == "mse" else f"{change:+.3f}"


def figure_columns(noisy: dict, denoised: dict) -> list[list[Figure]]:
    """PSNR, SSIM and MSE (`noisy` and `denoised`: each figure by key) a column each: the noisy digit's figure
    above the denoised one's, whose delta is what denoising changed (a lower MSE is better)."""
    columns = []
    for key, label in (("psnr", "PSNR"), ("ssim", "SSIM"), ("mse", "MSE")):
        delta = metric_delta(key, denoised[key], noisy[key])
        change = denoised[key] - noisy[key] if delta else 0.0
        better = None if change == 0 else (change < 0) == (key == "mse")
        columns.append([Figure(f"Noisy {label}", format_metric(key, noisy[key])),
                        Figure(f"Denoised {label}", format_metric(key, denoised[key]), delta, better)])  # fmt: skip
    return columns


def markdown_table(rows: list[dict], columns: tuple[str, ...]) -> str:
    """`rows` as a markdown table of `columns`, the first (the names) left-aligned, the figures right-aligned.

    The app shows its comparisons this way: drawing an st.table cost the server ~7 ms of CPU
    per slider move, a markdown element of the same table ~0.2 ms."""
    align = ["---"] + ["---:"] * (len(columns) - 1)
    lines = ["| " + " | ".join(columns) + " |", "| " + " | ".join(align) + " |"]
    return "\n".join(lines + ["| " + " | ".join(str(row[c]) for c in columns) + " |" for row in rows])
