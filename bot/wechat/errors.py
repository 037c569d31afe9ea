"""The error taxonomy: every way a WeChat call can fail, and what the client and the delivery ledger do about it.

One table, `RULES`, read by the client (retry in the call or not, refetch the token) and by the delivery
worker (retry the row later, fall back to a template, keep it readable with `通知`, pause the campaign).
README's table is this one. Sources: WeChat's global return codes
(https://developers.weixin.qq.com/doc/offiaccount/Getting_Started/Global_Return_Code.html) and the
customer-service and template message docs, summarised in ../shared/research/wechat-anchors.md §1.4–1.5.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Action(StrEnum):
    """What the ledger does with a row whose send failed this way."""

    RETRY = "retry"  # transient: the client backs off and tries again; then the row is retried later
    NEW_TOKEN = "new_token"  # the access token was refused: fetch a new one once and retry once
    WINDOW = "window"  # outside the 48-hour window or its message count: a template if configured, else waiting
    REFUSED = "refused"  # refused for this member for good: no retry, readable with `通知`, the reason kept
    QUOTA = "quota"  # today's API quota is used up: the campaign pauses until midnight


class Failure(StrEnum):
    """Failures that carry no WeChat error code."""

    NETWORK = "network"  # connection refused or reset
    TIMEOUT = "timeout"  # no answer within the client's timeout
    HTTP_5XX = "http_5xx"  # a proxy's or WeChat's 502/503 page
    NOT_JSON = "not_json"  # an answer that is not JSON (an HTML error page with status 200)


@dataclass(frozen=True, slots=True)
class Rule:
    """One row of the taxonomy.

    `in_call` is how many times one client call tries (1: no retry in the call); `per_row` how many
    attempts the ledger gives a row failing this way before it stops (then it is readable with `通知`).
    """

    action: Action
    meaning: str
    in_call: int = 1
    per_row: int = 1


UNKNOWN = Rule(Action.RETRY, "unknown code: transient, with a small bound", in_call=1, per_row=2)
_TOKEN = Rule(Action.NEW_TOKEN, "access token refused: refetch once, retry once", in_call=2, per_row=3)
_WINDOW = Rule(Action.WINDOW, "outside the member's 48-hour window or its five messages")


def _refused(meaning: str) -> Rule:
    return Rule(Action.REFUSED, meaning)


RULES: dict[int | Failure, Rule] = {
    -1: Rule(Action.RETRY, "system busy", in_call=4, per_row=3),
    45011: Rule(Action.RETRY, "per-minute API limit", in_call=4, per_row=3),
    Failure.NETWORK: Rule(Action.RETRY, "network error", in_call=4, per_row=3),
    Failure.TIMEOUT: Rule(Action.RETRY, "timeout (any endpoint, the token's too)", in_call=4, per_row=3),
    Failure.HTTP_5XX: Rule(Action.RETRY, "HTTP 5xx", in_call=4, per_row=3),
    Failure.NOT_JSON: Rule(Action.RETRY, "answer is not JSON", in_call=4, per_row=3),
    40001: _TOKEN,
    40014: _TOKEN,
    42001: _TOKEN,
    45015: _WINDOW,
    45047: _WINDOW,
    48001: _refused("api unauthorized for this account"),
    43004: _refused("member does not follow the account"),
    40003: _refused("invalid openid"),
    43101: _refused("member refuses this template's messages"),
    40037: _refused("invalid template_id"),
    47003: _refused("template data invalid (a field over its limit)"),
    45009: Rule(Action.QUOTA, "daily API quota reached (reach max api daily quota limit)"),
}


def rule_for(failure: int | Failure | None) -> Rule:
    """The row of the table for a WeChat error code or a code-less failure; unknown codes are transient."""
    if failure is None:
        return UNKNOWN
    return RULES.get(failure, UNKNOWN)


class WeChatError(Exception):
    """A call failed: WeChat's error code (or a code-less `Failure`) and the table's rule for it."""

    def __init__(self, failure: int | Failure | None, message: str) -> None:
        super().__init__(f"{failure}: {message}" if failure is not None else message)
        self.message = message  # WeChat's errmsg (or ours), without the code
        self.failure = failure
        self.code = failure if isinstance(failure, int) else None
        self.rule = rule_for(failure)


class QuotaExceeded(WeChatError):
    """45009: today's quota for this API is used up."""
