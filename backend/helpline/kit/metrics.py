"""Process-local metrics rendered in the Prometheus text exposition format (version 0.0.4).

A handful of counters and gauges do not justify a dependency: `prometheus-client` would add a
global registry and a multiprocess mode that needs a shared directory. Values are per process;
with several workers each scrape reads one worker (label the target by instance, or scrape
workers separately) — the same limitation prometheus-client has without its multiprocess mode.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Labels = tuple[tuple[str, str], ...]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: Labels) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels) + "}"


@dataclass
class Metric:
    name: str
    help: str
    kind: str  # counter | gauge
    values: dict[Labels, float] = field(default_factory=dict)
    callback: Callable[[], dict[Labels, float]] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            self.values[key] = self.values.get(key, 0.0) + amount

    def set(self, value: float, **labels: str) -> None:
        with self._lock:
            self.values[tuple(sorted(labels.items()))] = value

    def get(self, **labels: str) -> float:
        return self.values.get(tuple(sorted(labels.items())), 0.0)

    def render(self) -> str:
        values = dict(self.values)
        if self.callback is not None:
            values.update(self.callback())
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]
        for labels, value in sorted(values.items()):
            number = repr(float(value)) if value != int(value) else str(int(value))
            lines.append(f"{self.name}{_labels(labels)} {number}")
        return "\n".join(lines)


class Registry:
    """Named metrics of this process, in registration order."""

    def __init__(self) -> None:
        self._metrics: dict[str, Metric] = {}

    def counter(self, name: str, help: str) -> Metric:
        return self._metric(name, help, "counter")

    def gauge(
        self, name: str, help: str, callback: Callable[[], dict[Labels, float]] | None = None
    ) -> Metric:
        metric = self._metric(name, help, "gauge")
        if callback is not None:
            metric.callback = callback
        return metric

    def _metric(self, name: str, help: str, kind: str) -> Metric:
        metric = self._metrics.get(name)
        if metric is None:
            metric = self._metrics[name] = Metric(name, help, kind)
        return metric

    def render(self) -> str:
        return "\n".join(m.render() for m in self._metrics.values()) + "\n"


REGISTRY = Registry()
