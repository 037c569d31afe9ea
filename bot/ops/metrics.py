"""What `/metrics` tells Prometheus, in a registry of the app's own (never the library's global one, so tests
and several apps in one process do not clash).

Counted by this process since it started (sum them over replicas):
- `palmbot_messages_total{command, outcome}`: messages handled (`bot.conversation.dispatch.Dispatched` names
  both);
- `palmbot_reply_seconds`: a histogram of the seconds from a message's arrival to its reply being ready;
- `palmbot_token_refreshes_total{reason}`: access tokens fetched from WeChat, `due` or `rejected`;
- `palmbot_job_runs_total{job, outcome}`: calendar job runs, `run`, `missed` or `failed`.

Read from the database at each scrape, so every replica reports the same shared truth (take the max):
- `palmbot_deliveries{status}`: rows of the delivery ledger by status;
- `palmbot_delivery_lag_seconds`: how long the oldest due delivery has waited (0 when none waits);
- `palmbot_database_up`: 1 when the database answered the scrape; without it the two above are left out.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.storage.models import DeliveryStatus

REPLY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)  # seconds; 4 s is WeChat's patience
GROUP_BUCKETS = (1, 2, 4, 8, 16, 32, 64)  # messages; 64 is the most one group holds (sqlite_inline.GROUP_LIMIT)


@dataclass(frozen=True, slots=True)
class Ledger:
    """The delivery ledger as one scrape read it: rows by status, and the oldest due row's wait in seconds."""

    statuses: Mapping[str, int]
    lag: float


class Metrics:
    """One app's instruments; `exposition` renders them with the ledger read for this scrape."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._messages = Counter("palmbot_messages", "Messages handled, by command and outcome",
                                 ("command", "outcome"), registry=self.registry)
        self._reply = Histogram("palmbot_reply_seconds", "Seconds from a message's arrival to its reply being ready",
                                buckets=REPLY_BUCKETS, registry=self.registry)
        self._tokens = Counter("palmbot_token_refreshes", "Access tokens fetched from WeChat, by reason "
                               "(due: none or about to expire; rejected: WeChat refused the last one)",
                               ("reason",), registry=self.registry)
        self._jobs = Counter("palmbot_job_runs", "Calendar job runs, by job and outcome (run, missed, failed)",
                             ("job", "outcome"), registry=self.registry)
        self._groups = Histogram("palmbot_group_commit_messages", "Messages made durable by one COMMIT (SQLite "
                                 "group commit, bot.storage.sqlite_inline)", buckets=GROUP_BUCKETS,
                                 registry=self.registry)
        self._ledger = _LedgerCollector()
        self.registry.register(self._ledger)

    def handled(self, command: str, outcome: str, seconds: float) -> None:
        """A message handled by `command` with `outcome`, its reply ready after `seconds`."""
        self._messages.labels(command, outcome).inc()
        self._reply.observe(seconds)

    def group_committed(self, messages: int) -> None:
        """One SQLite group commit made `messages` members' messages durable."""
        self._groups.observe(messages)

    def token_refreshed(self, reason: str) -> None:
        self._tokens.labels(reason).inc()

    def job_ran(self, job: str, outcome: str) -> None:
        self._jobs.labels(job, outcome).inc()

    def exposition(self, ledger: Ledger | None) -> bytes:
        """Prometheus's text format; `ledger` is None when the database did not answer this scrape."""
        self._ledger.current = ledger  # read by the collector within this call: no other scrape interleaves
        return generate_latest(self.registry)


class _LedgerCollector(Collector):
    """The gauges read from the database, from the `Ledger` of the scrape being rendered."""

    def __init__(self) -> None:
        self.current: Ledger | None = None

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        ledger = self.current
        yield GaugeMetricFamily("palmbot_database_up", "1 when the database answered this scrape, else 0",
                                value=0 if ledger is None else 1)
        if ledger is None:
            return
        statuses = GaugeMetricFamily("palmbot_deliveries", "Deliveries in the shared ledger, by status",
                                     labels=("status",))
        for status in DeliveryStatus:
            statuses.add_metric((status.value,), ledger.statuses.get(status, 0))
        yield statuses
        yield GaugeMetricFamily("palmbot_delivery_lag_seconds", "Seconds the oldest due delivery has waited",
                                value=ledger.lag)
