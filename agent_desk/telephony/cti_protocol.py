"""The CTI bridge's wire rules, apart from the HTTP plumbing so each can be read on its own.

POST /calls, `Authorization: Bearer <token>`, `Content-Type: application/json`, a
Content-Length of at most 64 KiB, and a UTF-8 JSON object:

    {"event": "ringing"|"answered"|"ended", "call_id": "...", "ani": "...", "dnis": "...",
     "agent": "..."?, "recording": "..."?}

`ani` and `dnis` are required with "ringing" (that is when the desk needs them) and may be
left out of "answered"/"ended". Unknown fields are ignored so a switch may send more.

Answers: 202 {"status": "accepted"}, or {"error": "..."} with
  400 malformed: not JSON, not an object, not UTF-8, a bad Content-Length or a short body
  401 missing or wrong bearer token (with WWW-Authenticate)
  404 a path other than /calls (and /health); an answered/ended event for a call id the
      bridge never saw, because the id is what is wrong, not the order
  405 another method on /calls or /health (with Allow)
  409 out of order: ringing twice, answered twice, anything after ended
  411 no Content-Length (chunked bodies are refused)
  413 Content-Length over 64 KiB: refused before the body is read
  415 Content-Type other than application/json (or a charset other than UTF-8)
  422 a field missing or of the wrong type, or an unknown event name; the message names it
  500 the desk failed to take the event (its log says why)
  503 the desk is shutting down
GET /health answers 200 {"status": "ok"} without a token, for the PBX's monitoring.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
from collections.abc import Mapping
from typing import Any

from agent_desk.telephony.source import EVENT_NAMES, MAX_CALL_ID_LENGTH, CallEvent, EventName

MAX_BODY_BYTES = 64 * 1024
MAX_NUMBER_LENGTH = 64
MAX_RECORDING_LENGTH = 2048
REALM = 'Bearer realm="agent-desk"'


class Refusal(Exception):
    """A request the bridge answers with a 4xx/5xx JSON error."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


def check_token(authorization: str | None, token: str) -> None:
    if not authorization:
        raise Refusal(401, "missing bearer token", {"WWW-Authenticate": REALM})
    scheme, _, presented = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise Refusal(401, "authorization must be 'Bearer <token>'", {"WWW-Authenticate": REALM})
    # compare_digest: the time taken must not tell a guesser how much of the token matched.
    given = presented.strip().encode("utf-8", "backslashreplace")
    if not hmac.compare_digest(given, token.encode("utf-8")):
        raise Refusal(401, "wrong token", {"WWW-Authenticate": REALM + ', error="invalid_token"'})


def check_content_type(value: str | None) -> None:
    media, _, params = (value or "").partition(";")
    if media.strip().lower() != "application/json":
        raise Refusal(415, f"content type must be application/json, not {value or 'none'!r}")
    for param in params.split(";"):
        name, _, charset = param.partition("=")
        if name.strip().lower() == "charset" and charset.strip().strip('"').lower() not in (
            "utf-8",
            "utf8",
        ):
            raise Refusal(415, f"charset must be utf-8, not {charset.strip()!r}")


def body_length(content_length: list[str], transfer_encoding: str | None) -> int:
    """The body's declared size, refused before anything is read when unusable."""
    if transfer_encoding:
        raise Refusal(411, "send the body with a Content-Length; chunked bodies are refused")
    if not content_length:
        raise Refusal(411, "Content-Length is required")
    if len(set(content_length)) > 1:
        raise Refusal(400, "conflicting Content-Length headers")
    text = content_length[0].strip()
    if not text.isdigit():
        raise Refusal(400, f"Content-Length {text!r} is not a size in bytes")
    length = int(text)
    if length > MAX_BODY_BYTES:
        raise Refusal(413, f"body of {length} bytes is over the {MAX_BODY_BYTES}-byte limit")
    return length


def parse_event(body: bytes, received_at: dt.datetime) -> CallEvent:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Refusal(400, f"body is not UTF-8 (byte {exc.start})") from None
    try:
        data = json.loads(text, parse_constant=_no_constants)
    except (json.JSONDecodeError, ValueError) as exc:
        raise Refusal(400, f"body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise Refusal(400, f"body must be a JSON object, not {_json_type(data)}")
    if "event" not in data:
        raise Refusal(422, "missing field 'event'")
    event = data["event"]
    if event not in EVENT_NAMES:
        names = ", ".join(repr(n) for n in EVENT_NAMES)
        raise Refusal(422, f"field 'event' must be one of {names}, not {_show(event)}")
    name: EventName = event
    call_id = _text(data, "call_id", required=True, limit=MAX_CALL_ID_LENGTH)
    if not call_id.strip() or not call_id.isprintable():
        raise Refusal(422, "field 'call_id' must be printable and not blank")
    needs_numbers = name == "ringing"
    return CallEvent(
        event=name,
        call_id=call_id,
        ani=_text(data, "ani", required=needs_numbers, limit=MAX_NUMBER_LENGTH),
        dnis=_text(data, "dnis", required=needs_numbers, limit=MAX_NUMBER_LENGTH),
        received_at=received_at,
        agent=_optional_text(data, "agent", MAX_NUMBER_LENGTH),
        recording=_optional_text(data, "recording", MAX_RECORDING_LENGTH),
    )


def _text(data: dict[str, Any], name: str, *, required: bool, limit: int) -> str:
    if name not in data:
        if required:
            raise Refusal(422, f"missing field {name!r}")
        return ""
    value = data[name]
    if not isinstance(value, str):
        raise Refusal(422, f"field {name!r} must be a string, not {_json_type(value)}")
    if len(value) > limit:
        raise Refusal(422, f"field {name!r} is longer than {limit} characters")
    return value


def _optional_text(data: dict[str, Any], name: str, limit: int) -> str | None:
    if data.get(name) is None:
        return None
    return _text(data, name, required=False, limit=limit) or None


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _show(value: object) -> str:
    return repr(value) if isinstance(value, str) else _json_type(value)
