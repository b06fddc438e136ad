#!/usr/bin/env bash
# leaderboards/speed.md's numbers on a lent GPU (an H200): every optimisation (none, fold-weight-norm, compile,
# bf16 autocast) alone against fp32 none, at batch 1 and batch 16, beside the usual offline rows. Under 8 minutes.
#
#   bash benchmarks/gpu_speed.sh          # on the GPU machine, from the repository root; writes $OUT/speed-gpu.md
#
# The GPU machine has torch, torchaudio, transformers, numpy, scipy and pandas but none of the codec packages.
# What `minireplication.paper_speed` imports beyond those (found by diffing sys.modules after importing it and
# the three models; dualcodec's __init__ pulls in cached_path and its cloud clients) must travel as wheels.
# Here, once (match the GPU machine's Python: add --python-version 3.X --only-binary=:all: if it differs):
#
#   pip download --no-deps -d shared/wheels dualcodec==0.4.2 descript-audio-codec==1.0.0 \
#     descript-audiotools==0.7.2 hydra-core==1.3.8 omegaconf==2.3.1 antlr4-python3-runtime==4.9.3 \
#     argbind==0.3.9 docstring_parser==0.18.0 easydict==1.14 einops==0.8.2 ffmpy==1.0.0 flatten-dict==0.5.0 \
#     julius==0.2.8 randomname==0.2.1 soundfile==0.14.0 soxr==1.1.0 importlib_resources==7.1.0 \
#     cached_path==1.8.10 boto3==1.44.8 botocore==1.44.8 s3transfer==0.19.3 jmespath==1.1.0 \
#     google-cloud-storage==3.17.1 google-cloud-core==2.8.0 google-api-core==2.29.0 google-auth==2.63.0 \
#     google-resumable-media==2.11.0 googleapis-common-protos==1.63.1 protobuf==3.19.6 grpcio==1.85.3 \
#     rich==13.9.4 markdown-it-py==4.3.0 mdurl==0.1.2 tensorboard==2.20.0 absl-py==2.5.1 accelerate==1.16.0 \
#     psutil==7.2.2 pillow==13.0.0 cffi==2.1.1 pycparser==3.12 cryptography==50.0.2
#
# (shared/ travels with the working tree; or carry the folder.) There, this script installs them offline.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-/tmp/gpu-speed}"
WHEELS="${WHEELS:-shared/wheels}"
mkdir -p "$OUT"

# --no-deps: the list above is the whole closure, so pip must not try to resolve (there is no index there).
python -m pip install --quiet --no-index --no-deps "$WHEELS"/*.whl
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # hybridbench, hybridcodec, minireplication from the tree
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv,noheader

# One run: offline rows at batch 1 and 16 (fp32), then each optimisation alone at batch 1 and 16. Short inputs
# and few rounds keep it under 8 minutes (compiling w2v-BERT 2.0 is the slow part, once per batch size). Not yet
# run on a GPU: if it runs long, drop --opt-batches to 1 first (the page is written only at the end).
time timeout 460 python benchmarks/speed_board.py --device cuda --out "$OUT/speed-gpu.md" \
  --threads 8 --seconds 4 --repeats 5 --batch 16 --batch-seconds 4 --stream-seconds 4 \
  --optimisations none,fold-weight-norm,compile,bf16 --opt-batches 1,16 --opt-seconds 2 --opt-repeats 3
