"""CPU time and memory of the server's processes, polled from /proc (Linux) by a background thread.

The processes are given roots and all their descendants (a training worker, a replica started by
a supervisor), or, when no root is given, every process whose command line contains a word
("streamlit") and their descendants. CPU is utime + stime of each process, remembered per process
so that one which ends between two polls still counts up to its last poll (what it used after that,
at most one interval's worth, is missed). Memory: peak RSS (VmRSS) and peak PSS (`Pss` in
smaps_rollup, which shares each shared page between the processes that map it, so the PSS of the
processes adds up to what they really occupy) of each process, and the peak of their sums.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Peak:
    """The highest memory one process reached while it was watched."""

    pid: int
    command: str
    rss_mb: float = 0.0
    pss_mb: float = 0.0


def _stat(pid: int) -> tuple[int, float, int] | None:
    """(parent pid, CPU seconds, start time in ticks) of `pid`, or None if it is gone."""
    try:
        fields = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS, int(fields[19])


def _command(pid: int) -> str:
    """The command line, and the process's own name where that says more (a forked process names itself)."""
    try:
        command = (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        name = (PROC / str(pid) / "comm").read_text().strip()
    except OSError:
        return ""
    return command if name in command else f"{command} [{name}]"


def _memory_mb(pid: int) -> tuple[float, float]:
    """(RSS, PSS) of `pid` in MB; zeros if it is gone."""
    values = {"VmRSS": 0, "Pss": 0}
    for name, key in (("status", "VmRSS"), ("smaps_rollup", "Pss")):
        try:
            lines = (PROC / str(pid) / name).read_text().splitlines()
        except OSError:
            continue
        values[key] = next((int(line.split()[1]) for line in lines if line.startswith(key + ":")), 0)
    return values["VmRSS"] / 1024, values["Pss"] / 1024


def _ancestors() -> set[int]:
    """This process and its ancestors: never counted as the server, whatever their command line."""
    found, pid = set(), os.getpid()
    while pid > 1 and pid not in found:
        found.add(pid)
        stat = _stat(pid)
        pid = stat[0] if stat else 0
    return found


WEB = ("webapp.server", "streamlit")  # the app's web processes, by their command lines


class ServerWatch:
    """Polls the server's processes every `interval` seconds: cumulative CPU per process and memory peaks."""

    def __init__(self, roots: list[int] | None = None, match: tuple[str, ...] = WEB, interval: float = 0.5) -> None:
        self.roots, self.match, self.interval = list(roots or []), match, interval
        self.cpu: dict[tuple[int, int], float] = {}  # (pid, start ticks) -> CPU seconds at its last poll
        self.peaks: dict[tuple[int, int], Peak] = {}
        self.peak_rss_sum_mb = self.peak_pss_sum_mb = 0.0
        self.polls = 0
        self._lock, self._stop = threading.Lock(), threading.Event()
        self._thread = threading.Thread(target=self._loop, name="server-watch", daemon=True)
        self._skip = _ancestors()

    def describe(self) -> str:
        """Which processes are accounted, in words for the report."""
        if self.roots:
            return "processes " + ", ".join(map(str, self.roots)) + " and all their descendants"
        return (
            f"every process whose command line contains {' or '.join(map(repr, self.match))}, and all their descendants"
        )

    def processes(self) -> dict[int, tuple[float, int]]:
        """pid -> (CPU seconds, start ticks) of every watched process alive now."""
        stats, children = {}, {}
        for entry in PROC.iterdir():
            if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
                stats[int(entry.name)] = stat
                children.setdefault(stat[0], []).append(int(entry.name))
        if self.roots:
            todo = [p for p in self.roots if p in stats]  # none alive: nothing to account, never a guess
        else:
            todo = [p for p in stats if p not in self._skip and any(m in _command(p) for m in self.match)]
        found: dict[int, tuple[float, int]] = {}
        while todo:
            pid = todo.pop()
            if pid not in found and pid in stats:
                found[pid] = stats[pid][1:]
                todo.extend(children.get(pid, []))
        return found

    def poll(self) -> None:
        """Read every watched process's CPU time and memory once."""
        rss_sum = pss_sum = 0.0
        for pid, (cpu, start) in self.processes().items():
            rss, pss = _memory_mb(pid)
            rss_sum, pss_sum = rss_sum + rss, pss_sum + pss
            with self._lock:
                self.cpu[(pid, start)] = cpu
                peak = self.peaks.setdefault((pid, start), Peak(pid, _command(pid)[:200]))
                peak.rss_mb, peak.pss_mb = max(peak.rss_mb, rss), max(peak.pss_mb, pss)
        with self._lock:
            self.peak_rss_sum_mb = max(self.peak_rss_sum_mb, rss_sum)
            self.peak_pss_sum_mb = max(self.peak_pss_sum_mb, pss_sum)
            self.polls += 1

    def mark(self) -> dict[tuple[int, int], float]:
        """A fresh poll, and the CPU seconds of every process seen so far (the ended ones at their last poll)."""
        self.poll()
        with self._lock:
            return dict(self.cpu)

    @staticmethod
    def cpu_between(before: dict[tuple[int, int], float], after: dict[tuple[int, int], float]) -> float:
        """CPU seconds used between two marks; a process born in between counts from zero."""
        return sum(seconds - before.get(key, 0.0) for key, seconds in after.items())

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.poll()

    def start(self) -> None:
        self.poll()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.poll()

    def memory_report(self) -> dict:
        """Peak RSS and PSS per process and of their sums, in MB."""
        with self._lock:
            peaks = sorted(self.peaks.values(), key=lambda p: -p.pss_mb)
            return {
                "processes": [
                    {
                        "pid": p.pid,
                        "command": p.command,
                        "peak_rss_mb": round(p.rss_mb, 1),
                        "peak_pss_mb": round(p.pss_mb, 1),
                    }
                    for p in peaks
                ],
                "peak_rss_mb_sum": round(self.peak_rss_sum_mb, 1),
                "peak_pss_mb_sum": round(self.peak_pss_sum_mb, 1),
                "polls": self.polls,
            }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of `pid` and its threads, in seconds (0 if it is gone).

    Not its reaped children's: a browser's zygote reaps the renderers whose time was already counted."""
    try:
        fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of `pid` and its live descendants, and of the children it has reaped.

    The server's trainings run in a worker process it starts: their time counts as the server's."""
    try:
        fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    reaped = (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")  # cutime + cstime
    return reaped + sum(cpu for cpu, _ in ServerWatch(roots=[pid]).processes().values())


def browser_cpu_by_pid(executable: str) -> dict[int, float]:
    """CPU seconds of each running process of the browser `executable` (renderers, GPU and utility processes)."""
    name, found = Path(executable).name, {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                # Chromium rewrites its child processes' titles into one space-separated string
                argv = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").split()
            except OSError:
                continue
            if argv and Path(argv[0]).name == name:
                found[int(entry.name)] = cpu_seconds(int(entry.name))
    return found


def tree_rss_mb(pid: int) -> tuple[float, float]:
    """Resident memory (all, and anonymous only) of `pid` and its descendants, in MB, read from /proc.

    Anonymous memory is what the app allocates; the rest is mostly torch's shared libraries.
    """
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue  # the process ended while we looked
            children.setdefault(ppid, []).append(int(entry.name))
    total_kb, anon_kb, todo = 0, 0, [pid]
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, []))
        try:
            status = (Path("/proc") / str(current) / "status").read_text()
        except OSError:
            continue
        fields = {
            line.split(":")[0]: line.split()[1] for line in status.splitlines() if line.startswith(("VmRSS", "RssAnon"))
        }
        total_kb, anon_kb = total_kb + int(fields.get("VmRSS", 0)), anon_kb + int(fields.get("RssAnon", 0))
    return total_kb / 1024, anon_kb / 1024


class RssMonitor(threading.Thread):
    """Polls the server's process tree every `interval` seconds, keeping the peak memory; also the
    CPU time of the test's browser processes, which end (and take their figures along) as sessions close."""

    def __init__(self, pid: int, browser: str, interval: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.pid, self.browser, self.interval, self.stop = pid, browser, interval, threading.Event()
        self.peak_mb = self.peak_anon_mb = 0.0
        self.browser_cpu: dict[int, float] = {}  # last CPU seconds seen per browser process

    def run(self) -> None:
        while not self.stop.wait(self.interval):
            rss, anon = tree_rss_mb(self.pid)
            self.peak_mb, self.peak_anon_mb = max(self.peak_mb, rss), max(self.peak_anon_mb, anon)
            self.browser_cpu.update(browser_cpu_by_pid(self.browser))
