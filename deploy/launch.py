"""Start the app's server on a loopback port and wait until it answers; stop it.

The one launcher: `deploy.serve` starts its replicas' health checks with it, and the browser and load
tests and the measurement scripts (`python -m scripts.NAME` from the repository root) start servers
with it. The scripts import from here, never the reverse.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_command(port: int, warm: bool = True, script: str = "app.py") -> list[str]:
    """The app's server on 127.0.0.1:port: `python -m webapp.server` (ready only once warm), or with `warm=False`
    a plain `streamlit run app.py` (cold until its first visitor; also how the app was served before). A
    `script` other than app.py (a page to measure the app against, say) is served the same way, unwarmed."""
    entry = (
        ["-m", "webapp.server", *([] if script == "app.py" else [script])]
        if warm
        else ["-m", "streamlit", "run", script]
    )
    return [sys.executable, *entry, "--server.port", str(port), "--server.address", "127.0.0.1",
            "--server.headless", "true"]  # fmt: skip


def start_server(port: int, log: Path | None = None, *, warm: bool = True, cwd: Path = ROOT,
                 script: str = "app.py") -> subprocess.Popen:  # fmt: skip
    """The server of `server_command` started in `cwd`, its output going to `log` (or nowhere)."""
    command = server_command(port, warm, script)
    if log is None:
        return subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(log, "w") as out:
        return subprocess.Popen(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)


def wait_healthy(url: str, server: subprocess.Popen, timeout: float = 60.0) -> None:
    """Wait until the Streamlit server at `url` answers its health check; raise if it exits or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"streamlit exited with status {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read() == b"ok":
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"streamlit did not answer at {url} within {timeout:.0f} s")


def stop_server(server: subprocess.Popen) -> None:
    """Terminate the server, killing it if it does not stop within 10 s."""
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
