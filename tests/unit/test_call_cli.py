"""`agent-desk call …` and the CTI client against a real bridge, found the way a trainer's
terminal finds it: cti.json and the config under AGENT_DESK_HOME."""

from __future__ import annotations

import queue
import re
import socket
import threading
from collections.abc import Iterator

import pytest

from agent_desk.cli import main
from agent_desk.paths import UserPaths
from agent_desk.settings import load_settings
from agent_desk.telephony.client import CtiClientError, send_call_event
from agent_desk.telephony.cti_bridge import CtiBridge
from agent_desk.telephony.runtime import write_runtime
from agent_desk.telephony.source import CallEvent


@pytest.fixture
def delivered() -> queue.Queue[CallEvent]:
    return queue.Queue()


@pytest.fixture
def desk(desk_home: UserPaths, delivered: queue.Queue[CallEvent]) -> Iterator[CtiBridge]:
    """A running desk's bridge, as `launch` starts it: token from the config, port 0."""
    bridge = CtiBridge(0, load_settings(desk_home).cti_token)
    bridge.start(delivered.put)
    yield bridge
    bridge.stop()
    assert not [t for t in threading.enumerate() if t.name.startswith("cti-bridge")]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_ring_prints_the_call_id_and_end_ends_it(
    desk: CtiBridge, delivered: queue.Queue[CallEvent], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "call", "ring", "+86 138 0013 8000")
    assert (code, err) == (0, "")
    call_id = out.strip()
    assert re.fullmatch(r"cli-\d{8}-\d{6}-[0-9a-f]{4}", call_id)
    ringing = delivered.get(timeout=5)
    assert (ringing.event, ringing.call_id) == ("ringing", call_id)
    assert ringing.ani == "+86 138 0013 8000"
    assert run(capsys, "call", "answer", call_id)[:2] == (0, f"call {call_id} answered\n")
    assert run(capsys, "call", "end", call_id)[:2] == (0, f"call {call_id} ended\n")
    assert [delivered.get(timeout=5).event for _ in range(2)] == ["answered", "ended"]


def test_ring_with_a_chosen_id_and_dialled_number(
    desk: CtiBridge, delivered: queue.Queue[CallEvent], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "call", "ring", "13800138000", "--call-id", "drill-7", "--dnis", "95555")[
        :2
    ] == (0, "drill-7\n")
    event = delivered.get(timeout=5)
    assert (event.call_id, event.dnis) == ("drill-7", "95555")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["call", "end", "nope"], "the desk refused the event: unknown call id 'nope'"),
        (["call", "ring", "110", "--call-id", "twice"], "call 'twice' is already ringing"),
    ],
)
def test_refused_events_exit_2_with_the_desks_reason(
    desk: CtiBridge, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    run(capsys, "call", "ring", "110", "--call-id", "twice")
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == "" and message in err


def test_no_desk_running_exits_1(desk_home: UserPaths, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "call", "ring", "110")
    assert code == 1 and out == ""
    home = desk_home.data_dir.parent
    assert f"agent-desk: no desk is running under AGENT_DESK_HOME={home}" in err


def test_a_desk_that_stopped_without_cleaning_up_exits_1(
    desk_home: UserPaths, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:  # a port nobody listens on any more
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    write_runtime("127.0.0.1", port, desk_home)
    code, _, err = run(capsys, "call", "end", "c1")
    assert code == 1 and f"nothing listens on 127.0.0.1:{port}" in err


def test_a_wrong_token_in_the_config_exits_1(
    desk_home: UserPaths, capsys: pytest.CaptureFixture[str]
) -> None:
    bridge = CtiBridge(0, "another-desks-token")
    bridge.start(lambda event: None)
    try:
        code, _, err = run(capsys, "call", "ring", "110")
    finally:
        bridge.stop()
    assert code == 1 and "the desk refused the event: wrong token" in err


@pytest.mark.parametrize("call_id", ["", "x" * 65])
def test_unusable_call_ids_are_usage_errors(
    capsys: pytest.CaptureFixture[str], call_id: str
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["call", "end", call_id])
    assert exit_.value.code == 2 and "1-64 printable characters" in capsys.readouterr().err


def test_client_ignores_proxies_and_reports_status(
    desk: CtiBridge, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")  # would swallow the token
    monkeypatch.setenv("no_proxy", "")
    assert send_call_event("ringing", "p1", "110") == {"status": "accepted"}
    with pytest.raises(CtiClientError) as refused:
        send_call_event("ringing", "p1", "110")
    assert refused.value.status == 409


def test_client_with_explicit_port_and_token(desk: CtiBridge, desk_home: UserPaths) -> None:
    token = load_settings(desk_home).cti_token
    assert send_call_event("ringing", "e1", "110", port=desk.port, token=token)["status"] == (
        "accepted"
    )
    with pytest.raises(CtiClientError, match="wrong token") as refused:
        send_call_event("ended", "e1", port=desk.port, token="x")
    assert refused.value.status == 401
