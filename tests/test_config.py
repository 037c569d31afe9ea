"""Settings: defaults, the TOML file, environment overrides, and one clear line for a bad value."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings
from tests.conftest import ROOT


def test_defaults_are_sqlite_under_data_and_shanghai_time(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    settings = Settings.load({})
    assert settings.database_url == "sqlite+aiosqlite:///data/palmbot.db"
    assert str(settings.timezone) == "Asia/Shanghai"
    assert settings.sandbox and settings.message_mode == "plaintext"


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    config = tmp_path / "palmbot.toml"
    config.write_text('wechat_token = "fromfile"\ntimezone = "Asia/Urumqi"\n', encoding="utf-8")
    settings = Settings.load({"PALMBOT_WECHAT_TOKEN": "fromenv", "PALMBOT_WECHAT_SECRET": "s"}, config)
    assert settings.wechat_token == "fromenv"
    assert str(settings.timezone) == "Asia/Urumqi"
    assert not settings.sandbox


def test_config_path_from_environment(tmp_path: Path) -> None:
    config = tmp_path / "other.toml"
    config.write_text('content_dir = "/srv/content"\n', encoding="utf-8")
    assert Settings.load({"PALMBOT_CONFIG": str(config)}).content_dir == Path("/srv/content")


@pytest.mark.parametrize(("env", "key"), [
    ({"PALMBOT_TIMEZONE": "Mars/Olympus"}, "PALMBOT_TIMEZONE"),
    ({"PALMBOT_DATABASE_URL": "mysql://x"}, "PALMBOT_DATABASE_URL"),
    ({"PALMBOT_WECHAT_AES_KEY": "tooshort"}, "PALMBOT_WECHAT_AES_KEY"),
    ({"PALMBOT_WECHAT_TOKEN": "x"}, "PALMBOT_WECHAT_TOKEN"),
    ({"PALMBOT_WECHAT_API_BASE": "ftp://weixin"}, "PALMBOT_WECHAT_API_BASE"),
    ({"PALMBOT_REPLY_DEADLINE": "9"}, "PALMBOT_REPLY_DEADLINE"),
    ({"PALMBOT_CONFIG": "/nonexistent/palmbot.toml"}, "PALMBOT_CONFIG"),
    ({"PALMBOT_SEND_RATE": "0"}, "PALMBOT_SEND_RATE"),
    ({"PALMBOT_FAKE_WECHAT": "maybe"}, "PALMBOT_FAKE_WECHAT"),
    ({"PALMBOT_REDIS_URL": "localhost:6379"}, "PALMBOT_REDIS_URL"),
    ({"PALMBOT_WECHAT_TEMPLATE_FIELDS": "thing1=name"}, "PALMBOT_WECHAT_TEMPLATE_FIELDS"),
    ({"PALMBOT_WECHAT_MESSAGE_MODE": "secure"}, "PALMBOT_WECHAT_MESSAGE_MODE"),
    ({"PALMBOT_WECHAT_MESSAGE_MODE": "safe"}, "PALMBOT_WECHAT_MESSAGE_MODE"),  # safe mode without a key
    ({"PALMBOT_REQUEST_MAX_AGE": "-1"}, "PALMBOT_REQUEST_MAX_AGE"),
    ({"PALMBOT_REQUEST_MAX_AGE": "nan"}, "PALMBOT_REQUEST_MAX_AGE"),  # freshness would be off
    ({"PALMBOT_REQUEST_MAX_AGE": "inf"}, "PALMBOT_REQUEST_MAX_AGE"),
    ({"PALMBOT_METRICS_ALLOW": "10.0.0.1/8"}, "PALMBOT_METRICS_ALLOW"),  # host bits set: which was meant?
    ({"PALMBOT_TRUSTED_PROXIES": "nginx"}, "PALMBOT_TRUSTED_PROXIES"),
])
def test_a_bad_value_names_its_key(env: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.load(env)
    assert str(info.value).startswith(key)
    assert "\n" not in str(info.value)


def test_an_unknown_key_in_the_file_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "palmbot.toml"
    config.write_text('wechat_tokn = "typo"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="wechat_tokn"):
        Settings.load({}, config)


def test_palmbot_serve_stops_with_one_line_on_a_bad_setting(capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from bot.ops.cli import main

    monkeypatch.setenv("PALMBOT_TIMEZONE", "Nowhere/Land")
    assert main(["serve"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "PALMBOT_TIMEZONE" in err


def test_template_fields_map_the_account_s_template() -> None:
    settings = Settings.load({"PALMBOT_WECHAT_TEMPLATE_FIELDS": "thing1=title, thing2=content,time3=date"})
    assert settings.wechat_template_fields == (("thing1", "title"), ("thing2", "content"), ("time3", "date"))


@pytest.mark.parametrize(("env", "mode"), [
    ({}, "plaintext"),
    ({"PALMBOT_WECHAT_AES_KEY": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"}, "safe"),
    ({"PALMBOT_WECHAT_AES_KEY": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
      "PALMBOT_WECHAT_MESSAGE_MODE": "Compatible"}, "compatible"),
    ({"PALMBOT_WECHAT_AES_KEY": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
      "PALMBOT_WECHAT_MESSAGE_MODE": "plaintext"}, "plaintext"),
])
def test_the_message_mode_is_safe_by_default_with_a_key(env: dict[str, str], mode: str) -> None:
    assert Settings.load(env).message_mode == mode


def test_address_lists_come_as_a_list_in_the_file_or_comma_separated_in_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "palmbot.toml"
    config.write_text('metrics_allow = ["10.0.0.0/8", "::1"]\n', encoding="utf-8")
    settings = Settings.load({"PALMBOT_TRUSTED_PROXIES": "127.0.0.1, 192.0.2.0/24"}, config)
    assert [str(n) for n in settings.metrics_allow] == ["10.0.0.0/8", "::1/128"]
    assert [str(n) for n in settings.trusted_proxies] == ["127.0.0.1/32", "192.0.2.0/24"]
    assert [str(n) for n in Settings().metrics_allow] == ["127.0.0.1/32", "::1/128"]  # loopback only by default


def test_the_server_s_addresses_follow_host_and_port(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    default = Settings.load({})
    assert (default.host, default.port, default.log_format) == ("127.0.0.1", 8080, "text")
    assert default.public_url == "http://127.0.0.1:8080"
    assert default.wechat_api_base == "https://api.weixin.qq.com"
    moved = Settings.load({"PALMBOT_PORT": "8090"}, ROOT / "deploy/palmbot.sandbox.toml")
    assert moved.port == 8090 and moved.local_url == moved.public_url == "http://127.0.0.1:8090"
    assert moved.wechat_api_base == "http://127.0.0.1:8090/fake-wechat"  # the sandbox's own fake WeChat API
    everywhere = Settings.load({"PALMBOT_HOST": "0.0.0.0", "PALMBOT_PORT": "9000", "PALMBOT_FAKE_WECHAT": "1"})
    assert everywhere.wechat_api_base == "http://127.0.0.1:9000/fake-wechat"  # reached on loopback
    assert Settings.load({"PALMBOT_HOST": "::1", "PALMBOT_PORT": "9000"}).public_url == "http://[::1]:9000"


def test_addresses_set_explicitly_do_not_follow_the_port(tmp_path: Path) -> None:
    config = tmp_path / "palmbot.toml"
    config.write_text('port = 8091\nfake_wechat = true\npublic_url = "https://dangjian.example.gov.cn/"\n'
                      'wechat_api_base = "http://127.0.0.1:8081"\n', encoding="utf-8")
    settings = Settings.load({}, config)
    assert settings.port == 8091
    assert settings.public_url == "https://dangjian.example.gov.cn"
    assert settings.wechat_api_base == "http://127.0.0.1:8081"


def test_overrides_win_over_file_and_environment(tmp_path: Path) -> None:
    config = tmp_path / "palmbot.toml"
    config.write_text('port = 8091\nlog_format = "json"\n', encoding="utf-8")
    settings = Settings.load({"PALMBOT_PORT": "8092"}, config, {"port": 8093})
    assert (settings.port, settings.log_format, settings.public_url) == (8093, "json", "http://127.0.0.1:8093")


@pytest.mark.parametrize("env", [
    {"PALMBOT_PORT": "0"}, {"PALMBOT_PORT": "65536"}, {"PALMBOT_PORT": "http"}, {"PALMBOT_PORT": "-1"},
    {"PALMBOT_HOST": ""}, {"PALMBOT_HOST": "http://127.0.0.1"}, {"PALMBOT_LOG_FORMAT": "xml"},
])
def test_a_bad_address_or_log_format_names_its_key(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.load(env)
    assert str(info.value).startswith(next(iter(env)))


def test_readme_s_configuration_table_has_every_setting_once() -> None:
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("## Configuration")[1].split("\n## ")[0]
    rows = re.findall(r"^\| `(\w+)` \| `(PALMBOT_\w+)` \|", section, flags=re.MULTILINE)
    assert sorted(rows) == sorted((field.name, f"PALMBOT_{field.name.upper()}") for field in fields(Settings))
