"""SQLite state: projects, jobs, the file catalog, datasets and collections."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS projects (
    name TEXT PRIMARY KEY, owner TEXT NOT NULL, grp TEXT NOT NULL, submitted REAL NOT NULL,
    release TEXT NOT NULL, steering TEXT NOT NULL, options TEXT NOT NULL, output_ds TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY, project TEXT NOT NULL, owner TEXT NOT NULL, idx INTEGER NOT NULL,
    status TEXT NOT NULL, minor TEXT NOT NULL, app TEXT NOT NULL, site TEXT NOT NULL,
    inputs TEXT NOT NULL, rr INTEGER NOT NULL DEFAULT 0, plan TEXT NOT NULL DEFAULT 'none',
    next_at REAL NOT NULL, stage TEXT NOT NULL, submitted REAL NOT NULL, updated REAL NOT NULL,
    banned_sites TEXT NOT NULL DEFAULT '', result TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS jobs_project ON jobs(project);
CREATE INDEX IF NOT EXISTS jobs_due ON jobs(next_at) WHERE stage != 'final';
CREATE TABLE IF NOT EXISTS files (
    lfn TEXT PRIMARY KEY, datablock TEXT NOT NULL, pfn TEXT NOT NULL, size INTEGER NOT NULL,
    adler32 TEXT NOT NULL, events INTEGER NOT NULL DEFAULT 0, owner TEXT, created REAL NOT NULL,
    se TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS files_block ON files(datablock);
CREATE TABLE IF NOT EXISTS datasets (
    lpn TEXT PRIMARY KEY, data_type TEXT, campaign TEXT, beam_energy TEXT, mc_event TEXT,
    bkg_level TEXT, release TEXT, skim_decay TEXT
);
CREATE TABLE IF NOT EXISTS collections (lpn TEXT NOT NULL, dataset TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

FIRST_JOB_ID = 400000001


class Database:
    """One connection shared by the service threads, serialised by a lock."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.executescript(SCHEMA)
        self.lock = threading.RLock()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def query(self, sql: str, args: Any = ()) -> list[sqlite3.Row]:
        with self.lock:
            return self.conn.execute(sql, args).fetchall()

    def one(self, sql: str, args: Any = ()) -> sqlite3.Row | None:
        rows = self.query(sql, args)
        return rows[0] if rows else None

    def next_job_id(self, conn: sqlite3.Connection) -> int:
        row = conn.execute("SELECT MAX(id) FROM jobs").fetchone()
        return max(FIRST_JOB_ID, (row[0] or 0) + 1)

    def get_meta(self, key: str) -> str | None:
        row = self.one("SELECT value FROM meta WHERE key = ?", (key,))
        return row["value"] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
