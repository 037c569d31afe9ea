"""The deployment the deploy test runs, all on loopback: nginx (Debian's package) with the shipped configuration,
`palmbot serve` replicas, and one fake WeChat API that every replica sends through.

nginx runs deploy/nginx/palmbot.conf and palmbot-upstream.conf as shipped, with only their ports, certificate
and log paths swapped for temporary ones (each swap must match, so a changed file fails here rather than being
tested half). The fake API is one FakeWeChat served under a prefix per replica (/r0, /r1…): one instance, one
record of what arrived, and the prefix tells which replica sent each message.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web

from bot.wechat.fake import FakeWeChat

ROOT = Path(__file__).resolve().parents[2]
NGINX_DIR = ROOT / "deploy/nginx"
TZ = ZoneInfo("Asia/Shanghai")
SEND_PATHS = ("/cgi-bin/message/custom/send", "/cgi-bin/message/template/send")


class Unavailable(Exception):
    """Something the test needs cannot be had on this machine (the message says what): the test is skipped."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def nginx_binary() -> str:
    """nginx's path, installing Debian's nginx-light first where it is missing and apt-get can (as root)."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    if found:
        return found
    if not shutil.which("apt-get") or os.geteuid() != 0:
        raise Unavailable("nginx is not installed and cannot be installed here (apt-get install nginx-light)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for step in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "nginx-light"]):
        subprocess.run(step, check=False, env=env, capture_output=True)
    found = shutil.which("nginx", path="/usr/sbin:/usr/bin")
    if not found:
        raise Unavailable("nginx is not installed and `apt-get install nginx-light` failed")
    return found


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made by openssl."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def _swap(text: str, pattern: str, replacement: str | Callable[[re.Match[str]], str], *, count: int = 0) -> str:
    """`text` with `pattern` replaced; the pattern must match (exactly `count` times, when given)."""
    new, found = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    if not found or (count and found != count):
        raise AssertionError(f"the shipped nginx configuration no longer has {pattern!r} ({found} found)")
    return new


def nginx_config(folder: Path, *, http_port: int, https_port: int, replicas: list[int]) -> Path:
    """Write the shipped site and upstream, pointed at this test's ports and files, under a main config of
    temporary paths; the main config's path."""
    cert, key = self_signed(folder)
    ports = iter(replicas)
    upstream = _swap((NGINX_DIR / "palmbot-upstream.conf").read_text(), r"server 127\.0\.0\.1:\d+",
                     lambda _: f"server 127.0.0.1:{next(ports)}", count=len(replicas))
    site = (NGINX_DIR / "palmbot.conf").read_text()
    for pattern, replacement in [
        (r"^\s*listen \[::\]:\d+.*$", ""),
        (r"listen 80;", f"listen 127.0.0.1:{http_port};"),
        (r"listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;"),
        (r"ssl_certificate\s+\S+;", f"ssl_certificate {cert};"),
        (r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {key};"),
        (r"/var/log/nginx/", f"{folder}/"),
        (r"root /var/www/acme;", f"root {folder}/acme;"),
    ]:
        site = _swap(site, pattern, replacement)
    (folder / "palmbot-upstream.conf").write_text(upstream)
    (folder / "palmbot.conf").write_text(site)
    (folder / "acme/.well-known/acme-challenge").mkdir(parents=True)
    temp = "\n".join(f"    {kind}_temp_path {folder}/{kind}_temp;"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    main = folder / "nginx.conf"
    main.write_text(f"""daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 512; }}
http {{
{temp}
    access_log {folder}/access.log;
    include {folder}/palmbot-upstream.conf;
    include {folder}/palmbot.conf;
}}
""")
    os.chmod(folder, 0o755)  # nginx's workers run as nobody when the master is root
    return main


class FakeApi:
    """One FakeWeChat every replica sends through, under its own prefix; when each prefix's sends arrived."""

    def __init__(self, appid: str, secret: str, replicas: int) -> None:
        self.wechat = FakeWeChat(appid, secret, lambda: datetime.now(TZ), enforce_window=False)
        self.port = free_port()
        self.arrivals: dict[int, list[float]] = defaultdict(list)  # replica index -> monotonic times of sends
        self._replicas = replicas
        self._runner: web.AppRunner | None = None

    def base(self, replica: int) -> str:
        return f"http://127.0.0.1:{self.port}/r{replica}"

    async def start(self) -> None:
        app = web.Application(middlewares=[self._note])
        for index in range(self._replicas):
            app.add_subapp(f"/r{index}", self.wechat.app())
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def busiest(self, seconds: float) -> int | None:
        """The replica that sent the most in the last `seconds`, if any sent at all."""
        since = time.monotonic() - seconds
        recent = {index: sum(t >= since for t in times) for index, times in self.arrivals.items()}
        best = max(recent, key=lambda index: recent[index], default=None)
        return best if best is not None and recent[best] else None

    @web.middleware
    async def _note(self, request: web.Request,
                    handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        if request.path.endswith(SEND_PATHS):
            self.arrivals[int(request.path.split("/")[1][1:])].append(time.monotonic())
        return await handler(request)


class Process:
    """A child process with its output appended to a log file; started again by `start`."""

    def __init__(self, argv: list[str], log: Path, env: dict[str, str]) -> None:
        self.argv, self.log, self.env = argv, log, env
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(*self.argv, stdout=out, stderr=out, env=self.env,
                                                                cwd=ROOT)

    async def kill(self) -> None:
        """SIGKILL: no graceful stop, no lease handed back."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), timeout=15)
        except TimeoutError:
            await self.kill()


def palmbot_argv(*args: str) -> list[str]:
    """The `palmbot` command operators run (the console script of this interpreter's environment)."""
    script = Path(sys.executable).with_name("palmbot")
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "bot", *args]


async def palmbot(env: dict[str, str], *args: str) -> str:
    """Run a `palmbot` command to completion; its output (AssertionError with the output if it fails)."""
    process = await asyncio.create_subprocess_exec(*palmbot_argv(*args), env=env, cwd=ROOT,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await process.communicate()
    text = out.decode()
    if process.returncode != 0:
        raise AssertionError(f"palmbot {' '.join(args)} failed ({process.returncode}):\n{text}")
    return text


async def wait_until_up(http: aiohttp.ClientSession, url: str, *, process: Process,
                        timeout: float = 60, tls: ssl.SSLContext | None = None) -> None:
    """Poll `url` until it answers 200; fail early if the process behind it exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.process is not None and process.process.returncode is not None:
            raise AssertionError(f"{process.argv[0]} exited with {process.process.returncode}: see {process.log}")
        try:
            async with http.get(url, ssl=tls if tls is not None else False) as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError(f"{url} did not answer 200 within {timeout:.0f} s: see {process.log}")
