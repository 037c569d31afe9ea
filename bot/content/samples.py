"""What each reply template is given: the variables it may use, with sample values to render it by.

This is the contract between the code and `content/replies/`: `content check` refuses a template
that uses a variable not listed here (a typo would otherwise reach a member as an error), renders
every template with these values, and checks the result fits in one WeChat reply. A test keeps the
code's `render(...)` calls and this table in step.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from bot.content.calendar import ThemeMonth
from bot.content.lessons import Lesson, Quiz
from bot.content.rules import Metric
from bot.rules.points import Standing
from bot.rules.stars import Shortfall, StarStatus

_TZ = ZoneInfo("Asia/Shanghai")
_QUIZ = Quiz("“三会一课”中的“一课”指的是什么？", {"A": "党课", "B": "文化课", "C": "技能培训课"}, "A", "“一课”即按时上好党课。")
_LESSON = Lesson("sample", "“三会一课”是什么", "“三会一课”是党的组织生活的基本制度。" * 3, sequence=1, quiz=_QUIZ)
_MONTH = ThemeMonth("学党章党规，做合格党员", "村党群服务中心")
_WHEN = datetime(2026, 11, 15, 20, 0, tzinfo=_TZ)
_NAME, _ORG = "张建国", "第一党支部"

SAMPLES: dict[str, dict[str, Any]] = {
    "ack_done": {"titles": ["第一党支部通知"]},
    "ack_none": {},
    "bind_already": {"name": _NAME},
    "bind_ambiguous": {},
    "bind_done": {"name": _NAME, "org": _ORG},
    "bind_needed": {},
    "bind_not_found": {},
    "bind_taken": {},
    "bind_usage": {},
    "bind_wait": {"minutes": 4},
    "birthday_card": {"name": _NAME, "joined_on": date(1998, 7, 1), "years": 28},
    "birthday_note": {"members": [("王德明", 39), ("李秀英", 21)]},
    "checkin_already": {"title": "主题党日"},
    "checkin_done": {"name": _NAME, "title": "主题党日", "points": 2},
    "checkin_open_usage": {},
    "checkin_opened": {"org": _ORG, "title": "主题党日", "code": "4821", "minutes": 120, "closes_at": _WHEN},
    "checkin_unknown": {"code": "4821"},
    "checkin_usage": {},
    "content_refused": {"problems": "content/replies/points.j2:3: unknown variable `yaer` — this reply can use …"},
    "error": {},
    "help": {"bound": True, "name": _NAME, "secretary": True},
    "lesson": {"lesson": _LESSON, "points": 1},
    "lesson_none": {},
    "notice_cancelled": {},
    "notice_expired": {"minutes": 10},
    "notice_no_draft": {},
    "notice_other_branch": {"org": "第二党支部"},
    "notice_preview": {"body": "本周六上午9点开展主题党日活动", "org": _ORG, "size": 10, "needs_ack": True, "minutes": 10},
    "notice_push": {"body": "本周六上午9点开展主题党日活动", "org": _ORG, "needs_ack": True},
    "notice_report": {"campaign": SimpleNamespace(title="第一党支部通知"),
                      "counts": Counter({"sent": 7, "read": 1, "waiting": 2, "failed": 1})},
    "notice_started": {"size": 10, "needs_ack": True},
    "notice_unknown_org": {"org": "第九党支部"},
    "notice_usage": {"admin": True},
    "notices_list": {"notices": [SimpleNamespace(title="第一党支部通知", body="下周一交党费", kind="notice", ref=None)]},
    "notices_none": {},
    "points": {"name": _NAME, "standing": Standing(8, 96, 12, True, True, False), "cap": 10, "line": 120,
               "month": 11, "entries": [(date(2026, 11, 15), 2, "参加组织活动签到：主题党日")] * 5},
    "quiz_already": {"lesson": _LESSON, "choice": "B"},
    "quiz_none": {},
    "quiz_result": {"lesson": _LESSON, "correct": True, "points": 1},
    "quiz_usage": {"options": ["A", "B", "C"]},
    "receipts": {"title": "第一党支部通知", "names": ["王德明", "李秀英"]},
    "receipts_none": {},
    "secretary_only": {},
    "star_review_reminder": {"quarter": "2026Q4"},
    "stars": {"name": _NAME, "quarter": "2026Q4", "held": 1, "review_on": date(2026, 12, 31),
              "stars": [StarStatus("学习星", True, ()),
                        StarStatus("服务星", False, (Shortfall("service_hours", 2, False),)),
                        StarStatus("自律星", False, (Shortfall("deductions", 1, True),))],
              "metrics": {"service_hours": Metric("完成志愿服务", "小时"), "deductions": Metric("扣分记录", "次")}},
    "themeday_notice": {"org": _ORG, "day": date(2026, 11, 15), "month": _MONTH, "code": "4821", "closes_at": _WHEN},
    "themeday_reminder": {"day": date(2026, 11, 15), "month": _MONTH},
    "unknown": {},
    "unread_hint": {"count": 2},
    "welcome": {"name": ""},
}
