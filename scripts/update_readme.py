"""Write the generated results into the docs pages and the README, so no number is typed by hand.

    python -m scripts.update_readme            # after `python -m denoiser benchmark --out docs/benchmark`, etc.

Each docs page (docs/benchmark, docs/speed, docs/load) holds its generated markdown between
`<!-- NAME:start -->` and `<!-- NAME:end -->`; README.md holds a short table of headline figures,
read from the results JSON files, between `<!-- results:start -->` and `<!-- results:end -->`.
weights/README.md is written whole from the checkpoints' own metadata.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

from denoiser.baselines import BASELINE_NAMES
from scripts import move_cost

ROOT = Path(__file__).resolve().parent.parent
PAGES = {  # docs page -> its generated sections: marker name -> (generated markdown, figure shown under it or None)
    "docs/benchmark/README.md": {"benchmark": ("docs/benchmark/results.md", "docs/benchmark/psnr_vs_level.png")},
    "docs/speed/README.md": {"speed": ("docs/speed/results.md", None)},
    "docs/targets/README.md": {
        "targets": ("docs/targets/results.md", None),
        "own-picture": ("docs/targets/own_picture.md", None),
    },
    "docs/load/README.md": {
        "page-cost": ("docs/load/page_cost.md", None),
        "load": ("docs/load/results.md", None),
        "load-ramp": ("docs/load/ramp/results.md", None),
        "load-stress": ("docs/load/stress/results.md", None),
        "loadgen": ("docs/load/loadgen/results.md", None),
        "capacity": ("docs/load/capacity/results.md", None),
        "move-cost": ("docs/load/move_cost/results.md", None),
    },
}


def splice(page: str, name: str, body: str) -> str:
    """Replace the text between the markers of section `name` with `body`."""
    pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.S)
    if not pattern.search(page):
        raise ValueError(f"no <!-- {name}:start --> ... <!-- {name}:end --> markers")
    return pattern.sub(lambda m: m.group(1) + body.rstrip() + "\n" + m.group(2), page)


def demote(markdown: str, top: int = 2) -> str:
    """Shift the headings of a generated file so its top one has `top` #s (under the page's own title)."""
    levels = [len(m) for m in re.findall(r"^(#+) ", markdown, flags=re.M)]
    shift = top - min(levels) if levels else 0
    return re.sub(r"^(#+) ", lambda m: "#" * min(6, len(m.group(1)) + shift) + " ", markdown, flags=re.M)


def page_text(root: Path, page: str) -> str:
    """A docs page with each of its generated sections refreshed; a section whose source is missing is kept."""
    text = (root / page).read_text()
    for name, (table, figure) in PAGES[page].items():
        if not (root / table).exists():
            continue
        body = demote((root / table).read_text())
        if figure and (root / figure).exists():
            body += f"\n![PSNR against noise level]({os.path.relpath(root / figure, (root / page).parent)})\n"
        text = splice(text, name, body)
    return text


# Headline figures for README.md: each results file gives some rows, linked to the page that explains it.
Row = tuple[str, str]  # (what was measured, the figure)


def _benchmark_rows(result: dict) -> list[Row]:
    """PSNR at gaussian 0.5 (unet, the best classical filter, noisy), cells won, digits read."""
    cell = result["results"]["gaussian"]["0.5"]
    best = max((m for m in BASELINE_NAMES if m in cell), key=lambda m: cell[m]["psnr"])
    n = result["meta"]["n"]
    cells = [c for levels in result["results"].values() for c in levels.values()]
    rivals = [m for m in result["methods"] if m not in ("unet", "noisy")]
    won = sum(all(c["unet"][k] > c[m][k] for m in rivals for k in ("psnr", "ssim")) for c in cells)
    rows = [
        (
            f"mean PSNR at gaussian 0.5, {n:,} test digits: `unet` / best classical filter (`{best}`) / noisy",
            f"{cell['unet']['psnr']:.2f} / {cell[best]['psnr']:.2f} / {cell['noisy']['psnr']:.2f} dB",
        ),
        (
            f"cells of the noise grid where `unet` beats all {len(rivals)} other denoisers in PSNR and SSIM",
            f"{won} of {len(cells)}",
        ),
    ]
    if result.get("targets"):
        missed = [t["target"] for t in result["targets"] if not t["met"]]
        rows.append(
            (
                "the benchmark's quality targets met" + (f" (missed: {'; '.join(missed)})" if missed else ""),
                f"{len(result['targets']) - len(missed)} of {len(result['targets'])}",
            )
        )
    if result.get("classifier", {}).get("available"):
        acc = result["classifier"]["accuracy"]["gaussian"]
        rows.append(
            (
                "digits the classifier reads at gaussian 0.5: clean / after `unet` / noisy",
                f"{100 * result['classifier']['clean']:.1f}% / {100 * acc['unet']:.1f}% / {100 * acc['noisy']:.1f}%",
            )
        )
    return rows


def _realworld_rows(result: dict) -> list[Row]:
    """Digits found in simulated phone photos, and dim scans denoised as they are."""
    phone = next(s for s in result["extraction"] if s["scene"] == "phone")
    dim = next(s for s in result["as_is"] if s["scene"] == "dim")
    return [
        ("simulated phone photos of written digits: digit found and read", f"{100 * phone['read']:.1f}%"),
        (
            "dim, grainy scans denoised as they are: PSNR as is / after `unet`",
            f"{dim['as it is']['psnr_median']:.2f} / {dim['unet']['psnr_median']:.2f} dB",
        ),
    ]


def _reading_rows(result: dict) -> list[Row]:
    """Every digit of simulated pictures of numbers read, by scene; the 12-megapixel photo's time."""
    accuracy = sorted(scene["accuracy"] for scene in result["scenes"])
    big = next(scene for scene in result["scenes"] if scene["scene"] == "big_photo")
    return [
        (
            f"simulated pictures of numbers ({len(accuracy)} scenes): digit-string accuracy, lowest / highest scene",
            f"{100 * accuracy[0]:.1f}% / {100 * accuracy[-1]:.1f}%",
        ),
        ("a 12-megapixel photo of 34-40 digits: every digit found and read (median)", f"{big['median_seconds']:.2f} s"),
    ]


def _targets_rows(result: dict) -> list[Row]:
    """The unet at gaussian 0.5, trained with and without clean digits."""
    psnr = {
        r["targets"]: r["psnr"]
        for r in result["rows"]
        if (r["model"], r["kind"], r["level"]) == ("unet", "gaussian", 0.5)
    }
    runs = f"{result['meta']['digits']:,} digits, {result['meta']['models']['unet']['epochs']} epochs"
    return [
        (
            f"`unet` trained alike ({runs}) at gaussian 0.5 from clean digits / two noisy copies / the noisy digits",
            f"{psnr['clean']:.2f} / {psnr['noisy']:.2f} / {psnr['self']:.2f} dB",
        )
    ]


def _speed_rows(result: dict) -> list[Row]:
    """The unet's time per digit and its throughput, and the app's rerun."""
    batch = max((k for k in result["throughput"] if k.startswith("unet @ ")), key=lambda k: int(k.split("@ ")[1]))
    threads = result["threads"]
    return [
        (
            f"`unet`: one digit on {threads['app']} thread (median) / digits per second at batch "
            f"{int(batch.split('@ ')[1]):,} on {threads['batch']} threads",
            f"{result['latency']['unet']['median_ms']:.2f} ms / {result['throughput'][batch]:,.0f}",
        ),
        ("the app's rerun after a slider move (median)", f"{result['rerun']['median_ms']:.0f} ms"),
    ]


def _loadgen_rows(result: dict) -> list[Row]:
    """The server alone (protocol-level visitors, no browsers): latency with trainings, and CPU per move."""
    c, latency, memory = result["config"], result["latency_s"], result["server_memory"]
    what = (
        f"one server, {c['visitors']} visitors moving the slider while {c['trainings']} retrain (no browsers): "
        "latency median / 95th percentile; moves lost; peak memory of the server and its worker (PSS)"
    )
    figure = (
        f"{latency['median']:.2f} s / {latency['p95']:.2f} s; {result['moves']['lost']}; "
        f"{memory['peak_pss_mb_sum']:,.0f} MB"
    )
    return [(what, figure)]


def _capacity_rows(result: dict) -> list[Row]:
    """Visitors served at p95 under the limit, one process against two replicas."""
    found = result["capacity"]
    cells = " / ".join(f"{found[setup]['moves only']}, {found[setup]['with 2 trainings']}" for setup in found)
    what = (
        f"visitors served with a 95th percentile under {result['limit']:.0f} s, without / with 2 trainings: "
        f"{' / '.join(found)} (a lower bound, in steps of {result['step']})"
    )
    return [(what, cells)]


def _move_cost_rows(result: dict) -> list[Row]:
    """The server's CPU per slider move: the first page, the dearest other page, a trivial page (medians)."""
    medians, other = result["median_s"], move_cost.dearest(result["median_s"])
    what = (f"server CPU per slider move, one visitor (median of {result['rounds']} runs): the first page / the "
            f"dearest other ({other}) / a trivial page")  # fmt: skip
    figures = (medians[move_cost.FIRST], medians[other], medians[move_cost.TRIVIAL])
    return [(what, " / ".join(f"{1000 * ms:.0f} ms" for ms in figures))]


HEADLINES: list[tuple[str, str, Callable[[dict], list[Row]]]] = [  # results file, page that explains it, its rows
    ("docs/benchmark/results.json", "docs/benchmark/README.md", _benchmark_rows),
    ("docs/realworld/results.json", "docs/realworld/README.md", _realworld_rows),
    ("docs/reading/results.json", "docs/reading/README.md", _reading_rows),
    ("docs/targets/results.json", "docs/targets/README.md", _targets_rows),
    ("docs/speed/results.json", "docs/speed/README.md", _speed_rows),
    ("docs/load/loadgen/results.json", "docs/load/README.md", _loadgen_rows),
    ("docs/load/capacity/results.json", "docs/load/README.md", _capacity_rows),
    ("docs/load/move_cost/results.json", "docs/load/README.md", _move_cost_rows),
]


def headline(root: Path) -> str:
    """README's results table; a results file that does not exist (yet) gives no rows."""
    lines = ["| measured | result |", "| --- | ---: |"]
    for results, page, rows in HEADLINES:
        if (root / results).exists():
            result = json.loads((root / results).read_text())
            lines += [f"| {what} | [{figure}]({page}) |" for what, figure in rows(result)]
    if len(lines) == 2:
        return "No results yet: run the commands in docs/."
    return "\n".join(lines)


WEIGHTS_INTRO = """# Shipped weights

Generated by `python -m scripts.update_readme` from the metadata stored inside each checkpoint:
every figure below was recorded by the command that made the file. Each file is checked against
its SHA-256 in `manifest.json` before it is loaded; to regenerate one, run its command from the
repository root (with `../shared/mnist` as the data root, on the CPU), which also rewrites the manifest.
A command whose `--out` names a file under `runs/` was run there and its file then copied into `weights/`
(followed by `python -c "from denoiser.weights import write_manifest; write_manifest()"`).
Wall times are as the run recorded them, often with a second training or a test run sharing the two cores.
The folders `specialists/` and `specialists-stage1/` hold the benchmark's specialist unets, one per noise cell
([docs/benchmark/README.md](../docs/benchmark/README.md)); the app never loads them.
"""


def _figure(meta: dict) -> str:
    """The headline figure a checkpoint recorded: held-out PSNR (denoisers) or test accuracy (classifier)."""
    if meta.get("holdout"):
        h = meta["holdout"]
        return f"held-out PSNR {h['psnr']:.2f} dB (noisy {h['noisy_psnr']:.2f} dB) on {meta['n_holdout']} digits"
    if meta.get("test_accuracy") is not None:
        return f"test accuracy {100 * meta['test_accuracy']:.2f}% on {meta['n_test']} digits"
    return ""


def _commands(meta: dict) -> list[str]:
    """The commands that made a checkpoint, in order: those of its `--init` chain first, then its own.
    A run split over sittings (`--max-minutes`, then `denoiser resume`) says so under its command."""
    lines = []
    for run in [*meta.get("init_chain", []), meta]:
        command = run.get("command", "(no command recorded)")
        lines.append(command)
        if (run.get("sittings") or 1) > 1:  # None: a run from before sittings were recorded
            words = command.split()
            out = words[words.index("--out") + 1] if "--out" in words[:-1] else "runs/MODEL.pt"
            lines.append(f"python -m denoiser resume {out}.resume  # until it finishes: {run['sittings']} sittings")
    return lines


def _wall_time(meta: dict) -> str:
    """Seconds of the checkpoint's own run, or of each run in its `--init` chain and their total."""
    runs = [*meta.get("init_chain", []), meta]
    if len(runs) == 1 or any(run.get("seconds") is None for run in runs):
        return f"{meta.get('seconds', '?')} s"
    return " + ".join(f"{run['seconds']} s" for run in runs) + f" = {sum(run['seconds'] for run in runs):.1f} s"


def weights_readme(root: Path = ROOT) -> str:
    """weights/README.md: a section per checkpoint with its command, wall time and figures."""
    import torch

    lines = [WEIGHTS_INTRO]
    for name, digest in json.loads((root / "weights" / "manifest.json").read_text())["sha256"].items():
        meta = torch.load(root / "weights" / name, map_location="cpu", weights_only=True).get("meta", {})
        lines += [f"## `{name}`", "", "```bash", *_commands(meta), "```", ""]
        lines += [f"- wall time: {_wall_time(meta)} on {meta.get('versions', {}).get('torch', '?')} (CPU)"]
        lines += [f"- trained on {meta.get('n_train', '?')} digits, source `{meta.get('source', '?')}`"]
        if meta.get("n_not_digits"):  # the classifier with a class for what is no digit
            lines[-1] += f", and {meta['n_not_digits']} typeset letters and symbols as no digit"
        lines += [f"- {_figure(meta)}", f"- date: {meta.get('date', '?')}", f"- SHA-256: `{digest}`", ""]
    tuned = json.loads((root / "weights" / "baselines.json").read_text())["meta"]
    lines += ["## `baselines.json` (the classical filters' parameters)", "", "```bash", tuned["command"], "```", ""]
    lines += [f"- grid search on {tuned['n']} {tuned['split']} digits, {tuned['seconds']} s; date: {tuned['date']}", ""]
    return "\n".join(lines)


def render(root: Path = ROOT) -> dict[str, str]:
    """Every file this script writes (path relative to `root`) with the text it should hold."""
    pages = {page: page_text(root, page) for page in PAGES}
    pages["README.md"] = splice((root / "README.md").read_text(), "results", headline(root))
    pages["weights/README.md"] = weights_readme(root)
    return pages


def main() -> int:
    for path, text in render(ROOT).items():
        changed = (ROOT / path).read_text() != text
        (ROOT / path).write_text(text)
        print(f"{path}: {'rewritten' if changed else 'unchanged'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
