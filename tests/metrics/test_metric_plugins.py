"""Metric plugins: every registered metric declares its semantics, and a metric from another distribution plugs
in through the `hybridbench.metrics` entry-point group without touching hybridbench (registry and runner)."""

from __future__ import annotations

import json
import sys
import textwrap

import numpy as np
import pytest

from hybridbench.metrics import METRICS, Metric, MetricFailure
from hybridbench.registry import Registry

PLUGIN_NAME = "throwaway-rms-ratio"


def test_every_registered_metric_declares_its_semantics():
    expected = {
        "pesq-wb", "pesq-nb", "stoi", "estoi", "si-sdr", "mel-distance", "speaker-sim-resemblyzer",
        "speaker-sim-wavlm", "dnsmos-ovrl", "dnsmos-sig", "dnsmos-bak", "dnsmos-p808", "utmos",
    }  # fmt: skip
    assert not expected & set(METRICS.broken()), METRICS.broken()
    assert expected <= set(METRICS.names())
    for name in expected:
        spec = METRICS.get(name).spec
        assert spec.name == name
        assert spec.version and spec.description and spec.sample_rate == 16000
        assert isinstance(spec.higher_is_better, bool) and isinstance(spec.needs_reference, bool)
    assert METRICS.get("mel-distance").spec.higher_is_better is False


def _write_plugin(root) -> None:
    """A minimal installed distribution: a module with a Metric subclass and a .dist-info with entry_points.txt."""
    (root / "throwaway_metric.py").write_text(
        textwrap.dedent(
            f"""
            import numpy as np
            from hybridbench.metrics import Metric, MetricFailure, MetricSpec

            class RmsRatio(Metric):
                spec = MetricSpec(
                    name="{PLUGIN_NAME}", version="0.0.1", higher_is_better=False, needs_reference=True,
                    sample_rate=16000, unit="dB", description="RMS of the decoded audio over the reference's",
                )

                def score(self, reference, degraded):
                    ref = float(np.sqrt(np.mean(np.square(reference, dtype=np.float64))))
                    if ref == 0.0:
                        raise MetricFailure("silent reference")
                    with np.errstate(divide="ignore"):
                        return 20 * np.log10(np.sqrt(np.mean(np.square(degraded, dtype=np.float64))) / ref)
            """
        )
    )
    info = root / "throwaway_metric-0.0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: throwaway_metric\nVersion: 0.0.1\n")
    (info / "entry_points.txt").write_text(
        f"[hybridbench.metrics]\n{PLUGIN_NAME} = throwaway_metric:RmsRatio\n"
    )


@pytest.fixture
def plugin_on_path(tmp_path, monkeypatch):
    _write_plugin(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    sys.modules.pop("throwaway_metric", None)


def test_metric_from_another_distribution_is_found_and_scores(plugin_on_path):
    registry: Registry[type[Metric]] = Registry(
        "metric", group="hybridbench.metrics", list_hint="hybridbench metrics"
    )
    names = registry.names()
    assert PLUGIN_NAME in names and "pesq-wb" in names  # the plugin and the built-ins, through one path
    metric = registry.get(PLUGIN_NAME)()
    x = np.sin(np.linspace(0, 200 * np.pi, 16000)).astype(np.float32)
    assert metric(x, 0.5 * x) == pytest.approx(20 * np.log10(0.5))
    with pytest.raises(MetricFailure, match="silent reference"):
        metric(np.zeros_like(x), x)
    # Metric.__call__ turns a non-finite score into a counted failure: a silent output gives log10(0).
    with pytest.raises(MetricFailure, match="non-finite"):
        metric(x, np.zeros_like(x))


def test_metric_plugin_runs_inside_the_real_runner(plugin_on_path, tmp_path):
    from hybridbench.runner import RunConfig, Runner
    from hybridbench.store import ResultStore

    METRICS.reload()  # the global registry reads entry points again, as after `pip install` of a plugin
    try:
        out = tmp_path / "run"
        config = RunConfig(
            codecs=["identity"],
            suites=["synthetic-en"],
            out=out,
            limit=1,
            metrics=[PLUGIN_NAME, "si-sdr"],
            timing_repeats=1,
        )
        summary = Runner(config).run()
        assert summary.computed == 1 and summary.failed == 0
        with ResultStore(out / "results.sqlite") as store:
            (row,) = list(store.rows())
        # Identity: 16-bit rounding only, so the RMS ratio is 0 dB and SI-SDR near 16-bit quantization's ~90 dB.
        assert row.payload["metrics"][PLUGIN_NAME] == pytest.approx(0.0, abs=1e-3)
        assert row.payload["metrics"]["si-sdr"] > 60
        provenance = json.loads((out / "provenance.json").read_text())
        assert {m["name"] for m in provenance["metrics"]} == {PLUGIN_NAME, "si-sdr"}
    finally:
        METRICS._items.pop(PLUGIN_NAME, None)  # leave the session's registry as other tests expect it
