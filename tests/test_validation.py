"""Every public entry point that takes a kind, level, seed or name refuses bad values with a ValueError naming it.

The values are the ones a shared URL, a form or a script can carry: unknown names, levels
outside [0, 1], NaN and infinity, negative or fractional seeds, and text where a number belongs.
"""

import math

import numpy as np
import pytest
import torch

from denoiser import baselines
from denoiser.data import load_digits
from denoiser.evaluate import evaluate, make_noisy
from denoiser.noise import MAX_SEED, add_noise, check_seed
from denoiser.weights import build_model, load_pretrained
from webapp.view import parse_query

CLEAN = torch.rand(2, 1, 28, 28)
BAD_KINDS = ["pink", "Gaussian", "", None, 3, ["gaussian"]]
BAD_LEVELS = [-0.1, 1.5, math.nan, math.inf, -math.inf, "0.5", "abc", None, True]
BAD_SEEDS = [-1, -(2**40), MAX_SEED + 1, 2**63, 1.5, math.nan, "abc", "3", None, True]


def identity(noisy: torch.Tensor) -> torch.Tensor:
    return noisy


ENTRY_POINTS = {
    "add_noise": lambda kind="gaussian", level=0.3: add_noise(CLEAN, kind, level, torch.Generator()),
    "make_noisy": lambda kind="gaussian", level=0.3, seed=0: make_noisy(CLEAN, kind, level, seed),
    "evaluate": lambda kind="gaussian", level=0.3, seed=0: evaluate(identity, CLEAN, kind, level, seed),
    "baselines.get_method": lambda kind="gaussian", level=0.3: baselines.get_method("median", kind, level),
}


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
@pytest.mark.parametrize("kind", BAD_KINDS, ids=repr)
def test_unknown_noise_kinds_are_refused_naming_kind(entry, kind):
    with pytest.raises(ValueError, match=r"kind (must be one of gaussian, salt_pepper, speckle, poisson|and level go)"):
        ENTRY_POINTS[entry](kind=kind)


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
@pytest.mark.parametrize("level", BAD_LEVELS, ids=repr)
def test_bad_levels_are_refused_naming_level(entry, level):
    with pytest.raises(ValueError, match=r"level must be a (finite )?number in \[0, 1\]|kind and level go together"):
        ENTRY_POINTS[entry](level=level)


@pytest.mark.parametrize("entry", ["make_noisy", "evaluate"])
@pytest.mark.parametrize("seed", BAD_SEEDS, ids=repr)
def test_bad_noise_seeds_are_refused_naming_seed(entry, seed):
    with pytest.raises(ValueError, match=r"seed must be a whole number in \[0, 2\*\*53 - 1\]"):
        ENTRY_POINTS[entry](seed=seed)


@pytest.mark.parametrize("seed", [s for s in BAD_SEEDS if s is not None], ids=repr)  # None: an unseeded model
def test_bad_model_seeds_are_refused_naming_seed(seed):
    with pytest.raises(ValueError, match="seed must be a whole number"):
        build_model("seed-ae", seed=seed)


def test_good_seeds_of_any_integer_type_give_the_same_noise():
    expected = make_noisy(CLEAN, "gaussian", 0.3, 7)
    assert torch.equal(make_noisy(CLEAN, "gaussian", 0.3, np.int64(7)), expected)
    assert check_seed(0) == 0 and check_seed(MAX_SEED) == MAX_SEED
    assert not torch.equal(make_noisy(CLEAN, "gaussian", 0.3, MAX_SEED), expected)


@pytest.mark.parametrize("name", ["resnet", "UNET", "", None, ["unet"], 3], ids=repr)
def test_unknown_model_names_are_refused_naming_model(name):
    for load in (load_pretrained, build_model):
        with pytest.raises(ValueError, match="model must be one of unet, seed-ae"):
            load(name)


@pytest.mark.parametrize("name", ["magic", "Median", "", None], ids=repr)
def test_unknown_filter_names_are_refused_listing_the_filters(name):
    with pytest.raises(ValueError, match="must be one of median"):
        baselines.get_method(name)


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"source": "emnist"}, "source must be one of mnist, sample"),
        ({"source": None}, "source must be one of"),
        ({"source": "sample", "split": "test"}, "split must be 'train'"),
        ({"source": "mnist", "root": "/nonexistent", "split": "validation"}, "split must be one of train, test"),
    ],
)
def test_load_digits_refuses_unknown_sources_and_splits(kwargs, named):
    with pytest.raises(ValueError, match=named):
        load_digits(**kwargs)


def test_load_digits_without_a_root_says_how_to_give_one(monkeypatch):
    monkeypatch.delenv("DENOISER_DATA_ROOT", raising=False)
    with pytest.raises(ValueError, match=r"needs a data root: pass root/--data-root or set \$DENOISER_DATA_ROOT"):
        load_digits("mnist")


@pytest.mark.parametrize("text", ["` [Claim your prize](https://example.invalid) `", "0.5\n\n# Hacked"])
def test_a_link_cannot_inject_markdown_into_its_notice(text):
    """The notice is shown with st.warning, which renders markdown: the link's text must stay inert."""
    _, notices = parse_query({"level": text}, ["unet"])
    assert len(notices) == 1
    quoted = notices[0].split("`")[1]  # the text between the notice's own backticks
    assert notices[0].count("`") == 2 and "\n" not in notices[0] and quoted.startswith("level=")
