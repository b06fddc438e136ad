"""Tokenizer cards: one page per codec for a team choosing a tokenizer for a language model, from one run.

A card says what a model downstream would consume and what it costs: tokens per second and vocabulary at each
depth, the bitrate, how much of each codebook the encoder really uses on this run's audio (from the stored
codes), whether the codec can stream and with what algorithmic latency, whether it needs an SSL model at
inference, its size, and how much speaker identity the first codebook alone carries. Every figure is either
read from the run (its stored facts, summary and codes) or marked as not measured, with how to measure it.

    from hybridbench.results import open_run
    cards, skipped = tokenizer_cards(open_run("runs/x"))
    write_cards(cards, Path("report"))
"""

from __future__ import annotations

import json
import logging
import math
from itertools import accumulate
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from hybridbench.codecs.base import DepthKind, bitrate, codes_are_tokens
from hybridbench.errors import HybridbenchError
from hybridbench.metrics import METRICS
from hybridbench.report.page import TokenizerCard
from hybridbench.report.paper_tables import metric_column_label, none_if_missing
from hybridbench.report.tables import format_num, markdown_table
from hybridbench.results import RunResults
from hybridbench.run_plan import REFERENCE_CODEC
from hybridbench.usage import codebook_usage

log = logging.getLogger(__name__)

CARDS_DIR = "cards"
NOT_STORED = "not stored in this run"
SPEAKER_HINT = "not measured: add --metrics speaker-sim-resemblyzer"


# ---- which codecs get a card ------------------------------------------------------------------------------------


def card_skip_reason(info: dict[str, Any]) -> str | None:
    """Why a codec gets no tokenizer card (None: it gets one): the original audio is no tokenizer, and a
    simulcast codec's codes are bitstream symbols, not quantizer indices a model would learn."""
    if info.get("name") == REFERENCE_CODEC:
        return "the original audio (the ASR floor), not a tokenizer"
    layering = str(info.get("extra", {}).get("layering", ""))
    if "simulcast" in layering or info.get("depth_kind") == DepthKind.OPERATING_POINTS.value:
        return "codes are bitstream symbols of separate operating points, not quantizer indices"
    if not codes_are_tokens(info):
        return (
            f"codes are {info.get('frame_rate', '?'):g} bitstream symbols or samples per second, not tokens"
        )
    return None


def tokenizer_cards(run: RunResults) -> tuple[list[TokenizerCard], dict[str, str]]:
    """A card for every codec of the run that is a tokenizer; the others (codec -> reason) beside them."""
    cards, skipped = [], {}
    for codec in run.codecs:
        reason = card_skip_reason(codec_facts(run, codec))
        if reason:
            skipped[codec] = reason
            log.info("no tokenizer card for %s: %s", codec, reason)
        else:
            cards.append(tokenizer_card(run, codec))
    return cards, skipped


def codec_facts(run: RunResults, codec: str) -> dict[str, Any]:
    info = run.codec_info(codec)
    if not info:
        raise HybridbenchError(
            f"codec {codec!r} is not in this run", f"choose one of: {', '.join(run.codecs) or 'none'}"
        )
    return info


# ---- the card's facts ------------------------------------------------------------------------------------------


def tokenizer_card(run: RunResults, codec: str) -> TokenizerCard:
    """The card of one codec of the run (refused for the identity and for simulcast codecs: see
    `card_skip_reason`)."""
    info = codec_facts(run, codec)
    reason = card_skip_reason(info)
    if reason:
        raise HybridbenchError(
            f"{codec} gets no tokenizer card: {reason}", "choose a neural codec of the run"
        )
    facts = {
        "codec": codec,
        "description": info.get("description", ""),
        "source": info.get("source", ""),
        "weights_license": info.get("weights_license", "unknown"),
        "sample_rate": info["sample_rate"],
        "frame_rate": info["frame_rate"],
        "codebook_sizes": list(info["codebook_sizes"]),
        "depth_kind": info.get("depth_kind", DepthKind.RESIDUAL.value),
        "depths": token_rates(info),
        "codebook_usage": {suite: usage_facts(run, codec, suite, info) for suite in suites_of(run, codec)},
        "latency": latency(info),
        "ssl_at_inference": ssl_at_inference(info),
        "parameters": info.get("parameters"),
        "precision": info.get("precision"),
        "speaker_identity": {
            suite: speaker_identity(run.summary, codec, suite) for suite in suites_of(run, codec)
        },
    }
    return TokenizerCard(codec=codec, facts=facts, markdown=card_markdown(facts))


def suites_of(run: RunResults, codec: str) -> list[str]:
    summary = run.summary
    return list(dict.fromkeys(summary.loc[summary["codec"] == codec, "suite"]))


def declared_depths(info: dict[str, Any]) -> list[int]:
    return list(info.get("valid_depths") or range(1, len(info["codebook_sizes"]) + 1))


def token_rates(info: dict[str, Any]) -> list[dict[str, Any]]:
    """Per declared depth k: frames/s, codebooks, tokens/s (frames/s x k), the vocabulary of each codebook and
    of all k flattened into one (their sum, as a language model with offset token ids sees it), and kbps."""
    sizes = tuple(info["codebook_sizes"])
    depth_bitrates = tuple(info["depth_bitrates"]) if info.get("depth_bitrates") else None
    rows = []
    for k in declared_depths(info):
        rows.append(
            {
                "depth": k,
                "codebooks": k,
                "frames_per_s": float(info["frame_rate"]),
                "tokens_per_s": float(info["frame_rate"]) * k,
                "vocabulary": list(sizes[:k]),
                "flat_vocabulary": sum(sizes[:k]),
                "kbps": bitrate(float(info["frame_rate"]), sizes, k, depth_bitrates) / 1000,
            }
        )
    return rows


def usage_facts(run: RunResults, codec: str, suite: str, info: dict[str, Any]) -> dict[str, Any]:
    """Codebook usage over every frame of the codes the run stored for `codec` on `suite` (per codebook k, the
    last codebook of depth k), and the bits per second the first k codebooks carry as used (their summed
    entropies x frame rate) against the nominal bitrate."""
    codes = run.codes(codec, suite)
    if not codes:
        return {"stored": False, "note": NOT_STORED}
    sizes = tuple(info["codebook_sizes"])
    try:
        usage = codebook_usage([torch.from_numpy(c.astype("int64")) for c in codes.values()], sizes)
    except ValueError as exc:  # codes stored by another version of the codec than the facts describe
        return {"stored": True, "note": f"stored codes do not match the declared codebooks ({exc})"}
    return {
        "stored": True,
        "items": len(codes),
        "frames": usage[0].frames,
        "codebooks": [u.to_dict() for u in usage],
        "kbps_as_used": [
            bits * float(info["frame_rate"]) / 1000 for bits in accumulate(u.bits for u in usage)
        ],
    }


def latency(info: dict[str, Any]) -> dict[str, Any]:
    """Algorithmic latency (compute aside): for a causal codec one frame, whose code needs all its samples,
    plus any declared look-ahead or fixed delay; a non-causal codec needs the whole utterance."""
    causal = info.get("causal")
    if causal is None:
        return {"causal": None, "note": "not declared by the codec"}
    if not causal:
        return {"causal": False, "note": "not causal: needs the whole utterance"}
    frame_ms = 1000 / float(info["frame_rate"])
    extra = info.get("extra", {})
    ahead = extra.get("lookahead_samples", extra.get("delay_samples"))
    ahead_ms = 1000 * ahead / info["sample_rate"] if ahead else 0.0
    what = "one frame" + (
        f" + {ahead} samples declared delay/look-ahead" if ahead else " (no look-ahead declared)"
    )
    return {
        "causal": True,
        "frame_ms": frame_ms,
        "lookahead_ms": ahead_ms,
        "algorithmic_latency_ms": frame_ms + ahead_ms,
        "streamable": bool(info.get("streamable")),
        "note": what,
    }


def ssl_at_inference(info: dict[str, Any]) -> dict[str, Any]:
    needed = bool(info.get("needs_ssl_at_inference"))
    extra = info.get("extra", {})
    model = (extra.get("ssl_model") or extra.get("teacher")) if needed else None
    return {"needed": needed, "model": model}


def speaker_identity(summary: pd.DataFrame, codec: str, suite: str) -> dict[str, Any]:
    """How much speaker identity RVQ-1 alone keeps: each speaker-similarity metric at depth 1, at the codec's
    highest evaluated depth, and on the original audio (the identity codec's decoding, the ceiling)."""
    known = set(METRICS.names())
    metrics = [
        c for c in summary.columns if c in known and c.startswith("speaker-sim-") and summary[c].notna().any()
    ]
    if not metrics:
        return {"measured": False, "note": SPEAKER_HINT}
    rows = summary[(summary["suite"] == suite) & (summary["codec"] == codec)].sort_values("depth")
    floor = summary[(summary["suite"] == suite) & (summary["codec"] == REFERENCE_CODEC)]
    out: dict[str, Any] = {"measured": True, "metrics": {}}
    for metric in metrics:
        at_one = rows[rows["depth"] == 1]
        out["metrics"][metric] = {
            "depth_1": metric_point(at_one, metric),
            "full_depth": metric_point(rows.tail(1), metric),
            "original": metric_point(floor, metric),
        }
    return out


def metric_point(lines: pd.DataFrame, metric: str) -> dict[str, Any] | None:
    """A metric's mean, interval and count on one summary line (None where the line does not exist)."""
    if lines.empty:
        return None
    rec = lines.iloc[0].to_dict()
    return {
        "depth": int(rec["depth"]),
        "value": none_if_missing(rec.get(metric)),
        "low": none_if_missing(rec.get(f"{metric}_low")),
        "high": none_if_missing(rec.get(f"{metric}_high")),
        "n": int(rec.get(f"{metric}_n") or 0),
    }


# ---- Markdown --------------------------------------------------------------------------------------------------


def card_markdown(facts: dict[str, Any]) -> str:
    parts = [
        f"# Tokenizer card: {facts['codec']}",
        f"{facts['description']}\n\nSource: {facts['source'] or '?'}; weights licence: {facts['weights_license']}.",
        "## Tokens by depth",
        tokens_table(facts),
        f"Depth k = {depth_meaning(facts['depth_kind'])}. Flat vocabulary: the k codebooks' entries as one "
        "vocabulary (their sum). kbps: frame rate x summed log2(codebook size).",
        "## Codebook usage",
        *[usage_section(suite, usage) for suite, usage in facts["codebook_usage"].items()],
        "## Streaming and inference",
        inference_lines(facts),
        "## Speaker identity in RVQ-1",
        *[speaker_section(suite, spk) for suite, spk in facts["speaker_identity"].items()],
    ]
    return "\n\n".join(parts) + "\n"


def depth_meaning(kind: str) -> str:
    if kind == DepthKind.MULTI_SCALE.value:
        return "the first k rows, whole temporal scales only"
    return "the first k codebooks (RVQ-1 is the first alone)"


def tokens_table(facts: dict[str, Any]) -> str:
    rows = [
        [
            str(d["depth"]),
            format_num(d["frames_per_s"], 2),
            format_num(d["tokens_per_s"], 1),
            " + ".join(str(v) for v in d["vocabulary"])
            if d["codebooks"] <= 4
            else vocab_summary(d["vocabulary"]),
            str(d["flat_vocabulary"]),
            format_num(d["kbps"], 3),
        ]
        for d in facts["depths"]
    ]
    return markdown_table(
        ["depth", "frames/s", "tokens/s", "codebook sizes", "flat vocabulary", "kbps"], rows
    )


def vocab_summary(sizes: list[int]) -> str:
    """Long lists of sizes grouped: `16384 + 11 x 1024`."""
    groups: list[tuple[int, int]] = []
    for size in sizes:
        if groups and groups[-1][0] == size:
            groups[-1] = (size, groups[-1][1] + 1)
        else:
            groups.append((size, 1))
    return " + ".join(str(s) if n == 1 else f"{n} x {s}" for s, n in groups)


def usage_section(suite: str, usage: dict[str, Any]) -> str:
    if "codebooks" not in usage:
        return f"{suite}: {usage['note']}."
    header = [
        "codebook (depth)",
        "size",
        "used",
        "used %",
        "perplexity",
        "bits/frame (of log2 size)",
        "kbps 1..k as used",
    ]
    rows = [
        [
            str(cb["codebook"]),
            str(cb["size"]),
            str(cb["used"]),
            format_num(100 * cb["used_fraction"], 1),
            format_num(cb["perplexity"], 1),
            f"{format_num(cb['bits'], 2)} ({format_num(math.log2(cb['size']), 1)})",
            format_num(kbps, 3),
        ]
        for cb, kbps in zip(usage["codebooks"], usage["kbps_as_used"], strict=True)
    ]
    lead = (
        f"{suite}: counted over all {usage['frames']} frames of the {usage['items']} items whose codes the run "
        "stored. Perplexity: exp(entropy) of the entry histogram; kbps as used: the entropies of codebooks 1..k "
        "x frame rate, the most the codes carry as this audio uses them."
    )
    return lead + "\n\n" + markdown_table(header, rows)


def inference_lines(facts: dict[str, Any]) -> str:
    lat, ssl = facts["latency"], facts["ssl_at_inference"]
    if lat["causal"]:
        latency_text = (
            f"causal; algorithmic latency {format_num(lat['algorithmic_latency_ms'], 1)} ms ({lat['note']}: "
            f"frame {format_num(lat['frame_ms'], 1)} ms); streamable: {'yes' if lat['streamable'] else 'no'}"
        )
    else:
        latency_text = lat["note"]
    ssl_text = f"yes ({ssl['model'] or 'model not named'})" if ssl["needed"] else "no"
    params = facts["parameters"]
    params_text = f"{params:,}" if params else "not recorded in this run"
    return "\n".join(
        [
            f"- Latency: {latency_text}.",
            f"- SSL model at inference: {ssl_text}.",
            f"- Parameters: {params_text}" + (f" ({facts['precision']})." if facts.get("precision") else "."),
        ]
    )


def speaker_section(suite: str, spk: dict[str, Any]) -> str:
    if not spk["measured"]:
        return f"{suite}: {spk['note']}."
    rows = []
    for metric, points in spk["metrics"].items():
        rows.append(
            [
                metric_column_label(metric),
                point_text(points["depth_1"]),
                point_text(points["full_depth"], show_depth=True),
                point_text(points["original"]),
            ]
        )
    table = markdown_table(["metric", "RVQ-1", "highest evaluated depth", "original audio"], rows)
    return (
        f"{suite}: cosine similarity of speaker embeddings between the original and the decoding (mean [95 % "
        "interval] n=items); the original column scores the original against itself, the ceiling.\n\n" + table
    )


def point_text(point: dict[str, Any] | None, *, show_depth: bool = False) -> str:
    if point is None:
        return "not run at this depth"
    if point["value"] is None:
        return "—"
    text = format_num(point["value"], 3)
    if point["low"] is not None and point["high"] is not None:
        text += f" [{format_num(point['low'], 3)}, {format_num(point['high'], 3)}]"
    text += f" n={point['n']}"
    return f"{text} (depth {point['depth']})" if show_depth else text


# ---- writing ---------------------------------------------------------------------------------------------------


def write_cards(cards: list[TokenizerCard], out_dir: Path) -> list[TokenizerCard]:
    """Write cards/<codec>.md and cards/<codec>.json under out_dir; fill each card's files (relative paths)."""
    folder = Path(out_dir) / CARDS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    for card in cards:
        md, js = Path(CARDS_DIR) / f"{card.codec}.md", Path(CARDS_DIR) / f"{card.codec}.json"
        (Path(out_dir) / md).write_text(card.markdown, encoding="utf-8")
        (Path(out_dir) / js).write_text(
            json.dumps(card.facts, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        card.files = {"md": md, "json": js}
    return cards
