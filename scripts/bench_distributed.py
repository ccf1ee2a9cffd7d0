"""Training speed with torchrun: one process on two threads against two processes on one thread each.

    python -m scripts.bench_distributed --out docs/speed          # writes distributed.json and distributed.md

Each run is the first stage of the shipped unet's recipe, read from `weights/unet.pt` (batch 64,
`psnr` loss, the default widths), cut to `--limit` digits and one epoch, through the real command line:
`python -m denoiser train ... --threads 2`, `torchrun --standalone --nproc-per-node 2 -m denoiser
train ... --threads 1`, and for scale one process of one thread. Steps per second are the steps each
run's checkpoint records over the training wall time it records (start-up and the held-out measurement
excluded; the checkpoint rounds it to 0.1 s).

It then checks that torchrun changes the speed, not the model: the recipe `--source sample --epochs 1
--limit 1024 --holdout 128 --threads 1` is trained as one process and as two, and each checkpoint's
held-out PSNR is printed beside the test-split PSNR `evaluate --weights` gives it (gaussian 0.5).
The machine's load average (`uptime`) is recorded before each run: other work on the cores slows
every figure, and the two configurations compete with it differently.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from scripts.train_specialists import _set, shipped_commands

ROOT = Path(__file__).resolve().parent.parent
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
ONE = [sys.executable]
EQUIVALENCE = ["--model", "unet", "--source", "sample", "--epochs", "1", "--limit", "1024", "--holdout", "128",
               "--threads", "1"]  # fmt: skip
EVALUATE = ["--noise", "gaussian", "--level", "0.5"]
# (label, launcher, threads per process): the two layouts of two cores, and one core alone for scale
SPEED_RUNS = (("1 process x 2 threads", ONE, "2"), ("2 processes x 1 thread", TORCHRUN, "1"),
              ("1 process x 1 thread", ONE, "1"))  # fmt: skip


def load_average() -> str:
    """The 1, 5 and 15 minute load averages as `uptime` prints them."""
    return re.search(r"load average: (.*)", subprocess.check_output(["uptime"], text=True))[1].strip()


def denoiser(launcher: list[str], argv: list[str]) -> str:
    """Run `python -m denoiser ARGV` under `launcher` from the repository root; its standard output."""
    done = subprocess.run([*launcher, "-m", "denoiser", *argv], cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{' '.join(argv[:1])} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return done.stdout


def speed_argv(data_root: str, limit: int) -> list[str]:
    """The shipped unet's first training stage (`train ...`), cut to `limit` digits, one epoch, no held-out digits."""
    argv = shipped_commands(ROOT / "weights")[0]
    for flag, value in (("--data-root", data_root), ("--epochs", "1"), ("--limit", str(limit)), ("--holdout", "0")):
        argv = _set(argv, flag, value)
    return argv


def measure_speed(folder: Path, data_root: str, limit: int) -> list[dict]:
    """Steps/s of 1 process x 2 threads and 2 processes x 1 thread on the same steps, and of 1 x 1 for scale."""
    from denoiser.weights import load_checkpoint

    rows = []
    for label, launcher, threads in SPEED_RUNS:
        argv = _set(_set(speed_argv(data_root, limit), "--threads", threads), "--out", str(folder / "speed.pt"))
        load = load_average()
        denoiser(launcher, argv)
        meta = load_checkpoint(folder / "speed.pt")[2]
        steps, seconds = meta["steps"], meta["seconds"]
        rows.append({"run": label, "processes": meta["processes"], "threads": int(threads), "steps": steps,
                     "seconds": seconds, "steps_per_s": steps / seconds, "load_before": load})  # fmt: skip
    return rows


def check_equivalence(folder: Path, data_root: str) -> list[dict]:
    """The same small recipe trained as one and as two processes: held-out and test PSNR of each."""
    from denoiser.weights import load_checkpoint

    rows = []
    for label, launcher in (("1 process", ONE), ("2 processes (torchrun)", TORCHRUN)):
        out = folder / f"{len(rows) + 1}.pt"
        load = load_average()
        denoiser(launcher, ["train", *EQUIVALENCE, "--out", str(out)])
        meta = load_checkpoint(out)[2]
        args = ["evaluate", "--model", "unet", "--weights", str(out), "--data-root", data_root, *EVALUATE, "--json"]
        test = json.loads(denoiser(ONE, args))
        rows.append({"run": label, "processes": meta["processes"], "steps": meta["steps"],
                     "holdout_psnr": meta["holdout"]["psnr"], "test_psnr": test["psnr"], "n_test": test["n"],
                     "load_before": load})  # fmt: skip
    return rows


def markdown(r: dict) -> str:
    speed, same = r["speed"], r["equivalence"]
    lines = ["## Training with torchrun", "", f"`{r['command']}` on {r['machine']}, {r['date']}.", "",
             f"Speed: the shipped unet's first training stage (`{r['speed_command']}`), one epoch of "
             f"{speed[0]['steps']} steps of 64 digits.", "",
             "| run | steps / s | digits / s | steps | seconds | load average before (1, 5, 15 min) |",
             "| --- | ---: | ---: | ---: | ---: | --- |"]  # fmt: skip
    lines += [f"| {s['run']} | {s['steps_per_s']:.2f} | {64 * s['steps_per_s']:.0f} | {s['steps']} | "
              f"{s['seconds']:.1f} | {s['load_before']} |" for s in speed]  # fmt: skip
    ratio = speed[1]["steps_per_s"] / speed[0]["steps_per_s"]
    lines += ["", f"Two processes of one thread train at {ratio:.2f}x the speed of one process of two threads. "
              f"The runs shared the two cores with other work (load {r['load_after']} after the last one): a load "
              "above 2 means more runnable threads than cores, so these figures say how each layout copes with a "
              "busy machine, not only how fast it is alone.", "",
              f"Same model: `train {' '.join(EQUIVALENCE)}`, then `evaluate --weights FILE {' '.join(EVALUATE)}` "
              f"on {same[0]['n_test']} test digits.", "",
              "| run | steps | held-out PSNR (dB) | test PSNR, gaussian 0.5 (dB) | load average before |",
              "| --- | ---: | ---: | ---: | --- |"]  # fmt: skip
    lines += [f"| {s['run']} | {s['steps']} | {s['holdout_psnr']:.3f} | {s['test_psnr']:.3f} | {s['load_before']} |"
              for s in same]  # fmt: skip
    gaps = (abs(same[1]["holdout_psnr"] - same[0]["holdout_psnr"]), abs(same[1]["test_psnr"] - same[0]["test_psnr"]))
    lines += ["", f"Differences: {gaps[0]:.4f} dB held-out, {gaps[1]:.4f} dB on the test digits."]
    return "\n".join(lines) + "\n"


def main() -> int:
    import datetime as dt

    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "speed")
    parser.add_argument("--data-root", default=os.environ.get("DENOISER_DATA_ROOT", str(ROOT.parent / "shared/mnist")))
    parser.add_argument("--limit", type=int, default=2048, help="training digits of the speed runs (64 per step)")
    args = parser.parse_args()
    r = {"command": "python -m scripts.bench_distributed", "machine": f"{os.cpu_count()} CPU cores, torch "
         f"{torch.__version__}", "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}  # fmt: skip
    r["speed_command"] = " ".join(_set(_set(speed_argv("DIR", args.limit), "--threads", None), "--out", None))
    with tempfile.TemporaryDirectory() as folder:
        r["speed"] = measure_speed(Path(folder), args.data_root, args.limit)
        r["equivalence"] = check_equivalence(Path(folder), args.data_root)
    r["load_after"] = load_average()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "distributed.json").write_text(json.dumps(r, indent=2) + "\n")
    (args.out / "distributed.md").write_text(markdown(r))
    print(markdown(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
