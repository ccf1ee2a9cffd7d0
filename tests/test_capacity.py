"""How scripts/capacity.py reads its runs: a setup's capacity is the largest visitor count that passed."""

from scripts import capacity


def row(visitors: int, passed: bool, setup: str = "1 process", load: str = "moves only") -> dict:
    memory = {"processes": [{"command": "python -m streamlit run app.py", "peak_pss_mb": 700.0, "peak_rss_mb": 800.0},
                            {"command": "python -m webapp.worker 9", "peak_pss_mb": 650.0, "peak_rss_mb": 880.0}],
              "peak_pss_mb_sum": 1300.0, "peak_rss_mb_sum": 1650.0}  # fmt: skip
    return {"setup": setup, "load": load, "visitors": visitors, "passed": passed, "errors": 0, "lost": 0,
            "latency_s": {"p95": 0.5 if passed else 1.4, "max": 1.2}, "memory": memory, "trainings": []}  # fmt: skip


def test_the_capacity_is_the_last_count_before_the_first_failure():
    assert capacity.capacity([row(20, True), row(30, True), row(40, False)]) == 30
    assert capacity.capacity([row(20, False)]) == 0  # even the smallest load failed


def test_a_run_passes_only_below_the_limit_without_errors_or_losses():
    results = {"passed": True, "latency_s": {"p95": 0.99}}
    assert capacity.passed(results, limit=1.0)
    assert not capacity.passed(results | {"latency_s": {"p95": 1.0}}, limit=1.0)
    assert not capacity.passed(results | {"passed": False}, limit=1.0)  # an error, a lost move or a training


def test_the_report_names_every_process_and_its_peak_memory():
    runs = [row(20, True, load="with 2 trainings"), row(30, False, load="with 2 trainings")]
    lines = capacity.memory_lines(runs)
    assert any("1 process, 20 visitors: web process 700 / 800, training worker 650 / 880" in line for line in lines)
