"""Signal-metric registry, filled from the `hybridbench.metrics` entry-point group."""

from hybridbench.metrics.base import Metric, MetricFailure, MetricSpec
from hybridbench.registry import Registry

METRICS: Registry[type[Metric]] = Registry("metric", group="hybridbench.metrics", list_hint="hybridbench metrics")
register_metric = METRICS.register

DEFAULT_METRICS = ("pesq-wb", "stoi")

__all__ = ["DEFAULT_METRICS", "METRICS", "Metric", "MetricFailure", "MetricSpec", "register_metric"]
