"""`python -m webapp.server`: the app's server answers its health check only once warm, and then serves pages."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.launch import free_port, start_server, stop_server, wait_healthy
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
