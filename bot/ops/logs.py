"""What the server writes to its log: no secrets, members by a short hash, and no floods.

- The access log shows the method, the path (never the query: it carries `signature`, `msg_signature`,
  `echostr` and `openid`), the status, the time taken and the member's tag. The sandbox's polling
  (`palmbot chat` asks for pushes once a second) is written at DEBUG only.
- A member is `member_tag(openid)`: ten hex digits of its SHA-256, the same on every replica.
- Warnings and errors are rate-limited per kind (logger, message template, exception type): the first
  in an interval is written, the rest are counted, and the next one written says how many were held
  back. A database outage then writes a few lines a minute instead of a traceback per request.
- `log_format = "json"` writes each record as one JSON object per line (`JsonFormatter`), the same
  filters applied.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TextIO

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from bot.ops.chat import FAKE_SENT, OUTBOX

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
INTERVAL = 60.0  # seconds between two lines of one kind
MAX_KINDS = 1000  # kinds remembered; beyond that the memory starts again
POLLED = frozenset({OUTBOX, FAKE_SENT})  # what `palmbot chat` asks for every second


def member_tag(openid: str | None) -> str:
    """A short stable name for a member in logs, from which the openid cannot be read back."""
    return hashlib.sha256(openid.encode()).hexdigest()[:10] if openid else "-"


class AccessLogger(AbstractAccessLogger):
    """One line per request without the query string: `POST /wechat 200 1.2ms member=3f2a…`.

    The same values go with the record as `fields` (method, path, status, ms, member) for the JSON
    format. A successful GET of a `POLLED` path is written at DEBUG, everything else at INFO."""

    @property
    def enabled(self) -> bool:
        """Skip the work when INFO is off (`--log-level WARNING`, as in the benchmark)."""
        return self.logger.isEnabledFor(logging.INFO)

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        polled = request.method == "GET" and request.path in POLLED and response.status == 200
        level = logging.DEBUG if polled else logging.INFO
        if not self.logger.isEnabledFor(level):
            return
        fields = {"method": request.method, "path": request.path, "status": response.status,
                  "ms": round(time * 1000, 1), "member": member_tag(request.query.get("openid"))}
        self.logger.log(level, "%(method)s %(path)s %(status)d %(ms).1fms member=%(member)s", fields,
                        extra={"fields": fields})


class RateLimit(logging.Filter):
    """Lets through at most one WARNING-or-worse record of each kind per `interval` seconds."""

    def __init__(self, interval: float = INTERVAL, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.interval, self.clock = interval, clock
        self._kinds: dict[tuple[str, str, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        error = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else ""
        kind = (record.name, str(record.msg), error)
        now = self.clock()
        last = self._kinds.get(kind)
        if last is not None and now - last[0] < self.interval:
            self._kinds[kind] = (last[0], last[1] + 1)
            return False
        if len(self._kinds) >= MAX_KINDS:
            self._kinds.clear()
        self._kinds[kind] = (now, 0)
        if last is not None and last[1]:
            record.msg = f"{record.msg} [and {last[1]} more like this since the last one]"
        return True


_SECRET = re.compile(r"\b(signature|msg_signature|echostr|openid|nonce|timestamp|t|code|state)=[^&\s'\"]*")
# `t`: a console sign-in link's token; `code`, `state`: WeChat's web authorisation coming back


def redact(text: str) -> str:
    """`…?openid=o6_b…&signature=d08…` → `…?openid=…&signature=…`: a query's secrets out of a log line."""
    return _SECRET.sub(r"\1=…", text)


class Redact(logging.Filter):
    """Takes the query's secrets out of warnings and errors written by others (aiohttp's parser quotes
    the request line of a request it cannot read), their tracebacks included."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            record.msg, record.args = redact(record.getMessage()), None
            if record.exc_info and not record.exc_text:
                record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


class JsonFormatter(logging.Formatter):
    """`{"time": "2026-11-30T08:00:00.123+08:00", "level": "INFO", "logger": "aiohttp.access", "message": …}`
    on one line, with the record's `fields` (the access log's method, path, status, ms, member) and any
    traceback as `exception`. Chinese stays readable (not \\u-escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created).astimezone().isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def handler(log_format: str = "text", stream: TextIO | None = None) -> logging.Handler:
    """A handler writing to `stream` (stderr) in `log_format` ("text" or "json"), every warning and error
    through one `RateLimit` and `Redact`."""
    out = logging.StreamHandler(stream)
    out.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(FORMAT))
    out.addFilter(RateLimit())
    out.addFilter(Redact())
    return out


def configure(level: str, log_format: str = "text") -> None:
    """Log to stderr at `level` through `handler(log_format)`."""
    logging.basicConfig(level=level, handlers=[handler(log_format)])  # a no-op where logging is set up (tests)
    logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)  # not a line per 10-s checkpoint
