"""Serve the app as N Streamlit replicas behind nginx, run by supervisord, with sticky sessions and health checks.

    python -m deploy.serve --replicas 2 --port 8501

Renders supervisord's configuration (deploy/supervisord.py) and nginx's (deploy/nginx.py) into a private
directory and runs supervisord, which starts the replicas on free loopback ports, restarts one that exits,
and, through superlance's httpok, one whose health check goes unanswered. nginx is started once every
replica answers its health check, so the first visitor meets warm replicas. Ctrl-C or SIGTERM stops
supervisord, which stops nginx and every replica.

What is left here is what supervisord cannot do: choose free ports and write both configurations, start
nginx only when the replicas are warm, remove the private directory even when this process is killed with
SIGKILL, and watch replicas on other hosts (`--backend`).
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
import xmlrpc.client
from functools import partial
from pathlib import Path

from supervisor.xmlrpc import SupervisorTransport

from deploy import nginx, supervisord
from deploy.launch import free_port

ROOT = Path(__file__).resolve().parent.parent
NGINX_FALLBACK = "/usr/sbin/nginx"  # not on a non-root user's PATH on Debian
INSTALL_HINT = "nginx is not installed: sudo apt-get install nginx"
PR_SET_PDEATHSIG = 1


class Stop(Exception):
    """Raised in the main thread by SIGTERM or SIGINT: time to stop everything."""


def _on_signal(signum: int, frame: object) -> None:
    raise Stop(signal.Signals(signum).name)


def die_with_parent(parent: int, signum: int = signal.SIGTERM) -> None:
    """Have Linux send `signum` to this process when its parent exits, so nothing outlives a killed `deploy.serve`.

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


def spawn(command: list[str], log: Path | None) -> subprocess.Popen:
    """Start `command` in its own session (Ctrl-C reaches this process only), dying with this process; its output
    goes to `log`, or to this process's own output if None."""
    with open(log or os.devnull, "a") as out:
        return subprocess.Popen(command, cwd=ROOT, stdout=out if log else None, stderr=subprocess.STDOUT,
                                start_new_session=True, preexec_fn=partial(die_with_parent, os.getpid()))  # fmt: skip


def healthy(address: str, timeout: float = 3.0) -> bool:
    """Whether the Streamlit server at `address` answers its health check with "ok"."""
    try:
        with urllib.request.urlopen(f"http://{address}/_stcore/health", timeout=timeout) as response:
            return response.read() == b"ok"
    except OSError:
        return False


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


def check_remote(address: str, name: str, up: dict[str, bool]) -> None:
    """A replica on another host is only watched: its own host restarts it. Log when it goes down or comes back."""
    now = healthy(address)
    if up.get(name) != now:
        log(f"{name} at {address} is {'healthy' if now else 'not answering its health check'}")
    up[name] = now


def private_dir() -> Path:
    """A fresh directory for both configurations, supervisord's socket and pid, nginx's pid and temporary files
    (uploads being received), and the logs unless --log-dir is given."""
    workdir = Path(tempfile.mkdtemp(prefix="denoiser-nginx-"))
    if os.geteuid() == 0:
        workdir.chmod(0o711)  # started by root, nginx's workers run as nobody and write their temp files in here
    return workdir


# Removes the private directory when it gets SIGTERM, which Linux sends it when deploy.serve dies, however it
# dies: a process killed with SIGKILL cleans up nothing itself. supervisord (signalled too) is still stopping
# the replicas and nginx then, in that directory: the janitor waits until supervisord is gone.
JANITOR = """
import os, shutil, signal, sys, time
def clean(*_):
    deadline = time.monotonic() + 60
    while os.path.exists(f"/proc/{sys.argv[2]}") and time.monotonic() < deadline:
        time.sleep(0.2)
    shutil.rmtree(sys.argv[1], ignore_errors=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, clean)
signal.signal(signal.SIGINT, signal.SIG_IGN)
while True:
    signal.pause()
"""


def start_janitor(workdir: Path, manager: int) -> subprocess.Popen:
    """A process that removes `workdir` once this process and then process `manager` are gone (see JANITOR)."""
    return spawn([sys.executable, "-c", JANITOR, str(workdir), str(manager)], Path(os.devnull))


def start_supervisord(conf: Path) -> subprocess.Popen:
    """supervisord in the foreground with `conf`; its log (starts, exits, restarts) goes to this process's output."""
    return spawn([sys.executable, "-m", "supervisor.supervisord", "-c", str(conf)], None)


def control(workdir: Path, timeout: float = 30.0) -> xmlrpc.client.ServerProxy:
    """supervisord's XML-RPC interface on its socket in `workdir`, once it answers."""
    deadline = time.monotonic() + timeout
    while True:
        # A fresh proxy per try: the transport's connection is unusable after a failed request.
        proxy = xmlrpc.client.ServerProxy(
            "http://localhost", transport=SupervisorTransport(None, None, f"unix://{workdir}/supervisor.sock")
        )
        try:
            proxy.supervisor.getState()
            return proxy
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"supervisord did not answer within {timeout:.0f} s") from None
            time.sleep(0.2)


def wait_warm(rpc: xmlrpc.client.ServerProxy, ports: dict[str, int], logdir: Path, timeout: float) -> None:
    """Wait until every replica answers its health check (it opens its port only once warm); log each."""
    deadline = time.monotonic() + timeout
    for name, port in ports.items():
        while not healthy(f"127.0.0.1:{port}"):
            state = rpc.supervisor.getProcessInfo(name)["statename"]
            if state in ("FATAL", "EXITED", "STOPPED") or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not become healthy (state {state}); see {logdir / name}.log")
            time.sleep(0.3)
        pid = rpc.supervisor.getProcessInfo(name)["pid"]
        log(f"{name} pid {pid} on 127.0.0.1:{port}, log {logdir / name}.log")
        log(f"{name} is healthy")


def nginx_command(binary: str, addresses: list[str], port: int, workdir: Path, logdir: Path) -> list[str]:
    """Write nginx.conf for `addresses`, check it with `nginx -t`; the command that runs nginx in the foreground."""
    conf = workdir / "nginx.conf"
    conf.write_text(nginx.render(addresses, str(port), workdir, logdir))
    command = [binary, "-p", str(workdir), "-c", str(conf), "-e", str(logdir / "nginx-error.log")]
    tested = subprocess.run([*command, "-t", "-q"], capture_output=True, text=True)
    if tested.returncode != 0:
        raise RuntimeError(f"nginx -t refused {conf}:\n{tested.stderr}")
    return command


def start_nginx(rpc: xmlrpc.client.ServerProxy, workdir: Path) -> None:
    try:
        rpc.supervisor.startProcess("nginx")
    except xmlrpc.client.Fault as fault:
        raise RuntimeError(f"nginx did not start: {fault.faultString}") from None
    log(f"nginx pid {rpc.supervisor.getProcessInfo('nginx')['pid']}, config {workdir / 'nginx.conf'}")


def wait_listening(port: int, manager: subprocess.Popen, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not healthy(f"127.0.0.1:{port}"):
        if manager.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"nginx did not answer on port {port}: see its error log")
        time.sleep(0.2)


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


def watch(manager: subprocess.Popen, rpc: xmlrpc.client.ServerProxy, remote: dict[str, str], interval: float) -> int:
    """Until a signal arrives: every `interval` s see that supervisord and nginx run (else return 1), watch `remote`."""
    up: dict[str, bool] = {}
    while True:
        time.sleep(interval)
        if manager.poll() is not None:
            log(f"supervisord exited with status {manager.returncode}: stopping")
            return 1
        if rpc.supervisor.getProcessInfo("nginx")["statename"] == "FATAL":
            log("nginx could not be started again: stopping")
            return 1
        for name, address in remote.items():
            check_remote(address, name, up)


def stop(manager: subprocess.Popen | None, timeout: float = 60.0) -> None:
    """SIGTERM supervisord, which stops nginx and every replica (SIGKILL after 10 s); SIGKILL it after `timeout`."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if manager is None or manager.poll() is not None:
        return
    manager.terminate()
    try:
        manager.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        manager.kill()
        manager.wait()
    log("stopped nginx and every replica")


def configure(args: argparse.Namespace, binary: str, workdir: Path, logdir: Path) -> tuple[dict[str, int], dict]:
    """Write nginx.conf and supervisord.conf into `workdir`: the local replicas' ports and the remote replicas."""
    names = nginx.replica_names(args.replicas + len(args.backend))
    ports = {name: free_port() for name in names[: args.replicas]}
    remote = dict(zip(names[args.replicas :], args.backend, strict=True))
    addresses = [f"127.0.0.1:{port}" for port in ports.values()] + args.backend
    proxy = nginx_command(binary, addresses, args.port, workdir, logdir)
    checks = supervisord.Checks(args.startup, args.check_timeout)
    (workdir / "supervisord.conf").write_text(supervisord.render(ports, proxy, workdir, logdir, checks))
    return ports, remote


def run(args: argparse.Namespace) -> int:
    binary = find_nginx()
    if port_in_use(args.port):
        raise SystemExit(f"port {args.port} is in use: choose another with --port (make serve PORT=...)")
    workdir = private_dir()
    logdir = args.log_dir.resolve() if args.log_dir else workdir  # nginx reads relative paths from its own prefix
    logdir.mkdir(parents=True, exist_ok=True)
    manager, janitor, failed = None, None, False
    try:
        ports, remote = configure(args, binary, workdir, logdir)
        manager = start_supervisord(workdir / "supervisord.conf")
        janitor = start_janitor(workdir, manager.pid)
        rpc = control(workdir)
        wait_warm(rpc, ports, logdir, args.startup + 60)
        start_nginx(rpc, workdir)
        wait_listening(args.port, manager)
        log(f"serving {len(ports) + len(remote)} replicas at http://127.0.0.1:{args.port} (Ctrl-C stops them)")
        return watch(manager, rpc, remote, args.interval)
    except Stop as signal_name:
        log(f"{signal_name}: stopping")
        return 0
    except RuntimeError as error:
        log(f"{error}; logs in {logdir}")
        failed = True
        return 1
    finally:
        stop(manager)
        if janitor is not None:
            janitor.kill()  # the directory's fate is decided here
        if not (failed and logdir == workdir):  # a failure's logs are kept for reading
            shutil.rmtree(workdir, ignore_errors=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m deploy.serve", description=__doc__.split("\n")[0])
    parser.add_argument("--replicas", type=int, default=2, help="Streamlit replicas to run here (default 2)")
    parser.add_argument("--port", type=int, default=8501, help="port nginx listens on (default 8501)")
    parser.add_argument("--backend", action="append", default=[], metavar="HOST:PORT",
                        help="a replica on another host, served too but only watched (repeatable)")  # fmt: skip
    parser.add_argument(
        "--interval",
        type=float,
        default=3.0,
        help="seconds between checks of supervisord, nginx and --backend replicas (default 3)",
    )
    parser.add_argument(
        "--startup",
        type=float,
        default=60.0,
        help="seconds a replica counts as starting, unchecked; must exceed its warm-up (default 60)",
    )
    parser.add_argument(
        "--check-timeout",
        type=float,
        default=10.0,
        help="seconds a replica may take to answer a health check before it is restarted (default 10)",
    )
    parser.add_argument("--log-dir", type=Path, help="keep the replicas' and nginx's logs here (default: a temp dir)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parent = os.getppid()
    args = build_parser().parse_args(argv)
    if args.replicas < 0 or args.replicas + len(args.backend) < 1:
        raise SystemExit("--replicas must be >= 0, and with --backend at least one replica in all")
    if not 1 <= args.port <= 65535:
        raise SystemExit(f"--port must be in 1..65535, got {args.port}")
    try:
        supervisord.Checks(args.startup, args.check_timeout)
    except ValueError as error:
        raise SystemExit(f"--{error}") from None
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    die_with_parent(parent)  # `make serve` killed: this process stops everything too
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
