"""Script-pack figures for `bench coaching`: validate + publish the default pack, and how
long a running desk takes to pick up a newly activated pack (it polls the database)."""

from __future__ import annotations

import dataclasses
import os
import random
import tempfile
import time
from collections.abc import Iterator
from importlib.resources import as_file, files
from typing import Any

from sqlalchemy.orm import sessionmaker

from agent_desk.bench import BenchOptions, figure
from agent_desk.store.db import make_engine
from agent_desk.store.migrations import upgrade
from agent_desk.store.scratch import scratch_database

PUBLISH_RUNS = 10
PICKUP_RUNS = 12


def run(options: BenchOptions) -> Iterator[dict[str, Any]]:
    from agent_desk.core.scripts import load_pack
    from agent_desk.store.pack_publishing import publish_loaded

    with (
        scratch_database(options.db_url, "packs") as url,
        as_file(
            files("agent_desk.resources").joinpath("packs/service-etiquette/pack.yaml")
        ) as path,
    ):
        engine = make_engine(url)
        upgrade(engine)
        sessions = sessionmaker(engine, expire_on_commit=False)
        samples = []
        for run_no in range(PUBLISH_RUNS):
            started = time.perf_counter()
            pack = load_pack(path)  # read, schema, every rule of the validator
            publish_loaded(
                sessions,
                dataclasses.replace(pack, version=f"1.0.{run_no + 1}"),
                None,
                activate=True,
            )
            samples.append((time.perf_counter() - started) * 1000)
        backend = url.get_backend_name()
        yield figure(
            "coaching", f"validate + publish + activate the default pack ({backend})", samples
        )
        yield figure(
            "coaching",
            f"second desk picks up an activated pack ({backend})",
            _pickup(url.render_as_string(hide_password=False), sessions, pack),
            poll_ms=_poll_ms(),
        )
        engine.dispose()


def _poll_ms() -> int:
    from agent_desk.ui.pack_watcher import POLL_MS

    return POLL_MS


def _pickup(db_url: str, sessions: sessionmaker[Any], pack: Any) -> list[float]:
    """A real desk window (offscreen) on the same database; this process plays the trainer."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from agent_desk.bench.desk_driver import DeskDriver
    from agent_desk.store.pack_publishing import publish_loaded

    with tempfile.TemporaryDirectory(prefix="agent-desk-bench-packs-") as home:
        os.environ["AGENT_DESK_HOME"] = home
        from agent_desk.store.agents import ensure_demo_agents

        with sessions.begin() as session:
            ensure_demo_agents(session)
        driver = DeskDriver(db_url)
        try:
            panel = driver.window.calls.script_panel
            samples = []
            rng = random.Random(7)
            for run_no in range(PICKUP_RUNS):
                # Trainers do not publish in step with the desks' polls: land anywhere in it.
                resume = time.perf_counter() + rng.uniform(0, _poll_ms() / 1000)
                driver.wait_until(lambda t=resume: time.perf_counter() >= t)
                version = f"2.0.{run_no + 1}"
                publish_loaded(
                    sessions, dataclasses.replace(pack, version=version), None, activate=True
                )
                activated = time.perf_counter()
                driver.wait_until(
                    lambda v=version: panel.pack is not None and panel.pack.version == v
                )
                samples.append((time.perf_counter() - activated) * 1000)
            return samples
        finally:
            driver.close()
