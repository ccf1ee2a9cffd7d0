"""Where the digit comes from: a sample digit picked by class and number, a drawing, or a picture (uploaded or
taken with the camera) of one digit or of many (`numbers`)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import streamlit as st
import torch
from streamlit_drawable_canvas import st_canvas

from denoiser import digitize, weights

from . import numbers
from .resources import class_indices, row, sample_digit

Denoise = Callable[[torch.Tensor], torch.Tensor]

SOURCES = {"pick": "Pick", "draw": "Draw", "upload": "Upload", "camera": "Camera"}
PICTURE_TYPES = ["png", "jpg", "jpeg", "bmp", "webp", "gif", "tif", "tiff"]


@st.cache_data(max_entries=64)
def upload_extraction(data_bytes: bytes, keep_noise: bool) -> digitize.Extraction:
    """The digit found in an uploaded file, and where; ImageError with a message for the visitor."""
    return digitize.extract_image(data_bytes, keep_noise=keep_noise)


def _move_index(step: int) -> None:
    """Previous/next sample of the class (a button callback, so it may set the widget's value)."""
    count = len(class_indices()[st.session_state.digit_class])
    st.session_state.digit_index = (st.session_state.digit_index + step) % count


def _random_digit() -> None:
    """A random class and sample (a button callback)."""
    rng = np.random.default_rng()
    st.session_state.digit_class = int(rng.integers(10))
    st.session_state.digit_index = int(rng.integers(len(class_indices()[st.session_state.digit_class])))


def pick_ui() -> torch.Tensor:
    """A sample digit by class and number, with previous / next / random; returns it (1, 28, 28)."""
    digit_class = st.selectbox("Digit", range(10), key="digit_class")
    count = len(class_indices()[digit_class])
    st.session_state.digit_index = min(st.session_state.digit_index, count - 1)
    cols = row("picker", [1, 1, 1.6])  # one line on a phone too
    cols[0].button("◀", key="prev", on_click=_move_index, args=(-1,), width="stretch", help="Previous sample")
    cols[1].button("▶", key="next", on_click=_move_index, args=(1,), width="stretch", help="Next sample")
    cols[2].button("Random", key="random", on_click=_random_digit, width="stretch", help="A random digit")
    index = st.number_input(f"Sample number (of {count})", 0, count - 1, key="digit_index")
    return sample_digit(digit_class, index)


def _clear_canvas() -> None:
    """Count a press of Clear (a button callback); `draw_ui` turns the count into an empty drawing."""
    st.session_state.canvas_clears = st.session_state.get("canvas_clears", 0) + 1


def draw_ui(keep_noise: bool) -> torch.Tensor | None:
    """A canvas to draw on, white on black; the drawing made MNIST-style, or None while it is blank."""
    # A new initial drawing makes the canvas reload it, i.e. clear itself: "clears" counts the presses.
    empty = {"objects": [], "clears": st.session_state.get("canvas_clears", 0)}
    st.space(28)  # room for the canvas's toolbar, which sits above it
    result = st_canvas(stroke_width=18, stroke_color="#FFFFFF", background_color="#000000", width=224,
                       height=224, initial_drawing=empty, return_image_data=True, key="canvas")  # fmt: skip
    st.button("Clear", key="clear_canvas", on_click=_clear_canvas)
    st.caption("Draw one digit, large, in the middle.")
    try:
        if result.image_data is None:
            return None
        return digitize.canvas_to_mnist(result.image_data, keep_noise=keep_noise)
    except digitize.ImageError as err:
        st.info(str(err))
        return None


def upload_ui(keep_noise: bool, denoise: Denoise) -> torch.Tensor | None:
    """A file uploader; the digit found in the picture (the chosen one of several), or None (with a message)."""
    file = st.file_uploader("A picture of a digit or a number: a photo, a scan, a drawing", PICTURE_TYPES,
                            key="upload")  # fmt: skip
    return None if file is None else picture_ui(file.getvalue(), keep_noise, denoise)


def camera_ui(keep_noise: bool, denoise: Denoise) -> torch.Tensor | None:
    """The device's camera (a phone's opens its own); the digit found in the photo, or None."""
    shot = st.camera_input("Photograph a handwritten digit or number", key="camera")
    return None if shot is None else picture_ui(shot.getvalue(), keep_noise, denoise)


def picture_ui(data: bytes, keep_noise: bool, denoise: Denoise) -> torch.Tensor | None:
    """A picture of several digits gets the numbers panel; one of a single digit is found as MNIST made them."""
    try:
        reading = numbers.reading_of(data, keep_noise)
    except digitize.ImageError:  # the single-digit path below says what is wrong with the picture
        reading = None
    except weights.WeightsError as err:  # the one-digit path needs no classifier: the page still denoises
        st.warning(f"Reading numbers is unavailable ({str(err)[:300]}); the picture is taken as one digit.")
        reading = None
    if reading is not None and len(reading.marks) > 1:
        return numbers.numbers_ui(data, keep_noise, denoise)
    return one_digit_ui(data, keep_noise)


def one_digit_ui(data: bytes, keep_noise: bool) -> torch.Tensor | None:
    """The digit found in a picture of one, shown where it was found; None with a message if there is none."""
    try:
        found = upload_extraction(data, keep_noise)
    except digitize.ImageError as err:
        st.warning(str(err))
        return None
    st.image(digitize.boxed(found), caption="Your picture: the digit was found in the red box", width=240)
    if found.marks > 1:
        st.info(f"This picture holds {found.marks} separate marks; the largest one is taken as the digit.")
    return found.digit


def source_ui(keep_noise: bool, denoise: Denoise) -> torch.Tensor:
    """Where the digit comes from; returns it (1, 28, 28); a sample digit until a drawing or a picture exists.

    With `keep_noise`, a drawing or a picture keeps its own pixel values (and so its noise); `denoise` makes
    the strip of every digit of a picture of many, denoised."""
    source = st.segmented_control("Digit source", list(SOURCES), format_func=SOURCES.get, key="source",
                                  required=True)  # fmt: skip
    if source == "pick":
        return pick_ui()
    if source == "draw":
        clean = draw_ui(keep_noise)
    else:
        clean = (upload_ui if source == "upload" else camera_ui)(keep_noise, denoise)
    if clean is None:
        st.caption("Meanwhile, the page shows the sample digit.")
        clean = sample_digit(st.session_state.digit_class, st.session_state.digit_index)
    return clean
