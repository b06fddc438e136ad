"""Downloading and unpacking dataset archives: a progress bar, a SHA-256 check, and nothing half-written.

An archive is streamed to `NAME.part`, hashed while it streams, and renamed only when its SHA-256 matches the
pinned value, so an interrupted or corrupted download never passes for a good one. Unpacking goes into a
temporary folder beside the target and is renamed into place at the end, for the same reason.
"""

from __future__ import annotations

import hashlib
import shutil
import tarfile
import urllib.request
from pathlib import Path

from hybridbench.errors import HybridbenchError

# Long enough for a slow server, short enough that an offline machine fails at once instead of hanging.
CONNECT_TIMEOUT_S = 15
_CHUNK = 1 << 20


def download(url: str, dest: Path, sha256: str) -> Path:
    """Fetch `url` to `dest` (skipped if `dest` already has the right hash) and verify its SHA-256."""
    from tqdm import tqdm

    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.is_file() and file_sha256(dest) == sha256:
        return dest
    part = dest.with_name(dest.name + ".part")
    try:
        response = urllib.request.urlopen(url, timeout=CONNECT_TIMEOUT_S)
    except OSError as exc:  # URLError and timeouts are OSErrors
        reason = getattr(exc, "reason", exc)
        raise HybridbenchError(
            f"cannot download {url}: {reason}",
            f"check the network (is this machine offline?), or fetch the file elsewhere and put it at {dest}",
        ) from exc
    digest = hashlib.sha256()
    total = int(response.headers.get("Content-Length") or 0) or None
    try:
        with (
            response,
            part.open("wb") as out,
            tqdm(total=total, unit="B", unit_scale=True, desc=dest.name) as bar,
        ):
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                digest.update(chunk)
                bar.update(len(chunk))
    except OSError as exc:
        raise HybridbenchError(f"download of {url} broke off: {exc}", "run the same command again") from exc
    if digest.hexdigest() != sha256:
        part.unlink(missing_ok=True)
        raise HybridbenchError(
            f"checksum mismatch for {url}: got sha256 {digest.hexdigest()}, expected {sha256}",
            "the server sent a different file; report it rather than using the data",
        )
    part.replace(dest)
    return dest


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def extract_tar(archive: Path, target: Path) -> Path:
    """Unpack a .tar.gz into `target` (created; must not exist yet), refusing paths that leave the folder."""
    if target.exists():
        raise HybridbenchError(f"{target} already exists", "remove it to unpack again")
    tmp = target.with_name(target.name + ".unpacking")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        with tarfile.open(archive, "r:*") as tar:
            # The "data" filter rejects absolute paths, `..`, links out of the tree and device files.
            tar.extractall(tmp, filter="data")
    except (tarfile.TarError, OSError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise HybridbenchError(f"cannot unpack {archive}: {exc}", "delete it and download again") from exc
    tmp.replace(target)
    return target
