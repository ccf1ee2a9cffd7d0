"""The quality benchmark: every method on every noise kind and level, measured on the same noisy digits.

Methods: the shipped models (`unet`, `seed-ae`), the classical filters of `baselines` (each
with the parameters tuned for that kind and level on the training split), and the noisy
input itself as a row to beat. Each (kind, level) cell noises the test digits once from a
fixed seed, so every method sees exactly the same noisy digits. A digit classifier trained on
clean digits (`classifier`) checks that the denoised digits keep their identity, and optional
specialist unets, each trained on one kind and level, show what the blind model gives up.

`run_benchmark` returns plain data; `report.write_outputs` turns it into the table, figures and JSON.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .. import baselines, methods
from ..classifier import accuracy, load_classifier
from ..data import Digits
from ..device import resolve_device
from ..evaluate import Method, evaluate, make_noisy, model_method
from ..methods import FILTER_NAMES, MODEL_NAMES, NOISY
from ..metrics import mean_metrics
from ..noise import NOISE_KINDS
from ..noisy_targets import trained_on
from ..weights import WEIGHTS_DIR, WeightsError, load_checkpoint, load_pretrained, pretrained_meta
from .targets import check_targets

GRID: dict[str, tuple[float, ...]] = {
    "gaussian": (0.1, 0.3, 0.5, 0.7),
    "salt_pepper": (0.05, 0.1, 0.2, 0.4),  # a fraction of 0.4 replaced pixels already hides most strokes
    "speckle": (0.1, 0.3, 0.5, 0.7),
    "poisson": (0.1, 0.3, 0.5, 0.7),
}
# Where the classifier is asked: the middle strength of each kind.
CLASSIFIER_LEVELS = {"gaussian": 0.5, "salt_pepper": 0.2, "speckle": 0.5, "poisson": 0.5}

# A method factory gives the method to use at one (kind, level): models ignore both, filters are tuned per cell.
MethodFactory = Callable[[str, float], Method]


@dataclass
class BenchmarkConfig:
    grid: dict[str, tuple[float, ...]] = field(default_factory=lambda: dict(GRID))  # kind -> levels
    classifier_levels: dict[str, float] = field(default_factory=lambda: dict(CLASSIFIER_LEVELS))
    seed: int = 0  # noise seed of every cell
    weights_dir: Path = WEIGHTS_DIR  # shipped models, classifier.pt and manifest.json
    tuned_file: Path = baselines.TUNED_FILE  # the filters' tuned parameters
    specialists: Path | None = None  # a folder of specialist unet checkpoints, or None
    device: str = "cpu"  # where the models and the classifier run ("auto", "cuda", ...); filters run on the CPU


def _identity(noisy: torch.Tensor) -> torch.Tensor:
    return noisy


def load_methods(config: BenchmarkConfig) -> tuple[dict[str, MethodFactory], dict[str, str]]:
    """The methods to compare, in table order, and {name: reason} for models whose weights are unusable."""
    factories: dict[str, MethodFactory] = {NOISY: lambda kind, level: _identity}
    unavailable: dict[str, str] = {}
    for name in MODEL_NAMES:
        try:
            method = methods.get(name, device=config.device, weights_dir=config.weights_dir)
        except WeightsError as err:
            unavailable[name] = str(err)
            continue
        factories[name] = lambda kind, level, method=method: method
    for name in FILTER_NAMES:
        factories[name] = lambda kind, level, name=name: methods.get(
            name, kind, level, tuned_file=config.tuned_file, strict=True
        )
    return factories, unavailable


def _load_classifier(weights_dir: Path):
    """The shipped classifier, or (None, reason) when its weights are missing or damaged."""
    try:
        return load_classifier(weights_dir), ""
    except WeightsError as err:
        return None, str(err)


def run_cell(
    methods: dict[str, MethodFactory], clean: torch.Tensor, kind: str, level: float, seed: int
) -> tuple[dict, dict, dict]:
    """One (kind, level): ({method: mean metrics}, {method: seconds}, {method: denoised digits})."""
    noisy = make_noisy(clean, kind, level, seed)
    metrics, seconds, outputs = {}, {}, {}
    for name, factory in methods.items():
        method = factory(kind, level)
        start = time.perf_counter()
        outputs[name] = method(noisy)
        seconds[name] = time.perf_counter() - start
        metrics[name] = mean_metrics(clean, outputs[name])
    return metrics, seconds, outputs


def run_benchmark(
    digits: Digits,
    config: BenchmarkConfig | None = None,
    meta: dict | None = None,
    log: Callable[[str], None] | None = None,
) -> dict:
    """Measure every method on every cell of `config.grid` on `digits` (the test split); plain-data results."""
    config = config or BenchmarkConfig()
    log = log or (lambda line: None)
    methods, unavailable = load_methods(config)
    classifier, classifier_reason = _load_classifier(config.weights_dir)
    classifier = classifier.to(resolve_device(config.device)) if classifier is not None else None
    results: dict = {kind: {} for kind in config.grid}
    seconds = dict.fromkeys(methods, 0.0)
    accuracies: dict = {}
    for kind, levels in config.grid.items():
        for level in levels:
            metrics, cell_seconds, outputs = run_cell(methods, digits.images, kind, level, config.seed)
            results[kind][str(level)] = metrics
            for name, value in cell_seconds.items():
                seconds[name] += value
            if classifier is not None and config.classifier_levels.get(kind) == level:
                accuracies[kind] = {name: accuracy(classifier, out, digits.labels) for name, out in outputs.items()}
            log(f"  {kind} {level}: " + ", ".join(f"{n} {m['psnr']:.2f}" for n, m in metrics.items()))
    cells = sum(len(levels) for levels in config.grid.values())
    report = {
        "meta": _meta(digits, config, meta),
        "methods": list(methods),
        "trained_on": _trained_on([name for name in methods if name in MODEL_NAMES], config.weights_dir),
        "unavailable": unavailable,
        "results": results,
        "seconds_per_image": {name: s / (cells * len(digits)) for name, s in seconds.items()},
        "classifier": _classifier_report(classifier, classifier_reason, digits, config, accuracies),
    }
    if config.specialists is not None:
        report["specialists"] = run_specialists(
            config.specialists, digits, config.seed, config.weights_dir, log, config.device
        )
    report["targets"] = check_targets(report)
    return report


def _trained_on(names: list[str], weights_dir: Path) -> dict:
    """{model: the targets it learned from ("clean", "noisy", "self", ...)} of the shipped models measured."""
    return {name: trained_on(pretrained_meta(name, weights_dir)) for name in names}


def _meta(digits: Digits, config: BenchmarkConfig, meta: dict | None) -> dict:
    import numpy

    return {
        "split": "test", "n": len(digits), "seed": config.seed, "grid": {k: list(v) for k, v in config.grid.items()},
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "threads": torch.get_num_threads(),
        "device": str(resolve_device(config.device)),
        "versions": {"python": platform.python_version(), "torch": str(torch.__version__), "numpy": numpy.__version__},
        **(meta or {}),
    }  # fmt: skip


def _classifier_report(classifier, reason: str, digits: Digits, config: BenchmarkConfig, accuracies: dict) -> dict:
    """Accuracy on clean digits and, per kind at its classifier level, on noisy and each method's denoised digits."""
    if classifier is None:
        return {"available": False, "reason": reason}
    return {
        "available": True,
        "clean": accuracy(classifier, digits.images, digits.labels),
        "levels": {kind: level for kind, level in config.classifier_levels.items() if kind in accuracies},
        "accuracy": accuracies,  # {kind: {method: accuracy}}, "noisy" being the undenoised input
    }


SPECIALIST_FILE = re.compile(r"-(" + "|".join(NOISE_KINDS) + r")-([0-9.]+)\.pt$")


def specialist_cell(path: Path, meta: dict) -> tuple[str, float]:
    """The (kind, level) a specialist was trained on: its one-entry curriculum, else its file name."""
    curriculum = meta.get("train", {}).get("curriculum", [])
    if len(curriculum) == 1 and curriculum[0]["low"] == curriculum[0]["high"]:
        return curriculum[0]["kind"], float(curriculum[0]["low"])
    match = SPECIALIST_FILE.search(path.name)
    if not match:
        raise ValueError(f"{path} is not a specialist: neither a one-level curriculum nor a NAME-KIND-LEVEL.pt name")
    return match[1], float(match[2])


# What a specialist may change from the shipped unet's recipe: the noise it sees, and how it was run.
RECIPE_FREE = {"curriculum", "threads", "max_seconds"}


def _stages(meta: dict) -> list:
    """Steps of each training stage: the --init chain's runs, then this run."""
    return [run.get("steps") for run in meta.get("init_chain", [])] + [meta.get("steps")]


def _settings(meta: dict) -> dict:
    settings = {"targets": "clean", **meta.get("train", {})}  # a run from before targets existed used clean ones
    return {k: v for k, v in settings.items() if k not in RECIPE_FREE}


def _check_same_recipe(path: Path, model, meta: dict, shipped, shipped_meta: dict) -> None:
    """ValueError unless `model` is a finished run of the shipped unet's size and recipe (the specialist
    target compares like with like): same architecture, same steps per stage, same training settings."""
    if meta.get("stopped_early"):
        raise ValueError(f"{path} is unfinished (stopped at step {meta.get('steps')}); finish it with "
                         f"python -m denoiser resume {path}.resume")  # fmt: skip
    if model.config != shipped.config:
        raise ValueError(f"{path} is a {model.config}, the shipped unet a {shipped.config}: not the same size")
    mine, theirs = _stages(meta), _stages(shipped_meta)
    if mine != theirs:
        raise ValueError(f"{path} was trained in stages of {mine} steps, the shipped unet in {theirs}")
    mine, theirs = _settings(meta), _settings(shipped_meta)
    differ = sorted(k for k in mine.keys() | theirs.keys() if mine.get(k) != theirs.get(k))
    if differ:
        raise ValueError(f"{path} was trained with other settings than the shipped unet: {', '.join(differ)}")


def run_specialists(
    folder: str | os.PathLike,
    digits: Digits,
    seed: int,
    weights_dir: Path,
    log: Callable[[str], None],
    device: str | torch.device = "cpu",
) -> list[dict]:
    """Each specialist checkpoint in `folder` at its own kind and level, next to the blind `unet` there."""
    try:
        shipped = load_pretrained("unet", weights_dir)
        blind, shipped_meta = model_method(shipped, device), pretrained_meta("unet", weights_dir)
    except WeightsError:
        shipped = blind = shipped_meta = None
    rows = []
    for path in sorted(Path(folder).glob("*.pt")):
        try:
            name, model, meta = load_checkpoint(path)
            kind, level = specialist_cell(path, meta)
            if shipped is not None:
                _check_same_recipe(path, model, meta, shipped, shipped_meta)
        except (WeightsError, ValueError) as err:
            rows.append({"file": str(path), "error": str(err)})
            continue
        row = {"file": str(path), "model": name, "kind": kind, "level": level, "targets": trained_on(meta)}
        own = evaluate(model, digits.images, kind, level, seed, device)
        row.update(psnr=own["psnr"], ssim=own["ssim"])
        if blind is not None:
            ref = evaluate(blind, digits.images, kind, level, seed)
            row.update(unet_psnr=ref["psnr"], unet_ssim=ref["ssim"], gap_db=own["psnr"] - ref["psnr"])
        log(f"  specialist {path.name}: {row['psnr']:.2f} dB")
        rows.append(row)
    return rows
