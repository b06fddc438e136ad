"""`hybridbench asr`: the registered ASR profiles and whether their models are here."""

from __future__ import annotations

import argparse

from hybridbench.errors import HybridbenchError
from hybridbench.metrics.asr import ASR_PROFILES
from hybridbench.report.tables import markdown_table


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("asr", help="list ASR profiles (model, decoding settings, offline availability)")
    p.set_defaults(func=list_asr)


def list_asr(args: argparse.Namespace) -> int:
    rows = []
    for name in ASR_PROFILES.names():
        profile = ASR_PROFILES.get(name)
        if profile.locate is None:
            here = "downloads on first use (needs internet)"
        else:
            try:
                here = f"here ({profile.locate().model})"
            except HybridbenchError as exc:
                here = f"missing: {exc}"
        languages = "English only" if profile.english_only else "multilingual"
        decoding = f"beam {profile.beam_size}, T={list(profile.temperature)}, {profile.compute_type}"
        rows.append([name, profile.engine, languages, decoding, here])
    print(markdown_table(["ASR", "engine", "languages", "decoding", "model"], rows))
    return 0
