#!/usr/bin/env bash
# The harness stages on a lent GPU (an H200): where a run's time goes with the codecs and the ASR on cuda and the
# signal metrics in CPU workers, and whether cuda gives the CPU's rows. Under 8 minutes.
#
#   python benchmarks/gpu_prepare.py harness     # here, once: fills .gpu/harness (wheels, tokenizer, 8 utterances)
#   bash benchmarks/gpu_harness.sh               # there, from the repository root, carrying .gpu/harness
#
# Writes $OUT/harness-gpu.md and .json: benchmarks/harness_stages.py with --device cuda (workers 0 and 8) and
# --compare-device cpu. The codecs are the shipped minis (dac-mini, hybridcodec-mini); the ASR is a random-weight
# Whisper (benchmarks/tiny_whisper.py) on the transformers engine, so its transcripts are noise and its cost is
# not large-v3's: the stage table measures the harness around the models, and the projection keeps its stated
# large-v3 figure. The device tool carries at most 64 MiB with the working tree: gpu_prepare.py checks the
# tracked files plus .gpu/harness (shipped checkpoints count).
#
# A CPU dry run here (the same run, the wheels not installed, one item):
#   DEVICE=cpu WHEELS=0 WORKERS=0,1 LIMIT=1 THREADS=1 PYTHON=.venv/bin/python bash benchmarks/gpu_harness.sh
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-/tmp/gpu-harness}"
DEVICE="${DEVICE:-cuda}"
COMPARE="${COMPARE:-cpu}"
WORKERS="${WORKERS:-0,8}"
LIMIT="${LIMIT:-8}"
THREADS="${THREADS:-8}"
GPU="${GPU:-.gpu/harness}"
mkdir -p "$OUT"

if [ "${WHEELS:-1}" = 1 ]; then
  # --no-deps: the wheels are the whole closure, checked against the image (gpu_prepare.py); no index there.
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
    "$GPU"/wheels/*.whl
  python3 -m pip install -q --no-index --no-deps --target /tmp/build "$GPU"/build/*.whl
  # Packages with C code published only as sources (pesq), compiled here against this Python (numpy, cython).
  for sdist in "$GPU"/wheels/*.tar.gz; do
    [ -e "$sdist" ] && PYTHONPATH=/tmp/build python3 -m pip install -q --no-index --no-deps \
      --no-build-isolation --target /tmp/site "$sdist"
  done
  # hybridbench from this tree, with its entry points (the registries read them), built by that setuptools.
  PYTHONPATH=/tmp/build python3 -m pip install -q --no-index --no-deps --no-build-isolation --target /tmp/site .
  export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
  nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv,noheader
fi
PYTHON="${PYTHON:-python3}"
export HYBRIDBENCH_CACHE="${HYBRIDBENCH_CACHE:-/tmp/hybridbench-cache}"

"$PYTHON" benchmarks/tiny_whisper.py --tokenizer "$GPU"/tokenizer.json --out /tmp/tiny-whisper-hf >/dev/null
time timeout 420 "$PYTHON" benchmarks/harness_stages.py --device "$DEVICE" --compare-device "$COMPARE" \
  --suite librispeech-test-clean --data-root "$GPU"/data --limit "$LIMIT" --codecs dac-mini,hybridcodec-mini \
  --asr-model /tmp/tiny-whisper-hf --metrics pesq-wb,stoi --workers "$WORKERS" --threads "$THREADS" \
  --out "$OUT/harness-gpu.md"
