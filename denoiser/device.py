"""Where a model runs: torch device names, checked before any work, and mixed precision on CUDA.

`auto` picks CUDA, then Apple's MPS, then the CPU. A device that is asked for but not there is
refused with one line naming it, before data or weights are read: a typo on a machine without a
GPU costs nothing. Checkpoints never depend on the device: they are saved from CPU tensors and
loaded with `map_location="cpu"` (`weights.py`), so a model trained on a GPU loads in the app on a CPU.
"""

from __future__ import annotations

import contextlib
import re

import torch
from torch import nn

DEVICE_NAMES = "auto, cpu, cuda, cuda:N or mps"
_NAME = re.compile(r"auto|cpu|mps|cuda(:[0-9]+)?")


def check_device_name(name: object, label: str = "device") -> str:
    """Return `name` if it is spelled as a device this package knows, else raise ValueError listing them."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(f"{label} must be one of {DEVICE_NAMES}; got {name!r}")
    return name


def resolve_device(name: str | torch.device = "auto", label: str = "device") -> torch.device:
    """The torch device `name` stands for; ValueError naming it if this machine does not have it."""
    name = check_device_name(str(name) if isinstance(name, torch.device) else name, label)
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if torch.backends.mps.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"{label} {name}: CUDA is not available on this machine (no CUDA GPU or driver)")
        count = torch.cuda.device_count()
        if name != "cuda" and int(name[5:]) >= count:
            raise ValueError(f"{label} {name}: this machine has {count} CUDA device(s), cuda:0..cuda:{count - 1}")
    if name == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"{label} mps: Apple's MPS is not available on this machine")
    return torch.device(name)


def model_device(model: nn.Module) -> torch.device:
    """The device of `model`'s parameters (the CPU for a model without any)."""
    return next((p.device for p in model.parameters()), torch.device("cpu"))


def to_cpu(value):
    """`value` (tensors, possibly inside dicts, lists and tuples) with every tensor on the CPU.

    Training state is saved through this, so a run started on a GPU can be resumed on a CPU."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, dict):
        return {key: to_cpu(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_cpu(item) for item in value)
    return value


class Precision:
    """Float32 everywhere, or with `amp` float16 autocast on CUDA and a gradient scaler.

    float16 rather than bfloat16: every CUDA GPU has fast float16, and the scaler keeps small
    gradients from flushing to zero. The loss itself is always computed in float32."""

    def __init__(self, device: torch.device, amp: bool = False) -> None:
        if not isinstance(amp, bool):
            raise ValueError(f"amp must be True or False; got {amp!r}")
        if amp and device.type != "cuda":
            raise ValueError(f"amp (mixed precision) needs a CUDA device; got {device}")
        self.amp = amp
        self.scaler = torch.amp.GradScaler("cuda") if amp else None

    def autocast(self):
        """A context for the forward pass."""
        return torch.autocast("cuda", dtype=torch.float16) if self.amp else contextlib.nullcontext()

    def backward_and_step(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
        if self.scaler is None:
            loss.backward()
            optimizer.step()
            return
        self.scaler.scale(loss).backward()
        self.scaler.step(optimizer)  # skipped when the scaled gradients overflowed
        self.scaler.update()

    def state_dict(self) -> dict | None:
        return self.scaler.state_dict() if self.scaler else None

    def load_state_dict(self, state: dict | None) -> None:
        if self.scaler and state:
            self.scaler.load_state_dict(state)
