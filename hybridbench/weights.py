"""Known codec checkpoints: where they come from, where they live here, and how they are checked.

Every published checkpoint an adapter can load is a row of `CHECKPOINTS`: its source (hub id or URL), the files
it is made of, and, for each file, its size and sha256 *where a value could be verified from a source readable
while writing this table*. Nothing here is typed in from memory:

- EnCodec's file names carry the first 8 hex digits of their sha256 (torch.hub's convention, checked by the
  encodec package itself), so EnCodec rows pin that prefix.
- For every other file no checksum was verifiable offline, so `sha256` is None. `fetch` then computes the
  sha256 while downloading, compares it with the content hash the server publishes when there is one (the
  Hugging Face Hub sends the sha256 of large files as `X-Linked-Etag`), prints it, and records it next to the
  file (`FILE.sha256`); every later load checks the file against that record, so a corrupted or swapped file is
  refused. A file the user copied in by hand without a record is hashed on first use and recorded then.

Loading a codec whose files are missing from the cache downloads them the same way when the source is
reachable (as the packages do on first use); offline (or with HYBRIDBENCH_OFFLINE=1) it fails at once with the
`hybridbench weights fetch` command and the files to copy in by hand.

Layout: `$HYBRIDBENCH_CACHE/weights/<folder>/<file>` (default `~/.cache/hybridbench/weights/...`). `--weights PATH`
overrides the cache for a codec's main checkpoint; a user's own (fine-tuned) file is not compared with the table,
but its sha256 is still computed and stored with every run.

Loading never unpickles arbitrary objects: `load_state_dict` reads safetensors, or uses
`torch.load(weights_only=True)` for the `.pt`/`.pth`/`.th`/`.bin` files some packages publish.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import torch

from hybridbench.errors import HybridbenchError, WeightsNotFoundError
from hybridbench.hashing import sha256_file
from hybridbench.paths import cache_dir

HF = "https://huggingface.co"


@dataclass(frozen=True)
class WeightFile:
    """One file of a checkpoint.

    `filename` is the path inside the checkpoint folder (and inside the hub repository). `size` and `sha256` are
    None where they could not be verified; `sha256_prefix` holds a verified leading part of the sha256.
    """

    filename: str
    url: str
    size: int | None = None
    sha256: str | None = None
    sha256_prefix: str | None = None


@dataclass(frozen=True)
class Checkpoint:
    """A published checkpoint: one folder of files in the cache."""

    name: str
    source: str  # hub id or web page the files come from
    folder: str  # sub-folder of the weights cache
    files: tuple[WeightFile, ...]
    license: str
    note: str = ""

    @property
    def main(self) -> WeightFile:
        """The file whose checksum identifies the checkpoint in run provenance (the largest, listed first)."""
        return self.files[0]


def _hf(repo: str, *filenames: str) -> tuple[WeightFile, ...]:
    return tuple(WeightFile(f, f"{HF}/{repo}/resolve/main/{f}") for f in filenames)


_DAC_RELEASES = "https://github.com/descriptinc/descript-audio-codec/releases/download"
_UNKNOWN_LICENSE = "not stated in the package; see the model card at the source"

# Sources: URLs and file names as the packages themselves download them (dualcodec/README + get_model.py,
# dac/utils/__init__.py, encodec/model.py, transformers' Mimi and X-Codec docs, speechtokenizer's README, snac/snac.py).
CHECKPOINTS: dict[str, Checkpoint] = {
    c.name: c
    for c in (
        Checkpoint(
            "dualcodec-12hz",
            "hf://amphion/dualcodec",
            "amphion--dualcodec",
            _hf(
                "amphion/dualcodec",
                "dualcodec_12hz_16384_4096.safetensors",
                "w2vbert2_mean_var_stats_emilia.pt",
            ),
            _UNKNOWN_LICENSE,
            "also needs w2v-bert-2.0 at inference",
        ),
        Checkpoint(
            "dualcodec-25hz",
            "hf://amphion/dualcodec",
            "amphion--dualcodec",
            _hf(
                "amphion/dualcodec",
                "dualcodec_25hz_16384_1024.safetensors",
                "w2vbert2_mean_var_stats_emilia.pt",
            ),
            _UNKNOWN_LICENSE,
            "also needs w2v-bert-2.0 at inference",
        ),
        Checkpoint(
            "w2v-bert-2.0",
            "hf://facebook/w2v-bert-2.0",
            "facebook--w2v-bert-2.0",
            _hf("facebook/w2v-bert-2.0", "model.safetensors", "config.json", "preprocessor_config.json"),
            "MIT per the facebook/w2v-bert-2.0 model card (not verifiable offline here)",
            "DualCodec's semantic feature extractor (580M parameters)",
        ),
        Checkpoint(
            "dac-16khz",
            f"{_DAC_RELEASES}/0.0.5/weights_16khz.pth",
            "descript--dac",
            (WeightFile("weights_16khz_8kbps_0.0.5.pth", f"{_DAC_RELEASES}/0.0.5/weights_16khz.pth"),),
            "MIT (descript-audio-codec README: weights released under MIT)",
        ),
        Checkpoint(
            "dac-24khz",
            f"{_DAC_RELEASES}/0.0.4/weights_24khz.pth",
            "descript--dac",
            (WeightFile("weights_24khz_8kbps_0.0.4.pth", f"{_DAC_RELEASES}/0.0.4/weights_24khz.pth"),),
            "MIT (descript-audio-codec README: weights released under MIT)",
        ),
        Checkpoint(
            "dac-44khz",
            f"{_DAC_RELEASES}/0.0.1/weights.pth",
            "descript--dac",
            (WeightFile("weights_44khz_8kbps_0.0.1.pth", f"{_DAC_RELEASES}/0.0.1/weights.pth"),),
            "MIT (descript-audio-codec README: weights released under MIT)",
        ),
        Checkpoint(
            "encodec-24khz",
            "https://dl.fbaipublicfiles.com/encodec/v0/encodec_24khz-d7cc33bc.th",
            "facebook--encodec",
            (
                WeightFile(
                    "encodec_24khz-d7cc33bc.th",
                    "https://dl.fbaipublicfiles.com/encodec/v0/encodec_24khz-d7cc33bc.th",
                    sha256_prefix="d7cc33bc",  # from the file name, checked by encodec/torch.hub the same way
                ),
            ),
            "CC-BY-NC-4.0 (encodec package license, covering code and weights)",
        ),
        Checkpoint(
            "mimi",
            "hf://kyutai/mimi",
            "kyutai--mimi",
            _hf("kyutai/mimi", "model.safetensors", "config.json"),
            "CC-BY-4.0 per the kyutai/mimi model card (not verifiable offline here)",
        ),
        Checkpoint(
            "xcodec-hubert-librispeech",
            "hf://hf-audio/xcodec-hubert-librispeech",
            "hf-audio--xcodec-hubert-librispeech",
            _hf("hf-audio/xcodec-hubert-librispeech", "model.safetensors", "config.json"),
            "not stated in transformers; see the model card at the source",
            "the checkpoint transformers' XcodecModel documents",
        ),
        Checkpoint(
            "speechtokenizer",
            "hf://fnlp/SpeechTokenizer",
            "fnlp--SpeechTokenizer",
            _hf(
                "fnlp/SpeechTokenizer",
                "speechtokenizer_hubert_avg/SpeechTokenizer.pt",
                "speechtokenizer_hubert_avg/config.json",
            ),
            "Apache-2.0 (speechtokenizer code license; the hub card is not readable offline)",
        ),
        Checkpoint(
            "snac-24khz",
            "hf://hubertsiuzdak/snac_24khz",
            "hubertsiuzdak--snac_24khz",
            _hf("hubertsiuzdak/snac_24khz", "pytorch_model.bin", "config.json"),
            "MIT (snac package LICENSE; the hub card is not readable offline)",
        ),
        Checkpoint(
            "snac-32khz",
            "hf://hubertsiuzdak/snac_32khz",
            "hubertsiuzdak--snac_32khz",
            _hf("hubertsiuzdak/snac_32khz", "pytorch_model.bin", "config.json"),
            "MIT (snac package LICENSE; the hub card is not readable offline)",
        ),
        Checkpoint(
            "snac-44khz",
            "hf://hubertsiuzdak/snac_44khz",
            "hubertsiuzdak--snac_44khz",
            _hf("hubertsiuzdak/snac_44khz", "pytorch_model.bin", "config.json"),
            "MIT (snac package LICENSE; the hub card is not readable offline)",
        ),
    )
}

# Codec name -> the checkpoints it needs (the first is the codec's own; `--weights` replaces that one).
CODEC_CHECKPOINTS: dict[str, tuple[str, ...]] = {
    "dualcodec-12hz": ("dualcodec-12hz", "w2v-bert-2.0"),
    "dualcodec-25hz": ("dualcodec-25hz", "w2v-bert-2.0"),
    **{
        name: (name,)
        for name in CHECKPOINTS
        if name not in ("dualcodec-12hz", "dualcodec-25hz", "w2v-bert-2.0")
    },
}


# ---- lookup ------------------------------------------------------------------------------------------------
def checkpoints_for(name: str) -> list[Checkpoint]:
    """The checkpoints a codec (or a checkpoint name) stands for."""
    if name in CODEC_CHECKPOINTS:
        return [CHECKPOINTS[c] for c in CODEC_CHECKPOINTS[name]]
    if name in CHECKPOINTS:
        return [CHECKPOINTS[name]]
    import difflib

    known = sorted(set(CODEC_CHECKPOINTS) | set(CHECKPOINTS))
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    suggestion = f"did you mean {', '.join(close)}? " if close else ""
    raise HybridbenchError(f"no known checkpoint for {name!r}", f"{suggestion}known: {', '.join(known)}")


def folder(checkpoint: Checkpoint) -> Path:
    """The cache folder of a checkpoint (not created here: looking must not leave empty folders behind)."""
    return cache_dir("weights") / checkpoint.folder


def _record_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def file_sha256(path: Path) -> str:
    """sha256 of a file, cached in a `.sha256-stat` stamp keyed by size and mtime (hashing 2 GB takes seconds)."""
    stamp = path.with_name(path.name + ".sha256-stat")
    st = path.stat()
    key = f"{st.st_size} {st.st_mtime_ns}"
    try:
        cached_key, digest = stamp.read_text().split("\n")[:2]
        if cached_key == key:
            return digest
    except (OSError, ValueError):
        pass
    digest = sha256_file(path)
    with contextlib.suppress(OSError):  # read-only location: hash again next time
        stamp.write_text(f"{key}\n{digest}\n")
    return digest


def verify(path: Path, wf: WeightFile) -> str:
    """Check a cached file against the table (or the sha256 recorded when it was fetched); return its sha256.

    Raises HybridbenchError and leaves the file untouched when the checksum differs: a wrong file is never loaded.
    """
    digest = file_sha256(path)
    record = _record_path(path)
    expected = wf.sha256
    origin = "hybridbench's checkpoint table"
    if expected is None and record.exists():
        expected = record.read_text().split()[0]
        origin = f"the checksum recorded at download ({record})"
    if expected is not None and digest != expected:
        raise HybridbenchError(
            f"refusing {path}: sha256 {digest} differs from {expected} in {origin}",
            "delete the file and run `hybridbench weights fetch` again, or pass your own file with --weights",
        )
    if wf.sha256_prefix and not digest.startswith(wf.sha256_prefix):
        raise HybridbenchError(
            f"refusing {path}: sha256 {digest} does not start with {wf.sha256_prefix} (published in its file name)",
            "delete the file and run `hybridbench weights fetch` again",
        )
    if expected is None and not record.exists():
        # Trust on first use for a hand-copied file: any later change is caught.
        with contextlib.suppress(OSError):
            record.write_text(f"{digest}  {path.name}\n")
    return digest


def missing_files(checkpoint: Checkpoint, base: Path | None = None) -> list[WeightFile]:
    base = base if base is not None else folder(checkpoint)
    return [wf for wf in checkpoint.files if not (base / wf.filename).is_file()]


def fetch_command(name: str) -> str:
    return f"hybridbench weights fetch {name}"


@dataclass(frozen=True)
class Located:
    """Where a checkpoint was found and the sha256 of its main file (for provenance)."""

    folder: Path
    sha256: str | None
    from_override: bool


def locate(
    checkpoint_name: str, override: str | os.PathLike[str] | None = None, *, codec: str | None = None
) -> Located:
    """Find a checkpoint's files: `override` (a folder, or the main file itself) first, else the verified cache.

    Files missing from the cache are downloaded when the source is reachable (set HYBRIDBENCH_OFFLINE=1 to
    never try). Raises WeightsNotFoundError naming the missing files and the command that fetches them.
    """
    ckpt = CHECKPOINTS[checkpoint_name]
    codec = codec or checkpoint_name
    if override is not None:
        path = Path(override).expanduser()
        if path.is_file():
            if len(ckpt.files) != 1:
                raise WeightsNotFoundError(
                    f"{codec}: --weights {path} is a file, but {checkpoint_name} is a folder of "
                    f"{', '.join(wf.filename for wf in ckpt.files)}",
                    "pass the folder that holds them",
                )
            return Located(path, file_sha256(path), True)
        if not path.is_dir():
            raise WeightsNotFoundError(f"{codec}: --weights {path} does not exist", "check the path")
        missing = missing_files(ckpt, path)
        if missing:
            raise WeightsNotFoundError(
                f"{codec}: {path} lacks {', '.join(wf.filename for wf in missing)}",
                f"put them there, or drop --weights and run `{fetch_command(codec)}`",
            )
        return Located(path, file_sha256(path / ckpt.main.filename), True)
    base = folder(ckpt)
    missing = missing_files(ckpt, base)
    if missing and _reachable(missing[0].url):
        # Online: download now, as the packages themselves do on first use (with a progress bar and checksum).
        fetch(checkpoint_name, out=sys.stderr)
        missing = missing_files(ckpt, base)
    if missing:
        raise WeightsNotFoundError(
            f"{codec}: weights not found in {base} (missing {', '.join(wf.filename for wf in missing)})",
            f"run `{fetch_command(codec)}` or pass --weights PATH",
        )
    digest = None
    for wf in ckpt.files:
        d = verify(base / wf.filename, wf)
        if wf is ckpt.main:
            digest = d
    return Located(base, digest, False)


def main_file(located: Located, checkpoint_name: str) -> Path:
    """The main file of a located checkpoint (`--weights` may have named it directly)."""
    if located.folder.is_file():
        return located.folder
    return located.folder / CHECKPOINTS[checkpoint_name].main.filename


def status_of(codec: str, override: str | None = None) -> tuple[bool, str | None, str, str | None]:
    """(available, location, hint, sha256) for a codec, without loading anything heavy.

    Only presence is checked here (hashing multi-GB files on every `hybridbench codecs` would be slow);
    `locate` verifies checksums when the codec is loaded.
    """
    names = CODEC_CHECKPOINTS.get(codec, (codec,))
    locations = []
    for i, name in enumerate(names):
        ckpt = CHECKPOINTS[name]
        if i == 0 and override is not None:
            path = Path(override).expanduser()
            ok = path.is_file() if len(ckpt.files) == 1 else path.is_dir() and not missing_files(ckpt, path)
            if not ok:
                return False, str(path), f"--weights {path} does not hold {ckpt.name}'s files", None
            locations.append(str(path))
            continue
        base = folder(ckpt)
        if missing_files(ckpt, base):
            return False, str(base), fetch_command(codec), None
        locations.append(str(base))
    return True, ", ".join(locations), "", None


# ---- loading without unpickling ------------------------------------------------------------------------------
def load_state_dict(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """A checkpoint's tensors: safetensors, or torch.load(weights_only=True) (refuses pickled code)."""
    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path), device="cpu")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle.UnpicklingError and friends: the file wants to run code
        raise HybridbenchError(
            f"cannot load {path} safely: {type(exc).__name__}: {str(exc).splitlines()[0]}",
            "hybridbench loads only tensors (torch.load weights_only=True); convert the file to safetensors",
        ) from exc


# ---- download ----------------------------------------------------------------------------------------------
def _offline() -> bool:
    flags = (os.environ.get("HYBRIDBENCH_OFFLINE", ""), os.environ.get("HF_HUB_OFFLINE", ""))
    return any(flag not in ("", "0") for flag in flags)


def _reachable(url: str, timeout: float = 3.0) -> bool:
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "file":
        return True
    if _offline():
        return False
    try:
        with socket.create_connection((parsed.hostname, parsed.port or 443), timeout=timeout):
            return True
    except OSError:
        return False


def _download(wf: WeightFile, dest: Path) -> str:
    """Stream `wf.url` into `dest` with a progress bar; return the sha256 after checking it."""
    from tqdm import tqdm

    tmp = dest.with_name(dest.name + ".part")
    dest.parent.mkdir(parents=True, exist_ok=True)
    request = urllib.request.Request(wf.url, headers={"User-Agent": "hybridbench"})
    h = hashlib.sha256()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            headers = getattr(response, "headers", {}) or {}
            total = int(headers.get("Content-Length") or 0) or wf.size
            # The Hub publishes the sha256 of LFS files as X-Linked-Etag: a server-side check we can use.
            server_sha = (headers.get("X-Linked-Etag") or "").strip('"').lower()
            with (
                open(tmp, "wb") as out,
                tqdm(
                    total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=dest.name, file=sys.stderr
                ) as bar,
            ):
                while block := response.read(1 << 20):
                    out.write(block)
                    h.update(block)
                    bar.update(len(block))
    except (urllib.error.URLError, OSError) as exc:
        tmp.unlink(missing_ok=True)
        raise HybridbenchError(
            f"download of {wf.url} failed: {exc}", "check the connection and retry"
        ) from exc
    digest = h.hexdigest()
    problems = []
    if wf.sha256 and digest != wf.sha256:
        problems.append(f"expected {wf.sha256} (hybridbench's table)")
    if wf.sha256_prefix and not digest.startswith(wf.sha256_prefix):
        problems.append(f"expected a sha256 starting with {wf.sha256_prefix}")
    if len(server_sha) == 64 and digest != server_sha:
        problems.append(f"the server announced {server_sha}")
    if wf.size is not None and tmp.stat().st_size != wf.size:
        problems.append(f"expected {wf.size} bytes, got {tmp.stat().st_size}")
    if problems:
        tmp.unlink(missing_ok=True)
        raise HybridbenchError(
            f"refusing {wf.url}: sha256 {digest}; {'; '.join(problems)}", "retry the fetch"
        )
    tmp.replace(dest)
    _record_path(dest).write_text(f"{digest}  {dest.name}\n")
    return digest


def fetch(name: str, *, out=sys.stdout) -> list[Path]:
    """Download every file `name` (a codec or checkpoint name) needs into the cache; return the folders.

    Files already present are verified, not downloaded again. Offline, fails at once with one line naming the
    files to copy in by hand and where.
    """
    plan: list[tuple[Checkpoint, list[WeightFile]]] = []
    for ckpt in checkpoints_for(name):
        base = folder(ckpt)
        todo = []
        for wf in ckpt.files:
            dest = base / wf.filename
            if dest.is_file():
                digest = verify(dest, wf)
                print(f"{ckpt.name}: {dest} present, sha256 {digest}", file=out)
            else:
                todo.append(wf)
        plan.append((ckpt, todo))
    unreachable = [(c, todo) for c, todo in plan if todo and not _reachable(todo[0].url)]
    if unreachable:
        hosts = sorted({urllib.parse.urlparse(todo[0].url).hostname or "?" for _, todo in unreachable})
        copy = "; ".join(
            f"{', '.join(wf.filename for wf in todo)} (from {c.source}) into {folder(c)}/"
            for c, todo in unreachable
        )
        raise WeightsNotFoundError(
            f"cannot reach {', '.join(hosts)} to download {name}; copy {copy} by hand",
            "then rerun this command to verify them",
        )
    for ckpt, todo in plan:
        for wf in todo:
            dest = folder(ckpt) / wf.filename
            digest = _download(wf, dest)
            pinned = (
                "verified against the table" if wf.sha256 else "not pinned in hybridbench's table; recorded"
            )
            print(f"{ckpt.name}: {dest} sha256 {digest} ({pinned})", file=out)
    return [folder(ckpt) for ckpt, _ in plan]


def describe_locations(name: str, override: str | None = None) -> list[str]:
    """Human-readable lines: for each checkpoint, where it is looked for and which files are present."""
    lines = []
    for i, ckpt in enumerate(checkpoints_for(name)):
        base = Path(override).expanduser() if (override is not None and i == 0) else folder(ckpt)
        lines.append(f"{ckpt.name} ({ckpt.source}, license: {ckpt.license}):")
        for wf in ckpt.files:
            p = base if base.is_file() else base / wf.filename
            state = "present" if p.is_file() else "missing"
            sha = wf.sha256 or (f"{wf.sha256_prefix}..." if wf.sha256_prefix else "recorded at fetch")
            lines.append(f"  {p}  [{state}]  sha256: {sha}")
    return lines
