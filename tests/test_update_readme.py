"""scripts/update_readme.py: weights/README.md gives every command that made a checkpoint, with its time."""

from scripts.update_readme import _commands, _wall_time

FIRST = {"command": "python -m denoiser train --epochs 450 --out runs/a.pt", "seconds": 100.0, "steps": 10}


def test_a_continued_run_lists_the_first_command_before_its_own_and_adds_their_times():
    meta = {"command": "python -m denoiser train --init runs/a.pt --out runs/b.pt", "seconds": 50.5,
            "init_chain": [FIRST]}  # fmt: skip
    assert _commands(meta) == [FIRST["command"], meta["command"]]
    assert _wall_time(meta) == "100.0 s + 50.5 s = 150.5 s"


def test_a_single_run_shows_its_own_command_and_time():
    assert _commands(FIRST) == [FIRST["command"]] == _commands({**FIRST, "sittings": None})
    assert _wall_time(FIRST) == "100.0 s"


def test_a_run_split_over_sittings_says_how_it_was_finished():
    split = {**FIRST, "command": FIRST["command"] + " --max-minutes 60", "sittings": 3}
    meta = {"command": "python -m denoiser train --init runs/a.pt --out runs/b.pt", "seconds": 5.0,
            "init_chain": [split]}  # fmt: skip
    assert _commands(meta) == [
        split["command"],
        "python -m denoiser resume runs/a.pt.resume  # until it finishes: 3 sittings",
        meta["command"],
    ]
