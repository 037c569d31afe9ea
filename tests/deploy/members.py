"""The deploy test's people: a generated roster of one 党委 with branches of 50, its secretary, and a phone for each
that speaks to the bot through nginx exactly as WeChat does."""

from __future__ import annotations

import csv
import ssl
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import aiohttp

from bot.ops.simulator import Simulator, openid_for, text_xml

COMMITTEE = "清水镇党委"
SECRETARY = ("彭光明", "13900009999")
SURNAMES = "王李张刘陈杨黄赵周吴徐孙马朱胡郭何林罗高"
GIVEN = ["建国", "秀英", "德明", "春花", "志强", "丽华", "国庆", "红梅", "海燕", "明辉",
         "建华", "玉兰", "卫东", "桂英", "文军", "淑珍", "永福", "金凤", "光荣", "小平"]
BRANCH_SIZE = 50
NUMERALS = "一二三四五六七八"


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    phone: str

    @property
    def openid(self) -> str:
        return openid_for(self.phone)


def roster(size: int) -> list[Person]:
    """`size` members with distinct names (up to 400), then the 党委's secretary."""
    if size > len(SURNAMES) * len(GIVEN) or size > BRANCH_SIZE * len(NUMERALS):
        raise ValueError(f"at most {min(len(SURNAMES) * len(GIVEN), BRANCH_SIZE * len(NUMERALS))} members")
    people = [Person(SURNAMES[i % len(SURNAMES)] + GIVEN[i // len(SURNAMES)], f"139{i:08d}") for i in range(size)]
    return [*people, Person(*SECRETARY)]


def write_roster(path: Path, people: list[Person], today: date) -> Path:
    """The roster CSV `palmbot members import` reads; nobody's political birthday is today (no birthday cards)."""
    joined = next(day for day in (date(2001, 7, 1), date(2001, 10, 1)) if (day.month, day.day) != (today.month,
                                                                                                   today.day))
    *members, secretary = people
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["姓名", "手机号", "支部", "角色", "入党日期"])
        for index, person in enumerate(members):
            branch = f"{COMMITTEE}/第{NUMERALS[index // BRANCH_SIZE]}党支部"
            writer.writerow([person.name, person.phone, branch, "党员", joined.isoformat()])
        writer.writerow([secretary.name, secretary.phone, COMMITTEE, "书记", joined.isoformat()])
    return path


@dataclass
class Webhook:
    """Signed, encrypted callbacks to /wechat through nginx; every answer's status is kept with when it was asked."""

    http: aiohttp.ClientSession
    url: str
    tls: ssl.SSLContext
    simulator: Simulator
    answers: list[tuple[float, int]] = field(default_factory=list)  # (monotonic time asked, HTTP status)

    async def say(self, person: Person, text: str) -> str:
        """What the bot answers `person` (empty for `success` or a failed request)."""
        query, body = self.simulator.request(text_xml(person.openid, text))
        asked = time.monotonic()
        try:
            async with self.http.post(self.url, params=query, data=body.encode(), ssl=self.tls,
                                      timeout=aiohttp.ClientTimeout(total=10)) as response:
                status, reply = response.status, await response.text()
        except (aiohttp.ClientError, TimeoutError):
            status, reply = 0, ""
        self.answers.append((asked, status))
        return (self.simulator.reply_text(reply) or "") if status == 200 else ""

    def failed(self, since: float = 0.0, until: float = float("inf")) -> list[int]:
        """The statuses other than 200 of requests asked in [since, until]."""
        return [status for asked, status in self.answers if since <= asked <= until and status != 200]

    def asked(self, since: float, until: float) -> int:
        return sum(since <= asked <= until for asked, _ in self.answers)
