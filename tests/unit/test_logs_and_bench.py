from __future__ import annotations

import json
import logging

import pytest

from agent_desk.bench import figure, percentile
from agent_desk.logs import redact, setup_logging
from agent_desk.paths import UserPaths


def test_passwords_in_urls_are_redacted() -> None:
    text = "connect postgresql+psycopg://agent:s3cr%40t@db:5432/centre failed"
    assert redact(text) == "connect postgresql+psycopg://agent:***@db:5432/centre failed"
    assert redact("sqlite:///tmp/x.db") == "sqlite:///tmp/x.db"


def test_log_file_never_receives_a_password(desk_home: UserPaths) -> None:
    log_file = setup_logging(desk_home)
    logging.getLogger("agent_desk.test").warning(
        "engine for %s", "postgresql://agent:hunter2@db/centre"
    )
    for handler in logging.getLogger().handlers:
        handler.flush()
    content = log_file.read_text(encoding="utf-8")
    assert "engine for postgresql://agent:***@db/centre" in content
    assert "hunter2" not in content


def test_setup_logging_twice_keeps_one_handler(desk_home: UserPaths) -> None:
    setup_logging(desk_home)
    setup_logging(desk_home)
    ours = [h for h in logging.getLogger().handlers if getattr(h, "_agent_desk", False)]
    assert len(ours) == 1


def test_figure_reports_median_p95_and_max() -> None:
    samples = [float(x) for x in range(1, 101)]
    result = figure("startup", "t", samples)
    assert result["p50"] == 50.5
    assert result["p95"] == pytest.approx(95.05)
    assert result["max"] == 100
    assert result["n"] == 100
    json.dumps(result)


def test_one_sample_is_its_own_percentile() -> None:
    assert percentile([7.0], 95) == 7.0


def test_no_samples_is_an_error() -> None:
    with pytest.raises(ValueError, match="no samples"):
        figure("b", "f", [])
