"""Known codec checkpoints: where they come from, where they live here, and how they are checked.

Every published checkpoint an adapter can load is a row of `CHECKPOINTS`: its source (a Hugging Face Hub
repository at a `revision`, or a URL), the files it is made of, and, for each file, its size and sha256 *where a
value could be verified from a source readable while writing this table*. Nothing here is typed in from memory:

- EnCodec's file names carry the first 8 hex digits of their sha256 (torch.hub's convention, checked by the
  encodec package itself), so EnCodec rows pin that prefix.
- For every other file no checksum was verifiable offline, so `sha256` is None, and no hub commit hash could be
  verified either, so hub rows name the revision "main" (replace it with a commit hash to pin one). The sha256
  is then recorded at first use (download or hand copy) and every later load checks the file against that
  record, so a corrupted or swapped file is refused. Files in the Hugging Face cache are also checked against
  the sha256 the Hub published for them (their blob's name, for the large files the Hub stores in LFS).

Where files live, searched in this order (`--weights PATH` overrides all of it for a codec's main checkpoint):

1. `$HYBRIDBENCH_CACHE/weights/<folder>/<file>` (default `~/.cache/hybridbench/weights/...`): files copied in by
   hand, weights fetched by earlier hybridbench versions, and the files that are not on the Hub (DAC's GitHub
   release assets, EnCodec), which `hybridbench.download` fetches here. A checkpoint is used from here when all
   of its files are here.
2. Hub checkpoints: the standard Hugging Face cache (`HF_HUB_CACHE`, default `$HF_HOME/hub` or
   `~/.cache/huggingface/hub`), shared with transformers and every other tool, filled by
   `huggingface_hub.hf_hub_download` (resumable). All files of a checkpoint come from one commit, so they sit in
   one snapshot folder. Their sha256 records live in `$HYBRIDBENCH_CACHE/weights/hf-hub-records/`, leaving the
   shared cache exactly as huggingface_hub wrote it.

Loading a codec whose files are missing downloads them when the source is reachable (as the packages do on
first use); offline (HF_HUB_OFFLINE=1 or HYBRIDBENCH_OFFLINE=1, or no connection) it fails at once with the
`hybridbench weights fetch` command and the files to copy in by hand. A user's own (`--weights`) file is not
compared with the table, but its sha256 is still computed and stored with every run.

Loading never unpickles arbitrary objects: `load_state_dict` reads safetensors, or uses
`torch.load(weights_only=True)` for the `.pt`/`.pth`/`.th`/`.bin` files some packages publish.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import sys
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import torch

from hybridbench.download import download
from hybridbench.errors import HybridbenchError, WeightsNotFoundError
from hybridbench.hashing import sha256_file
from hybridbench.paths import cache_dir

HF = "https://huggingface.co"
_OFFLINE_FLAGS = ("HYBRIDBENCH_OFFLINE", "HF_HUB_OFFLINE")


@dataclass(frozen=True)
class WeightFile:
    """One file of a checkpoint.

    `filename` is the path inside the checkpoint folder (and inside the hub repository); `url` is where it can be
    downloaded by hand. `size` and `sha256` are None where they could not be verified; `sha256_prefix` holds a
    verified leading part of the sha256.
    """

    filename: str
    url: str
    size: int | None = None
    sha256: str | None = None
    sha256_prefix: str | None = None


@dataclass(frozen=True)
class Checkpoint:
    """A published checkpoint: one folder of files."""

    name: str
    source: str  # hf://<repo id>, or the web address the files come from
    folder: str  # sub-folder of hybridbench's weights cache
    files: tuple[WeightFile, ...]
    license: str
    note: str = ""
    revision: str | None = None  # hub checkpoints: the branch, tag or commit hash the files are taken from

    @property
    def main(self) -> WeightFile:
        """The file whose checksum identifies the checkpoint in run provenance (the largest, listed first)."""
        return self.files[0]

    @property
    def repo(self) -> str | None:
        """The Hugging Face Hub repository id, or None for a checkpoint hosted elsewhere."""
        return self.source.removeprefix("hf://") if self.source.startswith("hf://") else None

    @property
    def origin(self) -> str:
        """The source with its revision, as shown to users."""
        return f"{self.source}@{self.revision}" if self.repo else self.source


def _hub(
    name: str, repo: str, filenames: tuple[str, ...], license: str, note: str = "", revision: str = "main"
) -> Checkpoint:
    files = tuple(WeightFile(f, f"{HF}/{repo}/resolve/{revision}/{f}") for f in filenames)
    return Checkpoint(name, f"hf://{repo}", repo.replace("/", "--"), files, license, note, revision)


_DAC_RELEASES = "https://github.com/descriptinc/descript-audio-codec/releases/download"
_UNKNOWN_LICENSE = "not stated in the package; see the model card at the source"


def _dac(name: str, release: str, asset: str, filename: str) -> Checkpoint:
    url = f"{_DAC_RELEASES}/{release}/{asset}"
    return Checkpoint(
        name,
        url,
        "descript--dac",
        (WeightFile(filename, url),),
        "MIT (descript-audio-codec README: weights released under MIT)",
    )


_ENCODEC_URL = "https://dl.fbaipublicfiles.com/encodec/v0/encodec_24khz-d7cc33bc.th"

# Sources: URLs and file names as the packages themselves download them (dualcodec/README + get_model.py,
# dac/utils/__init__.py, encodec/model.py, transformers' Mimi and X-Codec docs, speechtokenizer's README, snac/snac.py).
CHECKPOINTS: dict[str, Checkpoint] = {
    c.name: c
    for c in (
        _hub(
            "dualcodec-12hz",
            "amphion/dualcodec",
            ("dualcodec_12hz_16384_4096.safetensors", "w2vbert2_mean_var_stats_emilia.pt"),
            _UNKNOWN_LICENSE,
            "also needs w2v-bert-2.0 at inference",
        ),
        _hub(
            "dualcodec-25hz",
            "amphion/dualcodec",
            ("dualcodec_25hz_16384_1024.safetensors", "w2vbert2_mean_var_stats_emilia.pt"),
            _UNKNOWN_LICENSE,
            "also needs w2v-bert-2.0 at inference",
        ),
        _hub(
            "w2v-bert-2.0",
            "facebook/w2v-bert-2.0",
            ("model.safetensors", "config.json", "preprocessor_config.json"),
            "MIT per the facebook/w2v-bert-2.0 model card (not verifiable offline here)",
            "DualCodec's semantic feature extractor (580M parameters)",
        ),
        _dac("dac-16khz", "0.0.5", "weights_16khz.pth", "weights_16khz_8kbps_0.0.5.pth"),
        _dac("dac-24khz", "0.0.4", "weights_24khz.pth", "weights_24khz_8kbps_0.0.4.pth"),
        _dac("dac-44khz", "0.0.1", "weights.pth", "weights_44khz_8kbps_0.0.1.pth"),
        Checkpoint(
            "encodec-24khz",
            _ENCODEC_URL,
            "facebook--encodec",
            (
                WeightFile(
                    "encodec_24khz-d7cc33bc.th",
                    _ENCODEC_URL,
                    sha256_prefix="d7cc33bc",  # from the file name, checked by encodec/torch.hub the same way
                ),
            ),
            "CC-BY-NC-4.0 (encodec package license, covering code and weights)",
        ),
        _hub(
            "mimi",
            "kyutai/mimi",
            ("model.safetensors", "config.json"),
            "CC-BY-4.0 per the kyutai/mimi model card (not verifiable offline here)",
        ),
        _hub(
            "xcodec-hubert-librispeech",
            "hf-audio/xcodec-hubert-librispeech",
            ("model.safetensors", "config.json"),
            "not stated in transformers; see the model card at the source",
            "the checkpoint transformers' XcodecModel documents",
        ),
        _hub(
            "speechtokenizer",
            "fnlp/SpeechTokenizer",
            ("speechtokenizer_hubert_avg/SpeechTokenizer.pt", "speechtokenizer_hubert_avg/config.json"),
            "Apache-2.0 (speechtokenizer code license; the hub card is not readable offline)",
        ),
        *(
            _hub(
                f"snac-{rate}",
                f"hubertsiuzdak/snac_{rate}",
                ("pytorch_model.bin", "config.json"),
                "MIT (snac package LICENSE; the hub card is not readable offline)",
            )
            for rate in ("24khz", "32khz", "44khz")
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
    """A checkpoint's folder in hybridbench's own cache: hand-copied files, older fetches, non-hub downloads.

    Not created here: looking must not leave empty folders behind.
    """
    return cache_dir("weights") / checkpoint.folder


def hub_cache() -> Path:
    """The Hugging Face cache (HF_HUB_CACHE / HF_HOME, as huggingface_hub resolved them)."""
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def _snapshot_of(path: Path, filename: str) -> Path:
    """The snapshot folder of a file huggingface_hub returned (`filename` may contain sub-folders)."""
    return path.parents[len(Path(filename).parts) - 1]


def hub_folder(checkpoint: Checkpoint) -> Path | None:
    """The Hugging Face cache snapshot holding all of a hub checkpoint's files at its revision; no network."""
    if checkpoint.repo is None:
        return None
    import huggingface_hub

    cached = huggingface_hub.try_to_load_from_cache(
        checkpoint.repo, checkpoint.main.filename, cache_dir=hub_cache(), revision=checkpoint.revision
    )
    if not isinstance(cached, str):  # None (not cached) or the marker for "known not to exist"
        return None
    snapshot = _snapshot_of(Path(cached), checkpoint.main.filename)
    return None if missing_files(checkpoint, snapshot) else snapshot


def present_folder(checkpoint: Checkpoint) -> Path | None:
    """Where all of a checkpoint's files are (hybridbench's cache first, then the hub cache), or None."""
    legacy = folder(checkpoint)
    if not missing_files(checkpoint, legacy):
        return legacy
    return hub_folder(checkpoint)


def missing_files(checkpoint: Checkpoint, base: Path | None = None) -> list[WeightFile]:
    """The files of a checkpoint absent from `base` (default: its folder in hybridbench's cache)."""
    base = base if base is not None else folder(checkpoint)
    return [wf for wf in checkpoint.files if not (base / wf.filename).is_file()]


def fetch_command(name: str) -> str:
    return f"hybridbench weights fetch {name}"


# ---- checksums ---------------------------------------------------------------------------------------------
def _sidecar(path: Path, suffix: str) -> Path:
    """Where hybridbench keeps its notes about a file: next to it, except for files in the Hugging Face cache.

    That cache is shared with other tools and pruned by `hf cache`, so it holds only what huggingface_hub wrote;
    its files' notes mirror its layout (repository, commit, file) under hybridbench's cache instead.
    """
    hub = hub_cache()
    if path.is_relative_to(hub):
        rel = path.relative_to(hub)
        return cache_dir("weights") / "hf-hub-records" / rel.parent / (rel.name + suffix)
    return path.with_name(path.name + suffix)


def _record_path(path: Path) -> Path:
    return _sidecar(path, ".sha256")


def _write_quietly(path: Path, text: str) -> None:
    # A read-only location only costs a re-hash (stamp) or a later first-use record; it must not stop a load.
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _stat_key(path: Path) -> str:
    st = path.stat()
    return f"{st.st_size} {st.st_mtime_ns}"


def file_sha256(path: Path) -> str:
    """sha256 of a file, cached in a `.sha256-stat` stamp keyed by size and mtime (hashing 2 GB takes seconds)."""
    stamp = _sidecar(path, ".sha256-stat")
    key = _stat_key(path)
    try:
        cached_key, digest = stamp.read_text().split("\n")[:2]
        if cached_key == key:
            return digest
    except (OSError, ValueError):
        pass
    digest = sha256_file(path)
    _write_quietly(stamp, f"{key}\n{digest}\n")
    return digest


def _remember(path: Path, digest: str) -> None:
    """Record a file's sha256 (checked on every later load) and stamp it so the next load need not re-hash."""
    _write_quietly(_record_path(path), f"{digest}  {path.name}\n")
    _write_quietly(_sidecar(path, ".sha256-stat"), f"{_stat_key(path)}\n{digest}\n")


def _hub_published_sha256(path: Path) -> str | None:
    """The sha256 the Hub published for a cached file, when it is known offline.

    In the HF cache a snapshot file links to a blob named by the file's etag, and the etag of an LFS file (every
    large checkpoint) is its sha256; small git files are named by a 40-digit git hash and not checked here.
    """
    if not path.is_symlink() or not path.is_relative_to(hub_cache()):
        return None
    name = path.resolve().name
    return name if re.fullmatch(r"[0-9a-f]{64}", name) else None


def _expectations(path: Path, wf: WeightFile) -> list[tuple[str, str]]:
    """(expected sha256 or prefix, where it comes from) for a file, strongest source first."""
    expected = []
    record = _record_path(path)
    if wf.sha256 is not None:
        expected.append((wf.sha256, "hybridbench's checkpoint table"))
    elif record.is_file():
        expected.append((record.read_text().split()[0], f"the checksum recorded at first use ({record})"))
    if wf.sha256_prefix:
        expected.append((wf.sha256_prefix, "published in its file name"))
    if published := _hub_published_sha256(path):
        expected.append((published, "the sha256 the Hugging Face Hub published for it"))
    return expected


def verify(path: Path, wf: WeightFile) -> str:
    """Check a file against the table, its recorded sha256 and the Hub's; return its sha256.

    Raises HybridbenchError and leaves the file untouched when a checksum differs: a wrong file is never loaded.
    A file without any expectation yet (hand-copied, or just downloaded) is recorded now, so any later change is
    caught.
    """
    digest = file_sha256(path)
    for expected, origin in _expectations(path, wf):
        if not digest.startswith(expected):
            verb = "differs from" if len(expected) == len(digest) else "does not start with"
            raise HybridbenchError(
                f"refusing {path}: sha256 {digest} {verb} {expected} ({origin})",
                f"delete {path.resolve()} and run `hybridbench weights fetch` again, "
                "or pass your own file with --weights",
            )
    if wf.sha256 is None and not _record_path(path).is_file():
        _remember(path, digest)
    return digest


# ---- locating ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Located:
    """Where a checkpoint was found and the sha256 of its main file (for provenance)."""

    folder: Path
    sha256: str | None
    from_override: bool


def _locate_override(ckpt: Checkpoint, path: Path, codec: str) -> Located:
    if path.is_file():
        if len(ckpt.files) != 1:
            raise WeightsNotFoundError(
                f"{codec}: --weights {path} is a file, but {ckpt.name} is a folder of "
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


def _not_found(ckpt: Checkpoint, codec: str) -> WeightsNotFoundError:
    base = folder(ckpt)
    where = f"{base} or the Hugging Face cache {hub_cache()}" if ckpt.repo else str(base)
    return WeightsNotFoundError(
        f"{codec}: weights not found in {where} (missing {', '.join(wf.filename for wf in missing_files(ckpt))})",
        f"run `{fetch_command(codec)}` or pass --weights PATH",
    )


def locate(
    checkpoint_name: str, override: str | os.PathLike[str] | None = None, *, codec: str | None = None
) -> Located:
    """Find a checkpoint's files: `override` (a folder, or the main file itself) first, else the verified caches.

    Files missing from the caches are downloaded when the source is reachable (set HYBRIDBENCH_OFFLINE=1 or
    HF_HUB_OFFLINE=1 to never try). Raises WeightsNotFoundError naming the missing files and the command that
    fetches them.
    """
    ckpt = CHECKPOINTS[checkpoint_name]
    codec = codec or checkpoint_name
    if override is not None:
        return _locate_override(ckpt, Path(override).expanduser(), codec)
    base = present_folder(ckpt)
    if base is None and _reachable(_source_url(ckpt)):
        # Online: download now, as the packages themselves do on first use (with a progress bar and checksum).
        fetch(checkpoint_name, out=sys.stderr)
        base = present_folder(ckpt)
    if base is None:
        raise _not_found(ckpt, codec)
    digests = [verify(base / wf.filename, wf) for wf in ckpt.files]
    return Located(base, digests[0], False)


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
        base = present_folder(ckpt)
        if base is None:
            return False, str(folder(ckpt)), fetch_command(codec), None
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
def _offline_flag() -> str | None:
    """The environment variable that forbids network access, if one is set."""
    for flag in _OFFLINE_FLAGS:
        if os.environ.get(flag, "").strip().lower() not in ("", "0", "false", "no", "off"):
            return flag
    return None


def _source_url(ckpt: Checkpoint) -> str:
    if ckpt.repo is None:
        return ckpt.main.url
    from huggingface_hub import constants

    return constants.ENDPOINT  # HF_ENDPOINT, so a mirror is probed rather than huggingface.co


def _reachable(url: str, timeout: float = 3.0) -> bool:
    """Whether a download from `url` can start: a quick connect, so being offline fails at once, not after retries."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "file":
        return True
    if _offline_flag():
        return False
    try:
        with socket.create_connection((parsed.hostname, parsed.port or 443), timeout=timeout):
            return True
    except OSError:
        return False


def _pin_note(wf: WeightFile) -> str:
    return "verified against the table" if wf.sha256 else "not pinned in hybridbench's table; recorded"


def _first_line(exc: Exception) -> str:
    # huggingface_hub's errors span several lines; the CLI prints one.
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def _fetch_hub(ckpt: Checkpoint, out) -> Path:
    """Download a hub checkpoint into the Hugging Face cache (files already there are not downloaded again)."""
    import huggingface_hub

    revision = ckpt.revision
    snapshot = None
    for wf in ckpt.files:
        try:
            path = Path(
                huggingface_hub.hf_hub_download(
                    ckpt.repo, wf.filename, revision=revision, cache_dir=hub_cache()
                )
            )
        except (OSError, ValueError) as exc:  # HTTP, connection and "not found" errors are all OSErrors
            raise HybridbenchError(
                f"download of {wf.filename} from {ckpt.source}@{revision} failed: {_first_line(exc)}",
                "check the connection and the revision, then retry",
            ) from exc
        snapshot = _snapshot_of(path, wf.filename)
        # The remaining files come from the same commit, even if the branch moves meanwhile: one snapshot folder.
        revision = snapshot.name
        print(
            f"{ckpt.name}: {path} sha256 {verify(path, wf)} ({ckpt.source}@{revision}; {_pin_note(wf)})",
            file=out,
        )
    return snapshot


def _fetch_direct(ckpt: Checkpoint, out) -> Path:
    """Download the missing files of a checkpoint hosted elsewhere into hybridbench's cache."""
    base = folder(ckpt)
    for wf in ckpt.files:
        dest = base / wf.filename
        if dest.is_file():
            print(f"{ckpt.name}: {dest} present, sha256 {verify(dest, wf)}", file=out)
            continue
        digest = download(wf.url, dest, sha256=wf.sha256, sha256_prefix=wf.sha256_prefix, size=wf.size)
        _remember(dest, digest)
        print(f"{ckpt.name}: {dest} sha256 {digest} ({_pin_note(wf)})", file=out)
    return base


def _verified_present(ckpt: Checkpoint, out) -> Path | None:
    base = present_folder(ckpt)
    if base is not None:
        for wf in ckpt.files:
            dest = base / wf.filename
            print(f"{ckpt.name}: {dest} present, sha256 {verify(dest, wf)}", file=out)
    return base


def _unreachable(name: str, blocked: list[Checkpoint]) -> WeightsNotFoundError:
    hosts = sorted({urllib.parse.urlparse(_source_url(c)).hostname or "?" for c in blocked})
    flag = _offline_flag()
    reason = f" ({flag} is set)" if flag else ""
    copy = "; ".join(
        f"{', '.join(wf.filename for wf in missing_files(c))} (from {c.origin}) into {folder(c)}/"
        for c in blocked
    )
    return WeightsNotFoundError(
        f"cannot reach {', '.join(hosts)}{reason} to download {name}; copy {copy} by hand",
        "then rerun this command to verify them",
    )


def fetch(name: str, *, out=sys.stdout) -> list[Path]:
    """Download every file `name` (a codec or checkpoint name) needs; return the folder of each checkpoint.

    Files already present are verified, not downloaded again. Offline, fails at once with one line naming the
    files to copy in by hand and where.
    """
    checkpoints = checkpoints_for(name)
    present = {c.name: _verified_present(c, out) for c in checkpoints}
    blocked = [c for c in checkpoints if present[c.name] is None and not _reachable(_source_url(c))]
    if blocked:
        raise _unreachable(name, blocked)
    return [present[c.name] or (_fetch_hub(c, out) if c.repo else _fetch_direct(c, out)) for c in checkpoints]


def describe_locations(name: str, override: str | None = None) -> list[str]:
    """Human-readable lines: for each checkpoint, where it is looked for and which files are present."""
    lines = []
    for i, ckpt in enumerate(checkpoints_for(name)):
        overridden = override is not None and i == 0
        base = Path(override).expanduser() if overridden else folder(ckpt)
        lines.append(f"{ckpt.name} ({ckpt.origin}, license: {ckpt.license}):")
        for wf in ckpt.files:
            p = base if base.is_file() else base / wf.filename
            state = "present" if p.is_file() else "missing"
            sha = wf.sha256 or (f"{wf.sha256_prefix}..." if wf.sha256_prefix else "recorded at first use")
            lines.append(f"  {p}  [{state}]  sha256: {sha}")
        if ckpt.repo and not overridden:
            snapshot = hub_folder(ckpt)
            state = f"present in {snapshot}" if snapshot else "missing"
            lines.append(
                f"  or the Hugging Face cache {hub_cache()} ({ckpt.repo}@{ckpt.revision})  [{state}]"
            )
    return lines
