"""Tables. Points are an append-only ledger; every effect of a message has a unique key."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import ForeignKey, Index, LargeBinary, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.storage.db import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime}


class Role(StrEnum):
    """A member's role in the bot; secretaries and administrators may do more."""

    MEMBER = "党员"
    SECRETARY = "书记"
    ADMIN = "管理员"


class OrgKind(StrEnum):
    """Levels of the organisation tree."""

    COMMITTEE = "党委"
    GENERAL_BRANCH = "党总支"
    BRANCH = "党支部"
    GROUP = "党小组"


class Organisation(Base):
    """A place in the tree (党委 → 党总支 → 党支部 → 党小组): unique by (parent, name), named by its path.

    Villages repeat names (every one has a 第一党支部), so a name alone never identifies an organisation:
    `path` (`塘约村党总支/第一党支部`, the names from the root down) does, and is unique.
    """

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(10))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    path: Mapped[str] = mapped_column(String(500), unique=True)

    __table_args__ = (UniqueConstraint("parent_id", "name"), Index("ix_organisations_name", "name"))


class Member(Base):
    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    role: Mapped[str] = mapped_column(String(10), default=Role.MEMBER)
    joined_on: Mapped[date | None]
    openid: Mapped[str | None] = mapped_column(String(64), unique=True)
    language: Mapped[str] = mapped_column(String(10), default="zh")
    category: Mapped[str | None] = mapped_column(String(10))  # 在职, 流动, 离退休: a lesson's audience
    hide_rank: Mapped[bool] = mapped_column(default=False)  # `隐藏排行`: left off the branch's points board
    created_at: Mapped[datetime]


class InboundMessage(Base):
    """Durable dedup: one row per WeChat message or event, with the reply it got."""

    __tablename__ = "inbound_messages"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    openid: Mapped[str] = mapped_column(String(64))
    reply: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime]

    # Every message writes a row here, so the table keeps to two B-trees on SQLite (clustered on the
    # key, no rowid; one index). The index serves the 48-hour window: a member's `msg:` keys in two days.
    __table_args__ = (Index("ix_inbound_messages_openid_at", "openid", "received_at"), {"sqlite_with_rowid": False})


class UsedQuery(Base):
    """The replay memory: a plaintext callback's signed query (timestamp, nonce, signature) and the message
    it carried, kept while the freshness window could still admit it. Shared by every replica."""

    __tablename__ = "used_queries"

    query_key: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the three values
    message_key: Mapped[str] = mapped_column(String(120))  # the dedup key of the message it carried
    seen_at: Mapped[datetime]

    __table_args__ = ({"sqlite_with_rowid": False},)


class BindFailure(Base):
    """A wrong binding attempt, kept to slow down guessing."""

    __tablename__ = "bind_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]

    __table_args__ = (Index("ix_bind_failures_openid_at", "openid", "at"),)


class PointEntry(Base):
    """One line of the points ledger; never updated, never deleted."""

    __tablename__ = "point_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    action: Mapped[str] = mapped_column(String(40))
    delta: Mapped[int]
    reason: Mapped[str] = mapped_column(String(200))
    event_key: Mapped[str] = mapped_column(String(120), unique=True)
    occurred_at: Mapped[datetime]

    __table_args__ = (Index("ix_point_entries_member_at", "member_id", "occurred_at"),)


class Activity(Base):
    """A check-in window a secretary opened for a branch."""

    __tablename__ = "activities"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    title: Mapped[str] = mapped_column(String(100))
    key: Mapped[str | None] = mapped_column(String(120), unique=True)  # set when a job opened it
    code: Mapped[str] = mapped_column(String(8))
    opened_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"))  # None: opened by the calendar
    opens_at: Mapped[datetime]
    closes_at: Mapped[datetime]

    __table_args__ = (Index("ix_activities_org_closes", "org_id", "closes_at"),)


class CheckIn(Base):
    __tablename__ = "check_ins"

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("activity_id", "member_id"),)


class LessonView(Base):
    """Which lesson a member last received, so `答 B` knows which quiz it answers."""

    __tablename__ = "lesson_views"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    lesson_id: Mapped[str] = mapped_column(String(60))
    at: Mapped[datetime]

    __table_args__ = (Index("ix_lesson_views_member_at", "member_id", "at"),)


class QuizAnswer(Base):
    """A member's first (and only counted) answer to a lesson's quiz."""

    __tablename__ = "quiz_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    lesson_id: Mapped[str] = mapped_column(String(60))
    choice: Mapped[str] = mapped_column(String(4))
    correct: Mapped[bool]
    at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("member_id", "lesson_id"),)


class OutboxMessage(Base):
    """A message for a member sent outside the passive reply (sandbox outbox until the API client lands)."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str] = mapped_column(String(64), index=True)
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class DeliveryStatus(StrEnum):
    """Where one member's copy of a campaign stands."""

    NEW = "new"  # waiting for a worker
    CLAIMED = "claimed"  # taken by a worker (its lease_owner), not yet attempted: safe to hand back after a crash
    SENDING = "sending"  # handed to WeChat by its lease_owner, whose lease is renewed while it lives
    SENT = "sent"
    TEMPLATED = "templated"  # a template message carried its summary; the full text is readable with `通知`
    WAITING = "waiting"  # the member's 48-hour window is closed: read with `通知` or on their next message
    PAUSED = "paused"  # its campaign met the daily quota (45009): read with `通知`, or queued when it ends
    READ = "read"  # read with `通知` (after waiting, being paused, failing, being uncertain or templated)
    FAILED = "failed"  # known not sent (refused for good, or retries used up): readable with `通知`
    UNCERTAIN = "uncertain"  # its worker died mid-send, so it may have arrived: never resent, readable with `通知`
    MISSED = "missed"  # the member is not bound to WeChat


# what `通知` shows: the pushes a member has not read in full
READABLE = (DeliveryStatus.WAITING, DeliveryStatus.PAUSED, DeliveryStatus.FAILED, DeliveryStatus.UNCERTAIN,
            DeliveryStatus.TEMPLATED)


class Campaign(Base):
    """One push (a lesson, a theme-day notice, a secretary's notice) to an audience, at a time."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)  # what makes a rerun the same campaign
    kind: Mapped[str] = mapped_column(String(20))
    ref: Mapped[str | None] = mapped_column(String(60))  # the lesson a lesson push carries
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    needs_ack: Mapped[bool] = mapped_column(default=False)
    scheduled_at: Mapped[datetime]
    created_at: Mapped[datetime]
    paused_until: Mapped[datetime | None] = mapped_column(index=True)  # each delivery round looks for pauses
    pause_reason: Mapped[str | None] = mapped_column(String(200))
    reported_at: Mapped[datetime | None]
    image: Mapped[str | None] = mapped_column(String(500))  # a lesson's picture: it goes first, as a news card
    link: Mapped[str | None] = mapped_column(String(500))  # where that card opens


class Delivery(Base):
    """One member's copy of a campaign; unique per (campaign, member), so nothing is sent twice."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    status: Mapped[str] = mapped_column(String(10), default=DeliveryStatus.NEW)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]  # when its lease was taken or last renewed
    lease_owner: Mapped[str | None] = mapped_column(String(32))  # the worker holding it (claimed, sending)
    sent_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(String(200))
    acked_at: Mapped[datetime | None]
    body: Mapped[str | None] = mapped_column(Text)  # this member's own text, when the campaign's is not theirs

    __table_args__ = (
        UniqueConstraint("campaign_id", "member_id"),
        Index("ix_deliveries_status_next", "status", "next_attempt_at"),
        Index("ix_deliveries_member_status", "member_id", "status"),
    )


class AccessToken(Base):
    """The WeChat access token, shared by every process through the database."""

    __tablename__ = "access_tokens"

    appid: Mapped[str] = mapped_column(String(40), primary_key=True)
    token: Mapped[str] = mapped_column(String(600))
    expires_at: Mapped[datetime]


class JobRun(Base):
    """A scheduled job's run for one fire time: at most one per (job, time), even across replicas."""

    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(40))
    fire_at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(10))  # run | missed
    ran_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("job", "fire_at"),)


class NoticeDraft(Base):
    """A secretary's notice awaiting `确认`; it expires after ten minutes."""

    __tablename__ = "notice_drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    body: Mapped[str] = mapped_column(Text)
    needs_ack: Mapped[bool]
    expires_at: Mapped[datetime]


class ClaimStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class VolunteerClaim(Base):
    """Volunteer service a member reported; points and hours count only once a secretary approves it."""

    __tablename__ = "volunteer_claims"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    minutes: Mapped[int]
    description: Mapped[str] = mapped_column(String(200))
    photo_media_id: Mapped[str | None] = mapped_column(String(200))
    photo_url: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(10), default=ClaimStatus.PENDING)
    created_at: Mapped[datetime]
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    decided_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (Index("ix_volunteer_claims_org_status", "org_id", "status"),
                      Index("ix_volunteer_claims_status_decided", "status", "decided_at"))


class AuditEntry(Base):
    """Who did what to whom, when and why: approvals, rejections, corrections, star decisions. Never changed."""

    __tablename__ = "audit_trail"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))  # None: a scheduled job or an operator
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)  # the organisation concerned
    action: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(60))  # e.g. volunteer:12, wish:3, star:2026Q4
    detail: Mapped[str] = mapped_column(String(500))
    at: Mapped[datetime]


class WishStatus(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    DONE = "done"  # the member reported it fulfilled; the secretary has yet to accept it
    FULFILLED = "fulfilled"


class Wish(Base):
    """A resident's micro-wish (微心愿), posted by a secretary. The resident's name and phone are never shown in
    chat; the console shows them to the secretaries who answer for its organisation, who connect the member who
    claimed it with the resident."""

    __tablename__ = "wishes"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    content: Mapped[str] = mapped_column(String(200))
    resident_name: Mapped[str] = mapped_column(String(50))
    resident_phone: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10), default=WishStatus.OPEN)
    created_by: Mapped[int] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime]
    claimed_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    claimed_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    confirmed_at: Mapped[datetime | None]


class StarReview(Base):
    """One organisation's 摘星授星 for one quarter: proposed by the quarter-end job, then confirmed."""

    __tablename__ = "star_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    quarter: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime]
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"))  # None with confirmed_at: automatic
    confirmed_at: Mapped[datetime | None]

    __table_args__ = (UniqueConstraint("org_id", "quarter"),)


class StarProposal(Base):
    """A proposed grant (or removal) of one star for one member; a secretary may overrule it with a reason."""

    __tablename__ = "star_proposals"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("star_reviews.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    star: Mapped[str] = mapped_column(String(20))
    proposed: Mapped[bool]  # the rules' verdict: True holds the star (a manual row repeats the held state)
    evidence: Mapped[str] = mapped_column(String(200))
    decision: Mapped[bool]  # whether the member holds the star once confirmed; `proposed` unless overruled
    reason: Mapped[str | None] = mapped_column(String(200))  # why it was overruled
    changed_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"))

    __table_args__ = (UniqueConstraint("review_id", "member_id", "star"),)


class HeldStar(Base):
    """A star a member holds now (since its last confirmed review)."""

    __tablename__ = "held_stars"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    star: Mapped[str] = mapped_column(String(20), primary_key=True)
    since: Mapped[str] = mapped_column(String(8))  # the quarter it was granted


class StarChange(Base):
    """History: every confirmed grant and removal, with the quarter, date and reason."""

    __tablename__ = "star_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    star: Mapped[str] = mapped_column(String(20))
    granted: Mapped[bool]
    quarter: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime]


class PendingConfirmation(Base):
    """What `确认` and `取消` apply to for one sender: the command that asked (`通知`, `评星`, `调整`) and its
    payload. One per sender, the latest asking replaces the previous; only the command that opened it uses it."""

    __tablename__ = "pending_confirmations"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    command: Mapped[str] = mapped_column(String(20))
    payload: Mapped[str] = mapped_column(Text, default="")  # JSON, the command's own
    expires_at: Mapped[datetime]


class Question(Base):
    """A member's question the bot did not understand: offered to forward (`转给书记`), forwarded to the
    secretaries of the member's branch, answered with `回复 姓名 内容` (首问负责). Never shown to other members."""

    __tablename__ = "questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))  # the member's branch, when asked
    text: Mapped[str] = mapped_column(Text)
    asked_at: Mapped[datetime]
    forwarded_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"))


class MeetingKind(StrEnum):
    """三会一课 and the monthly 主题党日 (seed-domain: organisational life)."""

    GENERAL = "党员大会"
    COMMITTEE = "支委会"
    GROUP = "党小组会"
    LECTURE = "党课"
    THEME_DAY = "主题党日"


class Meeting(Base):
    """One meeting of organisational life, planned in chat (`会议 …`) or by the calendar: a row of the 台账.

    `org_id` is the organisation that holds it (a 党支部, or a 党小组 for 党小组会); its audience is that
    organisation's subtree (支委会: the branch's secretaries). Check-in is the ordinary `Activity` once opened.
    """

    __tablename__ = "meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    kind: Mapped[str] = mapped_column(String(10))
    topic: Mapped[str] = mapped_column(String(200))
    place: Mapped[str] = mapped_column(String(100))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    key: Mapped[str | None] = mapped_column(String(120), unique=True)  # set when the calendar planned it
    planned_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"))  # None: planned by the calendar
    planned_at: Mapped[datetime]
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("activities.id"))  # its check-in, once opened
    closed_at: Mapped[datetime | None]  # attendance settled and catch-ups queued (once, by a conditional update)
    cancelled_at: Mapped[datetime | None]  # `取消会议`: kept (its number is never given to another), never held

    __table_args__ = (Index("ix_meetings_org_starts", "org_id", "starts_at"),
                      Index("ix_meetings_closed_ends", "closed_at", "ends_at"))


class LeaveStatus(StrEnum):
    PENDING = "pending"
    GRANTED = "granted"
    REFUSED = "refused"


class LeaveRequest(Base):
    """A member's `请假` for one meeting and the secretary's `准假` / `不准`. The reason is private to the
    member and the secretaries above them."""

    __tablename__ = "leave_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    reason: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10), default=LeaveStatus.PENDING)
    asked_at: Mapped[datetime]
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(String(200))  # why it was refused

    __table_args__ = (UniqueConstraint("meeting_id", "member_id"),)


class AttendanceStatus(StrEnum):
    """How a member of the audience stood when the meeting closed; never merged into one "attended"."""

    PRESENT = "present"
    LATE = "late"  # checked in after the start plus the grace in rules.toml
    LEAVE = "leave"  # leave granted
    ABSENT = "absent"  # neither checked in nor on granted leave
    EXEMPT = "exempt"  # excused by an exemption (illness, 转场, age) covering the meeting's day


class MakeupKind(StrEnum):
    """How an absentee caught up: answered the catch-up push (补学) or was visited in person (送学)."""

    SELF_STUDY = "补学"
    DELIVERED = "送学"


class Attendance(Base):
    """One audience member's attendance of one meeting, settled when it closes; 补学/送学 kept beside it."""

    __tablename__ = "attendance"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    status: Mapped[str] = mapped_column(String(10))
    checked_in_at: Mapped[datetime | None]
    makeup: Mapped[str | None] = mapped_column(String(4))  # 补学 | 送学
    makeup_at: Mapped[datetime | None]
    makeup_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"))  # the secretary who recorded 送学

    __table_args__ = (UniqueConstraint("meeting_id", "member_id"),)


class MeetingMinute(Base):
    """Minutes (`纪要`) and photos attached to a meeting, exactly as sent; private to the branch and above."""

    __tablename__ = "meeting_minutes"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    text: Mapped[str | None] = mapped_column(Text)
    photo_media_id: Mapped[str | None] = mapped_column(String(200))
    photo_url: Mapped[str | None] = mapped_column(String(500))
    at: Mapped[datetime]


class Exemption(Base):
    """`豁免 姓名 起 止 理由`: from `starts_on` to `ends_on` (inclusive) the member is excused from meetings,
    left out of 待关注, and star requirements they could not meet are not held against them."""

    __tablename__ = "exemptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    reason: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime]


class ConsoleLink(Base):
    """A one-time sign-in link to the web console (`后台`): only the token's SHA-256 is kept, so neither the
    database nor a log can sign anyone in; `used_at` is set once, by the one request that redeems it."""

    __tablename__ = "console_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class ConsoleSession(Base):
    """A signed-in browser: the cookie's SHA-256, the form token (CSRF) of its pages, and when it ends."""

    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf: Mapped[str] = mapped_column(String(64))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class MediaStatus(StrEnum):
    FETCHING = "fetching"  # one process is fetching it now (its lease is `tried_at`)
    KEPT = "kept"  # the bytes are here
    RETRY = "retry"  # the last try failed for a passing reason: another comes later
    LOST = "lost"  # WeChat no longer has it (expired after three days, or unknown), or every try failed


class KeptMedia(Base):
    """A photo a member sent, fetched once from WeChat's temporary media (kept there three days only) and kept
    here, so every replica serves it to the console."""

    __tablename__ = "kept_media"

    id: Mapped[int] = mapped_column(primary_key=True)
    media_id: Mapped[str] = mapped_column(String(200), unique=True)  # as VolunteerClaim.photo_media_id
    status: Mapped[str] = mapped_column(String(10))
    tries: Mapped[int]
    tried_at: Mapped[datetime]
    content_type: Mapped[str | None] = mapped_column(String(100))
    data: Mapped[bytes | None] = mapped_column(LargeBinary)
    fetched_at: Mapped[datetime | None]
    failure: Mapped[str | None] = mapped_column(String(200))
