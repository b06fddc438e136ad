"""From stored rows to numbers: per-item scores and per (suite, codec, depth) aggregates.

Transcripts are stored raw; normalization and edit counting happen here, at scoring time, so a new
normalizer rescores a run with no ASR. Aggregation rules, stated once:
- WER/CER: corpus rates, summed edits over summed reference words/characters of the items that succeeded
  (the mean of per-utterance WERs is given beside it as `wer_utterance_mean`). `summarize(...,
  wer_average="utterance")` makes that mean the headline `wer` (with its own interval) for comparison with
  papers that average per utterance; the corpus rate then moves to `wer_corpus`.
- Normalization: each row's ASR profile names its normalizer (default: Whisper's English one for English, the
  basic one otherwise); `item_frame(rows, normalizer=NAME)` scores every row under one named normalizer instead.
- Signal metrics: arithmetic mean over the items the metric could score; items it could not score are
  counted in `<metric> failed`, never averaged in.
- Every WER/CER and mean comes with a 95 % BCa bootstrap interval over items (hybridbench.stats; seed 0,
  10,000 resamples), absent where fewer than two items were scored.
- RTF: summed median processing seconds over summed audio seconds (encode and decode separately), with the
  10th/90th percentiles of the per-item RTFs as the spread.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from hybridbench.errors import HybridbenchError
from hybridbench.metrics.asr import ASR_PROFILES
from hybridbench.metrics.normalize import Normalizer, normalizer_for, normalizer_named
from hybridbench.metrics.wer import EditCounts, char_edits, corpus_rate, word_edits
from hybridbench.stats import Interval, corpus_rate_interval, mean_interval
from hybridbench.store import ResultRow

WER_AVERAGES = ("corpus", "utterance")


def item_frame(rows: list[ResultRow], normalizer: str | None = None) -> pd.DataFrame:
    """One line per stored row, with normalized texts and edit counts; the raw material of every table.

    `normalizer`: a name from `metrics.normalize.NAMED` to score every row with (None: each row's profile's own).
    """
    override: Normalizer | None = normalizer_named(normalizer) if normalizer is not None else None
    records = []
    for r in rows:
        p = r.payload
        rec: dict[str, Any] = {
            "suite": r.suite,
            "codec": r.codec,
            "depth": r.depth,
            "item_id": r.item_id,
            "status": r.status,
            "error": r.error,
            "language": p.get("language"),
            "text": p.get("text"),
            "transcript": p.get("transcript"),
        }
        if r.status == "ok":
            norm = override or normalizer_for(p["language"], _profile_normalizer(p.get("asr")))
            ref, hyp = norm(p["text"]), norm(p["transcript"])
            w, c = word_edits(ref, hyp), char_edits(ref, hyp)
            rec.update(
                normalizer=f"{norm.name} ({norm.version})",
                ref_norm=ref,
                hyp_norm=hyp,
                word_sub=w.substitutions,
                word_del=w.deletions,
                word_ins=w.insertions,
                ref_words=w.reference_length,
                char_sub=c.substitutions,
                char_del=c.deletions,
                char_ins=c.insertions,
                ref_chars=c.reference_length,
                audio_s=p["audio_s"],
                encode_s=p["encode_s"],
                decode_s=p["decode_s"],
                bitrate=p["bitrate"],
            )
            if "ssl_s" in p:
                rec["ssl_s"] = p["ssl_s"]
            # Which signal metrics were run on this row (absent in rows stored before the runner recorded it:
            # those ran every metric); a metric that was not run is neither a score nor a failure.
            rec["signal_metrics"] = p.get("signal_metrics")
            for name, value in p.get("metrics", {}).items():
                rec[name] = value
            for name, reason in p.get("metric_failures", {}).items():
                rec[f"{name}_failure"] = reason
        records.append(rec)
    return pd.DataFrame.from_records(records)


def _interval(fn: Callable[..., Interval], values: Any) -> tuple[float | None, float | None]:
    """95 % bootstrap interval over items (seed 0, 10,000 resamples); None where it is undefined (n < 2)."""
    if len(values) < 2:
        return None, None
    try:
        ci = fn(values, seed=0)
    except ValueError:  # e.g. no reference word in any item
        return None, None
    return ci.low, ci.high


def _profile_normalizer(asr_name: str | None) -> str | None:
    """The normalizer an ASR profile prescribes (None: the language default)."""
    if asr_name is None or asr_name not in ASR_PROFILES:
        return None
    return ASR_PROFILES.get(asr_name).normalizer


def _edits(group: pd.DataFrame, kind: str) -> list[EditCounts]:
    unit = "words" if kind == "word" else "chars"
    return [
        EditCounts(int(s), int(d), int(i), int(n))
        for s, d, i, n in zip(
            group[f"{kind}_sub"],
            group[f"{kind}_del"],
            group[f"{kind}_ins"],
            group[f"ref_{unit}"],
            strict=True,
        )
    ]


def summarize(items: pd.DataFrame, metric_names: list[str], wer_average: str = "corpus") -> pd.DataFrame:
    """One line per (suite, codec, depth).

    `wer_average`: "corpus" (the default: `wer` is the corpus rate) or "utterance" (`wer` is the mean of
    per-utterance WERs with its interval, the corpus rate is kept as `wer_corpus`, and `wer_average` says so).
    """
    if wer_average not in WER_AVERAGES:
        raise HybridbenchError(
            f"unknown WER averaging {wer_average!r}", f"use one of: {', '.join(WER_AVERAGES)}"
        )
    out = []
    for (suite, codec, depth), group in items.groupby(["suite", "codec", "depth"], sort=False):
        ok = group[group["status"] == "ok"]
        rec: dict[str, Any] = {
            "suite": suite,
            "codec": codec,
            "depth": int(depth),
            "items": len(group),
            "failed": int((group["status"] == "failed").sum()),
        }
        if len(ok):
            words, chars = _edits(ok, "word"), _edits(ok, "char")
            rec["wer"] = corpus_rate(words)
            rec["cer"] = corpus_rate(chars)
            rec["wer_low"], rec["wer_high"] = _interval(corpus_rate_interval, words)
            rec["cer_low"], rec["cer_high"] = _interval(corpus_rate_interval, chars)
            # The mean of per-utterance rates, for comparison with papers that report it (items with no
            # reference word are left out: their rate is undefined).
            per_utt = [c.errors / c.reference_length for c in words if c.reference_length]
            rec["wer_utterance_mean"] = float(np.mean(per_utt)) if per_utt else None
            if wer_average == "utterance":
                _utterance_headline(rec, per_utt)
            audio = ok["audio_s"].sum()
            rec["rtf_encode"] = ok["encode_s"].sum() / audio
            rec["rtf_decode"] = ok["decode_s"].sum() / audio
            # The SSL model's part of encoding, where the codec runs one and times it apart (`ssl_s`).
            if "ssl_s" in ok and ok["ssl_s"].notna().all():
                rec["rtf_ssl"] = ok["ssl_s"].sum() / audio
            # Spread of the per-item real-time factors (each a median over repeats): 10th and 90th percentiles.
            for stage in ("encode", "decode"):
                per_item = ok[f"{stage}_s"] / ok["audio_s"]
                rec[f"rtf_{stage}_p10"], rec[f"rtf_{stage}_p90"] = (
                    float(q) for q in np.percentile(per_item, [10, 90])
                )
            rec["kbps"] = float(ok["bitrate"].iloc[0]) / 1000
            rec["normalizer"] = ok["normalizer"].iloc[0]
        for name in metric_names:
            attempted = ok[_ran(ok, name)]
            values = attempted[name].dropna() if name in attempted else pd.Series(dtype=float)
            rec[name] = float(np.mean(values)) if len(values) else None
            rec[f"{name}_low"], rec[f"{name}_high"] = _interval(mean_interval, values.to_numpy())
            rec[f"{name}_n"] = int(len(values))
            rec[f"{name}_failed"] = int(len(attempted) - len(values))
        out.append(rec)
    return pd.DataFrame.from_records(out)


def _utterance_headline(rec: dict[str, Any], per_utt: list[float]) -> None:
    """Make the mean of per-utterance WERs the headline `wer` (with its interval over items); keep the corpus
    rate beside it as `wer_corpus`."""
    rec["wer_corpus"], rec["wer_corpus_low"], rec["wer_corpus_high"] = (
        rec["wer"],
        rec["wer_low"],
        rec["wer_high"],
    )
    rec["wer"] = rec["wer_utterance_mean"]
    rec["wer_low"], rec["wer_high"] = _interval(mean_interval, np.asarray(per_utt, dtype=np.float64))
    rec["wer_average"] = "utterance"


def _ran(rows: pd.DataFrame, metric: str) -> pd.Series:
    """Which rows the signal metric was run on (rows that do not record it ran every metric)."""
    if "signal_metrics" not in rows:
        return pd.Series(True, index=rows.index)
    return rows["signal_metrics"].map(lambda ran: metric in ran if isinstance(ran, list) else True)


def per_codec(summary: pd.DataFrame, depths: list[int]) -> dict[str, dict[str, Any]]:
    """For each codec in one suite: its aggregates at each requested depth (`WER@k`, empty where not run)
    and at its highest evaluated depth (`top`)."""
    table: dict[str, dict[str, Any]] = defaultdict(dict)
    for codec, group in summary.groupby("codec", sort=False):
        group = group.sort_values("depth")
        for depth in depths:
            hit = group[group["depth"] == depth]
            table[codec][f"WER@{depth}"] = hit.iloc[0].to_dict() if len(hit) else {}
        table[codec]["top"] = group.iloc[-1].to_dict()
    return dict(table)
