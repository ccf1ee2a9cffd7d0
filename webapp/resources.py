"""What every visitor's page shares, loaded once per server, and the methods a visitor's session has.

Shipped models and the offline digits are loaded once per server (`st.cache_resource`, never
mutated); a model retrained by a visitor lives in that visitor's `st.session_state` only.
"""

from __future__ import annotations

import streamlit as st
import torch

from denoiser import classifier, data, methods, picture_io, weights
from denoiser.evaluate import Method, model_method

from . import cache

# Digits are sent to the page already enlarged (nearest neighbour, so the pixels stay square): a
# page-wide `image-rendering: pixelated` style would have to be re-sent with every rerun, and
# re-inserting it cost the browser ~38 ms per slider move, against ~1 ms to encode three 224x224 PNGs.
SHOWN_SCALE = 8  # the three main pictures: 224x224


SCALE = 10  # a download made on request (the as-it-is view's) is 280x280, upscaled nearest-neighbour: crisp pixels


@st.cache_resource
def sample() -> data.Digits:
    """The 5,000 offline MNIST digits (sorted by class), shared read-only by every visitor."""
    return data.load_sample()


@st.cache_resource
def class_indices() -> list[torch.Tensor]:
    """For each class 0-9, the positions of its digits in `sample()`."""
    labels = sample().labels
    return [torch.nonzero(labels == c).flatten() for c in range(10)]


def sample_digit(digit_class: int, index: int) -> torch.Tensor:
    """Sample digit number `index` of class `digit_class` (1, 28, 28)."""
    return sample().images[class_indices()[digit_class][index]]


@st.cache_resource
def unavailable_models() -> dict[str, str]:
    """The shipped models whose weights do not load (damaged or missing), with why; checked once per server."""
    problems = {}
    for name in methods.MODEL_NAMES:
        try:
            methods.get(name)
        except weights.WeightsError as err:
            problems[name] = str(err)
    return problems


def shared_methods() -> list[str]:
    """Names of the methods every visitor has: the shipped models that load, then the classical filters."""
    broken = unavailable_models()
    return [name for name in methods.MODEL_NAMES if name not in broken] + list(methods.FILTER_NAMES)


@st.cache_resource
def reader() -> torch.nn.Module | None:
    """The shipped digit classifier, or None if its weights are missing or damaged."""
    try:
        return classifier.load_classifier()
    except weights.WeightsError:
        return None


def readings(images: torch.Tensor) -> list[str]:
    """What the classifier reads in each image (N, 1, 28, 28), with its confidence: "7 (98%)"."""
    model = reader()
    if model is None:
        return ["classifier unavailable"] * len(images)
    labels, confidence = classifier.read(model, images)
    return [f"{int(d)} ({100 * float(c):.0f}%)" for d, c in zip(labels, confidence, strict=True)]


def method_for(name: str, kind: str, level: float) -> Method:
    """noisy -> denoised for a method name: "retrained" (this session's), a shipped model or a filter."""
    if name == "retrained":
        return model_method(st.session_state["retrained"]["model"])
    return methods.get(name, kind, level)  # shipped models are loaded once per server, filters are cheap to make


def session_methods(models: list[str]) -> list[str]:
    """The methods this visitor has: their retrained model, if any, then the shared ones."""
    return (["retrained"] if "retrained" in st.session_state else []) + models


def method_label(name: str) -> str:
    """How a method is named in the model picker."""
    if name == "retrained":
        return "retrained model (this session)"
    return f"{name} (model)" if name in weights.REGISTRY else f"{name} (filter)"


def png(image: torch.Tensor, scale: int = 1) -> bytes:
    """A digit as PNG bytes, upscaled `scale` times nearest-neighbour (a download)."""
    return picture_io.tensor_to_png(image, scale)


def shown(image: torch.Tensor, scale: int = SHOWN_SCALE) -> str:
    """A digit as the page shows it: enlarged, in a PNG `data:` URL encoded once per server."""
    return cache.png_url(image, scale)


def row(name: str, spec: int | list[float]) -> list:
    """Columns that stay side by side at every width, a phone's included (Streamlit stacks columns at 640 px).

    The container's key gives the page's style sheet a class to find them by (`st-key-row-<name>`)."""
    return st.container(key=f"row-{name}").columns(spec, wrap=False)
