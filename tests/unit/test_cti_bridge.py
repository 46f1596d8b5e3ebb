"""The CTI bridge over real HTTP on loopback: what a PBX sends, what it gets back, and what
reaches the desk (exactly once, in order, never a refused event)."""

from __future__ import annotations

import contextlib
import datetime as dt
import http.client
import json
import logging
import os
import queue
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from agent_desk.paths import UserPaths
from agent_desk.telephony import call_order
from agent_desk.telephony.call_order import CallOrder, OrderError
from agent_desk.telephony.cti_bridge import CtiBridge, CtiBridgeError
from agent_desk.telephony.runtime import read_runtime, runtime_path
from agent_desk.telephony.source import CallEvent

TOKEN = "test-token-0123456789abcdef"
Reply = tuple[int, dict[str, Any], http.client.HTTPMessage]


@pytest.fixture
def delivered() -> queue.Queue[CallEvent]:
    return queue.Queue()


@pytest.fixture
def bridge(desk_home: UserPaths, delivered: queue.Queue[CallEvent]) -> Iterator[CtiBridge]:
    bridge = CtiBridge(0, TOKEN, paths=desk_home)
    bridge.start(delivered.put)
    yield bridge
    bridge.stop()
    assert not [t for t in threading.enumerate() if t.name.startswith("cti-bridge")]


def event(kind: str, call_id: str, **extra: Any) -> dict[str, Any]:
    return {"event": kind, "call_id": call_id, "ani": "13800138000", "dnis": "4008008000", **extra}


def post(
    bridge: CtiBridge,
    body: dict[str, Any] | bytes | str,
    *,
    token: str | None = TOKEN,
    content_type: str | None = "application/json",
    path: str = "/calls",
    method: str = "POST",
    headers: dict[str, str] | None = None,
) -> Reply:
    data = (
        body
        if isinstance(body, bytes)
        else (body if isinstance(body, str) else json.dumps(body)).encode("utf-8")
    )
    sent = dict(headers or {})
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    if content_type is not None:
        sent["Content-Type"] = content_type
    conn = http.client.HTTPConnection("127.0.0.1", bridge.port, timeout=5)
    try:
        conn.request(method, path, body=data if method in ("POST", "PUT") else None, headers=sent)
        response = conn.getresponse()
        raw = response.read()
        payload = json.loads(raw) if raw else {}
        return response.status, payload, response.headers
    finally:
        conn.close()


def raw_exchange(bridge: CtiBridge, data: bytes) -> tuple[int, dict[str, Any], str]:
    """Send bytes as they are, read until the bridge closes: status, JSON, raw head."""
    with socket.create_connection(("127.0.0.1", bridge.port), timeout=5) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body), head.decode("latin-1")


def no_delivery(delivered: queue.Queue[CallEvent]) -> bool:
    return delivered.empty()


# -- the good path -----------------------------------------------------------------------------


def test_a_call_is_accepted_and_delivered_in_order(
    bridge: CtiBridge, delivered: queue.Queue[CallEvent]
) -> None:
    for kind in ("ringing", "answered", "ended"):
        extra = {"agent": "1001", "recording": "rec/2026/c1.wav"} if kind == "ringing" else {}
        status, payload, headers = post(bridge, event(kind, "c1", **extra))
        assert (status, payload) == (202, {"status": "accepted"})
        assert headers["Content-Type"] == "application/json; charset=utf-8"
    got = [delivered.get(timeout=5) for _ in range(3)]
    assert [e.event for e in got] == ["ringing", "answered", "ended"]
    first = got[0]
    assert (first.call_id, first.ani, first.dnis, first.agent, first.recording) == (
        "c1",
        "13800138000",
        "4008008000",
        "1001",
        "rec/2026/c1.wav",
    )
    assert first.received_at.tzinfo is not None
    assert dt.datetime.now(dt.UTC) - first.received_at < dt.timedelta(seconds=30)
    assert delivered.empty()


def test_answered_and_ended_need_no_numbers_and_extra_fields_are_ignored(
    bridge: CtiBridge, delivered: queue.Queue[CallEvent]
) -> None:
    assert post(bridge, event("ringing", "c1", queue="vip", agent=None))[0] == 202
    assert post(bridge, {"event": "answered", "call_id": "c1"})[0] == 202
    assert post(bridge, {"event": "ended", "call_id": "c1", "cause": 16})[0] == 202
    got = [delivered.get(timeout=5) for _ in range(3)]
    assert got[0].agent is None and got[1].ani == "" and got[2].event == "ended"


def test_a_caller_who_gives_up_while_ringing(
    bridge: CtiBridge, delivered: queue.Queue[CallEvent]
) -> None:
    assert post(bridge, event("ringing", "c1"))[0] == 202
    assert post(bridge, event("ended", "c1"))[0] == 202
    assert [delivered.get(timeout=5).event for _ in range(2)] == ["ringing", "ended"]


def test_charset_parameter_and_keep_alive(bridge: CtiBridge) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", bridge.port, timeout=5)
    try:
        for call_id in ("k1", "k2"):
            conn.request(
                "POST",
                "/calls",
                body=json.dumps(event("ringing", call_id)),
                headers={
                    "Authorization": f"Bearer {TOKEN}",
                    "Content-Type": "application/json; charset=UTF-8",
                },
            )
            response = conn.getresponse()
            assert response.status == 202 and json.loads(response.read())["status"] == "accepted"
    finally:
        conn.close()


def test_health_needs_no_token(bridge: CtiBridge) -> None:
    status, payload, _ = post(bridge, b"", method="GET", path="/health", token=None)
    assert (status, payload) == (200, {"status": "ok"})
    status, payload, _ = post(bridge, b"", method="HEAD", path="/health", token=None)
    assert (status, payload) == (200, {})


# -- refusals: nothing reaches the desk --------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"event": "ringing", "call_id": ', "body is not valid JSON"),
        (b"[1, 2]", "body must be a JSON object, not an array"),
        (b'"ringing"', "body must be a JSON object, not a string"),
        (b'{"event": "ringing", "call_id": "c1", "ani": NaN, "dnis": ""}', "not valid JSON"),
        ('{"event": "ringing", "call_id": "来电"}'.encode("gbk"), "body is not UTF-8"),
        (b"", "body is not valid JSON"),
    ],
)
def test_malformed_bodies_are_400(
    bridge: CtiBridge, delivered: queue.Queue[CallEvent], body: bytes, message: str
) -> None:
    status, payload, _ = post(bridge, body)
    assert status == 400 and message in payload["error"]
    assert no_delivery(delivered)


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (None, "missing bearer token"),
        ("nope", "wrong token"),
        (TOKEN[:-1], "wrong token"),
        ("", "authorization must be 'Bearer <token>'"),
    ],
)
def test_missing_or_wrong_token_is_401(
    bridge: CtiBridge, delivered: queue.Queue[CallEvent], token: str | None, message: str
) -> None:
    status, payload, headers = post(bridge, event("ringing", "c1"), token=token)
    assert (status, payload) == (401, {"error": message})
    assert headers["WWW-Authenticate"].startswith("Bearer")
    assert no_delivery(delivered)


def test_other_schemes_are_401(bridge: CtiBridge) -> None:
    status, payload, _ = post(
        bridge, event("ringing", "c1"), token=None, headers={"Authorization": f"Basic {TOKEN}"}
    )
    assert status == 401 and "Bearer" in payload["error"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"call_id": "c1", "ani": "1", "dnis": "2"}, "missing field 'event'"),
        (event("transferred", "c1"), "field 'event' must be one of 'ringing', 'answered'"),
        (event(None, "c1"), "field 'event' must be one of"),  # type: ignore[arg-type]
        ({"event": "ringing", "ani": "1", "dnis": "2"}, "missing field 'call_id'"),
        (event("ringing", 42), "field 'call_id' must be a string, not a number"),  # type: ignore[arg-type]
        (event("ringing", " "), "field 'call_id' must be printable and not blank"),
        (event("ringing", "x" * 65), "field 'call_id' is longer than 64"),
        ({"event": "ringing", "call_id": "c1", "dnis": "2"}, "missing field 'ani'"),
        ({"event": "ringing", "call_id": "c1", "ani": "1"}, "missing field 'dnis'"),
        (event("ringing", "c1", ani=13800138000), "field 'ani' must be a string, not a number"),
        (event("ringing", "c1", agent=["1001"]), "field 'agent' must be a string, not an array"),
        (event("ringing", "c1", recording=True), "field 'recording' must be a string"),
    ],
)
def test_missing_or_wrong_fields_are_422_naming_the_field(
    bridge: CtiBridge, delivered: queue.Queue[CallEvent], body: dict[str, Any], message: str
) -> None:
    status, payload, _ = post(bridge, body)
    assert status == 422 and message in payload["error"], payload
    assert no_delivery(delivered)


def test_unknown_call_id_is_404(bridge: CtiBridge, delivered: queue.Queue[CallEvent]) -> None:
    for kind in ("answered", "ended"):
        assert post(bridge, event(kind, "x"))[:2] == (404, {"error": "unknown call id 'x'"})
    assert no_delivery(delivered)


@pytest.mark.parametrize(
    ("sequence", "message"),
    [
        (["ringing", "ringing"], "call 'c1' is already ringing"),
        (["ringing", "answered", "ringing"], "call 'c1' is already answered"),
        (["ringing", "answered", "answered"], "call 'c1' is already answered"),
        (["ringing", "ended", "answered"], "call 'c1' has already ended"),
        (["ringing", "ended", "ended"], "call 'c1' has already ended"),
        (["ringing", "ended", "ringing"], "call 'c1' has already ended"),
    ],
)
def test_out_of_order_events_are_409(
    bridge: CtiBridge, delivered: queue.Queue[CallEvent], sequence: list[str], message: str
) -> None:
    *accepted, refused = sequence
    for kind in accepted:
        assert post(bridge, event(kind, "c1"))[0] == 202
    assert post(bridge, event(refused, "c1"))[:2] == (409, {"error": message})
    assert [delivered.get(timeout=5).event for _ in accepted] == accepted
    assert no_delivery(delivered)


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "application/json; charset=gbk"],
)
def test_other_content_types_are_415(
    bridge: CtiBridge, delivered: queue.Queue[CallEvent], content_type: str | None
) -> None:
    status, payload, _ = post(bridge, event("ringing", "c1"), content_type=content_type)
    assert status == 415 and ("content type" in payload["error"] or "charset" in payload["error"])
    assert no_delivery(delivered)


def test_other_paths_are_404_and_other_methods_405(bridge: CtiBridge) -> None:
    status, payload, _ = post(bridge, event("ringing", "c1"), path="/call")
    assert status == 404 and "POST /calls" in payload["error"]
    for method in ("GET", "PUT", "DELETE"):
        status, payload, headers = post(bridge, event("ringing", "c1"), method=method)
        assert (status, headers["Allow"]) == (405, "POST"), method
        assert f"{method} is not allowed on /calls" in payload["error"]
    status, _, headers = post(bridge, b"", method="BREW")
    assert (status, headers["Allow"]) == (405, "POST")
    status, _, headers = post(bridge, event("ringing", "c1"), path="/health")
    assert (status, headers["Allow"]) == (405, "GET, HEAD")


def request_head(length: int | None, *, extra: str = "", token: str = TOKEN) -> bytes:
    lines = [
        "POST /calls HTTP/1.1",
        "Host: 127.0.0.1",
        f"Authorization: Bearer {token}",
        "Content-Type: application/json",
    ]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    if extra:
        lines.append(extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def test_a_1_mb_body_is_refused_without_being_read(
    bridge: CtiBridge, delivered: queue.Queue[CallEvent]
) -> None:
    # Only the first KiB is ever sent: an answer proves the bridge did not wait for the rest.
    started = time.perf_counter()
    status, payload, head = raw_exchange(bridge, request_head(1024 * 1024) + b"{" + b" " * 1023)
    assert time.perf_counter() - started < 2.0
    assert status == 413 and "1048576 bytes is over the 65536-byte limit" in payload["error"]
    assert "Connection: close" in head
    assert no_delivery(delivered)


def test_a_client_sending_the_whole_1_mb_reads_the_413(bridge: CtiBridge) -> None:
    # Like curl: it reads while it sends, so the early answer reaches it before the close.
    body = b"{" + b" " * (1024 * 1024 - 1)
    with socket.create_connection(("127.0.0.1", bridge.port), timeout=5) as sock:

        def send() -> None:
            with contextlib.suppress(OSError):  # the bridge may close before it is all sent
                sock.sendall(request_head(len(body)) + body)

        sender = threading.Thread(target=send)
        started = time.perf_counter()
        sender.start()
        answer = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                answer += chunk
        sender.join(timeout=10)
    assert not sender.is_alive()
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert time.perf_counter() - started < 2.0


def test_a_client_that_asks_first_is_refused_before_sending(bridge: CtiBridge) -> None:
    status, payload, head = raw_exchange(
        bridge, request_head(1024 * 1024, extra="Expect: 100-continue")
    )
    assert status == 413 and "100 Continue" not in head
    status, payload, _ = raw_exchange(
        bridge, request_head(10, extra="Expect: 100-continue", token="nope")
    )
    assert (status, payload) == (401, {"error": "wrong token"})


def test_a_client_that_asks_first_sends_a_good_body_after_100_continue(
    bridge: CtiBridge, delivered: queue.Queue[CallEvent]
) -> None:
    body = json.dumps(event("ringing", "c1")).encode()
    with socket.create_connection(("127.0.0.1", bridge.port), timeout=5) as sock:
        sock.sendall(request_head(len(body), extra="Expect: 100-continue"))
        assert sock.recv(1024) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        assert sock.recv(1024).startswith(b"HTTP/1.1 202 ")
    assert delivered.get(timeout=5).call_id == "c1"


def test_ipv6_loopback(desk_home: UserPaths, delivered: queue.Queue[CallEvent]) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    bridge = CtiBridge(0, TOKEN, host="::1", paths=desk_home)
    try:
        bridge.start(delivered.put)
    except CtiBridgeError as exc:
        pytest.skip(f"IPv6 loopback unavailable: {exc}")
    try:
        from agent_desk.telephony.client import send_call_event

        assert send_call_event("ringing", "v6", "110", token=TOKEN, paths=desk_home) == {
            "status": "accepted"
        }
    finally:
        bridge.stop()
    assert delivered.get(timeout=5).call_id == "v6"


def test_a_body_at_the_limit_is_read(bridge: CtiBridge) -> None:
    body = json.dumps(event("ringing", "c1", note="x" * 100)).encode()
    padded = body + b" " * (64 * 1024 - len(body))
    assert post(bridge, padded)[0] == 202


@pytest.mark.parametrize(
    ("head", "status", "message"),
    [
        (request_head(None), 411, "Content-Length is required"),
        (request_head(None, extra="Transfer-Encoding: chunked"), 411, "chunked"),
        (request_head(None, extra="Content-Length: ten"), 400, "not a size in bytes"),
        (request_head(None, extra="Content-Length: -1"), 400, "not a size in bytes"),
    ],
)
def test_unusable_lengths_are_refused(
    bridge: CtiBridge, head: bytes, status: int, message: str
) -> None:
    got, payload, _ = raw_exchange(bridge, head)
    assert got == status and message in payload["error"]


def test_a_body_shorter_than_announced_is_400(bridge: CtiBridge) -> None:
    with socket.create_connection(("127.0.0.1", bridge.port), timeout=5) as sock:
        sock.sendall(request_head(100) + b'{"event":')
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400") and b"body ended after 9 of 100 bytes" in answer


def test_refusals_go_to_the_log_not_stderr(
    bridge: CtiBridge, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="agent_desk.telephony")
    post(bridge, b"{", token="bad")
    post(bridge, b"", method="BREW")
    status, payload, _ = raw_exchange(bridge, b"POST /calls HTTP/1.1 junk\r\n\r\n")
    assert status == 400 and "Bad request" in payload["error"]
    assert post(bridge, event("ringing", "c1"))[0] == 202
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert any("401" in record.getMessage() for record in caplog.records)


def test_a_desk_that_fails_to_take_an_event_answers_500(desk_home: UserPaths) -> None:
    def broken(event: CallEvent) -> None:
        raise RuntimeError("window gone")

    bridge = CtiBridge(0, TOKEN, paths=desk_home)
    bridge.start(broken)
    try:
        assert post(bridge, event("ringing", "c1"))[0] == 500
        # Not recorded as seen: the switch's retry is judged afresh, not as a repeat.
        assert post(bridge, event("ringing", "c1"))[0] == 500
    finally:
        bridge.stop()


# -- many switches at once -------------------------------------------------------------------


def test_concurrent_requests_are_each_delivered_exactly_once_in_order_per_call(
    bridge: CtiBridge, delivered: queue.Queue[CallEvent]
) -> None:
    threads_n, calls_per_thread = 8, 5  # 8 x (5 x 3 + 10) = 200 requests
    start = threading.Barrier(threads_n)
    statuses: queue.Queue[tuple[str, int]] = queue.Queue()

    def switch(n: int) -> None:
        start.wait(timeout=10)
        plan = [
            (kind, f"t{n}-c{i}")
            for i in range(calls_per_thread)
            for kind in ("ringing", "answered", "ended")
        ]
        plan += [("ringing", f"t{n}-r{i}") for i in range(10)]
        for kind, call_id in plan:
            statuses.put((call_id, post(bridge, event(kind, call_id))[0]))

    threads = [threading.Thread(target=switch, args=(n,)) for n in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    answers = [statuses.get_nowait() for _ in range(statuses.qsize())]
    assert len(answers) == 200 and {status for _, status in answers} == {202}
    got = [delivered.get(timeout=5) for _ in range(200)]
    assert delivered.empty()
    assert len({(e.event, e.call_id) for e in got}) == 200
    for n in range(threads_n):
        for i in range(calls_per_thread):
            kinds = [e.event for e in got if e.call_id == f"t{n}-c{i}"]
            assert kinds == ["ringing", "answered", "ended"]


# -- starting and stopping ---------------------------------------------------------------------


def test_start_publishes_the_port_and_stop_frees_it(desk_home: UserPaths) -> None:
    threads_before = set(threading.enumerate())
    bridge = CtiBridge(0, TOKEN, paths=desk_home)
    bridge.start(lambda event: None)
    assert post(bridge, event("ringing", "c1"))[0] == 202
    port = bridge.port
    assert port > 0 and bridge.running and bridge.describe() == f"CTI bridge on 127.0.0.1:{port}"
    runtime = read_runtime(desk_home)
    assert runtime is not None and (runtime.port, runtime.pid) == (port, os.getpid())
    assert TOKEN not in runtime_path(desk_home).read_text(encoding="utf-8")
    bridge.stop()
    bridge.stop()  # twice is harmless
    assert not runtime_path(desk_home).exists() and not bridge.running
    assert set(threading.enumerate()) <= threads_before  # every request thread joined
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), 2):
        pass
    again = CtiBridge(port, TOKEN, paths=desk_home)  # the port is free for the next desk
    again.start(lambda event: None)
    again.stop()


def test_stop_does_not_wait_for_idle_clients(bridge: CtiBridge, desk_home: UserPaths) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", bridge.port, timeout=5)
    try:
        conn.request("GET", "/health")
        conn.getresponse().read()  # the connection stays open, kept alive
        started = time.perf_counter()
        bridge.stop()
        assert time.perf_counter() - started < 2.0
    finally:
        conn.close()


def test_a_port_in_use_is_reported_at_start(desk_home: UserPaths) -> None:
    first = CtiBridge(0, TOKEN, paths=desk_home)
    first.start(lambda event: None)
    try:
        second = CtiBridge(first.port, TOKEN, paths=desk_home, publish=False)
        with pytest.raises(CtiBridgeError, match=f"CTI port {first.port} is in use on 127.0.0.1"):
            second.start(lambda event: None)
        assert not second.running
        runtime = read_runtime(desk_home)
        assert runtime is not None and runtime.port == first.port  # the first desk's stays
    finally:
        first.stop()


@pytest.mark.parametrize(
    ("port", "token", "message"),
    [(0, "", "token is empty"), (70000, TOKEN, "not between 0 and 65535")],
)
def test_unusable_settings_are_reported_at_start(
    desk_home: UserPaths, port: int, token: str, message: str
) -> None:
    with pytest.raises(CtiBridgeError, match=message):
        CtiBridge(port, token, paths=desk_home).start(lambda event: None)


def test_starting_twice_is_refused(bridge: CtiBridge) -> None:
    with pytest.raises(CtiBridgeError, match="already running"):
        bridge.start(lambda event: None)


# -- the order registry stays small ------------------------------------------------------------


def test_ended_calls_are_forgotten_after_a_while(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    order = CallOrder(clock=lambda: now[0])
    order.accept("ringing", "c1")
    order.accept("ended", "c1")
    with pytest.raises(OrderError, match="already ended"):
        order.check("ended", "c1")
    now[0] += call_order.ENDED_MEMORY_S + 1
    with pytest.raises(OrderError) as forgotten:
        order.check("ended", "c1")
    assert forgotten.value.unknown
    order.check("ringing", "c1")  # a switch may reuse an old id


def test_the_registry_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(call_order, "MAX_LIVE_CALLS", 3)
    monkeypatch.setattr(call_order, "MAX_ENDED_CALLS", 2)
    order = CallOrder()
    for i in range(5):
        order.accept("ringing", f"c{i}")
    assert order.open_calls() == ["c2", "c3", "c4"]
    for i in (2, 3, 4):
        order.accept("ended", f"c{i}")
    assert [order.state(f"c{i}") for i in range(5)] == [None, None, None, "ended", "ended"]
