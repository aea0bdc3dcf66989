"""The interaction queue's gauges, read from the database at scrape time (every process sees the same queue)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)
QueueDepth = Callable[[], tuple[int, float]]  # rows waiting or running, the oldest one's age in seconds


class QueueCollector(Collector):
    """`pam_queue_depth` and `pam_queue_oldest_age_seconds` from one query; `pam_queue_database_up` says whether
    that query answered. A database that is down leaves the two gauges out rather than failing the scrape."""

    def __init__(self, depth: QueueDepth) -> None:
        self.depth = depth

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield from _families()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth, oldest, up = _families()
        try:
            count, age = self.depth()
        except SQLAlchemyError as error:
            log.warning("metrics: the queue could not be read (%s)", type(error).__name__)
            up.add_metric([], 0)
            yield up
            return
        depth.add_metric([], count)
        oldest.add_metric([], age)
        up.add_metric([], 1)
        yield from (depth, oldest, up)


def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily]:
    return (GaugeMetricFamily("pam_queue_depth", "Acknowledged interactions waiting for a worker or being handled."),
            GaugeMetricFamily("pam_queue_oldest_age_seconds",
                              "Age of the oldest acknowledged interaction still waiting or running (0 when none)."),
            GaugeMetricFamily("pam_queue_database_up", "1 when the queue's query answered at this scrape, else 0."))
