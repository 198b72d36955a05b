"""Downloading a project's output with ``gb2_ds_get`` until every file is here and sound.

The remote file set comes from ``gb2_ds_list`` (newest reschedule copy of each job output
only). Files already present and verified are kept, so an interrupted download resumes; only
what is missing or broken is requested again, through ``--input_dslist``, and ``--failed_lfns``
tells which LFNs failed (field case C17: only the LFN of each line counts). Every file is
verified: size and adler32 where the grid listing gives them, and ROOT-readable via uproot. The
download is complete only when the local set equals the remote set.
"""

from __future__ import annotations

import json
import logging
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

from b2env import gbasf2, lfn
from b2env.errors import GridError

log = logging.getLogger(__name__)

ATTEMPTS = 3
REPORT_NAME = ".b2env-download.json"


@dataclass
class DownloadReport:
    project: str
    directory: str
    expected: int = 0
    downloaded: list[str] = field(default_factory=list)
    retried: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    already_present: int = 0

    @property
    def complete(self) -> bool:
        return self.expected > 0 and not self.missing

    def lines(self) -> list[str]:
        state = "complete" if self.complete else "INCOMPLETE"
        lines = [
            f"download of {self.project}: {state} in {self.directory}",
            f"  files {self.expected}: downloaded {len(self.downloaded)}, "
            f"already present {self.already_present}, retried {len(self.retried)}, "
            f"missing {len(self.missing)}",
        ]
        lines += [f"  missing: {m}" for m in self.missing]
        return lines


def read_report(directory: Path) -> DownloadReport | None:
    """The report the last download left in ``directory`` (``results/<project>``)."""
    path = directory / REPORT_NAME
    if not path.is_file():
        return None
    try:
        return DownloadReport(**json.loads(path.read_text()))
    except (ValueError, TypeError):
        return None


def remote_files(call: gbasf2.Gb2Caller, project: str) -> list[gbasf2.ListedFile]:
    """The project's output files on the grid, newest reschedule copy of each only."""
    listed: list[gbasf2.ListedFile] = []
    for entry in _list(call, project):
        is_file = "." in PurePosixPath(entry.lfn).name
        listed.extend([entry] if is_file else _list(call, entry.lfn))
    keep = set(lfn.newest_copies(f.lfn for f in listed))
    return [f for f in listed if f.lfn in keep]


def _list(call: gbasf2.Gb2Caller, lpn: str) -> list[gbasf2.ListedFile]:
    done = call(["gb2_ds_list", "-l", lpn])
    if done.returncode != 0:
        raise GridError(
            f"cannot list '{lpn}' on the grid (exit code {done.returncode})",
            evidence=done.tail(),
            fix="check the project name with 'inv grid.projects' and the proxy with 'inv verify'",
        )
    return gbasf2.parse_ds_list(done.stdout)


def adler32_of(path: Path) -> str:
    value = 1
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            value = zlib.adler32(chunk, value)
    return f"{value & 0xFFFFFFFF:08x}"


def problem_with(path: Path, listed: gbasf2.ListedFile) -> str | None:
    """Why the local copy of ``listed`` is not good, or None when it is."""
    if not path.is_file():
        return "not downloaded"
    if listed.size is not None and path.stat().st_size != listed.size:
        return f"size {path.stat().st_size} bytes, the grid says {listed.size}"
    if listed.adler32 is not None and adler32_of(path) != listed.adler32:
        return f"adler32 {adler32_of(path)}, the grid says {listed.adler32}"
    if path.suffix == ".root":
        return _root_problem(path)
    return None


def _root_problem(path: Path) -> str | None:
    import uproot

    try:
        with uproot.open(path) as root_file:
            for key in root_file.keys(recursive=False):
                obj = root_file[key]
                if hasattr(obj, "num_entries"):
                    _ = obj.num_entries
    except Exception as exc:  # noqa: BLE001 - any read error means the file is unusable
        return f"not readable as a ROOT file ({type(exc).__name__}: {exc})"
    return None


def download(
    call: gbasf2.Gb2Caller,
    project: str,
    output_dir: Path,
    *,
    attempts: int = ATTEMPTS,
    on_attempt: Callable[[int, int], None] | None = None,
) -> DownloadReport:
    """Fetch every output file of ``project`` below ``output_dir/<project>/``; verify each."""
    output_dir.mkdir(parents=True, exist_ok=True)
    remote = remote_files(call, project)
    if not remote:
        raise GridError(
            f"project '{project}' has no output files on the grid",
            fix="wait until jobs are done ('inv grid.status') and check the project name",
        )
    report = DownloadReport(project, str(output_dir / project), expected=len(remote))
    wanted = _not_yet_good(remote, output_dir, project)
    report.already_present = len(remote) - len(wanted)
    for attempt in range(1, attempts + 1):
        if not wanted:
            break
        if on_attempt:
            on_attempt(attempt, len(wanted))
        if attempt > 1:
            report.retried.extend(f.lfn for f in wanted if f.lfn not in report.retried)
        failed = _fetch(call, project, output_dir, wanted)
        still = _not_yet_good(remote, output_dir, project)
        report.downloaded.extend(f.lfn for f in wanted if f not in still)
        _log_attempt(attempt, wanted, still, failed)
        wanted = still
    report.missing = [f.lfn for f in wanted]
    (output_dir / project / REPORT_NAME).write_text(json.dumps(asdict(report), indent=1))
    return report


def _local(output_dir: Path, project: str, listed: gbasf2.ListedFile) -> Path:
    return output_dir / lfn.local_relative_path(listed.lfn, project)


def _not_yet_good(
    remote: list[gbasf2.ListedFile], output_dir: Path, project: str
) -> list[gbasf2.ListedFile]:
    """Files still to fetch; broken local copies are removed so they are fetched again."""
    todo = []
    for listed in remote:
        path = _local(output_dir, project, listed)
        problem = problem_with(path, listed)
        if problem is None:
            continue
        if path.exists():
            log.warning("%s: %s; fetching it again", path.name, problem)
            path.unlink()
        todo.append(listed)
    return todo


def _fetch(
    call: gbasf2.Gb2Caller, project: str, output_dir: Path, wanted: list[gbasf2.ListedFile]
) -> list[str]:
    """One gb2_ds_get run for ``wanted``; returns the LFNs it reported as failed."""
    (output_dir / project).mkdir(parents=True, exist_ok=True)
    wanted_list = output_dir / project / ".b2env-wanted.txt"
    failed_list = output_dir / project / ".b2env-failed.txt"
    wanted_list.write_text("".join(f"{f.lfn}\n" for f in wanted))
    failed_list.unlink(missing_ok=True)
    argv = ["gb2_ds_get", project, "--force", "--input_dslist", str(wanted_list)]
    done = call([*argv, "--failed_lfns", str(failed_list)], cwd=output_dir)
    if done.returncode != 0:
        log.warning("gb2_ds_get exited with %d: %s", done.returncode, " | ".join(done.tail(3)))
    failed = gbasf2.parse_ds_get(done.stdout).failed
    if failed_list.is_file():
        failed = tuple(gbasf2.parse_failed_lfns(failed_list.read_text()))
    return list(failed)


def _log_attempt(
    attempt: int, wanted: list[gbasf2.ListedFile], still: list[gbasf2.ListedFile], failed: list[str]
) -> None:
    got = len(wanted) - len(still)
    log.info("download attempt %d: %d of %d files fetched and verified", attempt, got, len(wanted))
    unexplained = {f.lfn for f in still} - set(failed)
    if unexplained:
        log.info("%d files missing without being listed as failed", len(unexplained))
