from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent_desk.paths import UserPaths, user_paths
from agent_desk.settings import (
    DEFAULT_AGENT_NO,
    Settings,
    SettingsError,
    load_settings,
    resolve_db_url,
    save_settings,
)


def test_agent_desk_home_overrides_every_per_user_path(
    desk_home: UserPaths, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    for path in (desk_home.config_dir, desk_home.data_dir, desk_home.log_dir, desk_home.outbox_dir):
        assert home in path.parents


def test_without_home_paths_come_from_platformdirs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGENT_DESK_HOME")
    monkeypatch.setenv("XDG_CONFIG_HOME", "/x/config")
    monkeypatch.setenv("XDG_DATA_HOME", "/x/data")
    paths = user_paths()
    assert paths.config_dir == Path("/x/config/agent-desk")
    assert paths.data_dir == Path("/x/data/agent-desk")


def test_first_load_writes_defaults_and_keeps_the_cti_token(desk_home: UserPaths) -> None:
    first = load_settings(desk_home)
    assert first.agent_no == DEFAULT_AGENT_NO
    assert desk_home.config_file.exists()
    assert load_settings(desk_home).cti_token == first.cti_token
    assert len(first.cti_token) >= 24


def test_settings_round_trip(desk_home: UserPaths) -> None:
    s = Settings(db_url="postgresql+psycopg://agent@db/centre", agent_no="2042", cti_port=9000)
    save_settings(s, desk_home)
    assert load_settings(desk_home) == s


def test_default_database_is_sqlite_under_the_data_dir(desk_home: UserPaths) -> None:
    url = resolve_db_url(Settings(), None, desk_home)
    assert url == f"sqlite:///{desk_home.data_dir / 'agent-desk.sqlite3'}"
    assert resolve_db_url(Settings(db_url="sqlite:///a"), None, desk_home) == "sqlite:///a"
    assert resolve_db_url(Settings(db_url="sqlite:///a"), "sqlite:///b", desk_home) == "sqlite:///b"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (Settings(agent_no="  "), "agent number must not be empty"),
        (Settings(cti_port=70000), "CTI port 70000 is not between 0 and 65535"),
        (Settings(db_url="not a url"), "database URL is not valid"),
        (Settings(db_url="postgresql://u:secret@h/db"), "must not contain a password"),
    ],
)
def test_bad_settings_are_refused_and_nothing_is_written(
    desk_home: UserPaths, settings: Settings, message: str
) -> None:
    save_settings(Settings(agent_no="1234"), desk_home)
    before = desk_home.config_file.read_bytes()
    with pytest.raises(SettingsError, match=message):
        save_settings(settings, desk_home)
    assert desk_home.config_file.read_bytes() == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "cannot read settings"),
        ("[1, 2]", "must be a JSON object"),
        ('{"cti_port": "80"}', "'cti_port' must be int"),
        ('{"cti_port": true}', "'cti_port' must be int"),
        ('{"agent_no": ""}', "agent number must not be empty"),
    ],
)
def test_a_broken_config_file_is_reported_with_its_path(
    desk_home: UserPaths, content: str, message: str
) -> None:
    desk_home.config_file.write_text(content, encoding="utf-8")
    with pytest.raises(SettingsError, match=message) as err:
        load_settings(desk_home)
    assert str(desk_home.config_file) in str(err.value) or "agent number" in message


def test_unknown_keys_from_a_newer_desk_are_ignored(desk_home: UserPaths) -> None:
    desk_home.config_file.write_text(json.dumps({"agent_no": "77", "future": 1}), "utf-8")
    assert load_settings(desk_home).agent_no == "77"


def test_wrap_up_codes_are_configurable(desk_home: UserPaths) -> None:
    s = Settings(
        wrap_up_codes=["sale=销售 · Sale", "other"],
        wrap_up_default="other",
        after_call_work_seconds=30,
    )
    save_settings(s, desk_home)
    policy = load_settings(desk_home).wrap_up_policy()
    assert policy.codes == ("sale", "other")
    assert policy.label("sale") == "销售 · Sale" and policy.label("other") == "other"
    assert policy.after_call_work_seconds == 30


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (Settings(wrap_up_codes=[]), "needs at least one code"),
        (Settings(wrap_up_default="nosuch"), "'nosuch' is not in the list"),
        (Settings(after_call_work_seconds=0), "at least one second"),
        (Settings(wrap_up_codes=["a=x", "a=y"], wrap_up_default="a"), "repeat"),
    ],
)
def test_bad_wrap_up_settings_are_refused(settings: Settings, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        settings.validate()
