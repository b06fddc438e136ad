"""`hybridbench compare` end to end on a run folder written through the real ResultStore, with payloads shaped
like the runner's: pairing, dropped-item counts, the verdict's direction, and user mistakes as one-line errors."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from hybridbench import comparison, stats
from hybridbench.commands import compare as compare_cmd
from hybridbench.errors import HybridbenchError
from hybridbench.metrics.signal import PesqWideband, Stoi
from hybridbench.run_plan import row_key
from hybridbench.store import ResultRow, ResultStore

SUITE = "synthetic-en"
N_ITEMS = 40
WORDS = [
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "a",
    "lazy",
    "dog",
    "while",
    "small",
    "bright",
    "birds",
    "sing",
    "above",
    "green",
    "hills",
]


def _sentence(i: int) -> str:
    rng = np.random.default_rng(i)
    return " ".join(rng.choice(WORDS, size=int(rng.integers(6, 14)))).capitalize() + "."


def _garble(text: str, n_errors: int, seed: int) -> str:
    """Replace `n_errors` words with a word no reference contains: exactly that many substitutions."""
    words = text.rstrip(".").split()
    rng = np.random.default_rng(seed)
    for j in rng.choice(len(words), size=min(n_errors, len(words)), replace=False):
        words[j] = "zebra"
    return " ".join(words) + "."


def _payload(text: str, transcript: str, metrics: dict, failures: dict | None = None) -> dict:
    # The keys the runner writes for an ok row (Runner._score).
    return {
        "text": text,
        "language": "en",
        "asr": "whisper-tiny.en",
        "transcript": transcript,
        "metrics": metrics,
        "metric_failures": failures or {},
        "audio_s": 2.0,
        "encode_s": 0.01,
        "encode_runs_s": [0.01],
        "decode_s": 0.02,
        "decode_runs_s": [0.02],
        "bitrate": 6000.0,
        "num_codes": 100,
        "speaker": "pico-en-US",
        "device": "cpu",
        "batch_size": 1,
    }


def _put(
    store: ResultStore, codec: str, item: str, depth: int, payload: dict, status: str = "ok", error=None
):
    store.put(ResultRow(row_key(codec, item, depth), codec, SUITE, item, depth, status, error, payload))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """Three codecs at depths 1 and 4 (+ identity at 1): 'good' makes fewer word errors and scores higher PESQ
    than 'bad'; 'twin' is 'good' with the same error counts on different words (a null difference)."""
    out = tmp_path_factory.mktemp("run")
    rng = np.random.default_rng(0)
    with ResultStore(out / "results.sqlite") as store:
        # An older configuration's row for one item (another key, stored first): compare must use the latest.
        stale = _sentence(39)
        store.put(
            ResultRow(
                row_key("stale", 39),
                "good",
                SUITE,
                f"{SUITE}-039",
                4,
                "ok",
                None,
                _payload(stale, "completely wrong words here", {"pesq-wb": 1.0, "stoi": 0.1}),
            )
        )
        for i in range(N_ITEMS):
            item, text = f"{SUITE}-{i:03d}", _sentence(i)
            base = {"text": text, "language": "en", "asr": "whisper-tiny.en"}
            _put(store, "identity", item, 1, _payload(text, text, {"pesq-wb": 4.64, "stoi": 1.0}))
            for depth in (1, 4):
                good_err = int(rng.integers(0, 2)) if depth == 4 else int(rng.integers(0, 3))
                bad_err = good_err + int(rng.integers(1, 4))
                pesq_good = 3.0 + 0.3 * depth / 4 + rng.normal(0, 0.2)
                _put(
                    store,
                    "good",
                    item,
                    depth,
                    _payload(text, _garble(text, good_err, i), {"pesq-wb": pesq_good, "stoi": 0.9}),
                )
                _put(
                    store,
                    "twin",
                    item,
                    depth,
                    _payload(
                        text,
                        _garble(text, good_err, i + 1000),
                        {"pesq-wb": pesq_good + rng.normal(0, 0.05), "stoi": 0.9},
                    ),
                )
                if depth == 4 and i == 3:  # a decode failure: the whole row failed
                    _put(
                        store,
                        "bad",
                        item,
                        depth,
                        base,
                        status="failed",
                        error="decode: RuntimeError: planted",
                    )
                    continue
                metrics, failures = {"pesq-wb": pesq_good - 0.5 + rng.normal(0, 0.2), "stoi": 0.8}, {}
                if depth == 4 and i == 5:  # a metric failure: the row is ok, only PESQ is missing
                    del metrics["pesq-wb"]
                    failures["pesq-wb"] = "PESQ found no utterance in the reference (silent or too short)"
                _put(store, "bad", item, depth, _payload(text, _garble(text, bad_err, i), metrics, failures))
    provenance = {"metrics": [PesqWideband.spec.to_dict(), Stoi.spec.to_dict()]}
    (out / "provenance.json").write_text(json.dumps(provenance))
    return out


def _run(argv: list[str], capsys) -> str:
    parser = argparse.ArgumentParser(prog="hybridbench")
    compare_cmd.add_parser(parser.add_subparsers())
    args = parser.parse_args(argv)
    assert args.func(args) == 0
    return capsys.readouterr().out


def _expected_wer(run_dir, codec: str, depth: int, items: set[str]) -> float:
    from hybridbench.metrics.normalize import normalizer_for
    from hybridbench.metrics.wer import corpus_rate, word_edits

    norm = normalizer_for("en")
    with ResultStore(run_dir / "results.sqlite") as store:
        latest = {
            r.item_id: r for r in store.rows() if r.codec == codec and r.depth == depth and r.item_id in items
        }
    return corpus_rate(
        [word_edits(norm(r.payload["text"]), norm(r.payload["transcript"])) for r in latest.values()]
    )


def test_wer_comparison_pairs_items_and_finds_the_planted_difference(run_dir, capsys):
    out = _run(
        ["compare", str(run_dir), "--a", "bad", "--b", "good", "--depth", "4", "--resamples", "2000"], capsys
    )
    assert "pairs: 39 items scored by both codecs; dropped 1 (A failed 1, B failed 0" in out
    paired = {f"{SUITE}-{i:03d}" for i in range(N_ITEMS)} - {f"{SUITE}-003"}
    wer_a, wer_b = _expected_wer(run_dir, "bad", 4, paired), _expected_wer(run_dir, "good", 4, paired)
    assert f"A  bad: WER {100 * wer_a:.2f} %" in out
    assert f"B  good: WER {100 * wer_b:.2f} %" in out
    assert f"A - B: {100 * (wer_a - wer_b):+.2f} points" in out
    assert "verdict: bad (A) has higher WER than good (B) at depth 4 (p=" in out
    assert "lower is better, so good is better" in out
    assert "normalizer: whisper-english (whisper-normalizer " in out


def test_json_output_matches_the_stats_function(run_dir, capsys):
    out = _run(
        [
            "compare",
            str(run_dir),
            "--a",
            "bad",
            "--b",
            "good",
            "--depth",
            "1",
            "--resamples",
            "2000",
            "--seed",
            "7",
            "--json",
        ],
        capsys,
    )
    data = json.loads(out)
    assert data["pairs"] == N_ITEMS and data["dropped"] == 0
    result = data["result"]
    assert result["seed"] == 7 and result["n_resamples"] == 2000 and result["n"] == N_ITEMS
    assert result["p_value"] < 0.01 and result["low"] > 0
    assert data["higher_is_better"] is False


def test_null_difference_is_not_significant(run_dir, capsys):
    out = _run(
        ["compare", str(run_dir), "--a", "good", "--b", "twin", "--depth", "4", "--resamples", "2000"], capsys
    )
    assert "A - B: +0.00 points" in out  # same error counts on every item
    assert "verdict: no significant difference in WER between good (A) and twin (B) at depth 4" in out


def test_signal_metric_uses_its_direction_and_counts_metric_failures(run_dir, capsys):
    out = _run(
        [
            "compare",
            str(run_dir),
            "--a",
            "bad",
            "--b",
            "good",
            "--depth",
            "4",
            "--metric",
            "pesq-wb",
            "--resamples",
            "2000",
        ],
        capsys,
    )
    # Item 3: 'bad' failed; item 5: 'bad' has no PESQ. Both dropped as A's failures.
    assert "pairs: 38 items scored by both codecs; dropped 2 (A failed 2, B failed 0" in out
    assert "higher is better" in out
    assert "verdict: bad (A) has lower pesq-wb than good (B) at depth 4" in out
    assert "so good is better" in out
    assert "P.862.2" in out  # the definition comes from the run's recorded spec


def test_comparison_against_the_floor_at_another_depth(run_dir, capsys):
    out = _run(
        [
            "compare",
            str(run_dir),
            "--a",
            "good",
            "--b",
            "identity",
            "--depth",
            "4",
            "--b-depth",
            "1",
            "--resamples",
            "2000",
        ],
        capsys,
    )
    assert "depth 4 (A), 1 (B)" in out
    assert "B  identity: WER 0.00 %" in out


def test_compare_rows_values_equal_the_stats_call(run_dir):
    with ResultStore(run_dir / "results.sqlite") as store:
        rows = list(store.rows())
    c = comparison.compare_rows(
        rows, a="bad", b="good", depth=1, metric="stoi", resamples=1000, run_dir=run_dir
    )
    direct = stats.paired_mean_difference(np.full(N_ITEMS, 0.8), np.full(N_ITEMS, 0.9), n_resamples=1000)
    assert c.result.difference == pytest.approx(direct.difference) == pytest.approx(-0.1)
    assert c.result.p_value == direct.p_value


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--a", "bad", "--b", "good", "--depth", "4"], "no run folder"),
        (["--a", "bda", "--b", "good", "--depth", "4"], "did you mean 'bad'"),
        (["--a", "bad", "--b", "good", "--depth", "3"], "has no results at depth 3"),
        (["--a", "bad", "--b", "good", "--depth", "4", "--suite", "synthetic-fr"], "suite 'synthetic-fr'"),
        (["--a", "bad", "--b", "good", "--depth", "4", "--metric", "dnsmos-ovrl"], "not stored"),
        (["--a", "bad", "--b", "bad", "--depth", "4"], "same codec at the same depth"),
    ],
)
def test_user_mistakes_are_one_line_errors(run_dir, tmp_path, argv, message):
    parser = argparse.ArgumentParser(prog="hybridbench")
    compare_cmd.add_parser(parser.add_subparsers())
    folder = tmp_path / "missing" if message == "no run folder" else run_dir
    args = parser.parse_args(["compare", str(folder), *argv])
    with pytest.raises(HybridbenchError, match=message) as err:
        args.func(args)
    assert "\n" not in str(err.value)


def test_too_few_pairs_is_refused(tmp_path):
    with ResultStore(tmp_path / "results.sqlite") as store:
        for i in range(4):
            text = _sentence(i)
            for codec in ("x", "y"):
                store.put(
                    ResultRow(
                        row_key(codec, i), codec, SUITE, str(i), 1, "ok", None, _payload(text, text, {})
                    )
                )
    parser = argparse.ArgumentParser(prog="hybridbench")
    compare_cmd.add_parser(parser.add_subparsers())
    args = parser.parse_args(["compare", str(tmp_path), "--a", "x", "--b", "y", "--depth", "1"])
    with pytest.raises(HybridbenchError, match="only 4 item"):
        args.func(args)


def test_a_folder_without_results_is_refused_and_left_untouched(tmp_path):
    parser = argparse.ArgumentParser(prog="hybridbench")
    compare_cmd.add_parser(parser.add_subparsers())
    args = parser.parse_args(["compare", str(tmp_path), "--a", "x", "--b", "y", "--depth", "1"])
    with pytest.raises(HybridbenchError, match="no results.sqlite"):
        args.func(args)
    assert not (tmp_path / "results.sqlite").exists()


def test_the_installed_cli_prints_the_comparison_and_one_line_errors(run_dir, capsys):
    from hybridbench.cli import main

    rc = main(["compare", str(run_dir), "--a", "bad", "--b", "good", "--depth", "1", "--resamples", "1000"])
    out, _ = capsys.readouterr()
    assert rc == 0 and "verdict: bad (A) has higher WER than good (B) at depth 1" in out
    rc = main(["compare", str(run_dir), "--a", "bad", "--b", "nope", "--depth", "1"])
    _, err = capsys.readouterr()
    assert rc == 2
    assert err.strip().splitlines() == [
        f"hybridbench: error: codec 'nope' (--b) is not in the run at {run_dir} "
        "(the run holds: bad, good, identity, twin)"
    ]


@pytest.mark.slow
def test_compare_on_a_real_run(tmp_path, capsys):
    """The real Runner (Pico speech, Whisper tiny.en, PESQ) with the identity codec and a codec adding noise."""
    import torch

    from hybridbench.codecs import CODECS
    from hybridbench.codecs.identity import IdentityCodec
    from hybridbench.runner import RunConfig, Runner

    @CODECS.register("stats-test-noisy")
    class NoisyIdentity(IdentityCodec):
        name = "stats-test-noisy"

        def _decode(self, codes):
            clean = super()._decode(codes)
            noise = torch.randn(clean.shape, generator=torch.Generator().manual_seed(0))
            return clean + noise * clean.pow(2).mean().sqrt() / noise.pow(2).mean().sqrt()  # 0 dB SNR

    try:
        config = RunConfig(
            codecs=["stats-test-noisy"],
            suites=["synthetic-en"],
            out=tmp_path,
            limit=10,
            metrics=["pesq-wb"],
            timing_repeats=1,
        )
        Runner(config).run()
    finally:
        CODECS._items.pop("stats-test-noisy", None)
    out = _run(
        [
            "compare",
            str(tmp_path),
            "--a",
            "stats-test-noisy",
            "--b",
            "identity",
            "--depth",
            "1",
            "--metric",
            "pesq-wb",
            "--resamples",
            "2000",
        ],
        capsys,
    )
    assert "pairs: 10 items scored by both codecs; dropped 0" in out
    # Ten pairs all in one direction: the smallest two-sided sign-flip p-value, 2 / 2**10, within resampling.
    assert "verdict: stats-test-noisy (A) has lower pesq-wb than identity (B) at depth 1" in out
    wer = _run(
        ["compare", str(tmp_path), "--a", "stats-test-noisy", "--b", "identity", "--depth", "1"], capsys
    )
    assert "pairs: 10 items" in wer and "A - B: +" in wer  # noise at 0 dB cannot lower Whisper's WER
