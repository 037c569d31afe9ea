"""Settings: read once from a TOML file and the environment, then passed in explicitly."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import math
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from yarl import URL

from bot.wechat.templates import DEFAULT_FIELDS, SOURCES, check_fields

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/palmbot.db"
DEFAULT_API_BASE = "https://api.weixin.qq.com"
DEFAULT_TIMEZONE = ZoneInfo("Asia/Shanghai")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
LOOPBACK: tuple[Network, ...] = (ipaddress.ip_network("127.0.0.1"), ipaddress.ip_network("::1"))
FAKE_WECHAT_PATH = "/fake-wechat"  # where `fake_wechat` serves the fake WeChat API
LOG_FORMATS = ("text", "json")
_WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1"}  # listening everywhere: this machine answers on loopback


class ConfigError(Exception):
    """A configuration value that stops start-up; the message names the key."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the app needs to know about its environment.

    `public_url` and `wechat_api_base` left empty follow `host` and `port` (see `__post_init__`); as
    `dataclasses.replace` passes the filled-in values on, give them again when replacing `host` or `port`.
    """

    database_url: str = DEFAULT_DATABASE_URL
    content_dir: Path = Path("content")
    timezone: ZoneInfo = DEFAULT_TIMEZONE
    wechat_appid: str = ""
    wechat_secret: str = ""
    wechat_token: str = ""
    wechat_aes_key: str = ""
    wechat_api_base: str = ""  # empty: this server's own fake API with `fake_wechat`, else WeChat's
    reply_deadline: float = 4.0
    wechat_template_notice: str = ""  # template id for notices when a member's 48-hour window is closed
    wechat_template_fields: tuple[tuple[str, str], ...] = DEFAULT_FIELDS
    send_rate: float = 50.0  # customer-service and template messages per second, per process
    fake_wechat: bool = False  # serve the fake WeChat API at /fake-wechat (the sandbox of `make run`)
    missed_grace_hours: float = 6.0  # after downtime, a push missed by less than this still goes out
    redis_url: str = ""  # keep the access token (and the replay memory) in Redis instead of the database
    wechat_message_mode: str = ""  # plaintext, compatible or safe; empty: safe with an EncodingAESKey, else plaintext
    public_url: str = ""  # where members' browsers reach this server (console links); empty: `local_url`
    wechat_web_auth: bool = False  # verified service accounts: the console signs in by WeChat's web authorisation
    wechat_oauth_base: str = "https://open.weixin.qq.com"  # where WeChat's web authorisation page is
    request_max_age: float = 300.0  # seconds a callback's timestamp may be away from now (WeChat retries within 15 s)
    metrics_allow: tuple[Network, ...] = LOOPBACK  # who may read /metrics (others get 403)
    trusted_proxies: tuple[Network, ...] = ()  # proxies whose X-Forwarded-For names the client (none: the peer)
    host: str = "127.0.0.1"  # the address `palmbot serve` listens on
    port: int = 8080  # its TCP port, which `palmbot chat` talks to as well
    log_format: str = "text"  # text: one readable line per record; json: one JSON object per line

    @property
    def sandbox(self) -> bool:
        """Without an AppSecret nothing can be sent to WeChat: outbound messages go to the outbox."""
        return not self.wechat_secret

    @property
    def message_mode(self) -> str:
        """WeChat's message mode (明文 plaintext, 兼容 compatible, 安全 safe), as set in its console.

        Unset, it is safe mode when an EncodingAESKey is configured, else plaintext.
        """
        return self.wechat_message_mode or ("safe" if self.wechat_aes_key else "plaintext")

    @property
    def local_url(self) -> str:
        """`http://host:port` of `palmbot serve` as seen from this machine (loopback for 0.0.0.0 or ::)."""
        return str(URL.build(scheme="http", host=_WILDCARDS.get(self.host, self.host), port=self.port))

    def __post_init__(self) -> None:
        """Fill in the addresses that follow `host` and `port`; refuse a message mode without its key."""
        if not self.public_url:
            object.__setattr__(self, "public_url", self.local_url)
        if not self.wechat_api_base:
            api_base = self.local_url + FAKE_WECHAT_PATH if self.fake_wechat else DEFAULT_API_BASE
            object.__setattr__(self, "wechat_api_base", api_base)
        if self.message_mode != "plaintext" and not self.wechat_aes_key:
            raise ConfigError(f"PALMBOT_WECHAT_MESSAGE_MODE: {self.message_mode} mode needs wechat_aes_key")

    @classmethod
    def load(cls, environ: Mapping[str, str], config_path: str | os.PathLike[str] | None = None,
             overrides: Mapping[str, Any] | None = None) -> Settings:
        """Merge the TOML file (if any) with PALMBOT_* environment variables, which win, and `overrides`
        (command-line flags by setting name), which win over both.

        Raises ConfigError for an unknown key in the file or a bad value."""
        raw: dict[str, Any] = {}
        path = config_path or environ.get("PALMBOT_CONFIG")
        if path is None and Path("palmbot.toml").is_file():
            path = "palmbot.toml"
        if path is not None:
            raw.update(_read_toml(Path(path)))
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ConfigError(f"{unknown[0]}: unknown setting in {path}")
        for name in known:
            env = environ.get(f"PALMBOT_{name.upper()}")
            if env is not None:
                raw[name] = env
        raw.update(overrides or {})
        return cls(**{name: _PARSERS[name](name, value) for name, value in raw.items()})


def _read_toml(path: Path) -> dict[str, Any]:
    """Read the config file, turning a syntax error into one clear line."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"PALMBOT_CONFIG: no such file {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"PALMBOT_CONFIG: {path}: {exc}") from None


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"PALMBOT_{name.upper()}: expected text, got {value!r}")
    return value


def _database_url(name: str, value: Any) -> str:
    url = _text(name, value)
    if not url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        raise ConfigError(
            f"PALMBOT_{name.upper()}: {url!r} must start with sqlite+aiosqlite:// or postgresql+asyncpg://"
        )
    return url


def _timezone(name: str, value: Any) -> ZoneInfo:
    try:
        return ZoneInfo(_text(name, value))
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"PALMBOT_{name.upper()}: unknown time zone {value!r}") from None


def _token(name: str, value: Any) -> str:
    token = _text(name, value)
    if token and not (3 <= len(token) <= 32 and token.isalnum()):
        raise ConfigError(f"PALMBOT_{name.upper()}: the Token must be 3 to 32 letters or digits")
    return token


def _aes_key(name: str, value: Any) -> str:
    key = _text(name, value)
    if not key:
        return key
    try:
        ok = len(key) == 43 and len(base64.b64decode(key + "=", validate=True)) == 32
    except binascii.Error:
        ok = False
    if not ok:
        raise ConfigError(f"PALMBOT_{name.upper()}: the EncodingAESKey must be 43 base64 characters")
    return key


def _positive_seconds(name: str, value: Any) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1.0
    if not 0 < seconds < 5:
        raise ConfigError(f"PALMBOT_{name.upper()}: expected seconds between 0 and 5, got {value!r}")
    return seconds


def _api_base(name: str, value: Any) -> str:
    url = _text(name, value).rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"PALMBOT_{name.upper()}: expected an http(s) URL, got {value!r}")
    return url


def _positive(name: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = -1.0
    if not 0 < number < math.inf:  # NaN fails this too
        raise ConfigError(f"PALMBOT_{name.upper()}: expected a positive number, got {value!r}")
    return number


def _template_fields(name: str, value: Any) -> tuple[tuple[str, str], ...]:
    """"thing1=title,thing2=content,time3=date": which notice value fills each field of the template,
    each field able to hold it by WeChat's field rules (bot/wechat/templates.py)."""
    pairs = [part.partition("=") for part in _text(name, value).split(",") if part.strip()]
    fields = tuple((key.strip(), source.strip()) for key, _, source in pairs)
    if not fields or any(not key or source not in SOURCES for key, source in fields):
        raise ConfigError(f"PALMBOT_{name.upper()}: expected field=source pairs such as thing1=title,thing2=content,"
                          f"time3=date (sources: {', '.join(SOURCES)}), got {value!r}")
    if problems := check_fields(fields):
        raise ConfigError(f"PALMBOT_{name.upper()}: {'; '.join(problems)}")
    return fields


def _flag(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text not in ("true", "false", "1", "0", "yes", "no"):
        raise ConfigError(f"PALMBOT_{name.upper()}: expected true or false, got {value!r}")
    return text in ("true", "1", "yes")


def _redis_url(name: str, value: Any) -> str:
    url = _text(name, value)
    if url and not url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"PALMBOT_{name.upper()}: expected redis://host:port/db, got {value!r}")
    return url


def _networks(name: str, value: Any) -> tuple[Network, ...]:
    """A list of addresses or CIDR blocks (`["10.0.0.0/8", "::1"]`), or the same comma-separated."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ConfigError(f"PALMBOT_{name.upper()}: expected a list of addresses, got {value!r}")
    try:
        return tuple(ipaddress.ip_network(str(item).strip()) for item in items if str(item).strip())
    except ValueError as exc:
        raise ConfigError(f"PALMBOT_{name.upper()}: {exc}") from None


MESSAGE_MODES = ("plaintext", "compatible", "safe")


def _message_mode(name: str, value: Any) -> str:
    mode = _text(name, value).strip().lower()
    if mode and mode not in MESSAGE_MODES:
        raise ConfigError(f"PALMBOT_{name.upper()}: expected one of {', '.join(MESSAGE_MODES)}, got {value!r}")
    return mode


def _host(name: str, value: Any) -> str:
    host = _text(name, value).strip()
    if not host or any(c.isspace() or c in "/[]" for c in host):
        raise ConfigError(f"PALMBOT_{name.upper()}: expected an address such as 127.0.0.1 or 0.0.0.0, got {value!r}")
    return host


def _port(name: str, value: Any) -> int:
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or not 0 < int(text) < 65536:
        raise ConfigError(f"PALMBOT_{name.upper()}: expected a port between 1 and 65535, got {value!r}")
    return int(text)


def _log_format(name: str, value: Any) -> str:
    text = _text(name, value).strip().lower()
    if text not in LOG_FORMATS:
        raise ConfigError(f"PALMBOT_{name.upper()}: expected one of {', '.join(LOG_FORMATS)}, got {value!r}")
    return text


_PARSERS: dict[str, Callable[[str, Any], Any]] = {
    "database_url": _database_url,
    "content_dir": lambda name, value: Path(_text(name, value)),
    "timezone": _timezone,
    "wechat_appid": _text,
    "wechat_secret": _text,
    "wechat_token": _token,
    "wechat_aes_key": _aes_key,
    "wechat_api_base": _api_base,
    "reply_deadline": _positive_seconds,
    "wechat_template_notice": _text,
    "wechat_template_fields": _template_fields,
    "send_rate": _positive,
    "fake_wechat": _flag,
    "missed_grace_hours": _positive,
    "redis_url": _redis_url,
    "wechat_message_mode": _message_mode,
    "request_max_age": _positive,
    "public_url": _api_base,
    "wechat_web_auth": _flag,
    "wechat_oauth_base": _api_base,
    "metrics_allow": _networks,
    "trusted_proxies": _networks,
    "host": _host,
    "port": _port,
    "log_format": _log_format,
}
