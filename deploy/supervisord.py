"""supervisord's configuration for a set of Streamlit replicas and nginx, from deploy/supervisord.conf.template.

supervisord (https://supervisord.org) starts, stops and restarts the processes: a replica that exits is
started again on its port. A replica that is still running but stuck (its health check unanswered) is
what superlance's `httpok` event listener is for: every 5 s (supervisord's TICK_5 event) it asks the
replica's /_stcore/health and restarts the replica through supervisord if the answer is not "ok" in time.
"""

from __future__ import annotations

import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from deploy import fill
from deploy.launch import ROOT, server_command

TEMPLATE = Path(__file__).with_name("supervisord.conf.template")


@dataclass(frozen=True)
class Checks:
    """How replicas are watched: `startup` seconds counted as starting, `timeout` seconds a health check may take."""

    startup: float = 60.0
    timeout: float = 10.0

    def __post_init__(self) -> None:
        if not 1 <= self.startup <= 3600:
            raise ValueError(f"startup must be in 1..3600 seconds, got {self.startup}")
        if not 1 <= self.timeout <= 60:
            raise ValueError(f"check-timeout must be in 1..60 seconds, got {self.timeout}")


def _die_with_supervisord(command: list[str]) -> str:
    """`command` as a shell-quoted line, run under `setpriv --pdeathsig TERM` where util-linux has it."""
    setpriv = shutil.which("setpriv")
    return shlex.join([setpriv, "--pdeathsig", "TERM", "--", *command] if setpriv else command)


def _replica(name: str, port: int, logdir: Path, checks: Checks) -> str:
    """A replica's [program] and the [eventlistener] that restarts it when its health check fails."""
    server = server_command(port)  # `python -m webapp.server` on 127.0.0.1:port, ready only once warm
    # Streamlit answers its health check with 200 only when ok (503 otherwise); httpok's -b (a text in the body)
    # compares str with bytes on Python 3 and fails.
    httpok = [sys.executable, "-m", "superlance.httpok", "-p", name, "-E", "-t", str(int(checks.timeout)),
              f"http://127.0.0.1:{port}/_stcore/health"]  # fmt: skip
    return "\n".join(
        [
            f"[program:{name}]",
            f"command = {_die_with_supervisord(server)}",
            f"directory = {ROOT}",
            "autorestart = true",
            f"startsecs = {int(checks.startup)}",
            "startretries = 100",
            "stopasgroup = true",
            "killasgroup = true",
            "stopwaitsecs = 10",
            f"stdout_logfile = {logdir / name}.log",
            "stdout_logfile_maxbytes = 10MB",
            "redirect_stderr = true",
            "",
            f"[eventlistener:{name}-health]",
            f"command = {_die_with_supervisord(httpok)}",
            "events = TICK_5",
            f"stderr_logfile = {logdir / name}-health.log",
            "",
        ]
    )


def render(replicas: dict[str, int], nginx: list[str], workdir: Path, logdir: Path, checks: Checks = Checks()) -> str:
    """The supervisord.conf text for `replicas` (name -> loopback port) and the `nginx` command line."""
    fills = {
        "workdir": str(workdir),
        "logdir": str(logdir),
        "replicas": "\n".join(_replica(name, port, logdir, checks) for name, port in replicas.items()),
        "nginx": _die_with_supervisord(nginx),
    }
    return fill(TEMPLATE, fills)
