"""The benchmark: the CLI's four output files, missing weights, specialists, and the report writers."""

from __future__ import annotations

import json

import pytest
import torch

from denoiser.baselines import BASELINE_NAMES
from denoiser.bench import benchmark
from denoiser.bench.benchmark import GRID, BenchmarkConfig, run_benchmark, run_specialists, specialist_cell
from denoiser.bench.report import FILES, markdown, write_outputs
from denoiser.cli import main
from denoiser.data import Digits
from denoiser.noise import NoiseRange
from denoiser.train import TrainConfig
from denoiser.weights import build_model, save_checkpoint, write_manifest


@pytest.fixture(scope="module")
def bench_out(data_root, tmp_path_factory):
    """One quick CLI run on the first 20 test digits, shared by the tests that read its files."""
    out = tmp_path_factory.mktemp("bench")
    assert main(["benchmark", "--data-root", str(data_root), "--limit", "20", "--out", str(out)]) == 0
    return out


def _few_digits(n: int = 6) -> Digits:
    """Random blobs stand in for digits where only the plumbing is tested."""
    g = torch.Generator().manual_seed(0)
    return Digits(torch.rand(n, 1, 28, 28, generator=g), torch.arange(n) % 10)


def test_cli_writes_the_four_files(bench_out):
    for name in FILES:
        assert (bench_out / name).stat().st_size > 0
    assert (bench_out / "psnr_vs_level.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "plotly" in (bench_out / "psnr_vs_level.html").read_text()[:100_000].lower()


def test_table_has_a_row_per_method_in_every_kind(bench_out):
    """The noisy input and every filter always have rows; a model has rows or is reported unavailable."""
    text = (bench_out / "results.md").read_text()
    for name in ("noisy", *BASELINE_NAMES):
        assert text.count(f"| {name} |") == len(GRID) + 1  # four kinds plus the classifier table
    for name in ("unet", "seed-ae"):
        assert f"| {name} |" in text or f"- {name}: unavailable" in text
    for kind in GRID:
        assert f"### {kind}" in text


def test_json_holds_every_cell_timing_and_classifier(bench_out):
    report = json.loads((bench_out / "results.json").read_text())
    assert report["meta"]["n"] == 20 and report["meta"]["split"] == "test"
    for kind, levels in GRID.items():
        assert [float(level) for level in report["results"][kind]] == list(levels)
        for cell in report["results"][kind].values():
            assert set(cell) == set(report["methods"])
            assert all(0 <= m["ssim"] <= 1 for m in cell.values())
    assert set(report["seconds_per_image"]) == set(report["methods"])
    assert report["classifier"]["available"], report["classifier"].get("reason")
    assert set(report["classifier"]["accuracy"]) == set(GRID)
    assert report["classifier"]["clean"] >= 0.9
    # The targets are checked on the run's own numbers; without --specialists that target is "not measured".
    targets = report["targets"]
    assert len(targets) == 4 and targets[0]["measured"].endswith(" dB") and targets[2]["met"] is None
    assert "### Targets" in (bench_out / "results.md").read_text()
    assert report["trained_on"] == {"unet": "clean", "seed-ae": "clean"}  # how each measured model learned
    assert "Models learned: `unet` from clean targets" in (bench_out / "results.md").read_text()


def test_same_seed_gives_the_same_numbers(test_digits, bench_out):
    """Fixed noise seeds: a second run on the same digits repeats the filters' numbers exactly."""
    report = json.loads((bench_out / "results.json").read_text())
    config = BenchmarkConfig(grid={"gaussian": (0.5,)}, classifier_levels={})
    again = run_benchmark(test_digits.subset(slice(0, 20)), config)
    assert again["results"]["gaussian"]["0.5"]["median"] == report["results"]["gaussian"]["0.5"]["median"]


def test_missing_weights_mark_models_unavailable_and_the_run_goes_on(tmp_path):
    config = BenchmarkConfig(grid={"gaussian": (0.5,)}, weights_dir=tmp_path)
    report = run_benchmark(_few_digits(), config)
    assert set(report["unavailable"]) == {"unet", "seed-ae"}
    assert "does not exist" in report["unavailable"]["unet"]
    assert report["methods"] == ["noisy", *BASELINE_NAMES]
    assert not report["classifier"]["available"]
    assert "unet: unavailable" in markdown(report)


def test_damaged_weights_are_unavailable_too(tmp_path):
    (tmp_path / "unet.pt").write_bytes(b"garbage")
    methods, unavailable = benchmark.load_methods(BenchmarkConfig(weights_dir=tmp_path))
    assert "unet" in unavailable and "unet" not in methods


def test_specialists_are_evaluated_at_their_own_cell(tmp_path):
    model = build_model("unet", seed=0)  # untrained: only the plumbing is tested
    save_checkpoint(tmp_path / "unet-gaussian-0.5.pt", "unet", model, {})
    (tmp_path / "unet-poisson-0.3.pt").write_bytes(b"damaged")
    rows = run_specialists(tmp_path, _few_digits(), seed=0, weights_dir=tmp_path, log=lambda line: None)
    good, bad = (r for r in rows if "error" not in r), (r for r in rows if "error" in r)
    good, bad = next(good), next(bad)
    assert (good["kind"], good["level"]) == ("gaussian", 0.5) and good["psnr"] > 0
    assert "unet_psnr" not in good  # no blind unet in tmp_path to compare with
    assert "unet-poisson-0.3.pt" in bad["file"]


def test_only_finished_specialists_of_the_shipped_size_and_recipe_count(tmp_path):
    """The specialist target compares like with like: an unfinished run, another size or other settings
    would make the blind model look closer to (or further from) its specialists than it is."""
    small = {"widths": (4, 8, 16), "mid_blocks": 0}
    recipe = {"steps": 10, "init_chain": [{"steps": 20}]}
    shipped = TrainConfig(epochs=2, threads=2).to_dict()
    del shipped["targets"]  # as the shipped weights' meta: written before targets existed, from clean ones
    save_checkpoint(tmp_path / "unet.pt", "unet", build_model("unet", small, seed=0), {**recipe, "train": shipped})
    write_manifest(tmp_path)
    folder, gaussian = tmp_path / "specialists", (NoiseRange("gaussian", 0.5, 0.5),)

    def specialist(file: str, config: dict = small, **changes) -> None:
        meta = {**recipe, "train": TrainConfig(epochs=2, threads=1, curriculum=gaussian).to_dict()}
        train = {**meta["train"], **changes.pop("train", {})}
        save_checkpoint(folder / file, "unet", build_model("unet", config, seed=1), {**meta, "train": train, **changes})

    specialist("a-same.pt")  # only the noise and the thread count differ: it counts
    specialist("b-unfinished.pt", stopped_early=True)
    specialist("c-wider.pt", {"widths": (8, 8, 16), "mid_blocks": 0})
    specialist("d-shorter.pt", init_chain=[{"steps": 5}])
    specialist("e-other-lr.pt", train={"lr": 5e-4})
    specialist("f-noisy-targets.pt", train={"targets": "noisy"})
    rows = {row["file"].split("/")[-1]: row for row in run_specialists(folder, _few_digits(), 0, tmp_path, print)}
    assert "gap_db" in rows["a-same.pt"] and "error" not in rows["a-same.pt"]
    assert rows["a-same.pt"]["targets"] == "clean"
    assert "python -m denoiser resume" in rows["b-unfinished.pt"]["error"]
    assert "not the same size" in rows["c-wider.pt"]["error"]
    assert "stages of [5, 10] steps, the shipped unet in [20, 10]" in rows["d-shorter.pt"]["error"]
    assert rows["e-other-lr.pt"]["error"].endswith("other settings than the shipped unet: lr")
    assert rows["f-noisy-targets.pt"]["error"].endswith("other settings than the shipped unet: targets")


def test_specialist_cell_prefers_the_stored_curriculum(tmp_path):
    meta = {"train": {"curriculum": [{"kind": "speckle", "low": 0.5, "high": 0.5}]}}
    assert specialist_cell(tmp_path / "whatever.pt", meta) == ("speckle", 0.5)
    assert specialist_cell(tmp_path / "unet-salt_pepper-0.2.pt", {}) == ("salt_pepper", 0.2)
    with pytest.raises(ValueError, match="not a specialist"):
        specialist_cell(tmp_path / "unet.pt", {})


def test_write_outputs_handles_a_small_report(tmp_path):
    report = run_benchmark(_few_digits(), BenchmarkConfig(grid={"poisson": (0.3, 0.7)}, weights_dir=tmp_path))
    paths = write_outputs(report, tmp_path / "out")
    assert [p.name for p in paths] == list(FILES) and all(p.exists() for p in paths)


def test_bad_limit_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["benchmark", "--limit", "0"])
    assert exit_info.value.code == 2
    assert "--limit" in capsys.readouterr().err


def test_results_json_is_strict_json_even_with_an_infinite_psnr(test_digits, tmp_path):
    """At level 0 the noisy row is the clean digit (PSNR inf): results.json writes null and says why."""
    config = BenchmarkConfig(grid={"gaussian": (0.0,)}, classifier_levels={})
    report = run_benchmark(test_digits.subset(slice(0, 4)), config)
    write_outputs(report, tmp_path)
    text = (tmp_path / "results.json").read_text()
    saved = json.loads(text, parse_constant=lambda name: pytest.fail(f"not JSON: {name}"))
    assert saved["results"]["gaussian"]["0.0"]["noisy"]["psnr"] is None
    assert "results.gaussian.0.0.noisy.psnr (inf)" in saved["note"]
