"""Signal-metric registry, filled from the `hybridbench.metrics` entry-point group."""

from hybridbench.metrics.base import Metric, MetricFailure, MetricSpec
from hybridbench.registry import Registry

METRICS: Registry[type[Metric]] = Registry(
    "metric", group="hybridbench.metrics", list_hint="hybridbench metrics"
)
register_metric = METRICS.register

# What `hybridbench run` scores unless --metrics says otherwise: cheap signal metrics and the offline speaker
# similarity (a one-time ~14 s encoder warm-up). DNSMOS (`dnsmos-ovrl`, ...) is opt-in: it scores short clips
# by repeating them to a 9 s window, several times the cost of everything else together.
DEFAULT_METRICS = ("pesq-wb", "pesq-nb", "stoi", "estoi", "si-sdr", "mel-distance", "speaker-sim-resemblyzer")

__all__ = ["DEFAULT_METRICS", "METRICS", "Metric", "MetricFailure", "MetricSpec", "register_metric"]
