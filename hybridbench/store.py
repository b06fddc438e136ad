"""The results store: one SQLite file per run folder, one row per (codec, suite, item, depth).

Each row is written and committed as soon as it exists, so an interrupted run loses at most the item in
flight, and rerunning the same command skips every key already stored. The key hashes every input that
changes the result (see `runner.row_key`). Failures are stored too, with their reason, and are not retried
unless asked (`--retry-failed`), so a rerun reproduces the same table.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
"""


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
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCHEMA)
        self.db.commit()

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
