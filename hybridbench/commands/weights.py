"""`hybridbench weights fetch NAME` / `hybridbench weights path NAME` / `hybridbench weights list`.

NAME is a codec (`dualcodec-25hz` fetches the DualCodec checkpoint and w2v-BERT-2.0) or a checkpoint name.
Hub checkpoints go to the Hugging Face cache, the others to hybridbench's; see hybridbench.weights for where
each kind of file lives and how it is checked.
"""

from __future__ import annotations

import argparse

from hybridbench import weights as W
from hybridbench.report.tables import markdown_table


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("weights", help="download, locate and verify codec checkpoints")
    wsub = p.add_subparsers(dest="weights_command", metavar="ACTION", required=True)

    fetch = wsub.add_parser(
        "fetch", help="download a codec's checkpoint into the cache and verify its checksum"
    )
    fetch.add_argument("name", help="codec or checkpoint name (see `hybridbench weights list`)")
    fetch.set_defaults(func=run_fetch)

    path = wsub.add_parser("path", help="print where a codec's checkpoint is looked for, and what is there")
    path.add_argument("name", help="codec or checkpoint name")
    path.add_argument("--weights", default=None, help="the --weights PATH you would pass (checked first)")
    path.set_defaults(func=run_path)

    listing = wsub.add_parser("list", help="every known checkpoint: source, files, license, presence")
    listing.set_defaults(func=run_list)


def run_fetch(args: argparse.Namespace) -> int:
    W.checkpoints_for(args.name)  # unknown names fail before any network access
    W.fetch(args.name)
    return 0


def run_path(args: argparse.Namespace) -> int:
    for line in W.describe_locations(args.name, args.weights):
        print(line)
    # Some adapters also accept their package's own download cache (DAC looks in ~/.cache/descript/dac).
    from hybridbench.codecs import CODECS

    if args.name in CODECS:
        own = getattr(CODECS.get(args.name), "default_weights_path", None)
        if own is not None:
            path = own()
            print(
                f"  also: {path}  [{'present' if path.is_file() else 'missing'}]  (the package's own download cache)"
            )
    return 0


def run_list(args: argparse.Namespace) -> int:
    users = {}
    for codec, names in W.CODEC_CHECKPOINTS.items():
        for name in names:
            users.setdefault(name, []).append(codec)
    rows = []
    for ckpt in W.CHECKPOINTS.values():
        present = W.present_folder(ckpt) is not None  # either cache: hybridbench's or Hugging Face's
        rows.append(
            [
                ckpt.name,
                ", ".join(users.get(ckpt.name, [])),
                ckpt.origin,
                ", ".join(wf.filename for wf in ckpt.files),
                ckpt.license,
                "here" if present else f"missing: hybridbench weights fetch {ckpt.name}",
            ]
        )
    print(markdown_table(["checkpoint", "codecs", "source", "files", "license", "here?"], rows))
    return 0
