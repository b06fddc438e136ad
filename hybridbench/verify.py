"""Hold a paper's published numbers against a run: for each claimed cell, is it reproduced, not reproduced, or
not comparable (and why)?

A claim is comparable only with a measured cell of the same codec, suite, metric and depth, measured under a
protocol that can be made the same: the same ASR model, a normalizer and WER averaging the stored transcripts
can be rescored under (done here, automatically: `protocol.rescored_summary`), weights of the same kind (a
baseline the paper retrained is not the released checkpoint), the same metric sample rate, and for speed the
same hardware. "Not stated" in the paper is not a reason to refuse (most papers state no normalizer): the
run's own choice is used and the verdict line says so.

Verdict: "reproduced" when the claimed value lies inside the measured 95 % interval (BCa bootstrap over items)
or within `tolerance` of the measured value (in the claim's units); otherwise "not reproduced".

Which weights a run's codec has is read from its recorded facts: a codec whose `extra` records a training
`step` (as the checkpoints of a trainer do) was trained, any other has released ("public") weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from hybridbench.errors import HybridbenchError
from hybridbench.metrics.normalize import NAMED
from hybridbench.protocol import rescored_summary
from hybridbench.published import NOT_STATED, Claim
from hybridbench.report.tables import markdown_table
from hybridbench.results import RunResults

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
NOT_COMPARABLE = "not comparable"
# Metrics whose measured value is a rate in [0, 1] and whose claims are in %.
PERCENT_METRICS = ("wer", "cer")
# Claimed metrics that name no one measurement, and why they compare with nothing measured here.
UNDEFINED_METRICS = {
    "pesq": "PESQ band not stated (wideband and narrowband PESQ are different scales)",
    "speaker-sim": "speaker-embedding model not stated (cosines of different embeddings differ)",
}


@dataclass(frozen=True)
class Verdict:
    claim: Claim
    codec: str  # the run's codec the claim was held against (the claim's model, or its --map name)
    verdict: str  # REPRODUCED, NOT_REPRODUCED or NOT_COMPARABLE
    why: str  # for NOT_COMPARABLE the reason; otherwise notes on the protocol (rescored, not stated, ...)
    measured: float | None = None  # in the claim's units
    low: float | None = None  # 95 % interval of `measured`, in the claim's units
    high: float | None = None
    n: int | None = None  # items measured


class _NotComparable(Exception):
    """Raised while matching a claim to the run; its message is the verdict's reason."""


def parse_codec_map(spec: str | None) -> dict[str, str]:
    """`"HybridCodec=hybridcodec-mini,DAC (Distill)=dac-distill-mini"` -> {claim model: run codec}."""
    mapping: dict[str, str] = {}
    for part in (p.strip() for p in (spec or "").split(",") if p.strip()):
        model, sep, codec = part.partition("=")
        if not sep or not model.strip() or not codec.strip():
            raise HybridbenchError(
                f"--map entry {part!r} is not MODEL=CODEC",
                'use e.g. --map "HybridCodec=hybridcodec-mini,DAC=dac-mini"',
            )
        mapping[model.strip()] = codec.strip()
    return mapping


def verify_claims(
    run: RunResults,
    claims: list[Claim] | tuple[Claim, ...],
    *,
    codec_map: dict[str, str] | None = None,
    tolerance: float = 0.0,
) -> list[Verdict]:
    """One verdict per claim, in the claims' order."""
    if tolerance < 0:
        raise HybridbenchError(
            f"--tolerance {tolerance:g} is negative", "give a distance in the claim's units"
        )
    matcher = _Matcher(run, codec_map or {}, tolerance)
    return [matcher.verdict(claim) for claim in claims]


def exit_status(verdicts: list[Verdict]) -> int:
    """1 when a comparable claim was not reproduced (for CI), 0 otherwise."""
    return int(any(v.verdict == NOT_REPRODUCED for v in verdicts))


class _Matcher:
    def __init__(self, run: RunResults, codec_map: dict[str, str], tolerance: float):
        self.run = run
        self.codec_map = codec_map
        self.tolerance = tolerance
        self._summaries: dict[tuple[str | None, str], pd.DataFrame] = {}

    def verdict(self, claim: Claim) -> Verdict:
        codec = self.codec_map.get(claim.model, claim.model)
        try:
            row, key, notes = self.measured_row(claim, codec)
        except _NotComparable as reason:
            return Verdict(claim, codec, NOT_COMPARABLE, str(reason))
        value = row.get(key)
        if value is None or pd.isna(value):
            return Verdict(
                claim, codec, NOT_COMPARABLE, f"no item of {codec} was scored for {key} at this depth"
            )
        scale = 100.0 if claim.metric in PERCENT_METRICS else 1.0
        low, high = (_scaled(row.get(f"{key}_low"), scale), _scaled(row.get(f"{key}_high"), scale))
        measured = float(value) * scale
        inside = low is not None and high is not None and low <= claim.value <= high
        close = abs(claim.value - measured) <= self.tolerance
        verdict = REPRODUCED if inside or close else NOT_REPRODUCED
        if low is None:
            why = "RTF has none" if claim.metric == "rtf" else "fewer than 2 items"
            notes.append(f"no interval ({why}): tolerance only")
        return Verdict(claim, codec, verdict, "; ".join(notes), measured, low, high, _items_scored(row, key))

    # ---- matching: raises _NotComparable with the reason, or returns the row, its column and notes ---------
    def measured_row(self, claim: Claim, codec: str) -> tuple[dict[str, Any], str, list[str]]:
        run = self.run
        if codec not in run.codecs:
            hint = "" if claim.model in self.codec_map else f" (map it: --map '{claim.model}=CODEC')"
            raise _NotComparable(f"codec {codec} not in the run{hint}")
        if claim.suite not in run.suites:
            raise _NotComparable(f"suite {claim.suite} not in the run (it has {', '.join(run.suites)})")
        key = self.measured_key(claim)
        depths = sorted({r.depth for r in run.rows if r.codec == codec and r.suite == claim.suite})
        if claim.depth not in depths:
            raise _NotComparable(
                f"depth {claim.depth} not run for {codec} (run: {', '.join(map(str, depths))})"
            )
        notes: list[str] = []
        normalizer, average = None, "corpus"
        if claim.metric in PERCENT_METRICS:
            self.check_asr(claim)
            normalizer, average = self.scoring(claim, notes)
        elif claim.metric != "rtf":
            self.check_sample_rate(claim)
        self.check_weights(claim, codec)
        if claim.metric == "rtf":
            self.check_hardware(claim)
        self.note_training(claim, codec, notes)
        summary = self.summary(normalizer, average)
        hit = summary[
            (summary["suite"] == claim.suite)
            & (summary["codec"] == codec)
            & (summary["depth"] == claim.depth)
        ]
        row = hit.iloc[0].to_dict()
        if claim.metric == "rtf":
            row["rtf"] = row.get("rtf_encode", 0.0) + row.get("rtf_decode", 0.0)
            notes.append("encode + decode, batch 1")
        return row, key, notes

    def measured_key(self, claim: Claim) -> str:
        if claim.metric in UNDEFINED_METRICS:
            raise _NotComparable(UNDEFINED_METRICS[claim.metric])
        if claim.metric in PERCENT_METRICS or claim.metric == "rtf":
            return claim.metric
        if claim.metric not in self.run.metric_names:
            raise _NotComparable(f"{claim.metric} not measured in the run")
        return claim.metric

    def check_asr(self, claim: Claim) -> None:
        wanted = claim.protocol.asr_model
        if wanted == NOT_STATED:
            return
        asr = self.run.asr(claim.suite)
        names = {str(asr.get("name", "")).lower(), str(asr.get("model", "")).lower()}
        names.add(f"whisper-{asr.get('model', '')}".lower())
        if wanted.lower() not in names:
            raise _NotComparable(f"ASR {wanted} claimed, the run used {asr.get('name', 'an unrecorded one')}")

    def scoring(self, claim: Claim, notes: list[str]) -> tuple[str | None, str]:
        """The normalizer and averaging to score the run under, to match the claim's protocol."""
        normalizer: str | None = None
        stated = claim.protocol.normalizer
        if stated == NOT_STATED:
            notes.append("normalizer not stated: the run's")
        elif stated in NAMED:
            normalizer = stated
            notes.append(f"rescored: normalizer {stated}")
        else:
            raise _NotComparable(f"normalizer {stated!r} is not one hybridbench has ({', '.join(NAMED)})")
        averaging = claim.protocol.averaging
        if averaging == NOT_STATED:
            notes.append("averaging not stated: corpus")
            return normalizer, "corpus"
        if claim.metric == "cer" and averaging == "utterance":
            raise _NotComparable("utterance-averaged CER is not computed")
        if averaging == "utterance":
            notes.append("rescored: utterance averaging")
        return normalizer, averaging

    def check_sample_rate(self, claim: Claim) -> None:
        wanted = claim.protocol.sample_rate
        if wanted == NOT_STATED:
            return
        rates = {m.get("name"): m.get("sample_rate") for m in self.run.provenance.get("metrics", [])}
        measured_at = rates.get(claim.metric)
        if measured_at is not None and int(measured_at) != wanted:
            raise _NotComparable(f"{claim.metric} claimed at {wanted} Hz, measured at {measured_at} Hz")

    def check_weights(self, claim: Claim, codec: str) -> None:
        claimed = claim.protocol.weights
        if claimed == NOT_STATED:
            return
        extra = self.run.codec_info(codec).get("extra") or {}
        here = "trained" if "step" in extra else "public"
        if claimed != here:
            if claimed == "trained":
                raise _NotComparable(
                    f"the paper trained {claim.model} itself; the run's {codec} has public weights"
                )
            raise _NotComparable(
                f"the paper used public {claim.model} weights; the run's {codec} was trained"
            )

    def check_hardware(self, claim: Claim) -> None:
        wanted = claim.protocol.hardware
        device = str(self.run.provenance.get("device_name") or self.run.provenance.get("device") or "?")
        if wanted == NOT_STATED:
            raise _NotComparable("hardware not stated for the speed claim")
        if wanted.lower() not in device.lower():
            raise _NotComparable(f"RTF claimed on {wanted}, the run timed on {device}")

    def note_training(self, claim: Claim, codec: str, notes: list[str]) -> None:
        """Training length is reported, not judged: a shorter replication is still held against the claim."""
        claimed = claim.protocol.training_updates
        step = (self.run.codec_info(codec).get("extra") or {}).get("step")
        if claimed == NOT_STATED or step is None or str(step) == str(claimed):
            return
        here = f"{int(step):,}" if str(step).isdigit() else str(step)
        notes.append(f"{claimed:,} updates claimed, {here} here")

    def summary(self, normalizer: str | None, average: str) -> pd.DataFrame:
        key = (normalizer, average)
        if key not in self._summaries:
            self._summaries[key] = rescored_summary(self.run, normalizer=normalizer, average=average)
        return self._summaries[key]


def _scaled(value: Any, scale: float) -> float | None:
    return None if value is None or pd.isna(value) else float(value) * scale


def _items_scored(row: dict[str, Any], key: str) -> int | None:
    """Items behind a measured value: a signal metric's own count, else the rows that succeeded."""
    n = row.get(f"{key}_n")
    if n is None or pd.isna(n):
        n = row["items"] - row["failed"]
    return int(n)


# ---- rendering ------------------------------------------------------------------------------------------


def render(verdicts: list[Verdict], *, source: str, tolerance: float) -> str:
    """One compact table (one line per claim) between a heading and the counts."""
    cells = [(v.claim.model, v.claim.suite, v.claim.metric, v.claim.depth) for v in verdicts]
    # A cell the paper reports after several training lengths (e.g. the 300k-update row) says which it is.
    updates: dict[tuple, set] = {}
    for cell, v in zip(cells, verdicts, strict=True):
        updates.setdefault(cell, set()).add(v.claim.protocol.training_updates)
    rows = [
        [
            _claim_label(v, show_updates=len(updates[cell]) > 1),
            f"{v.claim.suite} {v.claim.metric}@{v.claim.depth}",
            f"{v.claim.value:g}",
            _format_measured(v),
            v.verdict,
            v.why,
        ]
        for v, cell in zip(verdicts, cells, strict=True)
    ]
    counts = {
        name: sum(v.verdict == name for v in verdicts)
        for name in (REPRODUCED, NOT_REPRODUCED, NOT_COMPARABLE)
    }
    table = markdown_table(
        ["claim", "cell", "claimed", "measured [95 % CI]", "verdict", "why / protocol"], rows
    )
    summary = ", ".join(f"{n} {name}" for name, n in counts.items())
    return "\n".join(
        [
            f"Claims: {source}",
            "",
            table,
            "",
            f"{summary}; reproduced = claimed value inside the measured 95 % interval"
            + (f" or within {tolerance:g} of the measured value" if tolerance else "")
            + "; values in the paper's units (WER in %).",
        ]
    )


def _claim_label(v: Verdict, *, show_updates: bool) -> str:
    """The claimed model (and the run's codec when mapped), with its training updates when asked."""
    label = v.claim.model if v.codec == v.claim.model else f"{v.claim.model} → {v.codec}"
    updates = v.claim.protocol.training_updates
    if show_updates and updates != NOT_STATED:
        label += f" ({updates:,} updates)"
    return label


def _format_measured(v: Verdict) -> str:
    if v.measured is None:
        return "—"
    digits = 2 if v.claim.metric in PERCENT_METRICS else 4 if v.claim.metric == "rtf" else 3
    text = f"{v.measured:.{digits}f}"
    if v.low is not None and v.high is not None:
        text += f" [{v.low:.{digits}f}, {v.high:.{digits}f}]"
    return text + (f" n={v.n}" if v.n is not None else "")
