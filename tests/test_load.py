"""Many visitors at once, in a bounded form: scripts/load_test.py, abandon_test.py and page_cost.py as CI runs them.

The load test: two visitors move the noise slider while one retrains (2 sessions x 3 changes, half
a second's look at each result, one small training, a 150 s limit); nothing may be lost. The full
form (20 sessions x 10 changes, two trainings) is run by hand; its figures are in docs/load/README.md. The abandon
test: a visitor who closes the tab mid-training must not leave the training running.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CHROMIUM, require_chromium

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.slow]


@pytest.fixture
def browser_available() -> None:
    require_chromium()


def test_concurrent_visitors_and_a_training_lose_nothing(tmp_path, browser_available):
    command = [sys.executable, "-m", "scripts.load_test", "--sessions", "2", "--changes", "3", "--trainings", "1",
               "--think", "0.5", "--small-training", "--timeout", "150", "--out", str(tmp_path),
               "--chromium", CHROMIUM]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=240)
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["errors"] == [], results["errors"]
    assert results["interactions"] == {"planned": 6, "updated": 6, "lost": 0}
    assert [t["outcome"] for t in results["trainings"]] == ["trained"]
    assert 0 < results["latency_s"]["median"] <= results["latency_s"]["p95"]
    by_move = results["latency_by_move_s"]  # each session's moves, lined up by their order
    assert [m["move"] for m in by_move] == [1, 2, 3]
    assert all(0 < m["median"] <= m["max"] for m in by_move)
    assert results["server_peak_rss_mb"] > 0
    assert done.returncode == 0, done.stdout + done.stderr
    assert "| lost interactions (target: 0) | 0 |" in (tmp_path / "results.md").read_text()


def test_closing_the_tab_stops_its_training(tmp_path, browser_available):
    """With the tab left open the same training runs on for about a minute (scripts/abandon_test.py --keep-open).

    While it trains, nothing on the page spins: an endless animation redraws the page for the whole training."""
    command = [
        sys.executable,
        "-m",
        "scripts.abandon_test",
        "--timeout",
        "90",
        "--out",
        str(tmp_path),
        "--chromium",
        CHROMIUM,
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads((tmp_path / "abandon.json").read_text())
    assert result["cpu_while_training"] > 0.2  # the training was really running before the close
    assert result["spinners_while_training"] == 0  # progress is shown without an endless animation
    assert result["seconds_training_kept_running"] < 10


def test_page_cost_splits_one_moves_cpu_between_the_browser_and_the_server(tmp_path, browser_available):
    """scripts/page_cost.py as docs/load/README.md runs it, with 3 moves: the renderer and the server both worked."""
    command = [sys.executable, "-m", "scripts.page_cost", "--moves", "3", "--out", str(tmp_path),
               "--chromium", CHROMIUM]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads((tmp_path / "page_cost.json").read_text())
    assert result["moves"] == 3
    assert result["browser_ms_per_move"]["renderer"] > 0  # drawing the new result costs the page CPU
    assert result["browser_total_ms_per_move"] >= result["browser_ms_per_move"]["renderer"]
    assert result["server_ms_per_move"] > 0  # each move reran the script on the server
    assert 0 < result["latency_median_s"] < 60
    assert "| **server** (`streamlit run app.py`) |" in (tmp_path / "page_cost.md").read_text()


def test_ramp_lets_the_trainers_arrive_first_and_spaces_the_other_visitors():
    """--ramp 1.5 with 2 trainers: both trainers open the page at once, then one visitor every 1.5 s."""
    from scripts.load_test import Session, arrival_seconds, build_parser

    args = build_parser().parse_args(["--sessions", "5", "--trainings", "2", "--ramp", "1.5"])
    sessions = [Session(i, trainer=i < args.trainings) for i in range(args.sessions)]
    assert [arrival_seconds(s, args) for s in sessions] == [0.0, 0.0, 1.5, 3.0, 4.5]
    args.ramp = 0.0  # the default: everybody at the same moment
    assert {arrival_seconds(s, args) for s in sessions} == {0.0}
