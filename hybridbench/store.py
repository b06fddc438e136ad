"""The results store: one SQLite file per run folder, one row per (codec, suite, item, depth).

Each row is written and committed as soon as it exists, so an interrupted run loses at most the item in
flight, and rerunning the same command skips every key already stored. The key hashes every input that
changes the result (see `runner.row_key`). Failures are stored too, with their reason, and are not retried
unless asked (`--retry-failed`), so a rerun reproduces the same table.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import tempfile
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hybridbench.errors import HybridbenchError

SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    key TEXT PRIMARY KEY,
    codec TEXT NOT NULL,
    suite TEXT NOT NULL,
    item_id TEXT NOT NULL,
    depth INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    error TEXT,
    payload TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS results_by_codec ON results (suite, codec, depth);
CREATE TABLE IF NOT EXISTS invocations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started REAL NOT NULL,
    config TEXT NOT NULL,
    provenance TEXT NOT NULL,
    computed INTEGER,
    reused INTEGER
);
CREATE TABLE IF NOT EXISTS codes (
    codec TEXT NOT NULL,
    suite TEXT NOT NULL,
    item_id TEXT NOT NULL,
    weights TEXT NOT NULL,
    shape TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (codec, suite, item_id)
);
"""


# The columns each table must have, in order (an INSERT writes them by position): a store with other columns is
# another program's file or another schema, and writing into it would fail halfway or corrupt it.
COLUMNS = {
    "results": ("key", "codec", "suite", "item_id", "depth", "status", "error", "payload", "created"),
    "invocations": ("id", "started", "config", "provenance", "computed", "reused"),
}
# Tables a store made before they existed lacks: created on open, checked only when present.
OPTIONAL_COLUMNS = {
    "codes": ("codec", "suite", "item_id", "weights", "shape", "data"),
}
_DAMAGED_HINT = "move it aside or delete it to start a new store, or pass another --out"


def check_run_folder(folder: Path) -> None:
    """Refuse, with one line, an `--out` that cannot hold a run: a file, a path under a file, a folder (or the
    nearest existing folder above it) that this process cannot write. Nothing is created here, so --dry-run
    can check too; the run creates the folder when it writes its first file."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise HybridbenchError(f"--out {folder} is a file, not a folder", "pass a folder path to --out")
    existing = folder
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        raise HybridbenchError(
            f"--out {folder} is under {existing}, which is a file", "pass a folder path to --out"
        )
    # os.access says yes to root on a read-only mount, so try: create and remove a file where the run will write.
    try:
        with tempfile.TemporaryFile(dir=existing, prefix=".hybridbench-write-check-"):
            pass
    except OSError as exc:
        raise HybridbenchError(
            f"--out {folder}: cannot write in {existing} ({exc.strerror or exc})",
            "pass a folder you can write to with --out",
        ) from None


LOCK_NAME = "run.lock"


@contextlib.contextmanager
def run_lock(folder: Path) -> Iterator[Path]:
    """Hold `folder/run.lock` while a run computes into `folder`; a second run on the same folder stops at once.

    Two runs on one --out would both find the same rows missing and compute each twice. The lock is
    fcntl.flock on the open file, not the file's existence: the kernel releases it when the process ends,
    however it ends, so a lock left by a crashed or killed run never blocks the next one (the file itself stays,
    and means nothing without the flock). The file holds the holder's process id, for the message. Where
    fcntl does not exist (Windows) there is no lock and a run proceeds as before.
    """
    try:
        import fcntl
    except ImportError:  # not POSIX
        yield Path(folder) / LOCK_NAME
        return
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    with open(path, "a+", encoding="utf-8") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "unknown"
            raise HybridbenchError(
                f"another run is computing into {folder}: {path} is held by process {holder}",
                "wait for it to finish, or pass another --out",
            ) from None
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()}\n")
        f.flush()
        try:
            yield path
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


@dataclass(frozen=True)
class ResultRow:
    key: str
    codec: str
    suite: str
    item_id: str
    depth: int
    status: str
    error: str | None
    payload: dict[str, Any]


class ResultStore:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        # Readers (compare, leaderboards) open stores too, maybe read-only ones: the write check of --out is the
        # runner's (check_run_folder); here only what would otherwise end in a traceback.
        if self.path.exists() and not self.path.is_file():
            raise HybridbenchError(f"{self.path} is not a file", _DAMAGED_HINT)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path)
        except (OSError, sqlite3.Error) as exc:
            raise HybridbenchError(
                f"cannot open the results store {self.path} ({exc})", "check the folder given to --out"
            ) from None
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            self._check_existing()
            self.db.executescript(SCHEMA)
            self.db.commit()
        except sqlite3.DatabaseError as exc:  # "file is not a database", "database disk image is malformed"
            self.db.close()
            raise HybridbenchError(
                f"{self.path} is not a readable results store ({exc})", _DAMAGED_HINT
            ) from None
        except HybridbenchError:
            self.db.close()
            raise

    def _check_existing(self) -> None:
        """An existing file must be this store, whole: otherwise a run would die on its first write or read
        (a traceback) or add its tables into another program's database."""
        tables = {
            name: tuple(col[1] for col in self.db.execute(f"PRAGMA table_info({name})"))
            for (name,) in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if name in COLUMNS or name in OPTIONAL_COLUMNS
        }
        others = self.db.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        ).fetchone()[0] - len(tables)
        if not tables and not others:
            return  # a new (empty) file
        wrong = [name for name in COLUMNS if tables.get(name) != COLUMNS[name]]
        wrong += [
            name for name in OPTIONAL_COLUMNS if name in tables and tables[name] != OPTIONAL_COLUMNS[name]
        ]
        if wrong:
            raise HybridbenchError(
                f"{self.path} is a SQLite file of another schema (no matching {', '.join(wrong)} table)",
                _DAMAGED_HINT,
            )
        # A truncated or overwritten file can open and list its tables, then fail on the page a later read
        # needs; quick_check reads every page once (milliseconds for a store of thousands of rows).
        verdict = self.db.execute("PRAGMA quick_check").fetchone()[0]
        if verdict != "ok":
            raise HybridbenchError(f"{self.path} is damaged (SQLite: {verdict})", _DAMAGED_HINT)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def status_of(self, key: str) -> str | None:
        row = self.db.execute("SELECT status FROM results WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def put(self, row: ResultRow) -> None:
        with self.db:  # one transaction per row: it is on disk before the next item starts
            self.db.execute(
                "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    row.key,
                    row.codec,
                    row.suite,
                    row.item_id,
                    row.depth,
                    row.status,
                    row.error,
                    json.dumps(row.payload, sort_keys=True),
                    time.time(),
                ),
            )

    def rows(self, keys: list[str] | None = None) -> Iterator[ResultRow]:
        """All rows, or only those whose key is in `keys` (the rows of the current configuration)."""
        cursor = self.db.execute(
            "SELECT key, codec, suite, item_id, depth, status, error, payload FROM results ORDER BY rowid"
        )
        wanted = set(keys) if keys is not None else None
        for key, codec, suite, item_id, depth, status, error, payload in cursor:
            if wanted is None or key in wanted:
                yield ResultRow(key, codec, suite, item_id, depth, status, error, json.loads(payload))

    def put_codes(self, codec: str, suite: str, item_id: str, weights: str, codes: np.ndarray) -> None:
        """Keep an item's full-depth codes [Q, F] (for codebook usage in reports; a few kB per item)."""
        codes = np.ascontiguousarray(codes, dtype=np.int32)
        with self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO codes VALUES (?, ?, ?, ?, ?, ?)",
                (
                    codec,
                    suite,
                    item_id,
                    weights,
                    json.dumps(list(codes.shape)),
                    zlib.compress(codes.tobytes()),
                ),
            )

    def has_codes(self, codec: str, suite: str, item_id: str, weights: str) -> bool:
        row = self.db.execute(
            "SELECT weights FROM codes WHERE codec = ? AND suite = ? AND item_id = ?", (codec, suite, item_id)
        ).fetchone()
        return row is not None and row[0] == weights

    def codes(self, codec: str, suite: str) -> dict[str, np.ndarray]:
        """item id -> the stored codes [Q, F] of `codec` on `suite`."""
        cursor = self.db.execute(
            "SELECT item_id, shape, data FROM codes WHERE codec = ? AND suite = ? ORDER BY rowid",
            (codec, suite),
        )
        return {item_id: _unpack_codes(shape, data) for item_id, shape, data in cursor}

    def all_codes(self) -> Iterator[tuple[str, str, str, str, np.ndarray]]:
        """(codec, suite, item_id, weights, codes) of every stored item (for `merge`)."""
        cursor = self.db.execute(
            "SELECT codec, suite, item_id, weights, shape, data FROM codes ORDER BY rowid"
        )
        for codec, suite, item_id, weights, shape, data in cursor:
            yield codec, suite, item_id, weights, _unpack_codes(shape, data)

    def log_invocation(self, config: dict[str, Any], provenance: dict[str, Any]) -> int:
        with self.db:
            cur = self.db.execute(
                "INSERT INTO invocations (started, config, provenance) VALUES (?, ?, ?)",
                (time.time(), json.dumps(config, sort_keys=True), json.dumps(provenance, sort_keys=True)),
            )
        return int(cur.lastrowid)

    def finish_invocation(self, invocation: int, computed: int, reused: int) -> None:
        with self.db:
            self.db.execute(
                "UPDATE invocations SET computed = ?, reused = ? WHERE id = ?", (computed, reused, invocation)
            )


def _unpack_codes(shape: str, data: bytes) -> np.ndarray:
    """A stored codes blob (`put_codes`: zlib of int32 bytes, shape as JSON) back to its [Q, F] array."""
    return np.frombuffer(zlib.decompress(data), dtype=np.int32).reshape(json.loads(shape))
