"""The installed desk carries its migrations and resources: build the real wheel and look."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_ships_migrations_resources_and_every_package(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("agent_desk-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "agent_desk/migrations/env.py",
        "agent_desk/migrations/script.py.mako",
        "agent_desk/migrations/versions/0001_initial_schema.py",
        "agent_desk/resources/styles/desk.qss",
        "agent_desk/bench/startup.py",
        "agent_desk/commands/__init__.py",
    ):
        assert required in names, f"{required} missing from {wheel.name}"
    packages = {
        p.parent.relative_to(ROOT).as_posix() for p in (ROOT / "agent_desk").rglob("__init__.py")
    }
    shipped = {n.rsplit("/", 1)[0] for n in names if n.endswith("/__init__.py")}
    assert packages <= shipped, f"packages not in the wheel: {packages - shipped}"
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "agent-desk = agent_desk.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
