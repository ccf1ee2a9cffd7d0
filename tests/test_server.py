"""`python -m webapp.server`: the app's server answers its health check only once warm, and then serves pages."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from deploy.launch import free_port, start_server, stop_server, wait_healthy
from scripts.page import item_id, widget_key
from scripts.visitor import Visitor, VisitorError
from webapp.worker import WORKER_NAME

pytestmark = pytest.mark.server


def children(pid: int) -> list[str]:
    """The names of the processes whose parent is `pid`."""
    names = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            name = (stat.parent / "comm").read_text().strip()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            names.append(name)
    return names


@pytest.mark.parametrize("warm", [True, False], ids=["webapp.server", "streamlit run"])
def test_the_server_is_healthy_only_once_its_start_up_is_done(tmp_path, warm):
    """When the health check first answers, the warm server has already forked its training worker (the last
    step of its start-up); a plain `streamlit run app.py` does all of that only when its first visitor comes."""
    port = free_port()
    server = start_server(port, tmp_path / "server.log", warm=warm)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", server, timeout=120)
        assert (WORKER_NAME in children(server.pid)) == warm
    finally:
        stop_server(server)


def test_a_slider_move_on_the_retrain_view_leaves_its_training_controls_as_they_are(tmp_path):
    """Over Streamlit's protocol: with Retrain open, a slider move redraws the pictures but does not send the ten
    training controls again (each element sent costs the server CPU); leaving the view removes them."""
    port = free_port()
    server = start_server(port, tmp_path / "server.log", warm=True)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", server, timeout=120)
        asyncio.run(_open_retrain_then_move(f"http://127.0.0.1:{port}"))
    finally:
        stop_server(server)


async def _open_retrain_then_move(url: str) -> None:
    visitor = Visitor(url, step_timeout=60)
    try:
        await visitor.open()
        await visitor.open_tab("Retrain")
        controls = visitor.widget_id("retrain_digits"), visitor.widget_id("retrain")
        move = await visitor.move(0.8)
        assert move.fragments, "a slider move reruns the results fragment only"
        redrawn = {widget_key(item_id(e)) for e in visitor.page.elements(after_run=move.index - 1)}
        assert "noise_level" in redrawn and not {key for key in redrawn if key.startswith("retrain")}, redrawn
        assert (visitor.widget_id("retrain_digits"), visitor.widget_id("retrain")) == controls  # still shown
        assert visitor.page.metric("PSNR") is not None
        await visitor.open_tab("Compare methods")
        with pytest.raises(VisitorError):
            visitor.widget_id("retrain_digits")
    finally:
        await visitor.close()
