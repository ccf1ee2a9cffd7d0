"""Plotly figures for the app: method comparison, PSNR against noise level, and the training loss.

Pure functions from numbers to `plotly.graph_objects.Figure`; nothing here draws on a page,
so the app and a notebook can share them. Infinite PSNRs (identical images) are drawn at
`PSNR_CAP` dB, since a chart axis cannot hold infinity.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go

from denoiser.methods import NOISY  # the row/curve of the undenoised input, drawn grey as the reference

PSNR_CAP = 60.0  # dB; where an infinite PSNR is drawn
NOISY_COLOUR = "#888888"
_LAYOUT = {"margin": {"l": 10, "r": 10, "t": 40, "b": 10}, "height": 320}


def import_pandas() -> None:
    """Finish importing pandas before plotly looks for it; called first by every figure.

    plotly takes pandas from sys.modules even while another thread is still importing it: two
    app sessions drawing their first figure at once crashed on a half-imported pandas. An import
    statement waits for another thread's import of the same module to finish. Not at module
    level: pandas costs about 65 MB, and a program that draws no chart never needs it (the app
    calls it once at start: the import holds the interpreter lock for about a second).
    """
    import pandas  # noqa: F401


def _finite(psnr: float) -> float:
    return min(psnr, PSNR_CAP) if not math.isnan(psnr) else float("nan")


def comparison_figure(rows: list[dict]) -> go.Figure:
    """Horizontal bars of PSNR and SSIM per method; `rows` as `evaluate.compare` gives them, best first."""
    import_pandas()
    rows = list(reversed(rows))  # plotly draws the first bar at the bottom
    names = [row["method"] for row in rows]
    grey = [name == NOISY for name in names]  # the noisy input is the reference, drawn grey
    psnr, ssim = [_finite(r["psnr"]) for r in rows], [r["ssim"] for r in rows]
    bars = [
        go.Bar(x=values, y=names, orientation="h", marker={"color": [NOISY_COLOUR if g else colour for g in grey]},
               xaxis=f"x{axis}", yaxis=f"y{axis}")
        for axis, values, colour in (("", psnr, "#4da3ff"), ("2", ssim, "#2f7fd8"))
    ]  # fmt: skip
    # Two panels laid out by hand: plotly's make_subplots took 11 of the 14 ms this figure cost,
    # and the compare tab redraws it on every slider move.
    titles = [
        {"text": text, "x": x, "xref": "paper", "y": 1.0, "yref": "paper", "yanchor": "bottom", "showarrow": False}
        for text, x in (("PSNR (dB, higher is better)", 0.225), ("SSIM (higher is better)", 0.775))
    ]
    layout = {"xaxis": {"domain": [0, 0.45]}, "xaxis2": {"domain": [0.55, 1]},
              "yaxis2": {"anchor": "x2", "matches": "y", "showticklabels": False}}  # fmt: skip
    return go.Figure(bars, {**layout, "annotations": titles, "showlegend": False, **_LAYOUT})


def level_figure(levels: list[float], curves: dict[str, list[float]], current: float, kind: str) -> go.Figure:
    """PSNR against noise level, one line per method, with the current level marked."""
    return moved_to(level_base(levels, curves, kind), current)


def level_base(levels: list[float], curves: dict[str, list[float]], kind: str) -> dict:
    """The levels figure with its mark at no level yet, checked by plotly, as a dict for `moved_to`."""
    import_pandas()
    lines = [
        {"type": "scatter", "x": levels, "y": [_finite(p) for p in psnrs], "mode": "lines+markers", "name": name,
         "line": {"dash": "dot" if name == NOISY else None}}
        for name, psnrs in curves.items()
    ]  # fmt: skip
    # The marked level as a shape and its label, as `add_vline` makes them: built as one figure from
    # plain data, it costs a fifth of `add_trace` and `add_vline` (12 ms).
    marker = {"type": "line", "xref": "x", "y0": 0, "y1": 1, "yref": "y domain",
              "line": {"dash": "dash", "color": "grey"}}  # fmt: skip
    label = {"xref": "x", "y": 1, "yref": "y domain", "showarrow": False, "xanchor": "left", "yanchor": "top"}
    layout = {"shapes": [marker], "annotations": [label], "xaxis": {"title": {"text": f"{kind} noise level"}},
              "yaxis": {"title": {"text": "PSNR (dB)"}}, **_LAYOUT}  # fmt: skip
    return go.Figure(lines, layout).to_dict()


def moved_to(figure: dict, current: float) -> go.Figure:
    """A levels figure (`level_base(...)`, or `level_figure(...).to_dict()`) with its mark at level `current`.
    Not checked by plotly again: all but the mark's place was checked when the figure was made, and checking
    it all cost three quarters of a figure, paid on every new level."""
    layout = figure["layout"]
    marker = layout["shapes"][0] | {"x0": current, "x1": current}
    label = layout["annotations"][0] | {"x": current, "text": f"now: {current:.2f}"}
    return go.Figure({**figure, "layout": {**layout, "shapes": [marker], "annotations": [label]}}, _validate=False)


def smoothed(values: list[float], keep: float = 0.9) -> list[float]:
    """An exponential moving average of `values`, each point weighing the one before by `keep`, debiased (as
    TensorBoard's smoothing) so that the first points are not pulled towards zero."""
    average, out = 0.0, []
    for i, value in enumerate(values, start=1):
        average = keep * average + (1 - keep) * value
        out.append(average / (1 - keep**i))
    return out


def loss_figure(losses: list[float]) -> go.Figure:
    """The training loss per step, faint, under its smoothed trend (each batch's loss alone hides it)."""
    import_pandas()
    steps = list(range(1, len(losses) + 1))
    fig = go.Figure([go.Scatter(x=steps, y=losses, mode="lines", name="each step", opacity=0.3),
                     go.Scatter(x=steps, y=smoothed(losses), mode="lines", name="smoothed")])  # fmt: skip
    fig.update_layout(xaxis_title="step", yaxis_title="loss", **{**_LAYOUT, "height": 240})
    return fig
