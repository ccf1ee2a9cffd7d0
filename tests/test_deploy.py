"""The app behind nginx as two replicas (`python -m deploy.serve`): sticky visitors, failover, restart, clean stop.

A real browser (Playwright + Debian Chromium) opens several visitors through the proxy. One replica
is killed: its visitors' pages reconnect to the live replica by themselves and keep working (the
first change after the failover is reset to what the page's address says, as a new session starts
from it), the other visitors notice nothing; the supervisor restarts the dead replica, and SIGTERM
leaves no process behind. Without nginx or Chromium the tests are skipped on a developer's machine
and fail under CI=true.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import uvicorn
from conftest import headless_chromium, skip_or_fail
from streamlit.web.server.starlette.starlette_server import _get_uvicorn_config_kwargs

from deploy import nginx, supervisord
from deploy.launch import free_port
from deploy.serve import healthy, nginx_path
from scripts.load_test import METRIC_JS, SLIDER

ROOT = Path(__file__).resolve().parent.parent
VISITORS = 4

pytestmark = pytest.mark.server


def nginx_binary() -> str:
    found = nginx_path()
    if found is None:
        skip_or_fail("nginx is not installed (sudo apt-get install nginx)")
    return found


def test_the_rendered_config_passes_nginx_t(tmp_path):
    """The configuration for two local replicas and one on another host is one nginx accepts (`nginx -t`)."""
    conf = tmp_path / "nginx.conf"
    conf.write_text(nginx.render(["127.0.0.1:8601", "127.0.0.1:8602", "127.0.0.2:8501"], "8598", tmp_path, tmp_path))
    command = [nginx_binary(), "-t", "-p", str(tmp_path), "-c", str(conf), "-e", str(tmp_path / "error.log")]
    checked = subprocess.run(command, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    assert "syntax is ok" in checked.stderr


def test_nginx_lets_go_of_idle_replica_connections_before_the_replica_does(tmp_path):
    """Every upstream drops an idle connection sooner than Streamlit's server (uvicorn, as Streamlit configures
    it) closes one: otherwise a request reusing it can meet the replica's close, get a reset, and the
    replica is taken out and its visitors moved."""
    replica_idle = uvicorn.Config(app=None, **_get_uvicorn_config_kwargs()).timeout_keep_alive
    text = nginx.render(["127.0.0.1:8601", "127.0.0.1:8602"], "8598", tmp_path, tmp_path)
    blocks = re.findall(r"upstream (\w+) \{(.*?)\}", text, flags=re.S)
    assert [name for name, _ in blocks] == ["any_replica", "r0", "r1"]
    for name, body in blocks:
        assert "keepalive 16;" in body, name
        idle = re.search(r"keepalive_timeout (\d+)s;", body)
        assert idle and int(idle.group(1)) < replica_idle, (name, body)


def test_a_config_needs_a_replica(tmp_path):
    """No replica at all is refused with a ValueError naming the parameter."""
    with pytest.raises(ValueError, match="addresses"):
        nginx.render([], "8598", tmp_path, tmp_path)


def test_supervisord_restarts_every_replica_and_checks_its_health(tmp_path):
    """The configuration supervisord reads: each replica restarted whenever it exits, stopped with its whole
    process group (its training worker too), checked by httpok every 5 s once started; nginx waits to be
    started; a startup that is no time at all is refused."""
    from supervisor.events import Tick5Event
    from supervisor.options import ServerOptions

    conf = tmp_path / "supervisord.conf"
    conf.write_text(supervisord.render({"r0": 8601, "r1": 8602}, ["nginx", "-c", "x"], tmp_path, tmp_path,
                                       supervisord.Checks(startup=45, timeout=4)))  # fmt: skip
    options = ServerOptions()
    options.realize(args=["-c", str(conf)])
    groups = {group.name: group for group in options.process_group_configs}
    assert set(groups) == {"r0", "r1", "r0-health", "r1-health", "nginx"}
    for name, port in (("r0", 8601), ("r1", 8602)):
        (replica,) = groups[name].process_configs
        assert f"webapp.server --server.port {port}" in replica.command
        assert replica.autostart and replica.autorestart.__name__ == "RestartUnconditionally"
        assert replica.stopasgroup and replica.killasgroup and replica.startsecs == 45
        (check,) = groups[f"{name}-health"].process_configs
        assert groups[f"{name}-health"].pool_events == [Tick5Event]
        assert f"superlance.httpok -p {name} -E -t 4 http://127.0.0.1:{port}/_stcore/health" in check.command
    (proxy,) = groups["nginx"].process_configs
    assert not proxy.autostart and proxy.killasgroup
    with pytest.raises(ValueError, match="startup"):
        supervisord.Checks(startup=0)


class Supervisor:
    """`python -m deploy.serve --replicas 2` on a free port, its output read from a file."""

    def __init__(self, logdir: Path | None, *more: str) -> None:
        self.port = free_port()
        self.out = (logdir or Path(tempfile.mkdtemp())) / "supervisor.out"
        command = [sys.executable, "-m", "deploy.serve", "--replicas", "2", "--port", str(self.port),
                   *(["--log-dir", str(logdir)] if logdir else []), "--interval", "1", *more]  # fmt: skip
        with open(self.out, "w") as out:
            self.process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"

    def text(self) -> str:
        return self.out.read_text()

    def wait_for(self, pattern: str, timeout: float = 120.0) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if found := re.search(pattern, self.text(), re.MULTILINE):
                return found
            assert self.process.poll() is None, f"the supervisor exited:\n{self.text()}"
            time.sleep(0.3)
        raise AssertionError(f"no line matching {pattern!r} within {timeout:.0f} s:\n{self.text()}")

    def replicas(self) -> dict[str, tuple[int, str]]:
        """Each replica's name -> (pid, address), as last started (supervisord logs every start)."""
        text = self.text()
        pids = dict(re.findall(r"spawned: '(r\d)' with pid (\d+)", text))  # the last start wins
        return {name: (int(pids[name]), address) for name, address in re.findall(r"(r\d) pid \d+ on (\S+),", text)}


def test_a_supervisor_killed_with_sigkill_leaves_no_nginx_and_no_private_folder():
    """Nothing is left behind: nginx dies with its supervisor, and so does the folder it ran in."""
    import http.server
    import threading

    class Healthy(http.server.BaseHTTPRequestHandler):  # a replica of sorts: every health check answers ok
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    nginx_binary()
    backend = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Healthy)
    threading.Thread(target=backend.serve_forever, daemon=True).start()
    supervisor = Supervisor(None, "--replicas", "0", "--backend", f"127.0.0.1:{backend.server_address[1]}")
    try:
        found = supervisor.wait_for(r"nginx pid (\d+), config (\S+)/nginx\.conf$", timeout=60)
        supervisor.wait_for(r"serving 1 replicas", timeout=30)
        proxy, folder = int(found.group(1)), Path(found.group(2))
        assert folder.is_dir()
        supervisor.process.kill()
        supervisor.process.wait()
        deadline = time.monotonic() + 15
        while (folder.exists() or alive(proxy)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not alive(proxy) and not folder.exists()
    finally:
        supervisor.process.kill()
        backend.shutdown()


def descendants(pid: int) -> set[int]:
    """Every live process under `pid`, from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    """Whether `pid` is a running process (a zombie waiting for its parent counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture
def supervisor(tmp_path):
    nginx_binary()
    running = Supervisor(tmp_path)
    try:
        running.wait_for(r"serving 2 replicas at")
        yield running
    finally:
        if running.process.poll() is None:
            running.process.terminate()
            running.process.wait(timeout=30)


def wait_until_healthy(address: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not healthy(address):
        assert time.monotonic() < deadline, f"{address} not healthy within {timeout:.0f} s"
        time.sleep(0.5)


def assert_stops_cleanly(supervisor: Supervisor) -> None:
    """SIGTERM: the supervisor exits with 0 and no process it started is left."""
    processes = descendants(supervisor.process.pid)
    assert len(processes) >= 4  # supervisord, a replica, its health check, nginx
    supervisor.process.send_signal(signal.SIGTERM)
    assert supervisor.process.wait(timeout=60) == 0
    assert [pid for pid in processes if alive(pid)] == []


@pytest.mark.slow
def test_a_stuck_replica_is_restarted(tmp_path):
    """A replica that stops answering (SIGSTOP: alive, port open, no answer) is restarted by its health check,
    and serves again."""
    nginx_binary()
    supervisor = Supervisor(tmp_path, "--replicas", "1", "--startup", "10", "--check-timeout", "2")
    try:
        supervisor.wait_for(r"serving 1 replicas at")
        supervisor.wait_for(r"success: r0 entered RUNNING state")  # checked from now on
        stuck, address = supervisor.replicas()["r0"]
        os.kill(stuck, signal.SIGSTOP)
        supervisor.wait_for(r"stopped: r0 \(terminated by SIGKILL\)\n(.*\n)*.*spawned: 'r0'", timeout=60)
        assert supervisor.replicas()["r0"][0] != stuck
        wait_until_healthy(address)
        assert_stops_cleanly(supervisor)
    finally:
        supervisor.process.kill()


@pytest.fixture
def browser():
    with headless_chromium() as chromium:
        yield chromium


def psnr(page) -> str | None:
    return page.evaluate(METRIC_JS)


def wait_psnr_change(page, old: str | None, timeout: float = 30.0) -> str:
    """The noisy PSNR once it is shown and differs from `old`."""
    page.wait_for_function(f"old => {{ const v = ({METRIC_JS})(); return v !== null && v !== old; }}", arg=old,
                           timeout=timeout * 1000)  # fmt: skip
    return psnr(page)


def press(page, key: str) -> str:
    """Press `key` on the noise slider; the value the slider shows right after."""
    thumb = page.locator(SLIDER)
    thumb.focus()
    thumb.press(key)
    return thumb.input_value()


def assert_no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0


def replica_of(context) -> str:
    """The replica the proxy pins this visitor to: the value of its cookie."""
    return next(c["value"] for c in context.cookies() if c["name"] == nginx.COOKIE)


def served_by(context, url: str) -> str:
    """The replica address that answered this visitor's request (the last one tried, after a failover)."""
    response = context.request.get(f"{url}/_stcore/health")
    assert response.ok
    return response.headers["x-denoiser-replica"].split(",")[-1].strip()


def open_visitors(browser, url: str, count: int) -> list:
    """`count` visitors, each in a browser context of its own, each with the noisy PSNR shown."""
    pages = []
    for _ in range(count):
        page = browser.new_context().new_page()
        page.set_default_timeout(60_000)
        page.goto(url)
        pages.append(page)
    for page in pages:
        wait_psnr_change(page, None, timeout=90)
    return pages


def wait_repinned(context, live: str, timeout: float = 30.0) -> None:
    """Wait until the visitor's page has reconnected through the proxy and been pinned to `live`."""
    deadline = time.monotonic() + timeout
    while replica_of(context) != live:
        assert time.monotonic() < deadline, f"still pinned to {replica_of(context)} after {timeout:.0f} s"
        time.sleep(0.3)


def slider_works_again(page) -> None:
    """Move the slider until the page answers: the first change may be reset to the page's address (a new
    session starts from it) and the slider springs back; the next one must update the noisy PSNR."""
    before = psnr(page)
    level = page.locator(SLIDER).input_value()
    press(page, "ArrowLeft")
    page.wait_for_function(
        f"([old, level]) => ({METRIC_JS})() !== old || document.querySelector('{SLIDER}').value === level",
        arg=[before, level],
    )
    now = psnr(page)
    press(page, "ArrowLeft")
    wait_psnr_change(page, now)
    assert_no_exception(page)


def upload_a_drawn_seven(page, folder: Path) -> None:
    """Upload a picture of a 7 (white strokes on black); wait until the page shows it and the digits, images loaded."""
    from PIL import Image, ImageDraw

    picture = Image.new("L", (200, 200))
    ImageDraw.Draw(picture).line([(50, 40), (150, 40), (90, 170)], fill=255, width=18)
    path = folder / "seven.png"
    picture.save(path)
    page.locator('[data-testid="stButtonGroup"]').get_by_text("Upload", exact=True).click()
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(path))
    page.get_by_text("the digit was found in the red box").wait_for()
    page.wait_for_function(  # the uploaded picture comes from the replica's /media/, the digits with the page
        "() => [...document.querySelectorAll('[data-testid=\"stImage\"] img, .dn-pictures img')]"
        ".filter(i => i.complete && i.naturalWidth > 0).length >= 4"
    )
    assert_no_exception(page)


@pytest.mark.browser
@pytest.mark.slow
def test_visitors_survive_a_killed_replica(supervisor, browser, tmp_path):
    """Visitors spread over both replicas; one is SIGKILLed: the others' slider keeps working, its own visitors'
    pages reconnect to the live replica without a reload, and can upload there; the supervisor restarts it;
    SIGTERM leaves nothing."""
    pages = open_visitors(browser, supervisor.url, VISITORS)
    replicas = supervisor.replicas()
    pinned = [replica_of(page.context) for page in pages]
    assert set(pinned) == {"r0", "r1"}, pinned  # new visitors take turns
    for page, name in zip(pages, pinned, strict=True):
        assert served_by(page.context, supervisor.url) == replicas[name][1]  # and stay where they landed

    victim, live = pinned[0], next(n for n in pinned if n != pinned[0])
    os.kill(replicas[victim][0], signal.SIGKILL)
    for page, name in zip(pages, pinned, strict=True):
        if name == live:
            old = psnr(page)
            press(page, "ArrowRight")
            assert wait_psnr_change(page, old) != old
            assert_no_exception(page)
    for page, name in zip(pages, pinned, strict=True):
        if name == victim:
            wait_repinned(page.context, live)
            slider_works_again(page)
            assert served_by(page.context, supervisor.url) == replicas[live][1]
    upload_a_drawn_seven(pages[pinned.index(victim)], tmp_path)  # the upload and its pictures reach the session

    supervisor.wait_for(rf"exited: {victim} \(terminated by SIGKILL; not expected\)\n(.*\n)*.*spawned: '{victim}'",
                        timeout=30)  # fmt: skip
    restarted_pid, address = supervisor.replicas()[victim]
    assert restarted_pid != replicas[victim][0]
    wait_until_healthy(address)

    assert_stops_cleanly(supervisor)
