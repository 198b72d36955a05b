"""LFN and LPN hygiene, and the naming rules of gbasf2 output files.

An LFN (logical file name) names one grid file; an LPN (logical path name) names a dataset,
datablock or collection. Both are unix-like paths starting with ``/belle``. Names with
whitespace, ``;`` or other shell metacharacters break the catalog tools (field case C18), and
very long names fail catalog registration, so b2env refuses them before anything is submitted.

Output files of a gbasf2 project are named ``<stem>_<NNNNN>_job<JOBID>_<RR><ext>``; ``RR``
counts reschedules, and only the newest copy of each job's output is kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

from b2env.errors import ConfigError

#: Characters that a shell, the catalog or a site script may read as syntax.
FORBIDDEN = set(" \t\n\r\v\f;&|<>$`\\\"'*?[]{}()!#%~^,=")
OUTPUT_NAME = re.compile(
    r"^(?P<stem>.+)_(?P<index>\d{5})_job(?P<job>\d+)_(?P<retry>\d{2})(?P<ext>(\.[A-Za-z0-9]+)+)$"
)


@dataclass(frozen=True)
class OutputFile:
    """One output file of a gbasf2 job, split into its naming fields."""

    lfn: str
    stem: str
    index: int
    job_id: str
    retry: int
    ext: str

    @property
    def key(self) -> tuple[str, str, int, str]:
        """Identifies the job output regardless of the reschedule counter."""
        return (str(PurePosixPath(self.lfn).parent), self.stem, self.index, self.ext)


def _bad_characters(text: str, allowed_glob: bool = False) -> list[str]:
    allowed = set("*?") if allowed_glob else set()
    return sorted({c for c in text if (c in FORBIDDEN and c not in allowed) or ord(c) < 32})


def _shown(chars: list[str]) -> str:
    return " ".join(repr(c) for c in chars)


def check_lpn(lpn: str, *, what: str = "dataset LPN", allow_glob: bool = False) -> str:
    """Return ``lpn`` when it is a clean /belle path; raise ConfigError saying what is wrong."""
    lpn = lpn.removeprefix("LFN:")
    bad = _bad_characters(lpn, allow_glob)
    if bad:
        raise ConfigError(
            f"{what} '{lpn}' contains characters the grid catalog cannot handle: {_shown(bad)}",
            why="whitespace, ';' and shell metacharacters break catalog tools and site scripts",
            fix="use only letters, digits and '/', '_', '-', '.', '+' in grid paths",
        )
    if not lpn.startswith("/belle/") or "//" in lpn or "/../" in f"{lpn}/":
        raise ConfigError(
            f"{what} '{lpn}' is not an absolute grid path",
            why="LPNs and LFNs start with /belle/ and contain no empty or '..' parts",
            fix="copy the LPN from 'inv grid.datasets search ...' or 'gb2_ds_list'",
        )
    return lpn


def check_lpns(lpns: Iterable[str], *, what: str = "dataset LPN") -> list[str]:
    return [check_lpn(lpn.strip(), what=what) for lpn in lpns if lpn.strip()]


def check_output_name(name: str, max_length: int) -> str:
    """Check the base name of a file a job writes (it becomes part of an LFN)."""
    bad = _bad_characters(name)
    if bad or "/" in name:
        raise ConfigError(
            f"output file name '{name}' contains characters the grid catalog cannot handle: "
            f"{_shown(bad or ['/'])}",
            why="the name becomes an LFN; whitespace, ';' and shell metacharacters break it",
            fix="rename the output in the steering file, e.g. 'B2Kpi_ntuple_v1.root'",
        )
    if len(name) > max_length:
        raise ConfigError(
            f"output file name '{name[:40]}...' is {len(name)} characters long",
            why=f"names longer than {max_length} characters fail catalog registration",
            fix="shorten it in the steering file, or raise lfn_max_length in b2env.yaml",
        )
    return name


def parse_output_lfn(lfn: str) -> OutputFile | None:
    """Split a project output LFN into its fields; None when it does not follow the scheme."""
    match = OUTPUT_NAME.match(PurePosixPath(lfn).name)
    if match is None:
        return None
    return OutputFile(
        lfn=lfn,
        stem=match["stem"],
        index=int(match["index"]),
        job_id=match["job"],
        retry=int(match["retry"]),
        ext=match["ext"],
    )


def newest_copies(lfns: Iterable[str]) -> list[str]:
    """Keep only the highest reschedule copy of each job output; other names pass through."""
    newest: dict[object, OutputFile] = {}
    others: list[str] = []
    for lfn in lfns:
        parsed = parse_output_lfn(lfn)
        if parsed is None:
            others.append(lfn)
        elif parsed.key not in newest or parsed.retry > newest[parsed.key].retry:
            newest[parsed.key] = parsed
    return sorted(others + [f.lfn for f in newest.values()])


def local_relative_path(lfn: str, project: str) -> PurePosixPath:
    """Where gb2_ds_get puts an LFN below its working directory: ``<project>/subNN/<file>``."""
    parts = PurePosixPath(lfn).parts
    if project in parts:
        return PurePosixPath(*parts[parts.index(project) :])
    return PurePosixPath(project, PurePosixPath(lfn).name)
