"""`make run`'s sandbox on a port of its own: `palmbot serve` listens where the port setting says, `palmbot chat`
finds it there, pushes go through the server's own fake WeChat API on that port, and the chat's polling stays
out of the access log."""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

WAIT = 30.0  # seconds for the server to come up, and for the chat to show a push


@pytest.fixture
def sandbox_env(ops_db: str) -> dict[str, str]:
    """The sandbox settings on the demo roster's database (`ops_db`) and a free port, as PALMBOT_PORT."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return {**os.environ, "PALMBOT_CONFIG": str(ROOT / "deploy/palmbot.sandbox.toml"), "PALMBOT_PORT": str(port)}


@pytest.fixture
def server(sandbox_env: dict[str, str], tmp_path: Path) -> Iterator[Path]:
    """`palmbot serve` with no flags; yields the file its log goes to."""
    log = tmp_path / "serve.log"
    with log.open("wb") as out, subprocess.Popen([sys.executable, "-m", "bot", "serve"], env=sandbox_env,
                                                 cwd=tmp_path, stdout=out, stderr=out) as process:
        try:
            _wait_for(f"http://127.0.0.1:{sandbox_env['PALMBOT_PORT']}/healthz", process)
            yield log
        finally:
            process.terminate()
            process.wait(timeout=30)


def _wait_for(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"the server did not answer at {url}")


def test_chat_finds_the_server_on_its_port_and_sees_a_notice_pushed_through_the_fake_wechat(
        sandbox_env: dict[str, str], server: Path, tmp_path: Path) -> None:
    with subprocess.Popen([sys.executable, "-m", "bot", "chat", "--phone", "13800000001"], env=sandbox_env,
                          cwd=tmp_path, stdin=subprocess.PIPE, stdout=subprocess.PIPE) as chat:
        assert chat.stdin is not None and chat.stdout is not None
        chat.stdin.write("绑定 张建国 0001\n通知 明天上午九点开会\n确认\n".encode())
        chat.stdin.flush()
        seen = _read_until(chat.stdout, "[推送] 【第一党支部通知】\n明天上午九点开会")  # polled for: not logged
        chat.stdin.close()
        assert chat.wait(timeout=30) == 0
    assert "公众号> 绑定成功！张建国同志" in seen
    log = server.read_text(encoding="utf-8")
    port = sandbox_env["PALMBOT_PORT"]
    assert f"on 127.0.0.1 port {port}" in log
    assert "POST /fake-wechat/cgi-bin/message/custom/send 200" in log  # the push went to its own fake WeChat
    assert "POST /wechat 200" in log and "/fake-wechat/_sent" not in log


def _read_until(stream: object, wanted: str) -> str:
    """What the chat printed, up to and including `wanted` (failing after WAIT seconds)."""
    fd = stream.fileno()  # type: ignore[attr-defined]
    seen, deadline = b"", time.monotonic() + WAIT
    while wanted.encode() not in seen:
        left = deadline - time.monotonic()
        ready, _, _ = select.select([fd], [], [], max(left, 0))
        chunk = os.read(fd, 65536) if ready else b""
        if not chunk:
            pytest.fail(f"the chat never showed {wanted!r}; it showed:\n{seen.decode(errors='replace')}")
        seen += chunk
    return seen.decode()
