"""The `hybridbench` command line.

Each sub-command lives in its own module under `hybridbench.commands` and exposes
`add_parser(subparsers)`, which registers the sub-command and sets `func(args) -> int` as its handler.
User mistakes surface as HybridbenchError and print as one line, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings

from hybridbench import __version__
from hybridbench.errors import HybridbenchError

# Order here is the order in `hybridbench --help`.
COMMAND_MODULES = (
    "run", "merge", "report", "compare", "codecs", "suites", "presets", "metrics", "asr", "speed", "usage",
    "data", "weights", "rescore", "verify",
)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hybridbench",
        description="Compare neural speech codecs at every RVQ depth: WER, PESQ, STOI, speed.",
    )
    parser.add_argument("--version", action="version", version=f"hybridbench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"hybridbench.commands.{name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    # DAC and DualCodec build their layers with torch's deprecated weight_norm; that is theirs to fix, and the
    # warning would drown the progress bar.
    warnings.filterwarnings("ignore", message=r".*weight_norm.* is deprecated", category=FutureWarning)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except HybridbenchError as exc:
        print(f"hybridbench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "hybridbench: interrupted; results stored so far are kept, rerun the same command to resume",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
