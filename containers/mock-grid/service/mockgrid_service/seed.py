"""The catalog every fresh mock grid starts with: MC and data datasets in the real naming
scheme, filled with synthetic mdst files from the mock basf2's ``b2mock-make-mdst``."""

from __future__ import annotations

import logging
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

from mockgrid_service import execution
from mockgrid_service.catalog import Catalog
from mockgrid_service.db import Database
from mockgrid_service.settings import Settings

log = logging.getLogger(__name__)

MC = "/belle/MC/release-08-00-00/DB00002481/MC15ri_a"


class DatasetSpec(NamedTuple):
    lpn: str
    prod: str
    files: int
    unique: int  # distinct synthetic files; the others reuse them (same size and adler32)
    meta: tuple[tuple[str, str], ...]
    collections: tuple[str, ...]


def _mc(prod: str, event: str, files: int, unique: int, *collections: str) -> DatasetSpec:
    meta = (("data_type", "mc"), ("campaign", "MC15ri_a"), ("beam_energy", "4S"),
            ("mc_event", event), ("bkg_level", "BGx1"), ("release", "release-08-00-00"))
    lpn = f"{MC}/prod{prod}/s00/e1003/4S/r00000/{event}/mdst"
    return DatasetSpec(lpn, prod, files, unique, meta, collections)


DATASETS = (
    _mc("00029130", "taupair", 24, 24, "/belle/collection/MC/MC15ri_a_taupair_4S_v1"),
    _mc("00029131", "uubar", 10, 3, "/belle/collection/MC/MC15ri_a_qqbar_4S_v1"),
    _mc("00029132", "charged", 6, 3, "/belle/collection/MC/MC15ri_a_BBbar_4S_v1"),
    _mc("00029133", "mixed", 6, 3, "/belle/collection/MC/MC15ri_a_BBbar_4S_v1"),
    _mc("00029134", "mumu", 1000, 4, "/belle/collection/test/b2env_large_v1"),
    DatasetSpec(
        "/belle/Data/release-08-00-00/DB00002482/proc13/prod00029200/e0026/4S/r01950/mdst",
        "00029200", 5, 3,
        (("data_type", "data"), ("campaign", "proc13"), ("beam_energy", "4S"),
         ("release", "release-08-00-00")),
        ("/belle/collection/Data/proc13_4S_v1",),
    ),
)


def file_name(prod: str, index: int) -> str:
    return f"mdst_{index:06d}_prod{prod}_task{10020000000 + index:011d}.root"


def seed_catalog(settings: Settings, db: Database, catalog: Catalog) -> None:
    """Fill an empty catalog once; later starts find the ``seeded`` mark and do nothing."""
    if db.get_meta("seeded"):
        return
    log.info("seeding the catalog with %d datasets", len(DATASETS))
    jobs = [(spec, i) for spec in DATASETS for i in range(1, spec.unique + 1)]
    with ThreadPoolExecutor(max_workers=max(1, settings.max_running)) as pool:
        list(pool.map(lambda job: _make_file(settings, catalog, *job), jobs))
    for spec in DATASETS:
        for index in range(1, spec.files + 1):
            source = (index - 1) % spec.unique + 1
            lfn = f"{spec.lpn}/sub00/{file_name(spec.prod, index)}"
            catalog.register(lfn, _pfn(spec, source), None, settings.seed_events)
        catalog.add_dataset(spec.lpn, dict(spec.meta), spec.collections)
    db.set_meta("seeded", "1")


def _pfn(spec: DatasetSpec, index: int) -> str:
    return f"{spec.lpn.lstrip('/')}/sub00/{file_name(spec.prod, index)}"


def _make_file(settings: Settings, catalog: Catalog, spec: DatasetSpec, index: int) -> None:
    target = catalog.storage / _pfn(spec, index)
    if target.is_file() and target.stat().st_size > 0:
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    seed = int(spec.prod) * 1000 + index
    argv = make_mdst_argv(settings, target, seed)
    env = execution.clean_env(target.parent)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False, env=env)
    if done.returncode != 0 or not target.is_file():
        raise RuntimeError(
            f"making {target} failed ({' '.join(argv)}): {done.stdout[-800:]}{done.stderr[-800:]}"
        )


def make_mdst_argv(settings: Settings, target: Path, seed: int) -> list[str]:
    values = {"output": str(target), "events": str(settings.seed_events), "seed": str(seed)}
    args = [a.format(**values) for a in settings.make_mdst_args]
    return [*settings.basf2_wrapper, settings.seed_release, "--", "b2mock-make-mdst", *args]
