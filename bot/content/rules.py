"""`content/rules.toml`: point values, the monthly cap and yearly line, and the star criteria, checked for sense."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.content.calendar import clock_time
from bot.content.files import ContentError, Problems, get, line_of, read_toml
from bot.rules.points import PointsPolicy
from bot.rules.stars import Requirement, Star

QUARTER_MONTHS = 3
# Which actions feed each metric a star can require; `points` is fed by every action worth points.
FED_BY = {"quiz_correct": {"quiz_correct"}, "checkins": {"checkin"}, "service_hours": {"volunteer_hour"}}
REQUIRED_ACTIONS = ("checkin", "quiz_correct", "volunteer_hour", "wish", "correction", "deduction")  # the code awards these by name


@dataclass(frozen=True, slots=True)
class Action:
    """A kind of deed that earns (or costs) points."""

    points: int
    label: str


@dataclass(frozen=True, slots=True)
class Metric:
    """How a star metric is named to members: `再{label}{need}{unit}`."""

    label: str
    unit: str


@dataclass(frozen=True, slots=True)
class ReviewPolicy:
    """How the quarterly 摘星授星 runs: when it confirms itself, and who counts as low-star."""

    auto_confirm_max_members: int  # an organisation this small skips the secretary's review (0: never)
    low_star_max: int  # members holding this many stars or fewer are listed for their secretary


@dataclass(frozen=True, slots=True)
class LifePolicy:
    """Organisational life (三会一课, 主题党日) and the 学分卡 rule (seed 002 L400: 迟到、早退2次视为缺课1课时,
    每年无故缺席2次以上向所在基层党组织通报, 作为五星争创扣分依据)."""

    late_grace_minutes: int  # a check-in this long after the start is still on time
    backfill_days: int  # a meeting may be planned at most this many days in the past (no back-filling)
    reminder: str  # "HH:MM" the day before: the audience's reminder
    late_per_absence: int  # this many late arrivals count as one absence
    absences_before_notice: int  # more unexcused absences than this in a year: the secretary is told
    absences_count_as_deductions: bool  # whether unexcused absences count in the `deductions` metric (自律星)


@dataclass(frozen=True, slots=True)
class Deduction:
    """A conduct deduction a secretary may record (`扣分 姓名 N 理由`; seed 002 L475/L485, 驾照式扣分)."""

    reason: str
    points: int  # the usual points taken (positive); the secretary's N may differ up to `max_points`


@dataclass(frozen=True, slots=True)
class Rules:
    policy: PointsPolicy
    actions: dict[str, Action]
    metrics: dict[str, Metric]
    stars: tuple[Star, ...]
    review: ReviewPolicy
    life: LifePolicy
    deductions: tuple[Deduction, ...]
    max_deduction: int  # the most one `扣分` may take

    def star(self, name: str) -> Star | None:
        return next((s for s in self.stars if s.name == name), None)


LABEL_LIMIT = 40  # room in point_entries.reason (200) for "：" and a typed reason (`bot/storage/limits.py`)


def load_rules(path: Path, problems: Problems) -> Rules | None:
    """The rules, or None when they cannot be read; every problem goes to `problems`."""
    rules = None
    with problems.collecting():
        data = read_toml(path)
        policy = PointsPolicy(
            monthly_cap=get(data, path, "points", "monthly_cap", kind=int),
            yearly_line=get(data, path, "points", "yearly_line", kind=int),
            flag_below=get(data, path, "points", "flag_below", kind=int),
            follow_up_years=get(data, path, "points", "follow_up_years", kind=int),
        )
        actions = {name: Action(get(spec, path, "points", kind=int), get(spec, path, "label"))
                   for name, spec in get(data, path, "actions", kind=dict).items()}
        metrics = {name: Metric(get(spec, path, "label"), get(spec, path, "unit"))
                   for name, spec in get(data, path, "metrics", kind=dict).items()}
        stars = tuple(_star(spec, path, metrics) for spec in get(data, path, "stars", kind=list))
        review = ReviewPolicy(get(data, path, "star_review", "auto_confirm_max_members", kind=int),
                              get(data, path, "star_review", "low_star_max", kind=int))
        life = LifePolicy(
            late_grace_minutes=get(data, path, "organisational_life", "late_grace_minutes", kind=int),
            backfill_days=get(data, path, "organisational_life", "backfill_days", kind=int),
            reminder=clock_time(data, path, "organisational_life", "reminder").strftime("%H:%M"),
            late_per_absence=get(data, path, "organisational_life", "late_per_absence", kind=int),
            absences_before_notice=get(data, path, "organisational_life", "absences_before_notice", kind=int),
            absences_count_as_deductions=get(data, path, "organisational_life", "absences_count_as_deductions",
                                             kind=bool),
        )
        deductions = tuple(Deduction(get(spec, path, "reason"), get(spec, path, "points", kind=int))
                           for spec in get(data, path, "deductions", "reasons", kind=list))
        rules = Rules(policy, actions, metrics, stars, review, life, deductions,
                      get(data, path, "deductions", "max_points", kind=int))
        _check(rules, path, problems)
    return rules


def _star(spec: dict[str, Any], path: Path, metrics: dict[str, Metric]) -> Star:
    name = get(spec, path, "name")
    requirements = []
    for req in get(spec, path, "require", kind=list):
        metric = get(req, path, "metric")
        if metric not in metrics:
            raise ContentError(path, line_of(path, metric), f"star {name}: unknown metric `{metric}`",
                               f"use one of {', '.join(sorted(metrics))}")
        bounds = {k: req[k] for k in ("at_least", "at_most") if k in req}
        if not bounds:
            raise ContentError(path, line_of(path, name), f"star {name}: a requirement needs at_least or at_most",
                               "add `at_least = 1` (or `at_most = 0`)")
        requirements.append(Requirement(metric, **bounds))
    return Star(name, tuple(requirements))


def _check(rules: Rules, path: Path, problems: Problems) -> None:
    """Rules that load but make no sense: lines out of order, stars no one can earn."""
    policy = rules.policy
    missing = [action for action in REQUIRED_ACTIONS if action not in rules.actions]
    for action in missing:
        problems.add(path, line_of(path, "[actions"), f"missing [actions.{action}], which the bot awards",
                     f"add [actions.{action}] with points and label")
    for name, spec in rules.actions.items():
        if len(spec.label) > LABEL_LIMIT:  # the ledger's reason is the label, "：" and a typed text
            problems.add(path, line_of(path, f"[actions.{name}]"),
                         f"[actions.{name}] label is {len(spec.label)} characters", f"keep it to {LABEL_LIMIT}")
    if not 0 < policy.flag_below <= policy.yearly_line <= 12 * policy.monthly_cap:
        problems.add(path, line_of(path, "yearly_line"),
                     f"need 0 < flag_below ({policy.flag_below}) ≤ yearly_line ({policy.yearly_line}) ≤ "
                     f"12 × monthly_cap ({12 * policy.monthly_cap})", "adjust the [points] lines")
    _check_life(rules, path, problems)
    for star in rules.stars if not missing else ():  # a missing action is the one problem to fix first
        for req in star.requirements:
            reason = _unearnable(req, rules)
            if reason:
                problems.add(path, line_of(path, f'name = "{star.name}"'), f"star {star.name} cannot be earned: {reason}",
                             "lower the requirement or add the action that earns it")


def _check_life(rules: Rules, path: Path, problems: Problems) -> None:
    """The 学分卡 numbers and the deductions: counts that divide, and reasons that one `扣分` may take."""
    life = rules.life
    if life.late_per_absence < 1 or life.absences_before_notice < 0:
        problems.add(path, line_of(path, "late_per_absence"),
                     f"need late_per_absence ≥ 1 ({life.late_per_absence}) and absences_before_notice ≥ 0 "
                     f"({life.absences_before_notice})", "adjust [organisational_life]")
    if rules.max_deduction < 1:
        problems.add(path, line_of(path, "max_points"), f"max_points is {rules.max_deduction}",
                     "one deduction must be able to take at least 1 point")
    for listed in rules.deductions:
        if not 0 < listed.points <= rules.max_deduction:
            problems.add(path, line_of(path, listed.reason),
                         f"deduction `{listed.reason}` takes {listed.points} points",
                         f"give it 1 to max_points ({rules.max_deduction})")


def _unearnable(req: Requirement, rules: Rules) -> str:
    """Why a requirement can never be met in a quarter, or "" when it can."""
    if not req.at_least or req.at_least <= 0:
        return ""
    earning = {name for name, action in rules.actions.items() if action.points > 0}
    if req.metric == "points":
        most = QUARTER_MONTHS * rules.policy.monthly_cap
        return f"it needs {req.at_least:g} points but a quarter counts at most {most}" if req.at_least > most else (
            "" if earning else "no action earns points")
    feeders = FED_BY.get(req.metric)
    if feeders is None:
        return f"nothing ever increases `{req.metric}`"
    if not feeders & set(rules.actions):
        return f"`{req.metric}` needs the action {' or '.join(sorted(feeders))} in [actions]"
    return ""
