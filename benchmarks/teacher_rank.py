"""How much of the teacher a rank-k linear map can fit: the floor of a distillation loss through a k-d bottleneck.

    python benchmarks/teacher_rank.py [--files 300] [--ranks 1,4,8,16,32,64]

The `mini` models distill the Whisper-base encoder (512-d, pooled to 25 Hz) with an MSE loss. A semantic decoder
that is a 1x1 conv on an 8-d factorized code is a rank-8 linear map, so no training can bring its loss below the
least-squares residual of the teacher's 8 leading principal components: the sum of the trailing eigenvalues of
the features' covariance, per element. This prints that floor for several ranks on the cached teacher features
of the replication corpus (the frames the distillation loss sees), beside the total variance (the loss of
predicting the mean). Needs the features cached by `minireplication replicate` (or `train`) on this machine.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from hybridbench.errors import HybridbenchError
from hybridcodec.config import preset
from hybridcodec.data import FeatureStore, list_audio
from hybridcodec.teachers import TeacherSpec
from minireplication import corpus


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--manifest", type=Path, default=corpus.default_root() / "manifest.jsonl")
    p.add_argument("--teacher", default="whisper-base-encoder")
    p.add_argument("--files", type=int, default=300, help="first N files of the manifest")
    p.add_argument("--ranks", default="1,4,8,16,32,64")
    args = p.parse_args()
    if not args.manifest.is_file():
        raise SystemExit(
            f"no corpus manifest at {args.manifest}: run `make replicate` (or minireplication replicate)"
        )
    files = list_audio([str(args.manifest)])[: args.files]  # sorted, as the trainer lists them
    store = FeatureStore.for_model(TeacherSpec(name=args.teacher), preset("mini").model, "cpu")
    try:
        x = np.concatenate([np.asarray(store.load(f), dtype=np.float64) for f in files])
    except HybridbenchError as exc:
        raise SystemExit(f"{exc}: train once on this machine so the teacher features are cached") from None
    centred = x - x.mean(0)
    eig = np.linalg.svd(centred, compute_uv=False) ** 2  # descending; sums to the total squared deviation
    total = eig.sum() / x.size
    print(f"{args.teacher}: {len(files)} files, {x.shape[0]} frames at 25 Hz, {x.shape[1]} dims")
    print(f"predicting the mean (rank 0): MSE {total:.3f} per element")
    print("| rank | variance explained | least-squares MSE floor |")
    print("|---|---|---|")
    for k in (int(r) for r in args.ranks.split(",")):
        print(f"| {k} | {eig[:k].sum() / eig.sum():.3f} | {eig[k:].sum() / x.size:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
