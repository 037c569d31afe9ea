"""Star criteria: which of the five stars a member's quarter earns, and what is still missing."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Requirement:
    """One condition of a star: a metric at least (or at most) a bound over the quarter."""

    metric: str
    at_least: float | None = None
    at_most: float | None = None


@dataclass(frozen=True, slots=True)
class Star:
    name: str
    requirements: tuple[Requirement, ...]


@dataclass(frozen=True, slots=True)
class Shortfall:
    """A requirement not yet met: how much more of the metric is needed (0 when it is over a limit)."""

    metric: str
    need: float
    over_limit: bool


@dataclass(frozen=True, slots=True)
class StarStatus:
    name: str
    held: bool
    shortfalls: tuple[Shortfall, ...]


def shortfall(req: Requirement, metrics: Mapping[str, float]) -> Shortfall | None:
    """What `req` still needs given the quarter's metrics, or None when it is met."""
    value = metrics.get(req.metric, 0)
    if req.at_least is not None and value < req.at_least:
        return Shortfall(req.metric, req.at_least - value, over_limit=False)
    if req.at_most is not None and value > req.at_most:
        return Shortfall(req.metric, 0, over_limit=True)
    return None


def evaluate(stars: Sequence[Star], metrics: Mapping[str, float]) -> list[StarStatus]:
    """Each star in order: held when every requirement is met, with the shortfalls otherwise."""
    result = []
    for star in stars:
        missing = tuple(s for req in star.requirements if (s := shortfall(req, metrics)) is not None)
        result.append(StarStatus(star.name, held=not missing, shortfalls=missing))
    return result


@dataclass(frozen=True, slots=True)
class Change:
    """A proposed grant (held False → True) or removal (True → False) of one star."""

    star: str
    grant: bool


def excused(status: StarStatus) -> bool:
    """Whether an exemption excuses a star's shortfalls: every one is something left undone (`at_least`), none a
    limit crossed (`at_most`, such as a conduct deduction), which an exemption never excuses."""
    return bool(status.shortfalls) and not any(s.over_limit for s in status.shortfalls)


def changes(held_before: Collection[str], statuses: Sequence[StarStatus], *, exempt: bool = False) -> list[Change]:
    """What a quarter's statuses change against the stars held before: grants and removals, in star order.

    For a member `exempt` during the quarter, a star held is kept when only excused shortfalls stand against it
    (a star earned anyway is still granted)."""
    return [Change(s.name, s.held) for s in statuses
            if s.held != (s.name in held_before) and not (exempt and excused(s))]


def low_star(held: int, at_most: int) -> bool:
    """Whether a member's star count puts them on the secretary's low-star list."""
    return held <= at_most
