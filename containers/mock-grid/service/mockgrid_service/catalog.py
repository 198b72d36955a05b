"""File catalog and storage element: LFNs, datablocks, datasets, collections, adler32."""

from __future__ import annotations

import fnmatch
import logging
import shutil
import time
import zlib
from collections.abc import Sequence
from pathlib import Path

from mockgrid_service.db import Database

log = logging.getLogger(__name__)

SE_NAME = "KEK-TMP-SE"
GLOB_CHARS = "*?["


class CatalogError(Exception):
    """A path that does not exist or may not be read by this user."""


def adler32_of(path: Path) -> str:
    value = 1
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            value = zlib.adler32(chunk, value)
    return f"{value & 0xFFFFFFFF:08x}"


def datablock_of(lfn: str) -> str:
    return lfn.rsplit("/", 1)[0]


class Catalog:
    def __init__(self, db: Database, storage: Path) -> None:
        self.db = db
        self.storage = storage

    # -- writing ------------------------------------------------------------------------------
    def store(self, source: Path, lfn: str, owner: str | None, events: int = 0) -> dict:
        """Copy ``source`` into the storage element and register it as ``lfn``."""
        pfn = lfn.lstrip("/")
        target = self.storage / pfn
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        return self.register(lfn, pfn, owner, events)

    def register(self, lfn: str, pfn: str, owner: str | None, events: int = 0) -> dict:
        path = self.storage / pfn
        entry = {
            "lfn": lfn, "datablock": datablock_of(lfn), "pfn": pfn, "size": path.stat().st_size,
            "adler32": adler32_of(path), "events": events, "owner": owner,
            "created": time.time(), "se": SE_NAME,
        }
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO files VALUES (:lfn, :datablock, :pfn, :size, :adler32,"
                " :events, :owner, :created, :se)",
                entry,
            )
        return entry

    # -- reading ------------------------------------------------------------------------------
    @staticmethod
    def absolute(lpn: str, user: str) -> str:
        lpn = lpn.strip()
        if lpn.upper().startswith("LFN:"):
            lpn = lpn[4:]
        if not lpn.startswith("/"):
            lpn = f"/belle/user/{user}/{lpn}"
        return lpn.rstrip("/") or "/"

    @staticmethod
    def check_access(lpn: str, user: str) -> None:
        parts = lpn.split("/")
        if len(parts) > 3 and parts[1] == "belle" and parts[2] == "user" and parts[3] != user:
            if not any(c in parts[3] for c in GLOB_CHARS):
                raise CatalogError(f"Permission denied: {lpn} belongs to user {parts[3]}")
            raise CatalogError(f"Permission denied: {lpn} reaches into other users' areas")

    def files(self, lpn: str, user: str) -> list[dict]:
        """Every file an LPN (file, datablock, dataset, project, collection, glob) stands for."""
        lpn = self.absolute(lpn, user)
        self.check_access(lpn, user)
        if any(c in lpn for c in GLOB_CHARS):
            prefix = lpn[: min(lpn.find(c) for c in GLOB_CHARS if c in lpn)]
            rows = self.db.query(
                "SELECT * FROM files WHERE lfn LIKE ? ESCAPE '\\' ORDER BY lfn",
                (_like_prefix(prefix),),
            )
            return [dict(r) for r in rows if fnmatch.fnmatchcase(r["lfn"], lpn)]
        rows = self.db.query(
            "SELECT * FROM files WHERE lfn = ? OR datablock = ? OR datablock LIKE ? ESCAPE '\\'"
            " ORDER BY lfn",
            (lpn, lpn, _like_prefix(lpn + "/sub")),
        )
        if rows:
            return [dict(r) for r in rows]
        found: list[dict] = []
        for dataset in self.collection_datasets(lpn):
            found += self.files(dataset, user)
        return found

    def listing(self, lpn: str, user: str) -> list[str]:
        """What ``gb2_ds_list`` shows: datablocks of a dataset or project, else files."""
        absolute = self.absolute(lpn, user)
        self.check_access(absolute, user)
        if any(c in absolute for c in GLOB_CHARS):
            return [f["lfn"] for f in self.files(absolute, user)]
        blocks = self.db.query(
            "SELECT DISTINCT datablock FROM files WHERE datablock LIKE ? ESCAPE '\\'"
            " ORDER BY datablock",
            (_like_prefix(absolute + "/sub"),),
        )
        if blocks:
            return [b["datablock"] for b in blocks if b["datablock"].count("/") == absolute.count("/") + 1]
        datasets = self.collection_datasets(absolute)
        if datasets:
            return datasets
        return [f["lfn"] for f in self.files(absolute, user)]

    def collection_datasets(self, lpn: str) -> list[str]:
        rows = self.db.query("SELECT dataset FROM collections WHERE lpn = ? ORDER BY dataset", (lpn,))
        return [r["dataset"] for r in rows]

    def collections(self, pattern: str) -> list[str]:
        rows = self.db.query("SELECT DISTINCT lpn FROM collections ORDER BY lpn")
        return [r["lpn"] for r in rows if fnmatch.fnmatchcase(r["lpn"], pattern or "*")]

    def search(self, filters: dict) -> list[str]:
        clauses, args = [], []
        for key in ("data_type", "campaign", "beam_energy", "mc_event", "bkg_level", "release",
                    "skim_decay"):
            value = filters.get(key)
            if value:
                clauses.append(f"LOWER({key}) = LOWER(?)")
                args.append(value)
        where = " AND ".join(clauses) or "1"
        return [r["lpn"] for r in self.db.query(f"SELECT lpn FROM datasets WHERE {where} ORDER BY lpn", args)]

    def path_of(self, entry: dict) -> Path:
        return self.storage / entry["pfn"]

    def add_dataset(self, lpn: str, meta: dict, collections: Sequence[str] = ()) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO datasets VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (lpn, meta.get("data_type"), meta.get("campaign"), meta.get("beam_energy"),
                 meta.get("mc_event"), meta.get("bkg_level"), meta.get("release"),
                 meta.get("skim_decay")),
            )
            for collection in collections:
                conn.execute("INSERT INTO collections VALUES (?, ?)", (collection, lpn))


def _like_prefix(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"
