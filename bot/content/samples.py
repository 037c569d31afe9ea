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

from bot.content.lessons import Lesson, Quiz
from bot.content.rules import Deduction, Metric
from bot.follow_up import Flagged
from bot.ledger import Attendee, MeetingRecord, Tally
from bot.report import MemberRow, Report
from bot.rules.attendance import Lapses
from bot.rules.boards import Ranked
from bot.rules.oversight import Finding, MeetingFacts, Reason
from bot.rules.points import FollowUp, Standing
from bot.rules.stars import Requirement, Shortfall, StarStatus, excused

_TZ = ZoneInfo("Asia/Shanghai")
_QUIZ = Quiz("“三会一课”中的“一课”指的是什么？", {"A": "党课", "B": "文化课", "C": "技能培训课"}, "A", "“一课”即按时上好党课。")
_LESSON = Lesson("sample", "“三会一课”是什么", "“三会一课”是党的组织生活的基本制度。" * 3, sequence=1, quiz=_QUIZ)
_WHEN = datetime(2026, 11, 15, 20, 0, tzinfo=_TZ)
_NAME, _ORG = "张建国", "第一党支部"
_MENU = [(1, "今天的微党课"), (2, "本月和全年积分"), (3, "五星评定进度"), (4, "阅读未读通知"), (5, "今年的志愿服务记录"),
         (6, "本支部的微心愿"), (7, "本支部本月积分榜"), (8, "按身份列出可以发送的内容")]
_METRICS = {"quiz_correct": Metric("答对微党课题目", "题"), "service_hours": Metric("完成志愿服务", "小时"),
            "deductions": Metric("扣分或无故缺席记录", "次")}
_CLAIM = SimpleNamespace(id=12, created_at=_WHEN, minutes=90, description="社区环境整治", status="rejected",
                         reason="时长与活动记录不符", photo_media_id="media-1")
_EXEMPTION = SimpleNamespace(starts_on=date(2026, 12, 1), ends_on=date(2027, 2, 28), reason="冬季转场放牧")
_COUNTED = "计 1 分（本月已满 10 分，超出部分不计）"
_WISH = SimpleNamespace(id=3, content="想要一台收音机听新闻")
_REPORT = Report(_ORG, "2026Q4", (10, 11, 12), (MemberRow("李秀英", (10, 8, 0), 18, ("学习星",), 2, 5, 6, 4.0, ""),) * 30,
                 3, (12, 8, 5))
_MEETING = MeetingRecord(7, 1, "塘约村党总支/第一党支部", "党员大会", "学习全会精神", "村委会", _WHEN, _WHEN, _WHEN, False,
                         (Attendee("李秀英", "absent", "补学"),), (), ())
_TALLY = Tally(2, 1, 18, 1, 2, 1, 0, 1, 0)
_FACTS = MeetingFacts(7, "党员大会", "学习全会精神", _WHEN.date(), _WHEN.date(), _WHEN, False)
_REASONS = ["11月主题党日没有在10月25日前报备计划", "7 号会议（11月15日 党员大会「学习全会精神」）结束已超过7天，还没有纪要"]

_PLANNED = {"id": 12, "org": _ORG, "kind": "党员大会", "starts": _WHEN, "ends": _WHEN, "place": "村委会",
            "topic": "学习全会精神"}
_COUNTS = {"present": 8, "late": 1, "leave": 1, "absent": 2, "exempt": 1, "补学": 1, "送学": 1}

SAMPLES: dict[str, dict[str, Any]] = {
    "ack_done": {"titles": ["第一党支部通知"], "shown": ["【第一党支部通知】\n周六上午九点开主题党日。\n\n请回复「收到」确认。"]},
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
    "leave_already_granted": {"meeting": _PLANNED},
    "leave_asked": {"name": "王芳", "tail": "0112", "reason": "外出务工，无法赶回", "meeting": _PLANNED},
    "leave_decided": {"name": "王芳", "granted": False, "meeting": _PLANNED},
    "leave_no_meeting": {"id": "12"},
    "leave_none": {"name": "王芳"},
    "leave_recorded": {"meeting": _PLANNED},
    "leave_result": {"granted": False, "reason": "会议内容重要，请准时参加", "meeting": _PLANNED},
    "leave_too_late": {"meeting": _PLANNED},
    "leave_usage": {},
    "makeup_already": {"id": 12, "makeup": "送学"},
    "makeup_delivered": {"name": "王芳", "meeting": _PLANNED},
    "makeup_leave_sent": {"id": 12, "count": 2},
    "makeup_leave_usage": {},
    "makeup_none": {"id": 12},
    "makeup_not_closed": {"id": 12},
    "makeup_push": {"quiz": _QUIZ, "summary": "传达学习了全会精神。" * 12, "cut": True, "meeting": _PLANNED},
    "makeup_refused": {"name": "王芳", "closed": True},
    "makeup_right": {"meeting": _PLANNED, "quiz": _QUIZ},
    "makeup_usage": {},
    "makeup_wrong": {"meeting": _PLANNED, "choice": "B"},
    "meeting_code": {"code": "4821", "meeting": _PLANNED},
    "meeting_detail": {"meeting": _PLANNED, "closed": True, "mine": "late", "makeup": None, "counts": _COUNTS,
                       "minutes": ["传达学习了全会精神，讨论了春耕安排。" * 20], "photos": 2},
    "meeting_list": {"meetings": [_PLANNED] * 5},
    "meeting_not_found": {"id": 12},
    "meeting_notice": {"meeting": _PLANNED},
    "meeting_planned": {"meeting": _PLANNED, "size": 30, "changed": True, "minutes": 120},
    "meeting_recorded": {"meeting": _PLANNED, "size": 30},
    "meeting_twice": {"meeting": _PLANNED},
    "attendance_usage": {},
    "attendance_not_needed": {"meeting": _PLANNED, "closed": False},
    "meeting_reminder": {"meeting": _PLANNED},
    "meeting_too_old": {"day": date(2026, 11, 1), "days": 7},
    "meeting_usage": {"part": "place"},
    "minutes_done": {"meeting": _PLANNED, "minutes": 10},
    "minutes_photo": {"meeting": _PLANNED, "photos": 2},
    "minutes_usage": {},
    "named_usage": {"command": "准假"},
    "checkin_open_already": {"title": "主题党日", "code": "8032", "closes_at": _WHEN},
    "checkin_done": {"name": _NAME, "title": "主题党日", "points": 1, "capped": True, "offset": False, "raw": 2,
                     "cap": 10},
    "checkin_open_usage": {},
    "checkin_opened": {"org": _ORG, "title": "主题党日", "code": "4821", "minutes": 120, "closes_at": _WHEN},
    "checkin_unknown": {"code": "4821"},
    "checkin_usage": {},
    "content_refused": {"problems": "content/replies/points.j2:3: unknown variable `yaer` — this reply can use …"},
    "error": {},
    "help": {"bound": True, "name": _NAME, "role": "书记", "usages": [
        (["评星 改 12 理由", "评星 授 姓名 星名 理由", "评星 摘 姓名 星名 理由"], "调整一条建议，须写明理由")] * 10,
        "also": ["积分", "星级", "志愿", "我的志愿", "心愿", "认领", "完成", "排行", "隐藏排行", "显示排行", "微课", "答",
                 "签到", "通知", "收到", "转给书记"], "menu": _MENU},
    "help_topics": {"name": _NAME, "role": "书记", "asked": "开会的事", "topics": [
        ("会议", ["发起签到", "会议", "纪要", "准假", "不准", "送学", "补学", "台账", "督办"])] * 7,
        "also": ["积分", "星级", "志愿", "我的志愿", "心愿", "认领", "完成", "排行", "隐藏排行", "显示排行", "微课", "答",
                 "签到", "通知", "收到", "转给书记", "请假"], "menu": _MENU},
    "lesson": {"lesson": _LESSON, "points": 1},
    "lesson_audience_refused": {"lesson": _LESSON, "paths": ["甲村党总支/第一党支部", "乙村党总支/第一党支部"]},
    "lesson_none": {},
    "notice_cancelled": {},
    "notice_expired": {"minutes": 10},
    "notice_no_draft": {},
    "notice_other_branch": {"org": "第二党支部"},
    "notice_preview": {"body": "本周六上午9点开展主题党日活动", "org": _ORG, "size": 10, "needs_ack": True, "minutes": 10},
    "notice_push": {"body": "本周六上午9点开展主题党日活动", "org": _ORG, "needs_ack": True},
    "notice_report": {"campaign": SimpleNamespace(title="第一党支部通知"),
                      "counts": Counter({"sent": 7, "read": 1, "waiting": 2, "failed": 1, "uncertain": 1, "templated": 1})},
    "notice_started": {"size": 10, "needs_ack": True},
    "notice_unknown_org": {"org": "第九党支部"},
    "org_ambiguous": {"org": "第一党支部", "paths": ["甲村党总支/第一党支部", "乙村党总支/第一党支部"]},
    "notice_usage": {},
    "notices_list": {"notices": [SimpleNamespace(title="第一党支部通知", body="下周一交党费", kind="notice", ref=None)]},
    "notices_none": {},
    "points": {"name": _NAME, "standing": Standing(8, 96, 12, True, True, False), "cap": 10, "line": 120,
               "month": 11, "entries": [(date(2026, 11, 15), 2, "参加组织活动签到：主题党日")] * 5},
    "quiz_already": {"lesson": _LESSON, "choice": "B"},
    "quiz_none": {},
    "quiz_result": {"lesson": _LESSON, "correct": True, "points": 1, "capped": True, "offset": False, "raw": 1,
                    "cap": 10},
    "quiz_usage": {"options": ["A", "B", "C"]},
    "receipts": {"title": "第一党支部通知", "names": ["王德明", "李秀英"]},
    "receipts_none": {},
    "secretary_only": {},
    "star_review_reminder": {"quarter": "2026Q4"},
    "stars": {"name": _NAME, "quarter": "2026Q4", "held": ["学习星", "服务星"], "review_on": date(2027, 1, 1),
              "stars": [StarStatus("学习星", True, ()),
                        StarStatus("服务星", False, (Shortfall("service_hours", 2, False),)),
                        StarStatus("自律星", False, (Shortfall("deductions", 1, True),))],
              "values": {"quiz_correct": 7.0, "service_hours": 2.0, "deductions": 1.0},
              "requirements": {"学习星": (Requirement("quiz_correct", at_least=6),),
                               "服务星": (Requirement("service_hours", at_least=4),),
                               "自律星": (Requirement("deductions", at_most=0),)},
              "metrics": _METRICS,
              "history": [SimpleNamespace(at=_WHEN, granted=True, star="服务星", reason="完成志愿服务 6 小时"),
                          SimpleNamespace(at=_WHEN, granted=False, star="学习星", reason="答对微党课题目 2 题")],
              "tz": _TZ, "exemptions": [_EXEMPTION], "excused": excused},
    "star_result": {"quarter": "2026Q4", "gained": [("服务星", "完成志愿服务 6 小时")],
                    "lost": [("学习星", "答对微党课题目 2 题")]},
    "review_changed": {"name": "李秀英", "star": "服务星", "hold": True, "reason": "照顾孤寡老人未登记"},
    "review_confirmed": {"quarters": ["2026Q4"], "told": 12},
    "review_list": {"quarters": ["2026Q4"], "total": 40, "overruled": 1, "proposals": [
        SimpleNamespace(id=12, name="李秀英", star="服务星", verb="授", overruled=False, evidence="完成志愿服务 6 小时",
                        reason=None),
        SimpleNamespace(id=13, name="王德明", star="学习星", verb="不授", overruled=True, evidence="答对微党课题目 2 题",
                        reason="外出务工期间参加线下学习")] * 10},
    "member_unknown": {"name": "李秀英", "count": 2},
    "review_none": {},
    "review_not_found": {"id": "12"},
    "review_own": {},
    "review_usage": {},
    "volunteer_approved": {"id": 12, "name": "李秀英", "hours": 2.0, "counted": _COUNTED},
    "points_counted": {"points": 1, "capped": True, "offset": False, "raw": 2, "cap": 10},
    "period_refused": {"command": "积分", "shows": "本月和今年的积分", "asked": "2025"},
    "volunteer_decide_usage": {},
    "volunteer_decided": {"id": 12},
    "volunteer_mine": {"year": 2026, "confirmed": 6.5, "tz": _TZ, "claims": [_CLAIM] * 12},
    "volunteer_not_found": {"id": "12"},
    "volunteer_own": {},
    "volunteer_pending": {"total": 25, "claims": [SimpleNamespace(id=12, name="李秀英", minutes=120, description="社区环境整治",
                                                                  photo_url="http://example.invalid/1.jpg")] * 20},
    "volunteer_photo": {"id": 12, "minutes": 10, "description": "社区环境整治", "replaced": True},
    "volunteer_batch": {"outcomes": [("12", "已确认志愿服务 12 号：李秀英 2 小时，计 2 分。已通知本人。")] * 20},
    "volunteer_recorded": {"id": 12, "hours": 1.5, "description": "社区环境整治", "minutes": 10},
    "volunteer_reject_usage": {},
    "volunteer_rejected": {"id": 12, "reason": "时长与活动记录不符"},
    "volunteer_result": {"id": 12, "approved": False, "hours": 2.0, "description": "社区环境整治",
                         "counted": _COUNTED, "reason": "时长与活动记录不符"},
    "volunteer_usage": {},
    "wishes": {"open": [_WISH] * 10, "mine": [_WISH], "secretary": True, "counters": (12, 8, 5), "done": [_WISH] * 3},
    "wish_accepted": {"id": 3, "counted": _COUNTED},
    "wish_accepted_note": {"id": 3, "content": _WISH.content, "counted": _COUNTED},
    "wish_claimed": {"id": 3, "content": _WISH.content},
    "wish_claimed_note": {"id": 3, "content": _WISH.content, "name": "李秀英"},
    "wish_done": {"id": 3},
    "wish_done_note": {"id": 3, "content": _WISH.content, "name": "李秀英"},
    "wish_not_done": {"id": 3},
    "wish_not_found": {"id": "3"},
    "wish_not_yours": {"id": 3},
    "wish_number_usage": {},
    "wish_posted": {"id": 3, "content": _WISH.content},
    "wish_private": {},
    "too_long": {"what": "reason", "limit": 100},
    "wish_taken": {"id": 3},
    "wish_usage": {},
    "board": {"org": _ORG, "month": 11, "board": [Ranked(1, "李秀英", 10), Ranked(1, "王德明", 10), Ranked(3, _NAME, 8)]},
    "board_hidden": {"hidden": True},
    "correction_done": {"name": "李秀英", "delta": -2, "reason": "重复签到，更正"},
    "correction_own": {},
    "correction_usage": {},
    "follow_up": {"line": 60, "years": 3, "low": 3, "members": [
        Flagged(1, "王德明", FollowUp(True, 3), 31, 2, False), Flagged(2, "李秀英", FollowUp(False, 1), 70, None, False)] * 10},
    "report_summary": {"report": _REPORT, "followed": 3, "hours": 46.5, "current": True},
    "service_star": {"name": "李秀英", "month": 11, "hours": 12.5},
    "absence_note": {"name": "李秀英", "year": 2026, "count": 3, "tally": Lapses(2, 3), "late_per_absence": 2, "most": 2},
    "deduction_usage": {"most": 10, "listed": [Deduction("无故缺席组织生活", 2), Deduction("违反村规民约", 3)] * 5},
    "deduction_preview": {"name": "李秀英", "org": "塘约村党总支/第一党支部", "points": 2, "reason": "无故缺席组织生活"},
    "deduction_done": {"name": "李秀英", "points": 2, "reason": "无故缺席组织生活"},
    "deduction_own": {},
    "deduction_notice": {"points": 2, "reason": "无故缺席组织生活"},
    "exemption_usage": {},
    "exemption_dates": {"starts_on": date(2026, 12, 1), "ends_on": date(2026, 11, 1)},
    "exemption_overlap": {"name": "李秀英", "exemption": _EXEMPTION},
    "exemption_done": {"name": "李秀英", "starts_on": date(2026, 12, 1), "ends_on": date(2027, 2, 28), "reason": "冬季转场放牧"},
    "exemption_own": {},
    "exemption_ended": {"ended": 1, "name": "李秀英"},
    "exemption_list": {"exemptions": [(_EXEMPTION, "李秀英")] * 20, "today": date(2026, 11, 16)},
    "member_which": {"name": "李秀英", "count": 2, "tail": "0002", "example": "解绑 李秀英 0002"},
    "themeday_notice": {"meeting": _PLANNED, "code": "4821"},
    "themeday_reminder": {"meeting": _PLANNED},
    "unbind_done": {"name": "李秀英", "org": "塘约村党总支/第一党支部"},
    "unbind_not_bound": {"name": "李秀英"},
    "unbind_own": {},
    "unbind_usage": {},
    "unknown": {"menu": _MENU, "bound": True},
    "greeting": {"name": _NAME, "thanks": True, "menu": _MENU, "bound": True},
    "question_offer": {"minutes": 30},
    "forward_none": {},
    "forward_nobody": {},
    "forward_done": {"secretaries": [_NAME, "彭光明"], "count": 3},
    "question_note": {"name": "李秀英", "org": _ORG, "texts": ["村里的低保什么时候发放？" * 20] * 2},
    "question_answer": {"name": _NAME, "question": "村里的低保什么时候发放？" * 20, "text": "下周一发放。" * 40},
    "answer_done": {"name": "李秀英"},
    "answer_none": {"name": "李秀英"},
    "answer_usage": {},
    "confirm_none": {},
    "confirm_cancelled": {"what": "这条通知"},
    "confirm_expired": {"what": "这次积分调整"},
    "correction_preview": {"name": "李秀英", "delta": -20, "reason": "重复登记志愿服务，更正", "cap": 10},
    "reason_missing": {"example": "评星 授 李秀英 学习星 理由"},
    "report_usage": {"asked": "2026Q5", "current": "2026Q4"},
    "review_no_change": {"name": "李秀英", "star": "学习星", "held": False},
    "unread_hint": {"count": 2},
    "welcome": {"name": ""},
    "ledger_month": {"org": "塘约村党总支/第一党支部", "month": date(2026, 11, 1), "current": True,
                     "kinds": [("党员大会", _TALLY), ("支委会", Tally(0, 0, 0, 0, 0, 0, 0, 0, 0))] * 3,
                     "unrecorded": [_MEETING] * 10},
    "month_usage": {"command": "台账", "asked": "13月", "current": date(2026, 11, 16)},
    "oversight": {"scope": "塘约村党总支", "month": date(2026, 11, 1), "counts": {"red": 1, "yellow": 1, "green": 10},
                  "standings": [("塘约村党总支/第一党支部", "red", _REASONS), ("塘约村党总支/第一党支部/第一党小组", "yellow",
                                                                    _REASONS[1:] * 3)]
                  + [("塘约村党总支/第二党支部", "green", [])] * 10, "plan_by": 25, "days": 7},
    "oversight_reason": {"finding": Finding(Reason.NO_MINUTES, _FACTS), "month": date(2026, 11, 1),
                         "deadline": date(2026, 10, 25), "days": 7},
    "oversight_reminder": {"org": "塘约村党总支/第一党支部/第一党小组", "month": date(2026, 11, 1), "colour": "yellow",
                           "reason": _REASONS[1]},
}
