"""Benchmark results -> a markdown table, a JSON file, and the PSNR-against-level figure (HTML and PNG).

Everything here reads the plain-data results of `benchmark.run_benchmark`; nothing is measured.
The interactive figure is plotly, with plotly.js embedded so it opens offline. The PNG is drawn
from the same numbers with matplotlib (Agg): plotly's own PNG export (kaleido) needs a Chrome
build it downloads or finds at run time, which a CI machine without network may not have.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

from ..methods import NOISY  # the row of the undenoised input
from ..metrics import json_ready
from ..weights import atomic_write_bytes

FILES = ("results.md", "results.json", "psnr_vs_level.html", "psnr_vs_level.png")


def markdown_table(header: list[str], rows: list[list], text: tuple[int, ...] = (0,)) -> list[str]:
    """A markdown table's lines: the columns `text` left-aligned (names, words), the others right-aligned (figures)."""
    align = ["---" if k in text else "---:" for k in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    return [*lines, *("| " + " | ".join(map(str, row)) + " |" for row in rows)]


def _fmt(value: float, digits: int) -> str:
    return "inf" if math.isinf(value) else f"{value:.{digits}f}"


def _kind_table(kind: str, by_level: dict, methods: list[str], seconds: dict) -> list[str]:
    """One markdown table: a row per method, a column per level, cells 'PSNR dB / SSIM'."""
    levels = list(by_level)
    header = ["method", *(f"level {level}" for level in levels), "ms / image"]
    rows = [[name, *(f"{_fmt(by_level[lv][name]['psnr'], 2)} / {_fmt(by_level[lv][name]['ssim'], 3)}" for lv in levels),
             f"{seconds[name] * 1000:.2f}"] for name in methods]  # fmt: skip
    return [f"### {kind}", "", *markdown_table(header, rows), ""]


def _classifier_table(report: dict) -> list[str]:
    """Accuracy (%) of the digit classifier on clean, noisy and denoised test digits."""
    info = report["classifier"]
    if not info["available"]:
        return [f"Classifier unavailable: {info['reason'].splitlines()[0]}", ""]
    kinds = list(info["accuracy"])
    header = ["method", *(f"{kind} {info['levels'][kind]}" for kind in kinds)]
    rows = [[name, *(f"{100 * info['accuracy'][k][name]:.1f}" for k in kinds)] for name in report["methods"]]
    title = f"### Digit classifier accuracy (%), clean test digits: {100 * info['clean']:.1f}"
    return [title, "", *markdown_table(header, rows), ""]


def _targets_table(report: dict) -> list[str]:
    """The quality targets (`targets.check_targets`): what each asks, what was measured, and whether it is met."""
    if "targets" not in report:
        return []
    marks = {True: "yes", False: "**no**", None: "not measured"}
    rows = [[t["target"], t["measured"], marks[t["met"]]] for t in report["targets"]]
    return ["### Targets", "", *markdown_table(["target", "measured", "met"], rows, text=(0, 1, 2)), ""]


def markdown(report: dict) -> str:
    """The results as markdown: a PSNR / SSIM table per noise kind, then the classifier's accuracy."""
    meta = report["meta"]
    lines = [
        "## Benchmark: mean PSNR (dB) / SSIM over the test digits",
        "",
        f"`{meta.get('command', 'python -m denoiser benchmark')}` on {meta['n']} test digits, noise seed {meta['seed']}"
        f" (data root `{meta.get('data_root', '')}`).",
        "",
    ]
    learned = [f"`{name}` from {targets} targets" for name, targets in report.get("trained_on", {}).items()]
    if learned:
        lines += ["Models learned: " + ", ".join(learned) + ".", ""]
    for name, reason in report["unavailable"].items():
        lines += [f"- {name}: unavailable ({reason.splitlines()[0]})", ""]  # the JSON has the whole message
    lines += _targets_table(report)
    for kind, by_level in report["results"].items():
        lines += _kind_table(kind, by_level, report["methods"], report["seconds_per_image"])
    lines += _classifier_table(report)
    for row in report.get("specialists", []):
        if "error" in row:
            lines.append(f"- specialist {row['file']}: {row['error']}")
        else:
            gap = f", blind unet {row['unet_psnr']:.2f} dB" if "unet_psnr" in row else ""
            how = f", {row['targets']} targets" if row.get("targets") else ""
            lines.append(
                f"- specialist {Path(row['file']).name} ({row['kind']} {row['level']}{how}): {row['psnr']:.2f} dB{gap}"
            )
    return "\n".join(lines).rstrip() + "\n"


def _series(report: dict, kind: str, name: str) -> tuple[list[float], list[float]]:
    """(levels, mean PSNR) of method `name` under noise `kind`."""
    by_level = report["results"][kind]
    return [float(level) for level in by_level], [by_level[level][name]["psnr"] for level in by_level]


def _colors(methods: list[str]) -> dict[str, str]:
    """One colour per method, the same in the HTML and the PNG; the noisy input is black."""
    from plotly.colors import qualitative

    palette = list(qualitative.Plotly)
    return {name: "black" if name == NOISY else palette[i % len(palette)] for i, name in enumerate(methods)}


def plotly_figure(report: dict):
    """PSNR against level: a subplot per noise kind, a line per method (legend shared)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    kinds = list(report["results"])
    fig = make_subplots(rows=1, cols=len(kinds), subplot_titles=kinds, shared_yaxes=True)
    colors = _colors(report["methods"])
    for name in report["methods"]:
        line = {"color": colors[name], "dash": "dash" if name == NOISY else "solid"}
        for col, kind in enumerate(kinds, start=1):
            x, y = _series(report, kind, name)
            trace = go.Scatter(x=x, y=y, name=name, legendgroup=name, showlegend=col == 1, line=line)
            fig.add_trace(trace, row=1, col=col)
            fig.update_xaxes(title_text="level", row=1, col=col)
    fig.update_yaxes(title_text="PSNR (dB)", row=1, col=1)
    fig.update_layout(title="Mean PSNR against noise level", height=480, width=1400)
    return fig


def matplotlib_png(report: dict) -> bytes:
    """The same figure as `plotly_figure`, drawn by matplotlib, as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")  # no display on CI
    import matplotlib.pyplot as plt

    kinds, colors = list(report["results"]), _colors(report["methods"])
    fig, axes = plt.subplots(1, len(kinds), figsize=(4.4 * len(kinds), 3.6), sharey=True, squeeze=False)
    for ax, kind in zip(axes[0], kinds, strict=True):
        for name in report["methods"]:
            style = "--" if name == NOISY else "-"  # the input: the line to beat
            ax.plot(*_series(report, kind, name), style, color=colors[name], marker="o", markersize=3, label=name)
        ax.set_title(kind)
        ax.set_xlabel("level")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("PSNR (dB)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, loc="center right")  # beside the plots, hiding no line
    fig.suptitle(f"Mean PSNR against noise level ({report['meta']['n']} test digits)")
    fig.tight_layout(rect=(0, 0, 0.9, 1))
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()


def write_outputs(report: dict, out: str | Path) -> list[Path]:
    """Write results.md, results.json, psnr_vs_level.html and psnr_vs_level.png into `out`, atomically."""
    out = Path(out)
    html = plotly_figure(report).to_html(include_plotlyjs=True, full_html=True)
    contents = {
        "results.md": markdown(report).encode(),
        "results.json": (json.dumps(json_ready(report), indent=1, allow_nan=False) + "\n").encode(),
        "psnr_vs_level.html": html.encode(),
        "psnr_vs_level.png": matplotlib_png(report),
    }
    for name, data in contents.items():
        atomic_write_bytes(out / name, data)
    return [out / name for name in FILES]
