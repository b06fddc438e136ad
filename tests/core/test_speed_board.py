"""benchmarks/speed_board.py renders leaderboards/speed.md from its measurement record alone, and its streaming
verdict follows from the rows."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


@pytest.fixture(scope="module")
def board(benchmark_script):
    return benchmark_script("speed_board")


def stream_row(frames: int, share: float) -> dict:
    chunk_ms = 40.0 * frames
    return {
        "chunk_frames": frames, "chunk_ms": chunk_ms, "algorithmic_latency_ms": chunk_ms,
        "encode_median_ms": 1.0, "encode_p90_ms": 1.0, "decode_median_ms": 1.0, "decode_p90_ms": 1.0,
        "both_p90_share_of_chunk": share, "meets_target": share < 0.5,
    }  # fmt: skip


def record(board, shares: dict[int, float], hybrid_rtf: float = 0.9) -> dict:
    def rtf(enc, dec):
        return {"encode": enc, "decode": dec, "encode+decode": enc + dec}

    rtfs = {board.HYBRID: rtf(0.3, hybrid_rtf - 0.3), board.DUAL: rtf(0.8, 0.6), board.DAC16: rtf(0.3, 0.6)}
    return {
        "batch1": {"rtf": rtfs, "ratio_rounds": [1.4, 1.6, 1.9]},
        "batched": {"batch": 4, "repeats": 3, "rtf": rtfs},
        "params": {name: {"codec": 1e8} for name in rtfs},
        "memory_mib": {name: {"encode": 100.0, "decode": 50.0} for name in rtfs},
        "streaming": {
            "seconds": 10.0,
            "depth": 12,
            "frame_ms": 40.0,
            "lookahead_ms": 0.0,
            "target": "both p90 < 0.5 x chunk duration",
            "target_share": 0.5,
            "rows": [stream_row(f, s) for f, s in shares.items()],
        },
        "optimisations": [],
        "device": "a CPU",
        "threads": 2,
        "torch": "2.11.0",
        "git": "abc",
        "date": "2026-12-03",
        "settings": {
            "device": "cpu",
            "threads": 2,
            "seconds": 4.0,
            "repeats": 5,
            "batch": 4,
            "batch_seconds": 2.0,
            "stream_seconds": 10.0,
            "optimisations": "fold-weight-norm",
            "opt_batches": "1",
            "opt_seconds": 2.0,
            "opt_repeats": 3,
        },
    }


def test_no_chunk_meets_the_target_below_the_offline_floor(board):
    text = board.page(record(board, {1: 2.65, 4: 1.42, 16: 0.95}, hybrid_rtf=0.9))
    assert "No chunk size meets the target on this machine" in text
    assert "RTF 0.90 here" in text and "about 1.8x faster" in text  # 0.9 / 0.5
    assert "keeps up with real time (p90 under the chunk) is 16 frame(s), 640 ms" in text
    # The headline ratio is computed from the stored RTFs: DualCodec 1.4 / HybridCodec 0.9.
    assert "HybridCodec 1.56x faster" in text and "per round 1.40x to 1.90x" in text


def test_no_chunk_meets_the_target_though_the_offline_pass_is_under_it(board):
    text = board.page(record(board, {1: 2.1, 8: 0.7, 16: 0.58}, hybrid_rtf=0.42))
    assert "No chunk size measured meets the target on this machine, up to 16 frame(s) (640 ms, 0.58" in text
    assert "the offline pass (RTF 0.42 here) is under it" in text and "none can" not in text
    assert "keeps up with real time (p90 under the chunk) is 8 frame(s), 320 ms" in text


def test_the_verdict_names_the_first_chunk_meeting_the_target(board):
    text = board.page(record(board, {1: 0.8, 2: 0.45, 4: 0.3}, hybrid_rtf=0.2))
    assert "The target is met from 2 frame(s) (80 ms of algorithmic latency) up" in text
    assert "is 1 frame(s), 40 ms" in text


def test_nothing_keeps_up(board):
    text = board.page(record(board, {1: 3.0, 2: 1.5}))
    assert "no chunk size keeps up with real time here" in text


def test_a_noisy_run_is_flagged_on_the_page(board):
    quiet = record(board, {1: 2.0, 16: 0.9})
    assert board.timing_noise(quiet) is None
    assert "Timing noise" not in board.page(quiet)
    noisy = record(board, {1: 2.0, 16: 0.9})
    noisy["streaming"]["rows"][1]["decode_p90_ms"] = 3.0  # median 1.0
    assert "3.0x its median (decode of 16-frame chunks" in board.timing_noise(noisy)
    assert board.page(noisy).splitlines()[2].startswith("**Timing noise: streaming p90 reached 3.0x")


def test_render_writes_the_page_from_a_record_and_refuses_an_old_one(board, tmp_path):
    rec = record(board, {1: 2.0, 16: 0.9})
    saved = tmp_path / "speed.json"
    saved.write_text(json.dumps(rec))
    out = tmp_path / "speed.md"
    cmd = [sys.executable, board.__file__, "--render", str(saved), "--out", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert out.read_text() == board.page(rec)
    rec["streaming"]["rows"][0]["encode_p90_ms"] = 9.0  # a noisy run: the page is written, the command fails
    saved.write_text(json.dumps(rec))
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode != 0 and "timing noise" in done.stderr
    assert out.read_text() == board.page(rec)
    del rec["settings"]
    saved.write_text(json.dumps(rec))
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode != 0 and "predates --render" in done.stderr
    assert "Traceback" not in done.stderr
