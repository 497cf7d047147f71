"""Prometheus metrics in the text exposition format, without a client library.

Small on purpose: counters and gauges with labels, and histograms with fixed buckets; a
registry renders them all for ``GET /metrics``. Every series is exported from the start, at 0:
an unlabelled one at once, a labelled one for each combination of the label values it is
declared with, so ``rate()`` and alerts see a series before its first increment.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import TypeVar

Labels = tuple[tuple[str, str], ...]
# Label names and the values each may take, e.g. {"kind": ["http", "tcp"], "status": [...]}.
LabelValues = Mapping[str, Iterable[str]]


def _labels(labels: Labels, extra: tuple[tuple[str, str], ...] = ()) -> str:
    pairs = (*labels, *extra)
    if not pairs:
        return ""
    inner = ",".join(
        f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
        for k, v in pairs
    )
    return "{" + inner + "}"


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


class Metric:
    kind = "untyped"

    def __init__(self, name: str, help_text: str) -> None:
        self.name = name
        self.help_text = help_text

    def samples(self) -> list[str]:
        raise NotImplementedError

    def render(self) -> str:
        head = f"# HELP {self.name} {self.help_text}\n# TYPE {self.name} {self.kind}\n"
        return head + "".join(line + "\n" for line in self.samples())


class Counter(Metric):
    """A value that only goes up, per label set."""

    kind = "counter"

    def __init__(self, name: str, help_text: str, labels: LabelValues | None = None) -> None:
        super().__init__(name, help_text)
        self.values: defaultdict[Labels, float] = defaultdict(float)
        names = sorted(labels or {})
        choices = [list((labels or {})[label]) for label in names]
        for combination in itertools.product(*choices):
            self.values[tuple(zip(names, combination, strict=True))] = 0.0

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        self.values[tuple(sorted(labels.items()))] += amount

    def value(self, **labels: str) -> float:
        return self.values.get(tuple(sorted(labels.items())), 0.0)

    def samples(self) -> list[str]:
        return [f"{self.name}{_labels(k)} {_number(v)}" for k, v in sorted(self.values.items())]


class Gauge(Counter):
    """A value that goes up and down."""

    kind = "gauge"

    def set(self, value: float, **labels: str) -> None:
        self.values[tuple(sorted(labels.items()))] = value


class Histogram(Metric):
    """Observations counted into fixed buckets, with their sum and count."""

    kind = "histogram"

    def __init__(self, name: str, help_text: str, buckets: list[float]) -> None:
        super().__init__(name, help_text)
        self.bounds = sorted(buckets)
        self.counts = [0] * (len(self.bounds) + 1)
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.sum += value
        self.count += 1

    def samples(self) -> list[str]:
        lines = []
        cumulative = 0
        for bound, count in zip([*self.bounds, math.inf], self.counts, strict=True):
            cumulative += count
            lines.append(f"{self.name}_bucket{_labels((), (('le', _number(bound)),))} {cumulative}")
        lines.append(f"{self.name}_sum {_number(self.sum)}")
        lines.append(f"{self.name}_count {self.count}")
        return lines


M = TypeVar("M", bound=Metric)


class Registry:
    """The metrics of one process."""

    def __init__(self) -> None:
        self.metrics: list[Metric] = []

    def counter(self, name: str, help_text: str, labels: LabelValues | None = None) -> Counter:
        return self._add(Counter(name, help_text, labels))

    def gauge(self, name: str, help_text: str, labels: LabelValues | None = None) -> Gauge:
        return self._add(Gauge(name, help_text, labels))

    def histogram(self, name: str, help_text: str, buckets: list[float]) -> Histogram:
        return self._add(Histogram(name, help_text, buckets))

    def _add(self, metric: M) -> M:
        self.metrics.append(metric)
        return metric

    def render(self) -> str:
        return "".join(metric.render() for metric in self.metrics)
