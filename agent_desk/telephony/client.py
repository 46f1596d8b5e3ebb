"""Send a call event to the running desk's CTI bridge: what `agent-desk call` and tests use.

The address comes from the desk's `cti.json`, the token from its config file, both under the
same AGENT_DESK_HOME, so a client drives exactly the desk it means to.
"""

from __future__ import annotations

import http.client
import json
import os
import urllib.error
import urllib.request
from typing import Any

from agent_desk.paths import HOME_ENV, UserPaths, user_paths
from agent_desk.settings import SettingsError, load_settings
from agent_desk.telephony.runtime import base_url, read_runtime, runtime_path
from agent_desk.telephony.source import EventName

# The desk is on this machine: a proxy from the environment must never see the token.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class CtiClientError(Exception):
    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status  # the desk's HTTP status when it answered, else None


def send_call_event(
    event: EventName,
    call_id: str,
    ani: str = "",
    dnis: str = "",
    *,
    agent: str | None = None,
    recording: str | None = None,
    port: int | None = None,
    token: str | None = None,
    host: str | None = None,
    timeout: float = 5.0,
    paths: UserPaths | None = None,
) -> dict[str, Any]:
    """POST one event; the desk's JSON answer, or CtiClientError saying what went wrong."""
    paths = paths or user_paths()
    if port is None:
        runtime = read_runtime(paths)
        if runtime is None:
            raise CtiClientError(no_desk_message(paths))
        host, port = host or runtime.host, runtime.port
    host = host or "127.0.0.1"
    if token is None:
        try:
            token = load_settings(paths).cti_token
        except SettingsError as exc:
            raise CtiClientError(f"cannot read the desk's CTI token: {exc}") from None
    payload: dict[str, Any] = {"event": event, "call_id": call_id, "ani": ani, "dnis": dnis}
    if agent is not None:
        payload["agent"] = agent
    if recording is not None:
        payload["recording"] = recording
    url = f"{base_url(host, port)}/calls"
    request = urllib.request.Request(
        url,
        data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        method="POST",
    )
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return _json(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            answer = _json(exc.read())
        message = answer.get("error") or f"HTTP {exc.code} {exc.reason}"
        raise CtiClientError(f"the desk refused the event: {message}", exc.code) from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, ConnectionRefusedError):
            raise CtiClientError(
                f"{no_desk_message(paths)}: nothing listens on {host}:{port}"
            ) from None
        if isinstance(exc.reason, TimeoutError):
            raise CtiClientError(_timeout_message(url, timeout)) from None
        raise CtiClientError(f"cannot reach the desk at {url}: {exc.reason}") from None
    except TimeoutError:
        raise CtiClientError(_timeout_message(url, timeout)) from None
    except (OSError, http.client.HTTPException) as exc:
        raise CtiClientError(f"lost the connection to the desk at {url}: {exc}") from None


def no_desk_message(paths: UserPaths) -> str:
    home = os.environ.get(HOME_ENV)
    if home:
        return f"no desk is running under {HOME_ENV}={home}"
    return f"no desk is running for this user (no {runtime_path(paths)})"


def _timeout_message(url: str, timeout: float) -> str:
    return f"the desk at {url} did not answer within {timeout:g} s"


def _json(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return value if isinstance(value, dict) else {}
