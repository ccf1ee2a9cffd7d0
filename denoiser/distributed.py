"""Data-parallel training over several processes or machines, started by torchrun.

`torchrun --standalone --nproc-per-node 2 -m denoiser train ...` starts two processes with RANK,
WORLD_SIZE and LOCAL_RANK in their environment; `join` connects them (gloo between CPUs, nccl
between CUDA GPUs, one GPU per process), and `train.train` then wraps the model in
DistributedDataParallel, which averages the processes' gradients after every backward pass.

Every process draws the shuffled order and the noise of the whole global batch from the run's
seeded generator, then trains on its own slice of that batch. So the digits, their noise and their
weight in the loss are exactly those of a one-process run with the same batch size and seed: the
noise of a digit depends on the seed, the epoch and the digit, never on which process trained on it,
and more processes change the speed, not the result (up to float rounding in the gradient sum).
Noising a whole batch of 64 digits takes about 1 ms, under 1% of a one-thread unet step on that batch.
"""

from __future__ import annotations

import atexit
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

# What a collective's error says when another process of the run has gone (killed, out of memory): gloo's TCP
# pair sees the connection closed or reset; NCCL reports the remote's error.
PEER_GONE = ("closed by peer", "reset by peer", "Broken pipe", "remote process exited", "NCCL")


class PeerLost(RuntimeError):
    """Another process of a torchrun run stopped: this one cannot go on alone."""


@dataclass(frozen=True)
class Ranks:
    """This process's place among the processes of one training run: one process unless torchrun started more."""

    rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        """The process that reports progress and writes files (rank 0)."""
        return self.rank == 0

    def share(self, n: int) -> tuple[slice, float]:
        """This process's slice of a global batch of `n` digits, and the factor its mean loss is scaled by.

        The slices differ in size by one digit at most. DistributedDataParallel averages the processes'
        gradients; scaling process r's mean loss by n_r * world_size / n makes that average the gradient
        of the whole batch's mean loss, as in one process, even when the slices are unequal. A process
        whose slice is empty (a last batch smaller than the number of processes) trains on the batch's
        first digit with factor 0: it must still take part in the gradient exchange."""
        sizes = [n // self.world_size + (r < n % self.world_size) for r in range(self.world_size)]
        start = sum(sizes[: self.rank])
        if sizes[self.rank] == 0:
            return slice(0, 1), 0.0
        return slice(start, start + sizes[self.rank]), sizes[self.rank] * self.world_size / n

    def mean_loss(self, scaled_loss: float, device: torch.device) -> float:
        """The whole batch's mean loss from each process's loss times its `share` factor."""
        if self.world_size == 1:
            return scaled_loss
        total = torch.tensor([scaled_loss], dtype=torch.float64, device=device)
        dist.all_reduce(total)
        return total.item() / self.world_size

    def agree(self, stop: bool, device: torch.device) -> bool:
        """Rank 0's decision to stop, for every process: each clock differs, and a process that stopped
        alone would leave the others waiting for its gradients for ever."""
        if self.world_size == 1:
            return stop
        flag = torch.tensor([float(bool(stop))], device=device)
        dist.broadcast(flag, src=0)
        return bool(flag.item())

    def lost_a_peer(self, err: BaseException) -> bool:
        """Whether `err`, raised by a collective of a run of several processes, says another one has gone."""
        return self.world_size > 1 and isinstance(err, RuntimeError) and any(w in str(err) for w in PEER_GONE)

    def finish(self) -> None:
        """Under torchrun, wait until every process is here (rank 0 with the run's files written), so that no
        process leaves while another still has a collective or a file to finish. PeerLost if one is gone."""
        if self.world_size == 1:
            return
        try:
            dist.barrier()
        except RuntimeError as err:
            if not self.lost_a_peer(err):
                raise
            raise PeerLost("another process of the run stopped before the run was written") from None

    def wrap(self, model: nn.Module, device: torch.device) -> nn.Module:
        """`model` itself in one process; under torchrun, a DistributedDataParallel view of it that shares
        its parameters (so training the view trains `model`)."""
        if self.world_size == 1:
            return model
        from torch.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


def current() -> Ranks:
    """The process group the caller has started (torch.distributed), or a single process."""
    if dist.is_available() and dist.is_initialized():
        return Ranks(dist.get_rank(), dist.get_world_size())
    return Ranks()


def launched() -> int:
    """How many processes torchrun started for this run (WORLD_SIZE), 1 outside torchrun."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def join(device: torch.device) -> tuple[torch.device, Ranks]:
    """Under torchrun (WORLD_SIZE > 1), start the process group and return this process's device and place;
    otherwise a single process on `device`. A CUDA process takes the GPU numbered by its LOCAL_RANK."""
    if launched() == 1:
        return device, Ranks()
    if device.type == "mps":
        raise ValueError("--device mps: torchrun runs on CPUs (gloo) or CUDA GPUs (nccl), not on MPS")
    if device.type == "cuda":
        if device.index is not None:
            raise ValueError(f"--device {device}: under torchrun give --device cuda; each process takes GPU LOCAL_RANK")
        device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
        if device.index >= torch.cuda.device_count():
            raise ValueError(f"LOCAL_RANK {device.index}: this machine has {torch.cuda.device_count()} CUDA device(s)")
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        atexit.register(dist.destroy_process_group)  # torch warns about a group left open at exit
    return device, Ranks(dist.get_rank(), dist.get_world_size())
