"""The load generator, bounded: two visitors speaking Streamlit's protocol move the noise slider, one retrains.

scripts/loadgen.py starts its own server, runs 2 visitors x 3 moves with a short look at each result
while the first visitor runs a small retraining (1 epoch, 64 digits), and writes its figures.
"""

import asyncio
import json
import statistics
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from scripts.visitor import Visitor, VisitorError
from webapp import view

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.server, pytest.mark.slow, pytest.mark.timeout(150)]


@pytest.fixture(scope="module")
def run(tmp_path_factory, data_root) -> tuple[subprocess.CompletedProcess, dict, Path]:
    out = tmp_path_factory.mktemp("loadgen")
    command = [sys.executable, "-m", "scripts.loadgen", "--visitors", "2", "--moves", "3", "--think", "0.2", "0.4",
               "--trainings", "1", "--train-epochs", "1", "--train-digits", "64", "--step-timeout", "30",
               "--train-timeout", "60", "--timeout", "90", "--out", str(out)]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=140)
    assert (out / "results.json").exists(), done.stdout + done.stderr
    return done, json.loads((out / "results.json").read_text()), out


def test_every_move_shows_a_new_noisy_psnr(run):
    """Each slider move's run finished and the page's Noisy PSNR changed; nothing was lost, nothing failed."""
    done, results, _ = run
    assert results["errors"] == [], results["errors"]
    assert results["moves"] == {"planned": 6, "finished": 6, "lost": 0, "updated": 6}
    moves = results["raw"]["moves"]
    assert all(m["psnr_after"] != m["psnr_before"] and m["psnr_after"].endswith("dB") for m in moves)
    assert all(m["level"] in view.SLIDER_LEVELS and m["level"] > 0 for m in moves)  # positions the slider has
    # A move's rerun sends its start, its status, the redrawn part of the page and its end.
    assert all(m["messages"] >= 5 for m in moves), [m["messages"] for m in moves]
    assert results["messages_per_move"] == statistics.median(m["messages"] for m in moves)
    assert [m["move"] for m in results["latency_by_move_s"]] == [1, 2, 3]
    assert 0 < results["latency_s"]["median"] <= results["latency_s"]["p95"] <= results["latency_s"]["max"]
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("loadgen OK: 2 visitors x 3 moves")


def test_a_small_retraining_on_the_page_finishes(run):
    """The first visitor's retraining reached "Epoch" progress and then the retrained model."""
    _, results, _ = run
    [training] = results["trainings"]
    assert training["outcome"] == "trained", training
    assert training["queue_wait_s"] >= 0 and training["duration_s"] >= 0


def test_the_server_cost_is_measured_and_written(run):
    """The server's CPU per move and peak memory (its own process tree) are in results.json and results.md."""
    _, results, out = run
    assert results["server_cpu"]["per_move_s"] > 0
    assert "and all their descendants" in results["server_cpu"]["accounted"]
    memory = results["server_memory"]
    assert memory["peak_pss_mb_sum"] > 0 and memory["peak_rss_mb_sum"] >= memory["peak_pss_mb_sum"]
    assert any("webapp.server" in p["command"] for p in memory["processes"])
    assert results["machine"]["cores"] >= 1 and "scripts.loadgen" in results["command"]
    table = (out / "results.md").read_text()
    assert "| moves finished / lost | 6 / 0 |" in table
    assert "| trainings finished | 1 of 1 |" in table


class StickyProxy(BaseHTTPRequestHandler):
    """Stands for a load balancer: pins a visitor to a replica with a cookie set on the page, records requests."""

    requests: ClassVar[list[tuple[str, str | None]]] = []

    def do_GET(self) -> None:
        self.requests.append((self.path, self.headers.get("Cookie")))
        self.send_response(200)
        if self.path == "/":
            self.send_header("Set-Cookie", "replica=b; Path=/")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args) -> None:
        pass


def test_a_visitor_sends_the_cookie_its_page_set_on_every_request_and_the_websocket():
    """A sticky-session cookie from GET / comes back on the next requests and on the websocket's handshake."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), StickyProxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(VisitorError, match="websocket"):  # this stand-in does not speak websocket
            asyncio.run(Visitor(f"http://127.0.0.1:{server.server_port}", step_timeout=5).open())
    finally:
        server.shutdown()
    assert StickyProxy.requests[0] == ("/", None)
    assert StickyProxy.requests[1:] == [("/_stcore/host-config", "replica=b"), ("/_stcore/stream", "replica=b")]


@pytest.mark.app
def test_the_floor_page_speaks_the_apps_language_to_the_load_generator():
    """The page a move's cost is measured against has the app's slider key, figure label and URL parameter."""
    from streamlit.testing.v1 import AppTest

    floor = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "scripts/pages/floor.py")).run()
    before = next(m.value for m in floor.metric if m.label == "Noisy PSNR")
    floor.slider(key="noise_level").set_value(0.3).run()
    assert next(m.value for m in floor.metric if m.label == "Noisy PSNR") != before
    assert floor.query_params["level"] == "0.3"
