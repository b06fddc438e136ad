#!/usr/bin/env bash
# leaderboards/speed.md's numbers on a lent GPU (an H200): every optimisation (none, fold-weight-norm, compile,
# bf16 autocast) alone against fp32 none, at batch 1 and batch 16, beside the usual offline rows. Under 8 minutes.
#
#   bash benchmarks/gpu_speed.sh          # on the GPU machine, from the repository root; writes $OUT/speed-gpu.md
#
# The GPU machine has torch, torchaudio, transformers, numpy, scipy and pandas but none of the codec packages.
# Here, once: `python benchmarks/gpu_prepare.py speed` fills .gpu/speed/wheels with what the run imports beyond
# the image's packages, checked by a dry run with only those importable; the device call carries .gpu/speed.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-/tmp/gpu-speed}"
GPU="${GPU:-.gpu/speed}"
mkdir -p "$OUT"

# --no-deps: the wheels are the whole closure, checked against the image (gpu_prepare.py); no index there.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
  "$GPU"/wheels/*.whl
# hybridbench, hybridcodec, minireplication from the tree
export PYTHONPATH="/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv,noheader

# One run: offline rows at batch 1 and 16 (fp32), then each optimisation alone at batch 1 and 16. Short inputs
# and few rounds keep it under 8 minutes (compiling w2v-BERT 2.0 is the slow part, once per batch size). Not yet
# run on a GPU: if it runs long, drop --opt-batches to 1 first (the page is written only at the end).
time timeout 460 python3 benchmarks/speed_board.py --device cuda --out "$OUT/speed-gpu.md" \
  --threads 8 --seconds 4 --repeats 5 --batch 16 --batch-seconds 4 --stream-seconds 4 \
  --optimisations none,fold-weight-norm,compile,bf16 --opt-batches 1,16 --opt-seconds 2 --opt-repeats 3
