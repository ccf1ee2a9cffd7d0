"""Weights that are hostile, mismatched or damaged are refused with a WeightsError; training never writes weights/.

Complements test_weights.py (truncated, swapped and missing files, interrupted saves).
"""

import dataclasses
import io
import json
import math
import pathlib
import pickle
import shutil
import zipfile

import pytest
import torch

from denoiser import weights
from denoiser.cli import main
from denoiser.evaluate import denoise_batch, evaluate, model_method
from denoiser.weights import (
    WEIGHTS_DIR,
    WeightsError,
    build_model,
    checkpoint_bytes,
    load_checkpoint,
    load_pretrained,
    write_manifest,
)


class TouchOnLoad:
    """Pickles to a call of `Path.touch(marker)`: unpickling it runs code, as a malicious file's would."""

    def __init__(self, marker: pathlib.Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return pathlib.Path.touch, (self.marker,)


@pytest.fixture
def weights_copy(tmp_path):
    """A copy of the shipped weights folder that a test may damage."""
    folder = tmp_path / "weights"
    shutil.copytree(WEIGHTS_DIR, folder)
    return folder


def test_a_checkpoint_that_runs_code_when_unpickled_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "code-ran"
    hostile = tmp_path / "hostile.pt"
    torch.save({"model": "unet", "config": {}, "state_dict": TouchOnLoad(marker), "meta": {}}, hostile)
    with pytest.raises(WeightsError, match=r"hostile\.pt is damaged or not a denoiser checkpoint"):
        load_checkpoint(hostile)
    with pytest.raises(WeightsError, match="the uploaded weights"):
        load_checkpoint(hostile.read_bytes())
    assert not marker.exists()


def test_a_hostile_file_in_weights_with_a_matching_manifest_is_still_refused(weights_copy, tmp_path):
    """Even if an attacker rewrites the manifest too, weights_only=True keeps the code from running."""
    marker = tmp_path / "code-ran"
    torch.save({"model": "unet", "config": {}, "state_dict": TouchOnLoad(marker)}, weights_copy / "unet.pt")
    write_manifest(weights_copy)
    with pytest.raises(WeightsError, match=r"unet\.pt is damaged.*weights/README\.md"):
        load_pretrained("unet", weights_copy)
    assert not marker.exists()


def test_weights_of_the_wrong_shape_for_their_config_are_refused(tmp_path):
    small = build_model("unet", {"widths": (4, 8, 16)}, seed=0)
    payload = torch.load(
        __import__("io").BytesIO(checkpoint_bytes("unet", small)), weights_only=True
    )  # a real checkpoint...
    payload["config"]["widths"] = (8, 16, 32)  # ...whose config no longer matches its tensors
    path = tmp_path / "mismatch.pt"
    torch.save(payload, path)
    with pytest.raises(WeightsError, match=r"mismatch\.pt is damaged.*loading state_dict"):
        load_checkpoint(path)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda p: p["config"].update(dropout=0.5), "unknown keys"),
        (lambda p: p.update(model="resnet"), "model must be one of"),
        (lambda p: p.pop("state_dict"), "state_dict"),
        (lambda p: p["state_dict"].popitem(), "loading state_dict"),
    ],
    ids=["unknown config key", "unknown model", "no state_dict", "missing tensor"],
)
def test_checkpoints_that_do_not_fit_their_model_are_refused(tmp_path, change, why):
    payload = {"model": "seed-ae", "config": {}, "state_dict": build_model("seed-ae", seed=0).state_dict(), "meta": {}}
    change(payload)
    path = tmp_path / "odd.pt"
    torch.save(payload, path)
    with pytest.raises(WeightsError, match=why):
        load_checkpoint(path)


@pytest.mark.parametrize(
    "manifest", ["{not json", '{"sums": {}}', '{"sha256": ["unet.pt"]}', "\udcff".encode("utf-8", "surrogatepass")]
)
def test_a_damaged_manifest_gives_a_weights_error_not_a_crash(weights_copy, manifest):
    path = weights_copy / "manifest.json"
    path.write_bytes(manifest if isinstance(manifest, bytes) else manifest.encode())
    with pytest.raises(WeightsError, match=r"manifest\.json is damaged"):
        load_pretrained("unet", weights_copy)


def test_a_folder_in_place_of_the_weights_file_is_reported_as_missing(weights_copy):
    (weights_copy / "unet.pt").unlink()
    (weights_copy / "unet.pt").mkdir()
    with pytest.raises(WeightsError, match=r"unet\.pt does not exist"):
        load_pretrained("unet", weights_copy)


def test_inference_never_changes_a_shared_model():
    """The app shares one loaded model between visitors (st.cache_resource): using it must not alter it."""
    model = load_pretrained("seed-ae")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    clean = torch.rand(8, 1, 28, 28)
    denoised = denoise_batch(model, clean)
    evaluate(model_method(model), clean, "gaussian", 0.5, seed=3)
    assert not model.training and not denoised.requires_grad
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_train_without_out_writes_under_runs_and_never_into_weights(tmp_path, monkeypatch, capsys):
    written = []
    real_write = weights.atomic_write_bytes

    def record(path, data):
        written.append(pathlib.Path(path).resolve())
        real_write(path, data)

    monkeypatch.setattr(weights, "atomic_write_bytes", record)
    monkeypatch.chdir(tmp_path)
    args = ["train", "--model", "unet", "--widths", "4", "8", "16", "--source", "sample", "--epochs", "1",
            "--limit", "40", "--holdout", "8", "--batch-size", "16", "--threads", "1"]  # fmt: skip
    assert main(args) == 0
    assert written == [(tmp_path / "runs" / "unet.pt").resolve()]
    assert not any(path.is_relative_to(WEIGHTS_DIR) for path in written)
    assert load_checkpoint(tmp_path / "runs" / "unet.pt")[0] == "unet"
    assert json.loads((WEIGHTS_DIR / "manifest.json").read_text())["sha256"]  # the shipped manifest still reads


def _save(path, payload) -> pathlib.Path:
    torch.save(payload, path)
    return path


def _seed_ae_payload() -> dict:
    return {"model": "seed-ae", "config": {}, "state_dict": build_model("seed-ae", seed=0).state_dict(), "meta": {}}


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_weights_are_refused_and_evaluate_exits_1(tmp_path, capsys, bad):
    payload = _seed_ae_payload()
    payload["state_dict"]["net.0.weight"][0, 0, 1, 1] = bad
    path = _save(tmp_path / "nan.pt", payload)
    with pytest.raises(WeightsError, match=r"nan\.pt is damaged .*net\.0\.weight holds NaN or infinite weights"):
        load_checkpoint(path)
    args = ["evaluate", "--model", "seed-ae", "--weights", str(path), "--source", "sample", "--split", "train",
            "--noise", "gaussian", "--level", "0.5", "--limit", "4"]  # fmt: skip
    assert main(args) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "NaN or infinite" in err[0]


def test_a_tiny_file_asking_for_a_huge_model_is_refused_before_any_weight_is_allocated(tmp_path, monkeypatch):
    """The config is checked against what the file could hold, on torch's meta device, before building."""
    devices = []
    real = weights.REGISTRY["unet"]

    def build(config):
        devices.append(torch.empty(0).device.type)  # "meta" while counting, "cpu" when really built
        return real.build(config)

    monkeypatch.setitem(weights.REGISTRY, "unet", dataclasses.replace(real, build=build))
    crafted = {"model": "unet", "config": {"widths": [64, 64], "mid_blocks": 4}, "state_dict": {}}  # ~300k weights
    path = _save(tmp_path / "crafted.pt", crafted)
    assert path.stat().st_size < 2000
    with pytest.raises(WeightsError, match=r"asks for [\d,]+ weights, more than a file of [\d,]+ bytes holds"):
        load_checkpoint(path)
    assert devices == ["meta"]


@pytest.mark.parametrize(
    ("config", "named"),
    [
        # Just past each bound: without the bounds, a test of larger values would itself exhaust memory.
        ({"widths": [513, 513]}, r"UNetConfig\.widths must be a whole number in 1\.\.512"),
        ({"mid_blocks": 33}, r"UNetConfig\.mid_blocks must be a whole number in 0\.\.32"),
        ({"widths": "abc"}, r"UNetConfig\.widths must list 2\.\.3"),
        ({"widths": [8, 8, 8, 8]}, r"UNetConfig\.widths must list 2\.\.3"),
    ],
)
def test_absurd_configs_in_a_checkpoint_are_refused_in_one_line(tmp_path, config, named):
    path = _save(tmp_path / "absurd.pt", {"model": "unet", "config": config, "state_dict": {}, "meta": {}})
    with pytest.raises(WeightsError, match=named) as refused:
        load_checkpoint(path)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda p: p.update(meta="trained yesterday"), r"its 'meta' is a str, not a dict"),
        (lambda p: p.update(config=[16, 32]), r"its 'config' is a list, not a dict"),
        (lambda p: p.update(model=3), r"its 'model' is a int, not a str"),
        (lambda p: p.update(state_dict=None), r"its 'state_dict' is a NoneType, not a dict"),
        (lambda p: p.pop("model"), r"it has no 'model'"),
    ],
)
def test_malformed_checkpoint_tables_are_refused_saying_which_part(tmp_path, change, named):
    payload = _seed_ae_payload()
    change(payload)
    with pytest.raises(WeightsError, match=named):
        load_checkpoint(_save(tmp_path / "odd.pt", payload))


def test_a_checkpoint_that_is_not_a_table_is_refused(tmp_path):
    with pytest.raises(WeightsError, match="it holds a list, not a checkpoint table"):
        load_checkpoint(_save(tmp_path / "list.pt", [1, 2, 3]))


def test_a_compressed_checkpoint_is_refused_before_torch_inflates_it(tmp_path):
    plain = zipfile.ZipFile(io.BytesIO(checkpoint_bytes("seed-ae", build_model("seed-ae", seed=0))))
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", compression=zipfile.ZIP_DEFLATED) as out:
        for info in plain.infolist():
            out.writestr(info.filename, plain.read(info))
    with pytest.raises(WeightsError, match="compressed or larger than the file"):
        load_checkpoint(packed.getvalue())


@pytest.mark.parametrize("kind", ["random bytes", "pickle", "pickled object"])
def test_refusals_never_advise_loading_with_weights_only_false(tmp_path, kind):
    path = tmp_path / "odd.pt"
    if kind == "random bytes":
        path.write_bytes(bytes(range(256)) * 8)
    elif kind == "pickle":
        path.write_bytes(pickle.dumps({"model": "unet", "state_dict": {}}))
    else:
        torch.save({"model": "unet", "config": {}, "state_dict": TouchOnLoad(tmp_path / "ran"), "meta": {}}, path)
    with pytest.raises(WeightsError) as refused:
        load_checkpoint(path)
    assert "weights_only" not in str(refused.value) and "odd.pt is damaged" in str(refused.value)
