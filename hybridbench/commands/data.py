"""`hybridbench data prepare NAME...`: fetch or install the data a suite reads.

Each suite class that can prepare its data has a classmethod `prepare(data_root=None, *, prefer_download=False)`
returning a one-line summary (LibriSpeech downloads from OpenSLR; the Asterisk sets install Debian packages or
download the upstream tarballs; librivox-mini installs a Debian package). Suites without one need no preparation
when their status says they are available, and otherwise say in their status what to do.
"""

from __future__ import annotations

import argparse
import inspect
from collections.abc import Callable

from hybridbench.errors import HybridbenchError
from hybridbench.suites import SUITES, Suite


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="prepare the data that suites read (download, unpack, install packages)")
    actions = p.add_subparsers(dest="data_command", metavar="ACTION")
    prep = actions.add_parser("prepare", help="download or install the data of one or more suites")
    prep.add_argument("names", nargs="+", metavar="NAME", help="suite names (see `hybridbench suites`)")
    prep.add_argument("--data-root", help="folder to put downloaded data in (default: the cache)")
    prep.add_argument(
        "--download",
        action="store_true",
        help="download upstream archives even where a Debian package could be installed",
    )
    prep.set_defaults(func=prepare)
    p.set_defaults(func=_needs_action(p))


def _needs_action(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    """`hybridbench data` alone: show the actions instead of failing silently."""

    def run(args: argparse.Namespace) -> int:
        parser.print_help()
        return 2

    return run


def prepare(args: argparse.Namespace) -> int:
    classes = [SUITES.get(name) for name in args.names]  # unknown names fail before any work starts
    for cls in classes:
        print(prepare_suite(cls, data_root=args.data_root, prefer_download=args.download))
    return 0


def prepare_suite(cls: type[Suite], *, data_root: str | None = None, prefer_download: bool = False) -> str:
    """Run a suite's `prepare` step, or say why there is nothing to run."""
    step = getattr(cls, "prepare", None)
    if step is None:
        status = cls.status(data_root)
        if status.available:
            return f"{cls.name}: ready, nothing to prepare"
        raise HybridbenchError(f"{cls.name} has no prepare step", status.hint or None)
    if "prefer_download" in inspect.signature(step).parameters:
        return step(data_root, prefer_download=prefer_download)
    return step(data_root)
