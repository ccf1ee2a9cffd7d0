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
    spec = get_spec(name)
    if config is None or isinstance(config, dict):
        fields = {f.name for f in dataclasses.fields(spec.config_cls)}
        unknown = set(config or {}) - fields
        if unknown:
            raise ValueError(f"config for {name} has unknown keys {sorted(unknown)}; allowed: {sorted(fields)}")
        config = spec.config_cls(**(config or {}))
    with torch.random.fork_rng(devices=[]):  # seed the initialisation without touching the global RNG
        if seed is not None:
            torch.manual_seed(check_seed(seed))
        return spec.build(config)


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
    import io

    label = "the uploaded weights" if isinstance(source, bytes) else str(source)
    hint = f"; {hint}" if hint else ""
    try:
        f = io.BytesIO(source) if isinstance(source, bytes) else source
        payload = torch.load(f, map_location="cpu", weights_only=True)
        name = payload["model"]
        model = build_model(name, payload["config"])
        model.load_state_dict(payload["state_dict"])
    except FileNotFoundError:
        raise WeightsError(f"weights file {label} does not exist{hint}") from None
    except Exception as err:  # torch raises many types for a damaged file; all mean the same to a user
        reason = _one_line(err)
        raise WeightsError(f"weights file {label} is damaged or not a denoiser checkpoint ({reason}){hint}") from None
    return name, model.eval(), dict(payload.get("meta", {}))


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


def load_pretrained(name: str = DEFAULT_MODEL, weights_dir: str | os.PathLike = WEIGHTS_DIR) -> nn.Module:
    """The shipped model `name`, in eval mode on the CPU, after checking its SHA-256 against the manifest."""
    spec, weights_dir = get_spec(name), Path(weights_dir)
    path = weights_dir / spec.filename
    hint = regenerate_hint(name)
    if not path.is_file():
        raise WeightsError(f"weights file {path} does not exist; {hint}")
    expected = read_manifest(weights_dir).get(spec.filename)
    if expected is None:
        raise WeightsError(f"weights file {path} is not listed in {weights_dir / MANIFEST}; {hint}")
    if sha256(path) != expected:
        raise WeightsError(f"weights file {path} is damaged or was replaced (SHA-256 mismatch); {hint}")
    stored, model, _ = load_checkpoint(path, hint)
    if stored != name:
        raise WeightsError(f"weights file {path} holds model {stored!r}, not {name!r}; {hint}")
    return model


def pretrained_meta(name: str, weights_dir: str | os.PathLike = WEIGHTS_DIR) -> dict:
    """The metadata stored with the shipped weights of `name` (training command, data, figures)."""
    path = Path(weights_dir) / get_spec(name).filename
    return load_checkpoint(path, regenerate_hint(name))[2]
