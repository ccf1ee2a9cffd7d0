"""Data-parallel training under torchrun: two gloo processes train the model one process trains.

The runs are tiny (27 training digits, batches of 13: slices of 7 and 6 digits, and a last batch of
one digit that leaves the second process nothing to train on), but go through the real command line.
The two processes are started as torchrun starts its workers (RANK, LOCAL_RANK, WORLD_SIZE,
MASTER_ADDR and MASTER_PORT in their environment), without torchrun's own agent: its rendezvous adds
a process and a store that can stall for minutes on a loaded machine. `scripts/bench_distributed.py`
runs the real torchrun.
"""

import os
import socket
import subprocess
import sys

import pytest
import torch

from denoiser.cli import main
from denoiser.cli.training import TIME_LIMIT_EXIT
from denoiser.distributed import Ranks, join
from denoiser.weights import load_checkpoint, load_pretrained, write_manifest

ATOL = 1e-5  # the gradient sum across processes rounds differently; Adam's steps stay this close

pytestmark = pytest.mark.training


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun(*args: str) -> list[subprocess.CompletedProcess]:
    """`python -m denoiser ARGS` as the two workers of `torchrun --nproc-per-node 2`; each one's result, by rank."""
    env = {**os.environ, "WORLD_SIZE": "2", "LOCAL_WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1",
           "MASTER_PORT": str(free_port())}  # fmt: skip
    workers = [subprocess.Popen([sys.executable, "-m", "denoiser", *args], env={**env, "RANK": str(rank),
               "LOCAL_RANK": str(rank)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for rank in range(2)]  # fmt: skip
    try:
        outputs = [worker.communicate(timeout=240) for worker in workers]
    finally:
        for worker in workers:
            worker.kill()  # a worker left waiting for its peer must not outlive the test
    return [subprocess.CompletedProcess(w.args, w.returncode, *out) for w, out in zip(workers, outputs, strict=True)]


def succeeded(ranks: list[subprocess.CompletedProcess], status: int = 0) -> bool:
    return all(rank.returncode == status for rank in ranks)


@pytest.fixture(scope="module")
def runs(data_root, tmp_path_factory):
    """One tiny recipe run as one process, as two, and as two stopped after a step and resumed as two."""
    folder = tmp_path_factory.mktemp("distributed")
    recipe = ["train", "--model", "unet", "--widths", "4", "8", "16", "--data-root", str(data_root), "--epochs", "2",
              "--limit", "35", "--holdout", "8", "--batch-size", "13", "--threads", "1"]  # fmt: skip
    assert main([*recipe, "--out", str(folder / "one.pt")]) == 0
    two = torchrun(*recipe, "--out", str(folder / "two.pt"))
    assert succeeded(two), [rank.stderr for rank in two]
    stopped = torchrun(*recipe, "--max-minutes", "1e-6", "--out", str(folder / "split.pt"))
    assert succeeded(stopped, TIME_LIMIT_EXIT), [rank.stderr for rank in stopped]
    resumed = torchrun("resume", str(folder / "split.pt.resume"), "--max-minutes", "0")
    assert succeeded(resumed), [rank.stderr for rank in resumed]
    return folder, {"two": two, "stopped": stopped, "resumed": resumed}


def _assert_close(a, b) -> None:
    for name, value in a.state_dict().items():
        torch.testing.assert_close(value, b.state_dict()[name], atol=ATOL, rtol=0, msg=name)


@pytest.mark.slow
def test_two_processes_train_the_weights_one_process_trains(runs):
    folder, _ = runs
    _, one, one_meta = load_checkpoint(folder / "one.pt")
    _, two, two_meta = load_checkpoint(folder / "two.pt")
    _assert_close(one, two)
    assert (one_meta["processes"], two_meta["processes"]) == (1, 2) and one_meta["steps"] == two_meta["steps"] == 6
    assert two_meta["holdout"]["psnr"] == pytest.approx(one_meta["holdout"]["psnr"], abs=1e-3)


@pytest.mark.slow
def test_only_the_first_process_reports_and_writes(runs):
    folder, done = runs
    assert "held-out PSNR" in done["two"][0].stdout and "stopped early; continue with" in done["stopped"][0].stdout
    assert all(rank[1].stdout == rank[1].stderr == "" for rank in done.values())  # no bar, no line from rank 1
    assert sorted(p.name for p in folder.iterdir()) == ["one.pt", "split.pt", "two.pt"]  # .resume removed when done


@pytest.mark.slow
def test_a_run_stopped_and_resumed_under_torchrun_ends_where_an_unbroken_one_does(runs):
    folder, _ = runs
    _, split, meta = load_checkpoint(folder / "split.pt")
    _, two, _ = load_checkpoint(folder / "two.pt")
    assert meta["sittings"] == 2 and meta["steps"] == 6 and not meta["stopped_early"]
    _assert_close(two, split)


@pytest.mark.slow
def test_a_checkpoint_written_under_torchrun_loads_like_the_shipped_weights(runs, data_root, tmp_path, capsys):
    """Its state dict has no DistributedDataParallel prefix: it loads as a registry file and in `evaluate`."""
    folder, _ = runs
    (tmp_path / "unet.pt").write_bytes((folder / "two.pt").read_bytes())
    write_manifest(tmp_path)
    model = load_pretrained("unet", tmp_path)
    assert model.config.widths == (4, 8, 16) and all(t.device.type == "cpu" for t in model.state_dict().values())
    args = ["evaluate", "--model", "unet", "--weights", str(folder / "two.pt"), "--data-root", str(data_root),
            "--noise", "gaussian", "--level", "0.5", "--limit", "16", "--device", "cpu"]  # fmt: skip
    assert main(args) == 0
    assert "16 test digits" in capsys.readouterr().out


@pytest.mark.parametrize(("n", "world"), [(13, 2), (64, 2), (1, 2), (10, 3), (5, 4)])
def test_each_process_takes_its_share_and_the_shares_weigh_as_one_batch(n, world):
    shares = [Ranks(rank, world).share(n) for rank in range(world)]
    taken = [i for part, factor in shares if factor for i in range(n)[part]]
    assert taken == list(range(n))  # every digit once, in order
    sizes = [part.stop - part.start for part, factor in shares if factor]
    assert max(sizes) - min(sizes) <= 1
    # DistributedDataParallel averages the processes' gradients: each digit must weigh 1 / n, as in one batch
    weights = [factor / (part.stop - part.start) / world for part, factor in shares if factor]
    assert weights == pytest.approx([1 / n] * len(weights))
    assert all(part == slice(0, 1) for part, factor in shares if not factor)  # an empty share trains on nothing


def test_one_process_trains_on_the_whole_batch_unscaled():
    assert Ranks().share(13) == (slice(0, 13), 1.0) and Ranks().is_main


def test_outside_torchrun_a_run_is_one_process_on_its_device(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert join(torch.device("cpu")) == (torch.device("cpu"), Ranks())


@pytest.mark.parametrize(
    ("device", "message"),
    [(torch.device("mps"), "torchrun runs on CPUs \\(gloo\\) or CUDA GPUs \\(nccl\\), not on MPS"),
     (torch.device("cuda", 1), "--device cuda:1: under torchrun give --device cuda; each process takes GPU")],
)  # fmt: skip
def test_under_torchrun_mps_and_a_fixed_gpu_are_refused_before_joining(monkeypatch, device, message):
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(ValueError, match=message):
        join(device)


@pytest.mark.slow
def test_a_process_killed_mid_run_leaves_rank_0s_last_step_for_resume_and_one_line(data_root, tmp_path):
    """One of two processes is killed during training: rank 0 ends with one line (no gloo traceback) and
    keeps the state of its last finished step in OUT.resume, which `resume` in one process finishes."""
    import re
    import threading
    import time

    out = tmp_path / "run.pt"
    args = ["train", "--model", "unet", "--widths", "4", "8", "16", "--data-root", str(data_root), "--epochs", "10",
            "--limit", "216", "--holdout", "8", "--batch-size", "16", "--threads", "1", "--out", str(out)]  # fmt: skip
    env = {**os.environ, "WORLD_SIZE": "2", "LOCAL_WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1",
           "MASTER_PORT": str(free_port())}  # fmt: skip
    ranks = [subprocess.Popen([sys.executable, "-m", "denoiser", *args], env={**env, "RANK": str(r), "LOCAL_RANK":
             str(r)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for r in range(2)]  # fmt: skip
    err = []
    reader = threading.Thread(target=lambda: err.extend(iter(lambda: ranks[0].stderr.read(1), "")), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 120
        while not re.search(r"\b([5-9]|\d\d+)/130\b", "".join(err)) and time.monotonic() < deadline:
            time.sleep(0.05)  # until rank 0's progress bar shows a few steps done
        ranks[1].kill()
        assert ranks[0].wait(timeout=60) == 1
    finally:
        for rank in ranks:
            rank.kill()
    reader.join(timeout=10)
    last = "".join(err).replace("\r", "\n").strip().splitlines()[-1]
    assert "Traceback" not in "".join(err) and "another process of the run stopped after step" in last
    assert f"python -m denoiser resume {out}.resume" in last
    steps = int(re.search(r"after step (\d+)", last).group(1))
    assert 0 < steps < 130 and load_checkpoint(f"{out}.resume")[2]["resume"]["steps"] == steps
    assert main(["resume", f"{out}.resume"]) == 0
    assert load_checkpoint(out)[2]["steps"] == 130 and not (tmp_path / "run.pt.resume").exists()
