"""The benchmarks that start whole desks still run: a figure that silently stops being
measurable is a regression too."""

from __future__ import annotations

from agent_desk.bench import BenchOptions
from agent_desk.bench import startup as startup_bench


def test_bench_startup_reports_the_window_and_the_database() -> None:
    options = BenchOptions(db_url=None, repeat=1, customers=0, sessions=0)
    shown, connected = list(startup_bench.run(options))
    assert shown["figure"] == "process start to main window shown (sqlite)"
    assert connected["figure"] == "process start to database connected (sqlite)"
    assert shown["n"] == connected["n"] == 1
    assert 0 < shown["p50"] <= connected["p50"] + 1000
