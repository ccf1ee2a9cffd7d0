"""The load test's results page (results.md): its figures as a short table, with their targets."""

from __future__ import annotations


def think_text(think: float) -> str:
    if not think:
        return "no pause: the next move as soon as the PSNR updates"
    return f"{0.5 * think:g} to {1.5 * think:g} s (uniform, seeded per session)"


def by_move_text(results: dict) -> str:
    """The median latency of every session's first move, second move, ...: shows whether the slow ones cluster."""
    medians = [f"{m['median']:.1f}" for m in results.get("latency_by_move_s", [])]
    return ", ".join(medians) + " s" if medians else "n/a"


def markdown(results: dict) -> str:
    """results.md: the figures as a short table, with their targets."""
    c, lat, during = results["config"], results["latency_s"], results["latency_during_training_s"]
    fmt = lambda x: "n/a" if x is None else f"{x:.2f} s"  # noqa: E731
    rows = [
        ("sessions x slider changes", f"{c['sessions']} x {c['changes']} ({results['interactions']['planned']})"),
        ("trainings at the same time", f"{c['trainings']}" + (" (64 digits)" if c["small_training"] else "")),
        ("look at each result before the next move", think_text(c.get("think", 0))),
        ("arrivals", f"one every {c['ramp']:g} s after the trainers" if c.get("ramp") else "all at the same moment"),
        ("latency, key press to new PSNR: median", fmt(lat["median"])),
        ("latency: 95th percentile (target: < 2 s)", fmt(lat["p95"])),
        ("latency: max", fmt(lat["max"])),
        (
            "latency while a training ran: n / median / 95th percentile",
            f"{during['n']} / {fmt(during['median'])} / {fmt(during['p95'])}",
        ),
        ("latency median by move: 1st, 2nd, ... (each session's moves in order)", by_move_text(results)),
        ("page load: median / max", f"{fmt(results['page_load_s']['median'])} / {fmt(results['page_load_s']['max'])}"),
        ("lost interactions (target: 0)", str(results["interactions"]["lost"])),
        ("errors (target: 0)", str(len(results["errors"]))),
        ("server peak RSS (target: < 1,500 MB)", f"{results['server_peak_rss_mb']:.0f} MB"),
        ("server peak anonymous RSS (without shared libraries)", f"{results['server_peak_anon_rss_mb']:.0f} MB"),
        (
            "CPU time: server (trainings included) / the test's Chromium",
            f"{results['cpu_seconds']['server']:.0f} s / {results['cpu_seconds']['browser']:.0f} s",
        ),
        ("trainings", ", ".join(f"{t['outcome']} in {t['seconds']:.0f} s" for t in results["trainings"]) or "none"),
        ("wall time", f"{results['wall_seconds']:.0f} s on {results['machine']['cpus']} CPUs"),
    ]
    pacing = f"about {c['think']:g} s between moves" if c.get("think") else "back-to-back moves (a stress test)"
    lines = [f"# Load test, {pacing}, {results['date']}", "", "| | |", "| --- | --- |"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    lines += ["", "Errors:" if results["errors"] else "No errors."] + [f"- {e}" for e in results["errors"][:20]]
    return "\n".join(lines) + "\n"
