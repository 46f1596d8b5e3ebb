"""The CTI bridge: any PBX that can send an HTTP request on a call can drive the desk.

A ThreadingHTTPServer on loopback, serving from a daemon thread so the GUI thread never waits
on the network. `start` binds before it returns, so a port in use is reported at once. Events
are checked for order and delivered under one lock: the desk sees them in the order they were
accepted, and after `stop` returns it sees none. The wire rules are in `cti_protocol`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import json
import logging
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from agent_desk.paths import UserPaths
from agent_desk.telephony import cti_protocol as wire
from agent_desk.telephony.call_order import CallOrder, OrderError
from agent_desk.telephony.runtime import remove_runtime, write_runtime
from agent_desk.telephony.source import CallEvent, Deliver

log = logging.getLogger(__name__)

CALLS_PATH, HEALTH_PATH = "/calls", "/health"
IDLE_CONNECTION_S = 30.0  # a kept-alive connection nobody uses gives its thread back
LINGER_S = 1.0
STOP_WAIT_S = 5.0  # for requests still being answered when the desk stops
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
_IN_USE = {errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", errno.EADDRINUSE)}
_DENIED = {errno.EACCES, getattr(errno, "WSAEACCES", errno.EACCES)}


class CtiBridgeError(Exception):
    """The bridge cannot listen; the message says what to change."""


class CtiBridge:
    """CallSource for events a PBX (or `agent-desk call`) sends over HTTP."""

    def __init__(
        self,
        port: int,
        token: str,
        host: str = "127.0.0.1",
        *,
        paths: UserPaths | None = None,
        publish: bool = True,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.host = host
        self._requested_port = port
        self._token = token
        self._paths = paths
        self._publish = publish  # write cti.json so `agent-desk call` finds this desk
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._order = CallOrder()
        self._deliver: Deliver | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port listened on (the one picked for port 0 once started)."""
        if self._server is not None:
            return int(self._server.server_address[1])
        return self._requested_port

    @property
    def running(self) -> bool:
        return self._server is not None

    def describe(self) -> str:
        if self._server is None:
            return f"CTI bridge (stopped, port {self._requested_port})"
        return f"CTI bridge on {self.host}:{self.port}"

    def start(self, deliver: Deliver) -> None:
        if self._server is not None:
            raise CtiBridgeError(f"{self.describe()} is already running")
        if not self._token:
            raise CtiBridgeError("the CTI token is empty: set one in the settings")
        if not 0 <= self._requested_port <= 65535:
            raise CtiBridgeError(f"CTI port {self._requested_port} is not between 0 and 65535")
        try:
            server = _Server((self.host, self._requested_port), self)
        except OSError as exc:
            raise CtiBridgeError(self._bind_problem(exc)) from exc
        self._deliver, self._server = deliver, server
        self._thread = threading.Thread(
            target=server.serve_forever, name=f"cti-bridge-{self.port}", daemon=True
        )
        self._thread.start()
        if self._publish:
            try:
                write_runtime(self.host, self.port, self._paths)
            except OSError as exc:
                self.stop()
                raise CtiBridgeError(f"cannot publish the CTI port: {exc}") from exc
        log.info("%s", self.describe())
        if self.host not in LOOPBACK:
            log.warning("the CTI bridge on %s can be reached from other machines", self.host)

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._deliver = None
        if self._publish:
            remove_runtime(self._paths, self.port)
        stopper = threading.Thread(target=server.shutdown, name="cti-bridge-stop")
        stopper.start()
        _wake(self.host, self.port)  # serve_forever notices the shutdown now, not at its poll
        stopper.join()
        server.close_connections()
        server.server_close()
        server.join_request_threads(STOP_WAIT_S)
        thread.join()
        self._server = self._thread = None
        log.info("CTI bridge on %s:%d stopped", self.host, server.server_address[1])

    # -- called on request threads ------------------------------------------------------------

    def take(self, event: CallEvent) -> tuple[int, dict[str, Any]]:
        with self._order.lock:
            try:
                self._order.check(event.event, event.call_id)
            except OrderError as exc:
                return (404 if exc.unknown else 409), {"error": str(exc)}
            deliver = self._deliver
            if deliver is None:
                return 503, {"error": "the desk is shutting down"}
            try:
                deliver(event)
            except Exception:
                log.exception("the desk could not take %s for call %s", event.event, event.call_id)
                return 500, {"error": "the desk could not take the event; see its log"}
            self._order.accept(event.event, event.call_id)
        log.info("CTI %s for call %s", event.event, event.call_id)
        return 202, {"status": "accepted"}

    def check_token(self, authorization: str | None) -> None:
        wire.check_token(authorization, self._token)

    def now(self) -> dt.datetime:
        return self._clock()

    def _bind_problem(self, exc: OSError) -> str:
        where = f"{self.host}:{self._requested_port}"
        if exc.errno in _IN_USE:
            return (
                f"CTI port {self._requested_port} is in use on {self.host}: another desk or "
                "program listens there; choose another port in Settings or with --cti-port"
            )
        if exc.errno in _DENIED:
            return f"not allowed to listen on {where}: choose a CTI port above 1024"
        return f"cannot listen on {where}: {exc.strerror or exc}"


def _wake(host: str, port: int) -> None:
    with contextlib.suppress(OSError):  # if not, it notices at its next poll
        socket.create_connection((host, port), timeout=1.0).close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a stuck client never keeps the desk process alive
    # On Windows SO_REUSEADDR would let a second desk bind the same port silently.
    allow_reuse_address = sys.platform != "win32"

    def __init__(self, address: tuple[str, int], bridge: CtiBridge) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.bridge = bridge
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        # socketserver does not join daemon request threads; stop() does, through this list.
        self._request_threads: list[threading.Thread] = []
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host name up in DNS, which can hang for seconds.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name="cti-bridge-request",
            daemon=True,
        )
        with self._connections_lock:
            self._request_threads = [t for t in self._request_threads if t.is_alive()]
            self._request_threads.append(thread)
        thread.start()

    def join_request_threads(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self._connections_lock:
            threads = list(self._request_threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                log.warning("CTI bridge: a request still runs after %.0f s; left behind", timeout)

    def track(self, connection: socket.socket, open_: bool) -> None:
        with self._connections_lock:
            (self._connections.add if open_ else self._connections.discard)(connection)

    def close_connections(self) -> None:
        """Release request threads waiting on their client, so stopping does not wait."""
        with self._connections_lock:
            for connection in self._connections:
                with contextlib.suppress(OSError):  # already closed by its client
                    connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # socketserver prints tracebacks to stderr; the desk keeps them in its log.
        log.exception("CTI bridge: error serving %s", client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive for switches that send many events
    server_version = "AgentDeskCTI/1"
    sys_version = ""
    timeout = IDLE_CONNECTION_S
    _body_read = False  # of the request being answered

    def setup(self) -> None:
        super().setup()
        self._unread_body = False
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def parse_request(self) -> bool:
        self._body_read = False
        return super().parse_request()

    def handle(self) -> None:
        super().handle()
        if self._unread_body:
            self._linger()

    # -- methods ----------------------------------------------------------------------------

    def do_POST(self) -> None:
        try:
            self._check_headers()
            body = self._read_body()
            event = wire.parse_event(body, self.server.bridge.now())
        except wire.Refusal as refusal:
            self._refuse(refusal)
            return
        status, payload = self.server.bridge.take(event)
        self._reply(status, payload)

    def do_GET(self) -> None:
        if self._path() == HEALTH_PATH:
            self._reply(200, {"status": "ok"})
        else:
            self._other_method()

    do_HEAD = do_GET

    def _other_method(self) -> None:
        path = self._path()
        allowed = {CALLS_PATH: "POST", HEALTH_PATH: "GET, HEAD"}.get(path)
        if allowed is None:
            self._refuse(wire.Refusal(404, self._no_such_path(path)))
        else:
            message = f"{self.command} is not allowed on {path}; use {allowed}"
            self._refuse(wire.Refusal(405, message, {"Allow": allowed}))

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = _other_method

    def handle_expect_100(self) -> bool:
        # Refuse a big or unauthenticated body before the client sends it (curl asks first).
        if self.command == "POST":
            try:
                self._check_headers()
                wire.body_length(self.headers.get_all("Content-Length") or [], self._chunked())
            except wire.Refusal as refusal:
                self._refuse(refusal)
                return False
        return super().handle_expect_100()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (bad request line, unknown method) as JSON too."""
        if self.request_version == "HTTP/0.9":  # unparsed: a status line still helps the sender
            self.request_version = "HTTP/1.0"
        if code == 501 and getattr(self, "command", None):
            self._other_method()
            return
        self._refuse(wire.Refusal(code, message or self.responses.get(code, ("error",))[0]))

    # -- request ----------------------------------------------------------------------------

    def _path(self) -> str:
        return urlsplit(getattr(self, "path", "")).path

    def _no_such_path(self, path: str) -> str:
        return f"no such path {path!r}: send call events to POST {CALLS_PATH}"

    def _chunked(self) -> str | None:
        return self.headers.get("Transfer-Encoding")

    def _check_headers(self) -> None:
        path = self._path()
        if path != CALLS_PATH:
            if path == HEALTH_PATH:
                raise wire.Refusal(405, f"POST is not allowed on {path}", {"Allow": "GET, HEAD"})
            raise wire.Refusal(404, self._no_such_path(path))
        self.server.bridge.check_token(self.headers.get("Authorization"))
        wire.check_content_type(self.headers.get("Content-Type"))

    def _read_body(self) -> bytes:
        length = wire.body_length(self.headers.get_all("Content-Length") or [], self._chunked())
        body = self.rfile.read(length)
        self._body_read = True
        if len(body) < length:
            self.close_connection = True
            raise wire.Refusal(400, f"body ended after {len(body)} of {length} bytes")
        return body

    # -- response ---------------------------------------------------------------------------

    def _refuse(self, refusal: wire.Refusal) -> None:
        # Until the body is read the connection cannot be reused: the rest of the body would
        # be taken for the next request.
        headers = dict(refusal.headers)
        if not self._body_read:
            headers["Connection"] = "close"
            self._unread_body = self.command == "POST"
        self._reply(refusal.status, {"error": refusal.message}, headers)

    def _reply(
        self, status: int, payload: dict[str, Any], headers: Mapping[str, str] | None = None
    ) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)  # "Connection: close" also ends the keep-alive
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _linger(self) -> None:
        """Close gently after refusing an unread body: a client still sending it then reads
        our answer instead of a connection reset. Discards at most the body limit."""
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(LINGER_S)
            budget = wire.MAX_BODY_BYTES
            while budget > 0:
                chunk = self.connection.recv(min(16384, budget))
                if not chunk:
                    break
                budget -= len(chunk)
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("CTI %s: " + format, self.address_string(), *args)

    def log_error(self, format: str, *args: Any) -> None:
        log.info("CTI %s: " + format, self.address_string(), *args)
