"""Learning without clean digits, measured: one model trained from clean digits, from a second noisy copy
(Noise2Noise), from the noisy digits alone (Noise2Self) and from clipped noisy copies (the trap).

    python -m scripts.targets_study --data-root ../shared/mnist --out docs/targets

Then the command line itself, a short run: `python -m denoiser train --targets clean | noisy | self` at
gaussian 0.5 on 1,000 digits, each checkpoint measured on the same test digits.

For each model and noise cell, every run has the same first --digits training digits, epochs, seed, batch
size, learning rate and loss (the unet mse, the seed-ae its own bce: both are least at the mean target, which
fits gaussian and Poisson noise), on one torch thread; only the targets differ. Each is measured on the first
--test-digits digits of the test split, which no run saw. Writes results.json, results.md, psnr.png and
examples.png into --out; `python -m scripts.update_readme` puts results.md into docs/targets/README.md.
Nothing in the tables is typed by hand.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

from denoiser.bench.report import markdown_table
from denoiser.cli import main as denoiser_main
from denoiser.data import load_mnist
from denoiser.evaluate import denoise_batch, evaluate, make_noisy
from denoiser.metrics import json_ready, mean_metrics
from denoiser.noise import NoiseRange
from denoiser.train import TrainConfig, train
from denoiser.weights import atomic_write_bytes, build_model, load_checkpoint

# Each model's settings. The seed-ae is cheaper per step but slower to learn; under mse its sigmoid stalled it.
MODELS = {"unet": {"epochs": 10, "lr": 1e-3, "loss": "mse"}, "seed-ae": {"epochs": 20, "lr": 1e-3, "loss": "bce"}}
CELLS = (("gaussian", 0.3), ("gaussian", 0.5), ("poisson", 0.5))
TARGETS = ("clean", "noisy", "self", "noisy-clipped")
LABELS = {
    "clean": "clean digits",
    "noisy": "two noisy copies (Noise2Noise)",
    "self": "the noisy digits alone (Noise2Self)",
    "noisy-clipped": "clipped noisy copies (the trap)",
}
# How far below training on clean digits each may be, in dB; the trap must be at least this much worse.
GOALS = {"noisy": 0.3, "self": 2.0}
TRAP_MIN = 1.0
EXAMPLES = 5  # test digits shown in examples.png
# The command line's short run: 1,500 digits less 500 held out trains on 1,000; the same loss whatever the targets.
CLI_RUN = ["train", "--model", "unet", "--noise", "gaussian", "--level", "0.5", "--loss", "mse", "--epochs", "5",
           "--limit", "1500", "--holdout", "500", "--threads", "1"]  # fmt: skip
CLI_GOALS = {"noisy": 0.5, "self": 2.5}  # dB below the same run on clean targets
_SAME_LOSS = "`--loss mse` for clean targets too, so that only the targets differ."


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-root", type=Path, required=True, help="MNIST root (train and test splits)")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--digits", type=int, default=2000, help="training digits of every run")
    p.add_argument("--test-digits", type=int, default=5000, help="test digits every run is measured on")
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    p.add_argument("--seed", type=int, default=0, help="seeds the weights, the batches and the noise")
    return p.parse_args(argv)


def run_one(arch: str, kind: str, level: float, targets: str, digits, seed: int) -> tuple:
    """Train `arch` on `digits` at one noise cell from `targets`; (the model, its training's seconds and steps)."""
    config = TrainConfig(**MODELS[arch], batch_size=64, curriculum=(NoiseRange(kind, level, level),), seed=seed,
                         threads=1, targets=targets)  # fmt: skip
    model = build_model(arch, seed=seed)
    result = train(model, digits, config)
    return model, {"seconds": round(result.seconds, 1), "steps": result.steps}


def measure(model, clean: torch.Tensor, noisy: torch.Tensor) -> tuple[dict, torch.Tensor]:
    """Mean PSNR / SSIM / MSE of `model` on `noisy` against `clean`, and its mean output on pixels black in the
    clean digit: 0 is right, a grey background is the clipped targets' bias; and the denoised digits."""
    denoised = denoise_batch(model, noisy)
    return {**mean_metrics(clean, denoised), "background": float(denoised[clean == 0].mean())}, denoised


def run(args: argparse.Namespace) -> tuple[dict, dict]:
    """Every run of the study; (plain results, {(model, kind, level): {targets: example digits denoised}})."""
    torch.set_num_threads(1)
    digits = load_mnist(args.data_root, "train", download=False).subset(slice(0, args.digits))
    clean = load_mnist(args.data_root, "test", download=False).images[: args.test_digits]
    rows, examples = [], {}
    for kind, level in CELLS:
        noisy = make_noisy(clean, kind, level, seed=0)  # the same noisy test digits for every run of the cell
        noisy_row = {"model": "noisy", "kind": kind, "level": level, "targets": None, **mean_metrics(clean, noisy)}
        rows.append(noisy_row | {"background": float(noisy[clean == 0].mean())})
        for arch in args.models:
            for targets in TARGETS:
                model, how = run_one(arch, kind, level, targets, digits, args.seed)
                scores, denoised = measure(model, clean, noisy)
                rows.append({"model": arch, "kind": kind, "level": level, "targets": targets, **scores, **how})
                examples.setdefault((arch, kind, level), {})[targets] = denoised[:EXAMPLES]
                print(f"  {arch} {kind} {level} {targets}: {scores['psnr']:.2f} dB in {how['seconds']} s",
                      file=sys.stderr)  # fmt: skip
        examples.setdefault(("noisy", kind, level), {"clean": clean[:EXAMPLES], "noisy": noisy[:EXAMPLES]})
    return {"meta": _meta(args), "rows": rows, "goals": check_goals(rows), "cli": cli_runs(args, clean)}, examples


def cli_runs(args: argparse.Namespace, clean: torch.Tensor) -> list[dict]:
    """`python -m denoiser train` from each kind of target, run as a user types it (in this process), each
    checkpoint measured on the test digits at gaussian 0.5; the gap to clean targets and its goal."""
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for targets in ("clean", "noisy", "self"):
            argv = [*CLI_RUN, "--data-root", str(args.data_root), "--targets", targets, "--seed", str(args.seed),
                    "--out", str(Path(folder) / f"unet-{targets}.pt")]  # fmt: skip
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                if denoiser_main(argv) != 0:
                    raise RuntimeError("python -m denoiser " + " ".join(argv) + " failed")
            _, model, meta = load_checkpoint(argv[-1])
            scores = evaluate(model, clean, "gaussian", 0.5, seed=0)
            rows.append({"command": "python -m denoiser " + " ".join(argv[:-2]), "targets": targets,
                         "psnr": scores["psnr"], "seconds": meta["seconds"]})  # fmt: skip
    for row in rows[1:]:
        row["gap_db"] = row["psnr"] - rows[0]["psnr"]
        row["met"] = row["gap_db"] >= -CLI_GOALS[row["targets"]]
    return rows


def _meta(args: argparse.Namespace) -> dict:
    return {
        "command": "python -m scripts.targets_study " + " ".join(sys.argv[1:]), "digits": args.digits,
        "test_digits": args.test_digits, "seed": args.seed, "models": {m: MODELS[m] for m in args.models},
        "batch_size": 64, "threads": 1, "torch": str(torch.__version__),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }  # fmt: skip


def _psnr(rows: list[dict], arch: str, kind: str, level: float, targets: str) -> float:
    return next(r["psnr"] for r in rows if (r["model"], r["kind"], r["level"], r["targets"]) == (arch, kind, level,
                                                                                                  targets))  # fmt: skip


def check_goals(rows: list[dict]) -> list[dict]:
    """Per model and cell, each way without clean digits against clean ones: the gap in dB and whether it is
    within its goal (the trap: at least TRAP_MIN dB worse)."""
    goals = []
    for arch, kind, level in sorted({(r["model"], r["kind"], r["level"]) for r in rows if r["targets"]}):
        clean = _psnr(rows, arch, kind, level, "clean")
        for targets in ("noisy", "self", "noisy-clipped"):
            gap = _psnr(rows, arch, kind, level, targets) - clean
            met = gap <= -TRAP_MIN if targets == "noisy-clipped" else gap >= -GOALS[targets]
            goals.append({"model": arch, "kind": kind, "level": level, "targets": targets, "gap_db": gap, "met": met})
    return goals


def _goal_text(targets: str) -> str:
    return f">= {TRAP_MIN} dB worse" if targets == "noisy-clipped" else f"within {GOALS[targets]} dB"


def markdown(result: dict) -> str:
    """The study's tables: PSNR / SSIM and background per run, then each way's gap to clean digits and its goal."""
    meta, rows = result["meta"], result["rows"]
    models = "; ".join(f"{m}: {c['epochs']} epochs, lr {c['lr']}, loss {c['loss']}" for m, c in meta["models"].items())
    lines = ["## Clean, noisy and no targets: mean PSNR (dB) / SSIM on the test digits", "",
             f"`{meta['command']}`: {meta['digits']:,} training digits ({models}), batch {meta['batch_size']}, "
             f"seed {meta['seed']}, {meta['threads']} thread; {meta['test_digits']:,} test digits, "
             f"{meta['seconds'] / 60:.0f} minutes in all.",
             "", "| model | noise | learned from | PSNR / SSIM | background | training |",
             "| --- | --- | --- | ---: | ---: | ---: |"]  # fmt: skip
    for r in rows:
        how = f"{r['seconds']:.0f} s" if "seconds" in r else ""
        label = LABELS[r["targets"]] if r["targets"] else "(noisy input)"
        lines.append(f"| {r['model']} | {r['kind']} {r['level']} | {label} | {r['psnr']:.2f} / {r['ssim']:.3f} | "
                     f"{r['background']:.3f} | {how} |")  # fmt: skip
    lines += ["", "## Against clean digits", "", "| model | noise | learned from | PSNR vs clean | goal | met |",
              "| --- | --- | --- | ---: | --- | --- |"]  # fmt: skip
    for g in result["goals"]:
        lines.append(f"| {g['model']} | {g['kind']} {g['level']} | {LABELS[g['targets']]} | {g['gap_db']:+.2f} dB | "
                     f"{_goal_text(g['targets'])} | {'yes' if g['met'] else '**no**'} |")  # fmt: skip
    met = sum(g["met"] for g in result["goals"])
    return "\n".join([*lines, "", f"{met} of {len(result['goals'])} goals met.", "", *_cli_table(result["cli"])])


def _cli_table(rows: list[dict]) -> list[str]:
    """The command line's short runs: each command, its PSNR on the test digits, and its gap to clean targets."""
    cells = [[f"`{r['command']}`", f"{r['psnr']:.2f} dB", f"{r['gap_db']:+.2f} dB" if "gap_db" in r else "",
              f"within {CLI_GOALS[r['targets']]} dB" if "gap_db" in r else "",
              ("yes" if r["met"] else "**no**") if "met" in r else ""] for r in rows]  # fmt: skip
    header = ["command", "PSNR", "vs clean targets", "goal", "met"]
    return ["## The command line, a short run at gaussian 0.5", "",
            f"Each with `--out` a temporary file, measured on the same test digits; {_SAME_LOSS}", "",
            *markdown_table(header, cells, text=(0, 3, 4)), ""]  # fmt: skip


def psnr_png(result: dict) -> bytes:
    """Bars of PSNR per noise cell, one panel per model, one bar per way of learning; the noisy input dashed."""
    import matplotlib

    matplotlib.use("Agg")  # no display on CI
    import matplotlib.pyplot as plt

    rows, models = result["rows"], list(result["meta"]["models"])
    fig, axes = plt.subplots(1, len(models), figsize=(6.2 * len(models), 3.8), sharey=True, squeeze=False)
    width = 0.8 / len(TARGETS)
    for ax, arch in zip(axes[0], models, strict=True):
        for i, (kind, level) in enumerate(CELLS):
            for j, targets in enumerate(TARGETS):
                ax.bar(i + (j - 1.5) * width, _psnr(rows, arch, kind, level, targets), width, color=f"C{j}",
                       label=LABELS[targets] if i == 0 else None)  # fmt: skip
            noisy = _psnr(rows, "noisy", kind, level, None)
            ax.hlines(noisy, i - 0.4, i + 0.4, colors="black", linestyles="--", label="noisy input" if i == 0 else None)
        ax.set_xticks(range(len(CELLS)), [f"{kind} {level}" for kind, level in CELLS])
        ax.set_title(arch)
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].set_ylabel("mean PSNR (dB), test digits")
    fig.legend(*axes[0][0].get_legend_handles_labels(), loc="lower center", ncol=len(TARGETS) + 1, fontsize=8)
    return _png(fig, bottom=0.1)  # room for the legend below the panels, where it hides no bar


def examples_png(examples: dict, arch: str, kind: str, level: float) -> bytes:
    """Test digits at one cell: clean, noisy, then `arch` denoised after learning from each kind of target."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    given = examples[("noisy", kind, level)]
    learned = {LABELS[targets]: images for targets, images in examples[(arch, kind, level)].items()}
    columns = {"clean digit": given["clean"], "noisy input": given["noisy"], **learned}
    fig, axes = plt.subplots(EXAMPLES, len(columns), figsize=(1.5 * len(columns), 1.5 * EXAMPLES + 0.6))
    for col, (name, images) in enumerate(columns.items()):
        axes[0][col].set_title(name.replace(" (", "\n("), fontsize=7)
        for row in range(EXAMPLES):
            axes[row][col].imshow(images[row, 0].numpy(), cmap="gray", vmin=0, vmax=1)
            axes[row][col].axis("off")
    fig.suptitle(f"{arch} at {kind} {level}: test digits", fontsize=9)
    return _png(fig)


def _png(fig, bottom: float = 0.0) -> bytes:
    import matplotlib.pyplot as plt

    fig.tight_layout(rect=(0, bottom, 1, 1))
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    result, examples = run(args)
    result["meta"]["seconds"] = round(time.perf_counter() - start)
    arch = "unet" if "unet" in args.models else args.models[0]
    files = {"results.json": (json.dumps(json_ready(result), indent=1, allow_nan=False) + "\n").encode(),
             "results.md": markdown(result).encode(), "psnr.png": psnr_png(result),
             "examples.png": examples_png(examples, arch, "gaussian", 0.5)}  # fmt: skip
    for name, data in files.items():
        atomic_write_bytes(args.out / name, data)
        print(f"wrote {args.out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
