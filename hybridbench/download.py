"""The one verified download for files that are not on the Hugging Face Hub (DAC's GitHub release assets, EnCodec).

Hub files go through huggingface_hub (see hybridbench.weights); everything else comes through `download`: the
body is streamed into a temporary file next to the destination and hashed while it is written, checked, and
only then renamed into place, so a partial or wrong file never appears under the destination's name.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import BinaryIO

from hybridbench.errors import HybridbenchError


def download(
    url: str,
    dest: Path,
    *,
    sha256: str | None = None,
    sha256_prefix: str | None = None,
    size: int | None = None,
) -> str:
    """Download `url` to `dest` atomically and return its sha256.

    `sha256`, `sha256_prefix` and `size` are checked when given; on any mismatch or transfer error a one-line
    HybridbenchError is raised and nothing is left behind.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            digest, written = _stream(url, out, label=dest.name)
        problems = _mismatches(digest, written, sha256=sha256, sha256_prefix=sha256_prefix, size=size)
        if problems:
            raise HybridbenchError(
                f"refusing {url}: sha256 {digest}; {'; '.join(problems)}",
                "retry; if it happens again the file at the source is not the one hybridbench expects",
            )
        os.replace(tmp, dest)  # same folder, so the rename is atomic
    finally:
        tmp.unlink(missing_ok=True)
    return digest


def _stream(url: str, out: BinaryIO, *, label: str) -> tuple[str, int]:
    """Copy the body of `url` into `out` with a progress bar; return (sha256, bytes written)."""
    from tqdm import tqdm

    request = urllib.request.Request(url, headers={"User-Agent": "hybridbench"})
    h = hashlib.sha256()
    written = 0
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(
                total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=label, file=sys.stderr
            ) as bar:
                while block := response.read(1 << 20):
                    out.write(block)
                    h.update(block)
                    written += len(block)
                    bar.update(len(block))
    except OSError as exc:  # urllib.error.URLError and socket timeouts are OSErrors too
        raise HybridbenchError(f"download of {url} failed: {exc}", "check the connection and retry") from exc
    return h.hexdigest(), written


def _mismatches(
    digest: str, written: int, *, sha256: str | None, sha256_prefix: str | None, size: int | None
) -> list[str]:
    problems = []
    if sha256 is not None and digest != sha256:
        problems.append(f"expected {sha256}")
    if sha256_prefix is not None and not digest.startswith(sha256_prefix):
        problems.append(f"expected a sha256 starting with {sha256_prefix}")
    if size is not None and written != size:
        problems.append(f"expected {size} bytes, got {written}")
    return problems
