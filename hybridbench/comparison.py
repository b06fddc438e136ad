"""Paired comparison of two codecs on the items both scored: values, the difference with its paired bootstrap
interval and a permutation p-value (see `hybridbench.stats`), read from a run's stored rows.

WER and CER are corpus rates (summed edits over summed reference words/characters of the paired items), so the
values can differ from a table's, which is over all items each codec scored; the pair count and the dropped
items are reported. The verdict follows the p-value at alpha; the interval says how large the difference is.
The two come from different procedures, so near the threshold one may include 0 while the other is just below
alpha: report both. Comparing many codec pairs or depths calls for a multiple-testing correction (e.g. Holm),
the reader's to apply: each call tests one hypothesis. Reruns of a run folder with another configuration leave
older rows in the store; the latest row of each item is used, and the two codecs must have been transcribed
with the same ASR profile.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hybridbench import stats
from hybridbench.errors import HybridbenchError, TooFewPairsError
from hybridbench.report.aggregate import item_frame
from hybridbench.store import ResultRow, ResultStore

RATE_METRICS = {
    "wer": ("word", "words", "WER", "corpus word error rate: summed word edits / summed reference words"),
    "cer": (
        "char",
        "chars",
        "CER",
        "corpus character error rate: summed character edits / summed reference characters",
    ),
}
# Below this many paired items a bootstrap interval is not trustworthy, and a permutation test over n items
# cannot produce p < 0.05 at all for n < 6 (its smallest p is 2 / 2**n).
MIN_PAIRS = 10


@dataclass(frozen=True)
class Comparison:
    """Everything `compare` prints: which rows were paired, which were dropped and why, and the test."""

    suite: str
    metric: str
    label: str  # how the metric is printed (WER, pesq-wb, ...)
    definition: str
    higher_is_better: bool
    a: str
    b: str
    depth_a: int
    depth_b: int
    pairs: int
    dropped_a_failed: int  # items B scored but A did not
    dropped_b_failed: int  # items A scored but B did not
    dropped_both_failed: int
    dropped_unmatched: int  # items with a row for only one of the two codecs
    result: stats.PairedComparison
    normalizer: str | None
    asr: str | None

    @property
    def dropped(self) -> int:
        return (
            self.dropped_a_failed + self.dropped_b_failed + self.dropped_both_failed + self.dropped_unmatched
        )

    @property
    def is_rate(self) -> bool:
        return self.metric in RATE_METRICS

    def verdict(self, alpha: float = 0.05) -> str:
        r = self.result
        at = (
            f"at depth {self.depth_a}"
            if self.depth_a == self.depth_b
            else f"at depths {self.depth_a} and {self.depth_b}"
        )
        direction = "higher is better" if self.higher_is_better else "lower is better"
        if r.p_value >= alpha or r.difference == 0:
            return (
                f"no significant difference in {self.label} between {self.a} (A) and {self.b} (B) {at} "
                f"(p={_p(r.p_value)} >= {alpha:g})"
            )
        more = "higher" if r.difference > 0 else "lower"
        a_better = (r.difference > 0) == self.higher_is_better
        better = self.a if a_better else self.b
        return (
            f"{self.a} (A) has {more} {self.label} than {self.b} (B) {at} (p={_p(r.p_value)}); "
            f"{direction}, so {better} is better"
        )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["dropped"] = self.dropped
        return d


def _p(p: float) -> str:
    return f"{p:.2g}" if p < 0.001 else f"{p:.4f}".rstrip("0").rstrip(".")


def load_rows(run_dir: Path, a: str, b: str) -> list[ResultRow]:
    if not run_dir.is_dir():
        raise HybridbenchError(f"no run folder at {run_dir}", "give the --out folder of a `hybridbench run`")
    db = run_dir / "results.sqlite"
    if not db.is_file():  # checked first: opening a ResultStore would create an empty database
        raise HybridbenchError(
            f"{run_dir} holds no results.sqlite", "give the --out folder of a `hybridbench run`"
        )
    with ResultStore(db) as store:
        rows = list(store.rows())
    codecs = sorted({r.codec for r in rows})
    for name, flag in ((a, "--a"), (b, "--b")):
        if name not in codecs:
            close = difflib.get_close_matches(name, codecs, n=1, cutoff=0.5)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise HybridbenchError(
                f"codec {name!r} ({flag}) is not in the run at {run_dir}",
                f"{hint}the run holds: {', '.join(codecs) or 'nothing'}",
            )
    return [r for r in rows if r.codec in (a, b)]


def _latest_per_item(rows: list[ResultRow]) -> list[ResultRow]:
    """One row per (suite, codec, item, depth): the last stored.

    A run folder reused with another configuration (another ASR, other metrics) holds several rows for one
    item; the store returns them in insertion order, so the last is the most recent configuration.
    """
    latest: dict[tuple[str, str, str, int], ResultRow] = {}
    for r in rows:
        latest[(r.suite, r.codec, r.item_id, r.depth)] = r
    return list(latest.values())


def _metric_direction(run_dir: Path | None, metric: str) -> tuple[bool, str, str]:
    """(higher_is_better, label, definition) for a signal metric: the run's own recorded spec first."""
    provenance = run_dir / "provenance.json" if run_dir is not None else None
    if provenance is not None and provenance.is_file():
        for spec in json.loads(provenance.read_text(encoding="utf-8")).get("metrics", []):
            if spec.get("name") == metric:
                return bool(spec["higher_is_better"]), metric, _definition(spec)
    from hybridbench.metrics import METRICS

    if metric in METRICS:
        spec = METRICS.get(metric).spec.to_dict()
        return bool(spec["higher_is_better"]), metric, _definition(spec)
    raise HybridbenchError(
        f"metric {metric!r} has no recorded direction (not in the run's provenance.json, not installed)",
        "install the plugin that provides it",
    )


def _definition(spec: dict[str, Any]) -> str:
    unit = f" [{spec['unit']}]" if spec.get("unit") else ""
    return f"mean over paired items of {spec.get('description') or spec['name']}{unit}, {spec.get('version', '')}"


def compare_rows(
    rows: list[ResultRow],
    *,
    a: str,
    b: str,
    depth: int,
    b_depth: int | None = None,
    suite: str | None = None,
    metric: str = "wer",
    seed: int = stats.DEFAULT_SEED,
    resamples: int = stats.DEFAULT_RESAMPLES,
    run_dir: Path | None = None,
) -> Comparison:
    """Pair the items both codecs scored and test the difference. `rows` may hold other codecs and suites."""
    depth_b = depth if b_depth is None else b_depth
    metric = metric.lower() if metric.lower() in RATE_METRICS else metric
    if a == b and depth == depth_b:
        raise HybridbenchError(
            "A and B are the same codec at the same depth", "compare two codecs or two depths"
        )
    if resamples < 1000:
        raise HybridbenchError(f"--resamples {resamples} is too few", "use at least 1000 (default 10000)")
    rows, suite = _rows_of_one_suite(_latest_per_item(rows), (a, depth), (b, depth_b), suite)
    asr = sorted({str(r.payload.get("asr")) for r in rows})
    if len(asr) > 1:
        raise HybridbenchError(
            f"the rows of {a} and {b} were transcribed by different ASR profiles ({', '.join(asr)})",
            "rerun both codecs with the same --asr into the run folder",
        )
    frame = item_frame(rows)
    columns, higher_is_better, label, definition = _metric_columns(frame, rows, metric, run_dir)
    ok_a, all_a = _scored(frame, a, depth, columns)
    ok_b, all_b = _scored(frame, b, depth_b, columns)
    paired = sorted(set(ok_a.index) & set(ok_b.index))
    if len(paired) < MIN_PAIRS:
        raise TooFewPairsError(
            f"only {len(paired)} item(s) scored by both {a} and {b} on {suite} (need at least {MIN_PAIRS})",
            "run more items (--limit) or check the failures in the run's tables",
            pairs=len(paired),
        )
    pa, pb = ok_a.loc[paired], ok_b.loc[paired]
    normalizer = None
    if metric in RATE_METRICS and "normalizer" in pa:
        normalizer = ", ".join(sorted(set(pa["normalizer"]) | set(pb["normalizer"])))
    return Comparison(
        suite=suite,
        metric=metric,
        label=label,
        definition=definition,
        higher_is_better=higher_is_better,
        a=a,
        b=b,
        depth_a=depth,
        depth_b=depth_b,
        pairs=len(paired),
        **_dropped(set(ok_a.index), all_a, set(ok_b.index), all_b),
        result=_paired_difference(pa, pb, metric, columns, suite, resamples=resamples, seed=seed),
        normalizer=normalizer,
        asr=asr[0] if asr else None,
    )


def _rows_of_one_suite(
    rows: list[ResultRow], side_a: tuple[str, int], side_b: tuple[str, int], suite: str | None
) -> tuple[list[ResultRow], str]:
    """The rows of the two (codec, depth) sides on the one suite both scored (or the one asked for)."""
    for name, k in (side_a, side_b):
        have = sorted({r.depth for r in rows if r.codec == name})
        if k not in have:
            raise HybridbenchError(
                f"codec {name!r} has no results at depth {k} in this run",
                f"its depths here: {', '.join(map(str, have)) or 'none'}",
            )
    rows = [r for r in rows if (r.codec, r.depth) in (side_a, side_b)]
    suites = sorted(
        {r.suite for r in rows if r.codec == side_a[0]} & {r.suite for r in rows if r.codec == side_b[0]}
    )
    if suite is None:
        if len(suites) != 1:
            raise HybridbenchError(
                "the two codecs share no suite at these depths"
                if not suites
                else "the run holds several suites",
                f"choose one with --suite: {', '.join(suites)}" if suites else "check --a, --b and --depth",
            )
        suite = suites[0]
    elif suite not in suites:
        raise HybridbenchError(
            f"suite {suite!r} has results for both codecs at these depths only in: {', '.join(suites) or 'none'}",
            "check --suite",
        )
    return [r for r in rows if r.suite == suite], suite


def _metric_columns(
    frame: pd.DataFrame, rows: list[ResultRow], metric: str, run_dir: Path | None
) -> tuple[list[str], bool, str, str]:
    """(the item-frame columns the metric is computed from, higher is better, label, definition)."""
    if metric in RATE_METRICS:
        kind, unit, label, definition = RATE_METRICS[metric]
        return [f"{kind}_sub", f"{kind}_del", f"{kind}_ins", f"ref_{unit}"], False, label, definition
    if metric not in frame.columns and f"{metric}_failure" not in frame.columns:
        stored = sorted(
            {m for r in rows for m in (*r.payload.get("metrics", {}), *r.payload.get("metric_failures", {}))}
        )
        raise HybridbenchError(
            f"metric {metric!r} is not stored for these rows", f"stored: {', '.join(['wer', 'cer', *stored])}"
        )
    higher_is_better, label, definition = _metric_direction(run_dir, metric)
    return [metric], higher_is_better, label, definition


def _scored(frame: pd.DataFrame, codec: str, depth: int, columns: list[str]) -> tuple[pd.DataFrame, set[str]]:
    """(the items of one side with every column present, by item id; every item id that side has a row for)."""
    part = frame[(frame["codec"] == codec) & (frame["depth"] == depth)].set_index("item_id")
    ok = part[part["status"] == "ok"]
    ok = ok[ok[columns].notna().all(axis=1)] if set(columns) <= set(ok.columns) else ok.iloc[:0]
    return ok, set(part.index)


def _dropped(a_ok: set[str], all_a: set[str], b_ok: set[str], all_b: set[str]) -> dict[str, int]:
    """Why items are not in the pairs: which side failed them, or only one side has them."""
    both = all_a & all_b
    return {
        "dropped_a_failed": len({i for i in both if i not in a_ok and i in b_ok}),
        "dropped_b_failed": len({i for i in both if i in a_ok and i not in b_ok}),
        "dropped_both_failed": len({i for i in both if i not in a_ok and i not in b_ok}),
        "dropped_unmatched": len(all_a ^ all_b),
    }


def _paired_difference(
    pa: pd.DataFrame,
    pb: pd.DataFrame,
    metric: str,
    columns: list[str],
    suite: str,
    *,
    resamples: int,
    seed: int,
) -> stats.PairedComparison:
    """A - B on the paired items: a corpus rate from summed edits, or a mean of per-item values."""
    if metric not in RATE_METRICS:
        a, b = pa[metric].to_numpy(np.float64), pb[metric].to_numpy(np.float64)
        return stats.paired_mean_difference(a, b, n_resamples=resamples, seed=seed)
    ea = pa[columns[:3]].to_numpy(dtype=np.float64).sum(axis=1)
    eb = pb[columns[:3]].to_numpy(dtype=np.float64).sum(axis=1)
    la, lb = pa[columns[3]].to_numpy(np.float64), pb[columns[3]].to_numpy(np.float64)
    if la.sum() == 0 or lb.sum() == 0:
        raise HybridbenchError(f"the paired items of {suite} have no reference text", "WER is undefined here")
    return stats.paired_rate_difference(ea, la, eb, lb, n_resamples=resamples, seed=seed)


def render(c: Comparison, alpha: float = 0.05) -> str:
    r = c.result
    scale, unit, digits = (100.0, " %", 2) if c.is_rate else (1.0, "", 4)
    diff_unit = " points" if c.is_rate else ""
    depths = f"depth {c.depth_a}" if c.depth_a == c.depth_b else f"depth {c.depth_a} (A), {c.depth_b} (B)"
    direction = "higher is better" if c.higher_is_better else "lower is better"
    lines = [
        f"suite {c.suite}, {depths}, metric {c.label}: {c.definition}; {direction}",
    ]
    if c.asr:
        lines.append(f"ASR: {c.asr}" + (f", normalizer: {c.normalizer}" if c.normalizer else ""))
    lines += [
        f"pairs: {c.pairs} items scored by both codecs; dropped {c.dropped} "
        f"(A failed {c.dropped_a_failed}, B failed {c.dropped_b_failed}, both failed {c.dropped_both_failed}, "
        f"in one codec only {c.dropped_unmatched})",
        f"A  {c.a}: {c.label} {r.a * scale:.{digits}f}{unit}",
        f"B  {c.b}: {c.label} {r.b * scale:.{digits}f}{unit}",
        f"A - B: {r.difference * scale:+.{digits}f}{diff_unit}, {100 * r.confidence:g} % CI "
        f"[{r.low * scale:+.{digits}f}, {r.high * scale:+.{digits}f}] ({r.method}, seed {r.seed})",
        f"p = {_p(r.p_value)} ({r.test})",
        f"verdict: {c.verdict(alpha)}",
    ]
    return "\n".join(lines)
