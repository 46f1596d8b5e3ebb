"""The `agent-desk` command line, run in-process through `cli.main` (the console script's
own entry point) and, where the process boundary matters, as a real subprocess."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from agent_desk.cli import main
from agent_desk.paths import UserPaths
from agent_desk.store.migrations import code_head
from tests.conftest import url_text


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_agents_add_and_list(capsys: pytest.CaptureFixture[str], db_url: URL) -> None:
    db = url_text(db_url)
    code, out, _ = run_cli(
        capsys, "agents", "add", "1002", "张伟", "--role", "operator", "--db", db
    )
    assert code == 0 and "added agent 1002 张伟 (operator)" in out
    run_cli(capsys, "agents", "add", "2002", "赵敏", "--role", "team_lead", "--db", db)
    code, out, _ = run_cli(capsys, "agents", "list", "--db", db)
    assert code == 0
    assert out.splitlines() == ["1002     operator   张伟", "2002     team_lead  赵敏"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["1001", "王", "--role", "operator"], None),  # first one succeeds
        (["1001", "李", "--role", "trainer"], "agent number 1001 already exists"),
        (["10 01", "李", "--role", "trainer"], "must be 1-20 letters"),
        (["1003", " ", "--role", "trainer"], "agent name must not be empty"),
    ],
)
def test_agents_add_bad_input_exits_2_and_changes_nothing(
    capsys: pytest.CaptureFixture[str], db_url: URL, argv: list[str], message: str | None
) -> None:
    db = url_text(db_url)
    assert run_cli(capsys, "agents", "add", "1001", "王", "--role", "operator", "--db", db)[0] == 0
    if message is None:
        return
    code, _, err = run_cli(capsys, "agents", "add", *argv, "--db", db)
    assert code == 2 and message in err
    _, out, _ = run_cli(capsys, "agents", "list", "--db", db)
    assert out.splitlines() == ["1001     operator   王"]


def test_unknown_role_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["agents", "add", "1", "x", "--role", "boss"])
    assert exit_.value.code == 2
    assert "invalid choice: 'boss'" in capsys.readouterr().err


def test_db_upgrade_then_status(capsys: pytest.CaptureFixture[str], empty_db_url: URL) -> None:
    db = url_text(empty_db_url)
    head = code_head()
    code, out, _ = run_cli(capsys, "db", "upgrade", "--db", db)
    assert code == 0 and f"upgraded schema empty -> {head}" in out
    code, out, _ = run_cli(capsys, "db", "upgrade", "--db", db)
    assert code == 0 and f"already current ({head})" in out
    code, out, _ = run_cli(capsys, "db", "status", "--db", db)
    assert code == 0 and "schema is current" in out


def test_db_url_from_environment(
    capsys: pytest.CaptureFixture[str], empty_db_url: URL, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENT_DESK_DB_URL", url_text(empty_db_url))
    code, out, _ = run_cli(capsys, "db", "upgrade")
    assert code == 0 and empty_db_url.database is not None and empty_db_url.database in out


def test_commands_on_an_unreachable_database_fail_clearly(
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = "postgresql+psycopg://agent@127.0.0.1:1/centre"
    for argv in (["db", "upgrade"], ["agents", "list"], ["db", "status"]):
        code, _, err = run_cli(capsys, *argv, "--db", db)
        assert code == 1
        assert "cannot open PostgreSQL agent@127.0.0.1:1/centre" in err
        assert "Traceback" not in err


@pytest.mark.pg
def test_agents_add_refuses_an_unmigrated_shared_database(
    capsys: pytest.CaptureFixture[str], pg_server_url: str
) -> None:
    from agent_desk.store.scratch import scratch_database

    with scratch_database(pg_server_url, "test") as url:
        code, _, err = run_cli(
            capsys, "agents", "add", "1", "x", "--role", "admin", "--db", url_text(url)
        )
    assert code == 1 and "run 'agent-desk db upgrade'" in err


def test_db_login_without_a_keyring_points_at_the_env_fallback(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    fail_keyring: object,
    desk_home: UserPaths,
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("s3cret-pw\n"))
    code, _, err = run_cli(capsys, "db", "login", "postgresql+psycopg://agent@127.0.0.1:1/c")
    assert code == 1
    assert "AGENT_DESK_DB_PASSWORD" in err and "no OS keyring backend works" in err
    assert_never_written(desk_home, "s3cret-pw")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite:///x.db", "an SQLite database has no password"),
        ("postgresql://agent:pw@h/db", "without a password"),
        ("::nonsense::", "not a database URL"),
    ],
)
def test_db_login_bad_urls(capsys: pytest.CaptureFixture[str], url: str, message: str) -> None:
    code, _, err = run_cli(capsys, "db", "login", url)
    assert code == 2 and message in err


def test_db_login_empty_password_stores_nothing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n"))
    code, _, err = run_cli(capsys, "db", "login", "postgresql+psycopg://agent@127.0.0.1:1/c")
    assert code == 2 and "no password given" in err


def assert_never_written(paths: UserPaths, secret: str) -> None:
    """The password is in no config file and no log (the brief's grep)."""
    for root in (paths.config_dir, paths.log_dir, paths.data_dir):
        for path in Path(root).rglob("*"):
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), f"{secret!r} found in {path}"


def test_bench_unknown_name(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "bench", "nosuch")
    assert code == 2 and "unknown benchmark 'nosuch'" in err and "startup" in err


def test_main_py_is_the_same_program() -> None:
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, str(root / "main.py"), "--version"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert done.stdout.strip().startswith("agent-desk ")
    done = subprocess.run(
        [sys.executable, str(root / "main.py"), "agents", "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert "add" in done.stdout and "list" in done.stdout


@pytest.mark.pg
def test_db_login_stores_the_password_in_the_os_keyring_and_nowhere_else(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    secret_service_keyring: object,
    desk_home: UserPaths,
    pg_server_url: str,
) -> None:
    """Real Secret Service, real server, then a desk launch: the password is only in the
    keyring (the test server trusts local connections, so any password verifies)."""
    from sqlalchemy.engine import make_url

    from agent_desk.store import credentials
    from agent_desk.store.desk import connect_desk

    url = make_url(pg_server_url).set(password=None)
    secret = "pässwörd-Ω-4711"
    monkeypatch.setattr(sys, "stdin", io.StringIO(secret + "\n"))
    code, out, err = run_cli(capsys, "db", "login", url_text(url))
    assert code == 0, err
    assert "verified and stored in the OS keyring (keyring.backends.SecretService" in out
    assert credentials.lookup_password(url) == secret
    assert secret not in out + err
    main(["db", "status", "--db", url_text(url)])  # the desk now logs its database use
    from agent_desk.logs import setup_logging

    setup_logging(desk_home)
    connect_desk(url_text(url), "1001").database.close()
    assert_never_written(desk_home, secret)


def test_db_seed_demo_then_if_empty(capsys: pytest.CaptureFixture[str], db_url: URL) -> None:
    db = url_text(db_url)
    code, out, err = run_cli(
        capsys, "db", "seed-demo", "--customers", "20", "--sessions", "30", "--db", db
    )
    assert code == 0, err
    assert "20 customers" in out and "30 call sessions" in out and "300 session events" in out
    assert "customers: 20/20" in err  # progress goes to stderr
    code, out, _ = run_cli(capsys, "db", "seed-demo", "--if-empty", "--db", db)
    assert code == 0 and "already has customers; demo data not loaded" in out
    _, out, _ = run_cli(capsys, "agents", "list", "--db", db)
    assert [line.split()[1] for line in out.splitlines()] == [
        "operator",
        "team_lead",
        "trainer",
        "admin",
    ]


def test_db_seed_demo_rejects_a_bad_count(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["db", "seed-demo", "--customers", "0"])
    assert exit_.value.code == 2 and "0 must be at least 1" in capsys.readouterr().err
