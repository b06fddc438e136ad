from __future__ import annotations

import pytest

from hybridbench.codecs import CODECS
from hybridbench.speed import measure


def test_speed_reports_rtf_and_throughput_consistently():
    codec = CODECS.get("identity").load()
    results = measure(codec, batch_size=3, seconds=1.5, repeats=2, warmup=1)
    assert [r.stage for r in results] == ["encode", "decode@1", "encode+decode@1"]
    for r in results:
        assert r.batch_size == 3 and r.seconds_per_item == 1.5 and not r.includes_ssl
        assert r.min_s <= r.median_s <= r.max_s
        assert r.rtf == pytest.approx(r.median_s / 4.5)
        assert r.rtf * r.throughput == pytest.approx(1.0)
