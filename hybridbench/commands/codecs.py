"""`hybridbench codecs`: what codecs are registered, their facts, and whether their weights are here."""

from __future__ import annotations

import argparse

from hybridbench.codecs import CODECS
from hybridbench.report.tables import markdown_table


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("codecs", help="list codecs, their bitrates and whether their weights are here")
    p.add_argument(
        "--details", action="store_true", help="also causality, SSL at inference, parameters, license"
    )
    p.set_defaults(func=list_codecs)


def _fmt_rate(x: float) -> str:
    return f"{x:g}" if x < 1000 else f"{x:.0f}"


def list_codecs(args: argparse.Namespace) -> int:
    header = ["codec", "sample rate", "frame rate (Hz)", "depths", "kbps @1", "kbps @full", "weights"]
    if args.details:
        header += ["depth kind", "causal", "streams", "batch exact", "SSL at inference", "parameters"]
        header += ["weights license", "codebook sizes"]
    rows = []
    for name in CODECS.names():
        cls = CODECS.get(name)
        info = cls.describe()
        status = cls.weights_status()
        weights = "here" if status.available else f"missing: {status.hint}"
        if status.available and status.location:
            weights = f"here ({status.location})"
        row = [
            name,
            str(info.sample_rate),
            _fmt_rate(info.frame_rate),
            _fmt_depths(info.depths),
            f"{info.bitrate(info.depths[0]) / 1000:.3g}",
            f"{info.bitrate(info.depths[-1]) / 1000:.3g}",
            weights,
        ]
        if args.details:
            sizes = _compact_sizes(info.codebook_sizes)
            causal = "?" if info.causal is None else ("yes" if info.causal else "no")
            params = f"{info.parameters / 1e6:.1f}M" if info.parameters else "?"
            row += [
                info.depth_kind.value,
                causal,
                _yes(info.streamable),
                _yes(info.batch_exact),
                _yes(info.needs_ssl_at_inference),
                params,
                info.weights_license,
                sizes,
            ]
        rows.append(row)
    print(markdown_table(header, rows))
    for name, reason in CODECS.broken().items():
        print(f"\nplugin {name} failed to load: {reason}")
    return 0


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _fmt_depths(depths: tuple[int, ...]) -> str:
    """1..12 -> '12'; SNAC's (1, 3, 7) -> '1,3,7'."""
    return str(len(depths)) if depths == tuple(range(1, len(depths) + 1)) else ",".join(map(str, depths))


def _compact_sizes(sizes: tuple[int, ...]) -> str:
    """(16384, 1024, 1024, ...) -> '1x16384 + 11x1024'."""
    parts: list[list[int]] = []
    for size in sizes:
        if parts and parts[-1][1] == size:
            parts[-1][0] += 1
        else:
            parts.append([1, size])
    return " + ".join(f"{n}x{s}" for n, s in parts)
