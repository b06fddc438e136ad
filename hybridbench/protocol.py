"""The evaluation protocol of a run's numbers, as a value and as a short Markdown card, and the run's numbers
rescored under another protocol.

Two WERs of the same codec differ by the model and by the protocol: which ASR decoded the audio, how its
transcripts and the references were normalized, how per-item errors were averaged. Transcripts are stored raw
(`runner`), so the last two can be changed after the fact with no codec and no ASR: `rescored_summary` scores
the stored rows under another normalizer and averaging, and `protocol_of` says what a table was scored under.
Together they split a gap between two numbers into its protocol part and its model part.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from hybridbench.errors import HybridbenchError
from hybridbench.metrics.normalize import normalizer_named
from hybridbench.report.aggregate import WER_AVERAGES, item_frame, summarize
from hybridbench.results import RunResults

# How each averaging is computed, for the card.
AVERAGE_WORDS = {
    "corpus": "corpus rate (summed edits / summed reference words)",
    "utterance": "mean of per-utterance WERs (items without reference words left out)",
}
# The metric names that say which PESQ band a run scored.
PESQ_BANDS = {"pesq-wb": "wb (ITU-T P.862.2)", "pesq-nb": "nb (ITU-T P.862 + P.862.1)"}


@dataclass(frozen=True)
class Protocol:
    """What a suite's numbers in a run were measured and scored under."""

    suite: str
    asr_profile: str | None
    asr_model: str | None
    asr_engine: str | None  # faster-whisper or transformers
    beam_size: int | None
    temperature: tuple[float, ...] | None
    language: str | None  # how the ASR got the language ("forced from each item")
    normalizer: str  # name (version); several joined when the suite's rows used several
    wer_average: str  # "corpus" or "utterance"
    resampler: str | None
    pesq_bands: tuple[str, ...]  # of the PESQ metrics the run scored; empty when none
    metric_sample_rate: int | None  # the rate signal metrics and the ASR saw
    rescored: bool  # scored under another normalizer or averaging than the run's own tables

    def card(self) -> str:
        """A few Markdown lines for printing above a table."""
        temperature = ", ".join(f"{t:g}" for t in self.temperature) if self.temperature else "?"
        asr = (
            f"`{self.asr_profile or '?'}` (model {self.asr_model or '?'} on {self.asr_engine or '?'}, "
            f"beam {self.beam_size or '?'}, "
            f"temperature {temperature}, language {self.language or '?'})"
        )
        pesq = ", ".join(self.pesq_bands) if self.pesq_bands else "no PESQ in this run"
        rate = f"{self.metric_sample_rate} Hz" if self.metric_sample_rate else "?"
        title = f"**Protocol: {self.suite}**" + (
            " (rescored from the stored transcripts)" if self.rescored else ""
        )
        return "\n".join(
            [
                title,
                f"- ASR: {asr}",
                f"- Normalizer: {self.normalizer}",
                f"- WER averaging: {AVERAGE_WORDS[self.wer_average]}",
                f"- Audio to the ASR and signal metrics: {rate}, resampled with {self.resampler or '?'}",
                f"- PESQ band: {pesq}",
            ]
        )


def rescored_summary(
    run: RunResults, *, normalizer: str | None = None, average: str = "corpus"
) -> pd.DataFrame:
    """The run's summary (one line per suite, codec, depth) scored under `normalizer` (a name from
    `metrics.normalize.NAMED`; None: the run's own) and WER `average`; the defaults give `run.summary`."""
    if not run.rows:
        return pd.DataFrame()
    if normalizer is None and average == "corpus":
        return run.summary
    return summarize(item_frame(run.rows, normalizer=normalizer), run.metric_names, wer_average=average)


def protocol_of(
    run: RunResults, suite: str, *, normalizer: str | None = None, average: str = "corpus"
) -> Protocol:
    """The protocol of `suite`'s numbers in `run`, or of its numbers rescored under `normalizer`/`average`."""
    asr = run.asr(suite)
    temperature = asr.get("temperature")
    return Protocol(
        suite=suite,
        asr_profile=asr.get("name"),
        asr_model=asr.get("model"),
        # A profile records its engine only when it is not faster-whisper (AsrProfile.to_dict).
        asr_engine=asr.get("engine", "faster-whisper") if asr else None,
        beam_size=asr.get("beam_size"),
        temperature=tuple(temperature) if temperature is not None else None,
        language=asr.get("language"),
        normalizer=_normalizer_label(run, suite, normalizer),
        wer_average=_checked_average(average),
        resampler=run.provenance.get("resampler"),
        pesq_bands=tuple(PESQ_BANDS[m] for m in run.metric_names if m in PESQ_BANDS),
        metric_sample_rate=_metric_sample_rate(run),
        rescored=normalizer is not None or average != "corpus",
    )


def _normalizer_label(run: RunResults, suite: str, override: str | None) -> str:
    """`name (version)` of the chosen normalizer, or of those the run's rows of `suite` were scored with."""
    if override is not None:
        chosen = normalizer_named(override)
        return f"{chosen.name} ({chosen.version})"
    items = run.items
    if len(items) and "normalizer" in items:
        used = sorted(set(items.loc[items["suite"] == suite, "normalizer"].dropna()))
        if used:
            return ", ".join(used)
    return str(run.asr(suite).get("normalizer", "?"))


def _checked_average(average: str) -> str:
    if average not in WER_AVERAGES:
        raise HybridbenchError(f"unknown WER averaging {average!r}", f"use one of: {', '.join(WER_AVERAGES)}")
    return average


def _metric_sample_rate(run: RunResults) -> int | None:
    """The one rate every recorded metric declares (the runner scores everything at the ASR's 16 kHz)."""
    rates = {m.get("sample_rate") for m in run.provenance.get("metrics", []) if isinstance(m, dict)}
    rates.discard(None)
    return int(rates.pop()) if len(rates) == 1 else None
