"""Serve the app as N Streamlit replicas behind nginx, with sticky sessions and an active health check.

    python -m deploy.serve --replicas 2 --port 8501

Starts the replicas on free loopback ports, waits until each answers /_stcore/health, writes the
nginx configuration (deploy/nginx.py) into a private directory and runs nginx in the foreground.
Every few seconds it asks each replica's /_stcore/health: a replica that has exited, or failed
several checks in a row, is restarted on its port. Ctrl-C or SIGTERM stops nginx and every replica.
nginx itself only notices a dead replica when a request to it fails (passive checks).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from deploy import nginx
from deploy.launch import free_port, server_command, wait_healthy

ROOT = Path(__file__).resolve().parent.parent
NGINX_FALLBACK = "/usr/sbin/nginx"  # not on a non-root user's PATH on Debian
INSTALL_HINT = "nginx is not installed: sudo apt-get install nginx"
PR_SET_PDEATHSIG = 1


@dataclass
class Replica:
    """One `streamlit run app.py` on 127.0.0.1:port; `failures` counts failed health checks in a row."""

    name: str
    port: int
    log: Path
    process: subprocess.Popen | None = None
    failures: int = 0
    ready: bool = False  # has answered a health check since it was last started
    started: float = 0.0  # time.monotonic() of the last start

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


class Stop(Exception):
    """Raised in the main thread by SIGTERM or SIGINT: time to stop everything."""


def _on_signal(signum: int, frame: object) -> None:
    raise Stop(signal.Signals(signum).name)


def die_with_parent(parent: int, signum: int = signal.SIGTERM) -> None:
    """Have Linux send `signum` to this process when its parent exits, so nothing outlives a killed supervisor.

    A parent that died before the request was made is never signalled for: then the process exits at once."""
    with contextlib.suppress(OSError, AttributeError):  # not Linux: Ctrl-C and SIGTERM still stop everything
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signum)
    if os.getppid() != parent:
        os._exit(1)


def nginx_path() -> str | None:
    """The nginx binary: on the PATH, or where Debian's package puts it; None if nginx is not installed."""
    return shutil.which("nginx") or (NGINX_FALLBACK if os.access(NGINX_FALLBACK, os.X_OK) else None)


def find_nginx() -> str:
    found = nginx_path()
    if found is None:
        raise SystemExit(INSTALL_HINT)
    return found


def spawn(command: list[str], log: Path) -> subprocess.Popen:
    """Start `command` in its own session (Ctrl-C reaches the supervisor only), dying with the supervisor."""
    with open(log, "a") as out:
        return subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, preexec_fn=partial(die_with_parent, os.getpid()))  # fmt: skip


def start(replica: Replica) -> None:
    replica.process = spawn(server_command(replica.port), replica.log)  # answers its health check once warm
    replica.failures, replica.ready, replica.started = 0, False, time.monotonic()


def stop(process: subprocess.Popen | None, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if the process is still there after `timeout` seconds; then the same for whatever
    else runs in its process group (a replica's training worker, nginx's workers)."""
    if process is None:
        return
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    end_group(process.pid, timeout)


def group_alive(pgid: int) -> bool:
    """Whether a process of process group `pgid` still runs (a zombie waiting for its parent counts as gone)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def end_group(pgid: int, timeout: float = 10.0) -> None:
    """SIGTERM process group `pgid` (a process `spawn` started leads its own), SIGKILL it after `timeout` seconds;
    returns once none of it runs (at once where there is no /proc to tell)."""
    for signum in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signum)
        deadline = time.monotonic() + timeout
        while group_alive(pgid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not group_alive(pgid):
            return


def healthy(address: str, timeout: float = 3.0) -> bool:
    """Whether the Streamlit server at `address` answers its health check with "ok"."""
    try:
        with urllib.request.urlopen(f"http://{address}/_stcore/health", timeout=timeout) as response:
            return response.read() == b"ok"
    except OSError:
        return False


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


@dataclass
class Checks:
    """The active health check: how often, how many failures in a row restart a replica, how long a start may take."""

    interval: float = 3.0
    max_failures: int = 3
    startup: float = 120.0


def launch(replica: Replica) -> None:
    start(replica)
    log(f"{replica.name} pid {replica.process.pid} on {replica.address}, log {replica.log}")


def restart(replica: Replica, reason: str) -> None:
    log(f"{replica.name} {reason}: restarting it")
    stop(replica.process)
    launch(replica)


def check(replica: Replica, checks: Checks) -> None:
    """One round of the active health check for a replica this supervisor runs: restart it if it is gone or stuck."""
    status = replica.process.poll()
    if status is not None:
        return restart(replica, f"exited with status {status}")
    if healthy(replica.address):
        if replica.failures or not replica.ready:
            log(f"{replica.name} is healthy")
        replica.failures, replica.ready = 0, True
        return None
    if not replica.ready and time.monotonic() - replica.started < checks.startup:
        return None  # still importing torch and loading the models
    replica.failures += 1
    log(f"{replica.name} failed its health check ({replica.failures} in a row)")
    if replica.failures >= checks.max_failures:
        restart(replica, f"failed {replica.failures} health checks in a row")
    return None


def check_remote(address: str, name: str, up: dict[str, bool]) -> None:
    """A replica on another host is only watched: its own host restarts it. Log when it goes down or comes back."""
    now = healthy(address)
    if up.get(name) != now:
        log(f"{name} at {address} is {'healthy' if now else 'not answering its health check'}")
    up[name] = now


def supervise(replicas: list[Replica], remote: dict[str, str], proxy: subprocess.Popen, checks: Checks) -> int:
    """Check every replica each `checks.interval` seconds until a signal arrives (or nginx dies: exit 1)."""
    up: dict[str, bool] = {}
    while True:
        time.sleep(checks.interval)
        if proxy.poll() is not None:
            log(f"nginx exited with status {proxy.returncode}: stopping")
            return 1
        for replica in replicas:
            check(replica, checks)
        for name, address in remote.items():
            check_remote(address, name, up)


def private_dir() -> Path:
    """A fresh directory for nginx's pid and temporary files (uploads being received)."""
    workdir = Path(tempfile.mkdtemp(prefix="denoiser-nginx-"))
    if os.geteuid() == 0:
        workdir.chmod(0o711)  # started by root, nginx's workers run as nobody and write their temp files in here
    return workdir


# Removes the private directory when it gets SIGTERM, which Linux sends it when the supervisor dies, however
# it dies: a supervisor killed with SIGKILL cleans up nothing itself. It waits for nginx (signalled too) to go.
JANITOR = """
import shutil, signal, sys, time
def clean(*_):
    time.sleep(1.0)
    shutil.rmtree(sys.argv[1], ignore_errors=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, clean)
signal.signal(signal.SIGINT, signal.SIG_IGN)
while True:
    signal.pause()
"""


def start_janitor(workdir: Path) -> subprocess.Popen:
    """A process that removes `workdir` once the supervisor is gone (see JANITOR)."""
    return spawn([sys.executable, "-c", JANITOR, str(workdir)], Path(os.devnull))


def start_nginx(binary: str, addresses: list[str], port: int, workdir: Path, logdir: Path) -> subprocess.Popen:
    """Write nginx.conf for `addresses`, check it with `nginx -t`, and run nginx in the foreground on `port`."""
    conf = workdir / "nginx.conf"
    conf.write_text(nginx.render(addresses, str(port), workdir, logdir))
    command = [binary, "-p", str(workdir), "-c", str(conf), "-e", str(logdir / "nginx-error.log")]
    tested = subprocess.run([*command, "-t", "-q"], capture_output=True, text=True)
    if tested.returncode != 0:
        raise RuntimeError(f"nginx -t refused {conf}:\n{tested.stderr}")
    proxy = spawn(command, logdir / "nginx-error.log")
    log(f"nginx pid {proxy.pid}, config {conf}")
    return proxy


def wait_listening(port: int, proxy: subprocess.Popen, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not healthy(f"127.0.0.1:{port}"):
        if proxy.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"nginx did not answer on port {port}: see its error log")
        time.sleep(0.2)


def shut_down(replicas: list[Replica], proxy: subprocess.Popen | None) -> None:
    """Stop nginx, then every replica at once (SIGTERM; SIGKILL after 10 s)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    stop(proxy)
    for replica in replicas:
        if replica.process is not None and replica.process.poll() is None:
            replica.process.terminate()
    for replica in replicas:
        stop(replica.process)
    log("stopped nginx and every replica")


def port_in_use(port: int) -> bool:
    """Whether something already listens on `port`: nginx could not bind it, or a server on 127.0.0.1 alone would
    answer local visitors in its place (Linux lets nginx bind all addresses beside it)."""
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            return True
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as nginx does: TIME_WAIT is no obstacle
        try:
            probe.bind(("", port))
        except OSError:
            return True
    return False


def run(args: argparse.Namespace) -> int:
    binary = find_nginx()
    if port_in_use(args.port):
        raise SystemExit(f"port {args.port} is in use: choose another with --port (make serve PORT=...)")
    workdir = private_dir()
    janitor = start_janitor(workdir)
    logdir = args.log_dir.resolve() if args.log_dir else workdir  # nginx reads relative paths from its own prefix
    logdir.mkdir(parents=True, exist_ok=True)
    names = nginx.replica_names(args.replicas + len(args.backend))
    replicas = [Replica(name, free_port(), logdir / f"{name}.log") for name in names[: args.replicas]]
    remote = dict(zip(names[args.replicas :], args.backend, strict=True))
    proxy, failed = None, False
    try:
        for replica in replicas:
            launch(replica)
        for replica in replicas:
            wait_healthy(f"http://{replica.address}", replica.process, timeout=args.startup)
            log(f"{replica.name} is healthy")
            replica.ready = True
        addresses = [r.address for r in replicas] + args.backend
        proxy = start_nginx(binary, addresses, args.port, workdir, logdir)
        wait_listening(args.port, proxy)
        log(f"serving {len(addresses)} replicas at http://127.0.0.1:{args.port} (Ctrl-C stops them)")
        return supervise(replicas, remote, proxy, Checks(args.interval, args.max_failures, args.startup))
    except Stop as signal_name:
        log(f"{signal_name}: stopping")
        return 0
    except (RuntimeError, TimeoutError) as error:
        log(f"{error}; logs in {logdir}")
        failed = True
        return 1
    finally:
        shut_down(replicas, proxy)
        janitor.kill()  # the directory's fate is decided here
        if not (failed and logdir == workdir):  # a failure's logs are kept for reading
            shutil.rmtree(workdir, ignore_errors=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m deploy.serve", description=__doc__.split("\n")[0])
    parser.add_argument("--replicas", type=int, default=2, help="Streamlit replicas to run here (default 2)")
    parser.add_argument("--port", type=int, default=8501, help="port nginx listens on (default 8501)")
    parser.add_argument("--backend", action="append", default=[], metavar="HOST:PORT",
                        help="a replica on another host, served too but only watched (repeatable)")  # fmt: skip
    parser.add_argument("--interval", type=float, default=3.0, help="seconds between health checks (default 3)")
    parser.add_argument("--max-failures", type=int, default=3, help="failed checks in a row that restart a replica")
    parser.add_argument("--startup", type=float, default=120.0, help="seconds a replica may take to start")
    parser.add_argument("--log-dir", type=Path, help="keep the replicas' and nginx's logs here (default: a temp dir)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parent = os.getppid()
    args = build_parser().parse_args(argv)
    if args.replicas < 0 or args.replicas + len(args.backend) < 1:
        raise SystemExit("--replicas must be >= 0, and with --backend at least one replica in all")
    if not 1 <= args.port <= 65535:
        raise SystemExit(f"--port must be in 1..65535, got {args.port}")
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    die_with_parent(parent)  # `make serve` killed: its supervisor stops everything too
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
