"""The model registry and weights I/O.

A checkpoint is a plain dict, loadable with `torch.load(weights_only=True)`:
    {"model": name, "config": asdict(model_config), "state_dict": ..., "meta": {...}}
The model is rebuilt from its own stored config (nanoGPT `sample.py`), and unknown config
keys fail loudly. Shipped files are checked against SHA-256 sums in `weights/manifest.json`,
so a damaged or swapped file is caught before torch reads it. Files are written atomically
(temporary file, then `os.replace`): an interrupted save never leaves half a file behind.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from .models import SeedAE, SeedAEConfig, UNet, UNetConfig
from .noise import check_seed

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
MANIFEST = "manifest.json"


class WeightsError(RuntimeError):
    """A weights file is missing, damaged or does not match its model; the message names the file."""


@dataclass(frozen=True)
class ModelSpec:
    config_cls: type
    build: Callable[..., nn.Module]
    filename: str  # under weights/
    loss: str  # the loss it is trained with by default
    description: str


REGISTRY: dict[str, ModelSpec] = {
    "unet": ModelSpec(UNetConfig, UNet, "unet.pt", "psnr", "U-Net, residual, blind over all noise kinds and levels"),
    "seed-ae": ModelSpec(SeedAEConfig, SeedAE, "seed-ae.pt", "bce", "the tutorials' convolutional autoencoder"),
}
DEFAULT_MODEL = "unet"


def get_spec(name: str) -> ModelSpec:
    """The registry entry for `name`, or ValueError listing the known models."""
    if not isinstance(name, str) or name not in REGISTRY:
        raise ValueError(f"model must be one of {', '.join(REGISTRY)}; got {name!r}")
    return REGISTRY[name]


def regenerate_hint(name: str) -> str:
    """The command that rebuilds a shipped weights file (written out in weights/README.md)."""
    return f"see weights/README.md for the command that regenerates weights/{get_spec(name).filename}"


def build_model(name: str, config: dict | object | None = None, seed: int | None = None) -> nn.Module:
    """A fresh model `name` from a config object or dict (unknown keys raise ValueError)."""
    spec, config = get_spec(name), _config(name, config)
    with torch.random.fork_rng(devices=[]):  # seed the initialisation without touching the global RNG
        if seed is not None:
            torch.manual_seed(check_seed(seed))
        return spec.build(config)


def _config(name: str, config: dict | object | None):
    """Model `name`'s config object from a dict (unknown keys raise ValueError; the dataclass checks values)."""
    spec = get_spec(name)
    if config is not None and not isinstance(config, dict):
        return config
    fields = {f.name for f in dataclasses.fields(spec.config_cls)}
    unknown = set(config or {}) - fields
    if unknown:
        raise ValueError(f"config for {name} has unknown keys {sorted(unknown)}; allowed: {sorted(fields)}")
    return spec.config_cls(**(config or {}))


def sha256(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `path` through a temporary file in the same folder and `os.replace`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files; weights and results are meant to be read by others
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def cpu_state_dict(model: nn.Module) -> dict:
    """`model.state_dict()` with every tensor on the CPU: a checkpoint written on a GPU loads anywhere."""
    state = model.state_dict()
    cpu = type(state)((key, value.detach().cpu()) for key, value in state.items())
    cpu._metadata = getattr(state, "_metadata", None)  # module versions, which load_state_dict reads
    return cpu


def checkpoint_bytes(name: str, model: nn.Module, meta: dict | None = None) -> bytes:
    """Serialise model `name` with its config and `meta` (plain types) into checkpoint bytes."""
    import io

    buffer = io.BytesIO()
    payload = {
        "model": name,
        "config": dataclasses.asdict(model.config),
        "state_dict": cpu_state_dict(model),
        "meta": meta or {},
    }
    torch.save(payload, buffer)
    return buffer.getvalue()


def save_checkpoint(path: str | os.PathLike, name: str, model: nn.Module, meta: dict | None = None) -> Path:
    """Atomically save model `name` with its config and `meta` (plain types) to `path`."""
    atomic_write_bytes(path, checkpoint_bytes(name, model, meta))
    return Path(path)


def load_checkpoint(source: str | os.PathLike | bytes, hint: str = "") -> tuple[str, nn.Module, dict]:
    """(name, model in eval mode, meta) from a checkpoint file or its bytes; WeightsError if damaged."""
    return read_model(source, _build_denoiser, "a denoiser checkpoint", hint)


def read_model(
    source: str | os.PathLike | bytes, build: Callable[[str, dict, int], nn.Module], what: str, hint: str = ""
) -> tuple[str, nn.Module, dict]:
    """(name, model in eval mode, meta) from checkpoint bytes or a file, the model made by
    `build(name, config, file_size)`; any problem is a WeightsError of one line naming the file.

    Refused: anything but torch's zip format of tensors and plain data, a config or meta of the
    wrong type, a config `build` finds larger than the file could hold, NaN or infinite weights."""
    label = "the uploaded weights" if isinstance(source, bytes) else str(source)
    hint = f"; {hint}" if hint else ""
    try:
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
        payload = _read_payload(data)
        name, config, meta = _check_payload(payload)
        model = build(name, config, len(data))
        model.load_state_dict(payload["state_dict"])
        _check_finite(model)
    except (FileNotFoundError, IsADirectoryError):
        raise WeightsError(f"weights file {label} does not exist{hint}") from None
    except Exception as err:  # torch raises many types for a damaged file; all mean the same to a user
        raise WeightsError(f"weights file {label} is damaged or not {what} ({_reason(err)}){hint}") from None
    return name, model.eval(), meta


def check_fits(model_cls: Callable[..., nn.Module], config: object, file_size: int) -> None:
    """ValueError if `model_cls(config)` has more weights than a checkpoint of `file_size` bytes holds.

    Counted on torch's meta device, so nothing is allocated: a crafted file of a kilobyte could
    otherwise ask for gigabytes. Each stored weight takes at least a byte of the file."""
    with torch.device("meta"):
        wanted = sum(p.numel() for p in model_cls(config).parameters())
    if wanted > file_size:
        raise ValueError(f"its config asks for {wanted:,} weights, more than a file of {file_size:,} bytes holds")


def _build_denoiser(name: str, config: dict, file_size: int) -> nn.Module:
    config = _config(name, config)
    check_fits(get_spec(name).build, config, file_size)
    return get_spec(name).build(config)


def _read_payload(data: bytes) -> object:
    """torch.load of checkpoint bytes, only in torch's zip format with stored (uncompressed) entries.

    The legacy format allocates each tensor at its declared size before reading it, and a
    compressed entry can inflate far beyond the file: either lets a tiny file exhaust memory."""
    import io
    import warnings
    import zipfile

    try:
        entries = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except zipfile.BadZipFile:
        raise ValueError("not a torch checkpoint: no zip archive") from None
    if any(e.compress_type != zipfile.ZIP_STORED for e in entries) or sum(e.file_size for e in entries) > len(data):
        raise ValueError("its zip entries are compressed or larger than the file")
    with warnings.catch_warnings():  # torch warns about pickle protocols: the refusal below says enough
        warnings.simplefilter("ignore")
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)


def _check_payload(payload: object) -> tuple[str, dict, dict]:
    """The model name, config and meta of a loaded checkpoint, each of the type it must have."""
    if not isinstance(payload, dict):
        raise ValueError(f"it holds a {type(payload).__name__}, not a checkpoint table")
    for key, kind in (("model", str), ("config", dict), ("state_dict", dict), ("meta", dict)):
        if key == "meta" and key not in payload:
            continue  # the first checkpoints had no meta
        if key not in payload:
            raise ValueError(f"it has no {key!r}")
        if not isinstance(payload[key], kind):
            raise ValueError(f"its {key!r} is a {type(payload[key]).__name__}, not a {kind.__name__}")
    return payload["model"], payload["config"], dict(payload.get("meta", {}))


def _check_finite(model: nn.Module) -> None:
    for key, value in model.state_dict().items():
        if value.is_floating_point() and not torch.isfinite(value).all():
            raise ValueError(f"{key} holds NaN or infinite weights")


def _reason(err: Exception) -> str:
    """Why a file was refused, in one line. torch's own refusal of pickled code advises loading with
    weights_only=False, which would run that code: it is never passed on."""
    import pickle

    if isinstance(err, pickle.UnpicklingError) or "weights_only" in str(err):
        return "it holds something other than tensors and plain data, so it is not unpickled"
    return _one_line(err)


def _one_line(err: Exception) -> str:
    """An exception's first two lines joined, without colour codes: torch's load errors span a page,
    and its second line holds the detail ("size mismatch for ...")."""
    import re

    lines = [line.strip() for line in re.sub(r"\x1b\[[0-9;]*m", "", str(err)).splitlines() if line.strip()]
    return " ".join(lines[:2])[:300] or type(err).__name__


def read_manifest(weights_dir: Path = WEIGHTS_DIR) -> dict[str, str]:
    """{filename: sha256} of the shipped weights; empty if there is no manifest; WeightsError if it is damaged."""
    path = Path(weights_dir) / MANIFEST
    if not path.exists():
        return {}
    try:
        sums = json.loads(path.read_text())["sha256"]
        if not isinstance(sums, dict):
            raise TypeError("'sha256' is not a table")
    except (ValueError, KeyError, TypeError) as err:  # a damaged manifest must not crash the app
        raise WeightsError(f"{path} is damaged ({type(err).__name__}: {err}); see weights/README.md") from None
    return sums


def write_manifest(weights_dir: Path = WEIGHTS_DIR) -> dict[str, str]:
    """Record the SHA-256 of every .pt file in `weights_dir` in its manifest.json."""
    sums = {p.name: sha256(p) for p in sorted(Path(weights_dir).glob("*.pt"))}
    atomic_write_bytes(Path(weights_dir) / MANIFEST, (json.dumps({"sha256": sums}, indent=2) + "\n").encode())
    return sums


def shipped_file(weights_dir: str | os.PathLike, filename: str, hint: str) -> Path:
    """The path of shipped file `filename` in `weights_dir` once its SHA-256 matches the folder's manifest;
    WeightsError ending in `hint` (how to regenerate it) if it is missing, unlisted or different."""
    weights_dir = Path(weights_dir)
    path = weights_dir / filename
    if not path.is_file():
        raise WeightsError(f"weights file {path} does not exist; {hint}")
    expected = read_manifest(weights_dir).get(filename)
    if expected is None:
        raise WeightsError(f"weights file {path} is not listed in {weights_dir / MANIFEST}; {hint}")
    if sha256(path) != expected:
        raise WeightsError(f"weights file {path} is damaged or was replaced (SHA-256 mismatch); {hint}")
    return path


def load_pretrained(name: str = DEFAULT_MODEL, weights_dir: str | os.PathLike = WEIGHTS_DIR) -> nn.Module:
    """The shipped model `name`, in eval mode on the CPU, after checking its SHA-256 against the manifest."""
    hint = regenerate_hint(name)
    path = shipped_file(weights_dir, get_spec(name).filename, hint)
    stored, model, _ = load_checkpoint(path, hint)
    if stored != name:
        raise WeightsError(f"weights file {path} holds model {stored!r}, not {name!r}; {hint}")
    return model


def pretrained_meta(name: str, weights_dir: str | os.PathLike = WEIGHTS_DIR) -> dict:
    """The metadata stored with the shipped weights of `name` (training command, data, figures)."""
    path = Path(weights_dir) / get_spec(name).filename
    return load_checkpoint(path, regenerate_hint(name))[2]
