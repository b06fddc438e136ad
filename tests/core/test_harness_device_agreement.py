"""benchmarks/harness_stages.py's device comparison: two runs of one configuration matched row by row."""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest

from hybridbench.store import ResultStore


@pytest.fixture(scope="module")
def stages(benchmark_script):
    return benchmark_script("harness_stages")


def test_a_run_agrees_with_itself(stages, small_run):
    table = stages.device_agreement(small_run, small_run).set_index("codec")
    assert table.loc["dac-mini", "codes equal"] == 1.0  # a token codec: its codes are stored
    assert np.isnan(table.loc["g722", "codes equal"])  # a classic codec stores none
    assert (table["transcripts equal"] == 1.0).all()
    assert (table[[c for c in table.columns if c.startswith("max |Δ")]] == 0).all().all()


def test_differences_are_counted(stages, small_run, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(small_run, other)
    with ResultStore(other / "results.sqlite") as store:
        rows = [r for r in store.rows() if r.codec == "dac-mini" and r.status == "ok"]
        changed = next(r for r in rows if "stoi" in r.payload["metrics"])
        payload = changed.payload | {"transcript": changed.payload["transcript"] + " extra"}
        payload["metrics"] = payload["metrics"] | {"stoi": payload["metrics"]["stoi"] - 0.25}
        store.put(dataclasses.replace(changed, payload=payload))
        item_id, codes = next(iter(store.codes("dac-mini", changed.suite).items()))
        flipped = codes.copy()
        flipped[0, 0] += 1
        store.put_codes("dac-mini", changed.suite, item_id, "w", flipped)
    table = stages.device_agreement(small_run, other).set_index("codec")
    dac = table.loc["dac-mini"]
    assert dac["transcripts equal"] == pytest.approx(1 - 1 / dac["rows"])
    assert dac["max |Δ stoi|"] == pytest.approx(0.25)
    with ResultStore(small_run / "results.sqlite") as store:
        items = len(store.codes("dac-mini", changed.suite))
    assert dac["codes equal"] == pytest.approx(1 - 1 / codes.size / items)
    assert table.loc["g722", "transcripts equal"] == 1.0
