"""Training logs across versions: a log with fewer columns is brought under today's header on resume."""

from __future__ import annotations

import csv
from pathlib import Path

from hybridcodec.logs import VALID_COLUMNS, RunLogger


def test_an_older_valid_log_gets_the_new_columns_and_keeps_its_values(tmp_path: Path):
    path = tmp_path / "valid.csv"
    path.write_text(
        "step,valid/mel,valid/mel_depth1,valid/distillation\n"
        "250,1.5,1.8,\n"  # written by the older version
        "500,1.4,1.7,0.9,0.2\n"  # appended by the current one under the old header
        "750,1.3,1.6,0.8,0.3\n"  # past the checkpoint resumed from: dropped
    )
    RunLogger(run=tmp_path, start_step=500).close()
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == list(VALID_COLUMNS)
    assert [r["step"] for r in rows] == ["250", "500"]
    assert rows[0]["valid/mel_depth1"] == "1.8" and rows[0]["valid/distillation_r2"] == ""
    assert rows[1]["valid/distillation"] == "0.9" and rows[1]["valid/distillation_r2"] == "0.2"
