"""A picture of many digits (a number, a row, a sheet): each digit found, what is read, and which one the page shows.

The picture is read by `denoiser.find_digits`, and drawn with its boxes, once per server for its bytes (uploads
and camera shots of the same picture cost a lookup). The page shows the picture with a numbered box on each digit,
cut to the digits (the whole picture in an expander), the lines read with each digit's confidence, a strip of
every digit as found and as denoised (one batch), and a choice of the digit that fills the main view, the first
by default.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable

import numpy as np
import streamlit as st
import torch
from PIL import Image, ImageDraw, ImageFont

from denoiser import picture_io
from denoiser.reading import Reading, find_digits
from denoiser.verdicts import TAKEN_FOR_NONE, UNSURE

from .resources import shown

READINGS_KEPT = 32  # pictures read, per server
STRIP_SCALE = 2  # the strips' digits: 56x56
BOXED_WIDTH = 640  # the picture with its numbered boxes, in pixels
BOXED_MARGIN = 1.0  # of the digits' height: the picture is shown this far around the digits found
LABEL_SIZE = (12, 28)  # pixels: the boxes' numbers, 0.4 of a digit's height within these


@functools.lru_cache(maxsize=READINGS_KEPT)
def reading_of(data: bytes, keep_noise: bool) -> Reading:
    """`find_digits` of a picture's bytes, computed once per server (an ImageError is not kept)."""
    return find_digits(data, keep_noise=keep_noise)


@functools.lru_cache(maxsize=READINGS_KEPT)
def boxed_pictures(data: bytes, keep_noise: bool) -> tuple[bytes, bytes]:
    """The picture read (`reading_of`) with its numbered boxes, cut to the digits and whole (`boxed_reading`), as
    PNG: drawn once per picture and server, where every move of a slider reruns the page."""
    reading = reading_of(data, keep_noise)
    pictures = []
    for whole in (False, True):
        buffer = io.BytesIO()
        boxed_reading(reading, whole=whole).save(buffer, format="PNG")
        pictures.append(buffer.getvalue())
    return pictures[0], pictures[1]


def boxed_reading(reading: Reading, width: int = BOXED_WIDTH, *, whole: bool = False) -> Image.Image:
    """The picture searched, `width` pixels wide, with each digit's box and number (red; "?" marks orange): cut to
    the digits found and `BOXED_MARGIN` of their height around them, unless `whole`. A phone's photo of a card on
    a desk holds its number in a tenth of the frame, where boxes and numbers shown whole are too small to read."""
    top, left, bottom, right = (0, 0, *reading.picture.shape) if whole else digits_region(reading)
    img = Image.fromarray(reading.picture[top:bottom, left:right]).convert("RGB")
    scale = width / img.width
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    img = img.resize((width, max(1, round(img.height * scale))), resample)
    heights = [(m.box[2] - m.box[0]) * scale for m in reading.marks] or [0]
    size = int(np.clip(0.4 * np.median(heights), *LABEL_SIZE))
    font = ImageFont.load_default(size=size)
    draw = ImageDraw.Draw(img)
    for number, mark in enumerate(reading.marks, start=1):
        y0, x0, y1, x1 = (round((v - shift) * scale) for v, shift in zip(mark.box, (top, left) * 2, strict=True))
        colour = (230, 30, 30) if mark.is_digit else (240, 150, 0)
        draw.rectangle((x0 - 2, y0 - 2, x1 + 1, y1 + 1), outline=colour, width=2)
        draw.text((x0, max(size, y0 - 2)), str(number), fill=colour, font=font, anchor="lb")  # inside the picture
    return img


def digits_region(reading: Reading) -> tuple[int, int, int, int]:
    """The part of the picture (top, left, bottom, right) that holds every digit found, with `BOXED_MARGIN` of
    their median height around it for the numbers above the boxes; the whole picture when none is found."""
    if not reading.marks:
        return 0, 0, *reading.picture.shape
    boxes = np.array([m.box for m in reading.marks])
    margin = round(BOXED_MARGIN * float(np.median(boxes[:, 2] - boxes[:, 0])))
    height, width = reading.picture.shape
    return (max(0, int(boxes[:, 0].min()) - margin), max(0, int(boxes[:, 1].min()) - margin),
            min(height, int(boxes[:, 2].max()) + margin), min(width, int(boxes[:, 3].max()) + margin))  # fmt: skip


def strip_png(digits: torch.Tensor, scale: int = 4) -> bytes:
    """Digits (N, 1, 28, 28) side by side as one PNG, enlarged `scale` times (a download)."""
    row = torch.cat(list(digits[:, 0]), dim=1) if len(digits) else torch.zeros(28, 28)  # (28, 28 * N)
    return picture_io.tensor_to_png(row, scale)


def lines_ui(reading: Reading) -> None:
    """What is read, line by line, and each digit's number, reading and the classifier's confidence."""
    if reading.quarters:
        side = "left" if reading.quarters == 1 else "right"
        st.caption(f"The picture looks taken sideways: it was read turned a quarter to the {side}.")
    for k, line in enumerate(reading.lines, start=1):
        st.markdown(f"**Line {k}:** {line or '(nothing)'}")
    st.caption(" · ".join(f"{i}: {mark_text(m)}" for i, m in enumerate(reading.marks, 1)))


def mark_text(mark) -> str:
    """A mark as the caption lists it: its digit and the classifier's confidence (or why the writer's own digits
    overruled the classifier), or why it is no digit."""
    if mark.is_digit and mark.overruled is not None:
        return f"{mark.text} (with a flag: read as a {mark.overruled}, but unlike this writer's {mark.overruled}s)"
    if mark.is_digit:
        return f"{mark.text} ({100 * mark.confidence:.0f}%)"
    if mark.why_not == TAKEN_FOR_NONE:
        return f"? (no digit: {100 * mark.not_a_digit:.0f}% sure)"
    if mark.why_not == UNSURE:
        return f"? (unsure: {mark.label} at {100 * mark.confidence:.0f}%)"
    return f"? ({mark.why_not})"


def strips_ui(reading: Reading, denoised: torch.Tensor) -> None:
    """Every digit as found (28x28, what the model sees) and as denoised, numbered."""
    numbers = [str(i) for i in range(1, len(reading.marks) + 1)]
    st.caption("Each digit as found")
    st.image([shown(d, STRIP_SCALE) for d in reading.digits], caption=numbers, width=28 * STRIP_SCALE)
    st.caption("Each digit denoised")
    st.image([shown(d, STRIP_SCALE) for d in denoised], caption=numbers, width=28 * STRIP_SCALE)


def choice_ui(reading: Reading) -> int:
    """Which digit fills the main view: its index in reading order, the first by default."""
    count = len(reading.marks)
    if st.session_state.get("picture_digit", 0) >= count:  # a new picture with fewer digits
        st.session_state.picture_digit = 0
    label = lambda i: f"{i + 1}: {reading.marks[i].text} (line {reading.marks[i].line + 1})"  # noqa: E731
    return st.selectbox("Digit shown in the main view", range(count), format_func=label, key="picture_digit")


def numbers_ui(data: bytes, keep_noise: bool, denoise: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """The whole panel for a picture of several digits (its bytes, read with `keep_noise`); the chosen digit
    (1, 28, 28)."""
    reading = reading_of(data, keep_noise)
    around, whole = boxed_pictures(data, keep_noise)
    st.image(around, caption="Your picture, around the digits: every digit found, numbered", width="stretch")
    with st.expander("The whole picture"):
        st.image(whole, width="stretch")
    lines_ui(reading)
    chosen = choice_ui(reading)
    denoised = denoise(reading.digits)  # one batch for every digit of the picture
    strips_ui(reading, denoised)
    st.download_button("Every digit denoised (PNG)", lambda: strip_png(denoised), "digits-denoised.png",
                       "image/png", key="download_digits")  # fmt: skip
    return reading.marks[chosen].digit
