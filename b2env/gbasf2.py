"""Calling the gb2 tools in the user container, and reading what they print.

Every gb2 call goes through a :class:`Gb2Caller`: the real one runs the tool in the user
container through ``container.with_gbasf2`` (a clean gbasf2 environment, never basf2's); tests
pass a fake that returns recorded output. The parsers follow the text layouts described in
``gbasf2-cli.md`` (the gb2 tools have no machine-readable output mode).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from b2env import runner
from b2env.config import Config
from b2env.errors import GridError

log = logging.getLogger(__name__)

SUMMARY_KEYS = ("Completed", "Deleted", "Done", "Failed", "Killed", "Running", "Stalled", "Waiting")
LFN_TOKEN = re.compile(r"(?:LFN:)?(/belle/\S+)")


class Gb2Caller(Protocol):
    """Runs one gb2 command (argv) and returns its result; never raises on a non-zero exit."""

    def __call__(
        self, argv: Sequence[str], *, cwd: Path | None = None, input: str | None = None
    ) -> runner.Completed: ...


def container_caller(cfg: Config, *, timeout: float | None = 600) -> Gb2Caller:
    """A caller that runs gb2 tools in the user container with the gbasf2 environment.

    The run policy (mounts, image, environment) is resolved once per working directory and
    reused for later calls with a fresh container name: a monitor polls without re-checking it.
    """
    import dataclasses
    import secrets

    from b2env import container

    templates: dict[tuple[str | None, bool], container.RunSpec] = {}

    def call(
        argv: Sequence[str], *, cwd: Path | None = None, input: str | None = None
    ) -> runner.Completed:
        key = (str(cwd) if cwd else None, input is not None)
        if key not in templates:
            templates[key] = container.run_spec(
                cfg, ["true"], interactive=input is not None, workdir=key[0]
            )
        spec = dataclasses.replace(
            templates[key],
            argv=tuple(container.with_gbasf2(cfg, list(argv))),
            name=f"b2env-run-{secrets.token_hex(4)}",
        )
        return container.execute(spec, input=input, capture=True, timeout=timeout)

    return call


def docker_line(cfg: Config, argv: Sequence[str], *, cwd: Path | None = None) -> str:
    """The exact ``docker run`` line the container caller would run for ``argv``."""
    from b2env import container

    spec = container.run_spec(
        cfg,
        container.with_gbasf2(cfg, list(argv)),
        interactive=False,
        workdir=str(cwd) if cwd else None,
    )
    return runner.command_line(container.docker_argv(spec))


def checked(call: Gb2Caller, argv: Sequence[str], *, cwd: Path | None = None) -> runner.Completed:
    """Run a gb2 command and raise GridError with its output tail when it fails."""
    done = call(argv, cwd=cwd)
    if done.returncode != 0 or _error_line(done.stdout + done.stderr):
        raise GridError(
            f"'{runner.command_line(argv)}' failed (exit code {done.returncode})",
            evidence=done.tail(),
            fix="check the message above; 'inv verify' checks the proxy and the grid setup",
        )
    return done


def _error_line(text: str) -> str | None:
    for line in text.splitlines():
        if line.strip().lower().startswith("error:"):
            return line
    return None


# -- gb2_job_status ---------------------------------------------------------------------------


@dataclass(frozen=True)
class JobRow:
    job_id: str
    status: str
    minor_status: str
    application_status: str
    site: str


@dataclass(frozen=True)
class JobStatusReport:
    jobs: tuple[JobRow, ...]
    summary: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """Jobs per major status, from the rows (the summary line buckets some statuses)."""
        result: dict[str, int] = {}
        for job in self.jobs:
            result[job.status] = result.get(job.status, 0) + 1
        return dict(sorted(result.items()))


def parse_job_status(text: str) -> JobStatusReport:
    """Read ``gb2_job_status -p P`` output: the job table and the summary line."""
    lines = text.splitlines()
    header = next((i for i, line in enumerate(lines) if line.strip().startswith("Job id")), None)
    if header is None:
        if re.search(r"^\s*0 jobs are selected", text, re.MULTILINE):
            return JobStatusReport(())
        raise GridError(
            "gb2_job_status printed no job table",
            evidence=lines[-10:],
            fix="run 'inv grid.status' again; if it persists, check the project name",
        )
    columns = _column_starts(lines[header])
    rows = []
    for line in lines[header + 1 :]:
        if line.startswith("---") or "Summary of Selected Jobs" in line:
            break
        if not line.strip() or set(line.strip()) == {"="}:
            continue
        rows.append(_job_row(line, columns))
    return JobStatusReport(tuple(rows), _summary(text))


def _column_starts(header: str) -> list[int]:
    names = ("Status", "MinorStatus", "ApplicationStatus", "Site")
    starts, position = [], header.index("Job id") + len("Job id")
    for name in names:
        position = header.index(name, position)
        starts.append(position)
        position += len(name)
    return starts


def _job_row(line: str, columns: list[int]) -> JobRow:
    fields = re.split(r"\s{2,}|\t", line.strip())
    if len(fields) != 5:
        fields = _fields_by_position(line, columns)
    job_id, status, minor, app, site = fields
    if not job_id.isdigit():
        raise GridError(f"gb2_job_status row does not start with a job id: '{line.strip()}'")
    return JobRow(job_id, status, minor, app, site)


def _fields_by_position(line: str, columns: list[int]) -> list[str]:
    """Fallback for rows whose columns are one space apart: job id, status and site are single
    words; the words between go to MinorStatus or ApplicationStatus by header position."""
    words = [(m.start(), m[0]) for m in re.finditer(r"\S+", line)]
    if len(words) < 4:
        raise GridError(f"cannot read gb2_job_status row '{line.strip()}'")
    minor = [w for start, w in words[2:-1] if start < columns[2] - 1]
    app = [w for start, w in words[2:-1] if start >= columns[2] - 1]
    if not app and len(minor) > 1:  # the application status is never empty ("Unknown")
        app = [minor.pop()]
    return [words[0][1], words[1][1], " ".join(minor), " ".join(app), words[-1][1]]


def _summary(text: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r"\b([A-Z][a-z]+):(\d+)\b", text)}


def job_status(call: Gb2Caller, project: str) -> JobStatusReport:
    return parse_job_status(checked(call, ["gb2_job_status", "-p", project]).stdout)


# -- gbasf2 submission and gb2_project_summary ------------------------------------------------


def parse_submission_summary(text: str) -> dict[str, str]:
    """The ``** Field: value`` lines of the Project summary block gbasf2 prints."""
    fields = {}
    for match in re.finditer(r"^\*\*\s*([^:*]+?)\s*:\s*(.*?)\s*$", text, re.MULTILINE):
        fields[match[1]] = match[2]
    return fields


@dataclass(frozen=True)
class ProjectRow:
    project: str
    owner: str
    status: str
    done: int
    failed: int
    running: int
    waiting: int
    submitted: str
    duration: str


def parse_project_summary(text: str) -> list[ProjectRow]:
    """Rows of ``gb2_project_summary``: Project Owner Status Done Fail Run Wait Time Duration."""
    rows = []
    for line in text.splitlines():
        tokens = line.split()
        if len(tokens) < 9 or not all(t.isdigit() for t in tokens[3:7]):
            continue
        rows.append(
            ProjectRow(
                project=tokens[0],
                owner=tokens[1],
                status=tokens[2],
                done=int(tokens[3]),
                failed=int(tokens[4]),
                running=int(tokens[5]),
                waiting=int(tokens[6]),
                submitted=" ".join(tokens[7:9]),
                duration=tokens[9] if len(tokens) > 9 else "",
            )
        )
    return rows


# -- datasets ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListedFile:
    """One line of ``gb2_ds_list [-l]``: an LPN with its size and adler32 when shown."""

    lfn: str
    size: int | None = None
    adler32: str | None = None


def parse_ds_list(text: str) -> list[ListedFile]:
    """LPNs from ``gb2_ds_list``; with ``-l`` also the size (bytes) and adler32 that follow."""
    listed = []
    for line in text.splitlines():
        match = LFN_TOKEN.match(line.strip())
        if match is None:
            continue
        rest = line.strip()[match.end() :].split()
        size = int(rest[0]) if rest and rest[0].isdigit() else None
        adler = _adler(rest[1]) if size is not None and len(rest) > 1 else None
        listed.append(ListedFile(match[1], size, adler))
    return listed


def _adler(token: str) -> str | None:
    value = token.lower().removeprefix("adler32:").removeprefix("ad:")
    return value if re.fullmatch(r"[0-9a-f]{8}", value) else None


def parse_ds_search(text: str) -> list[str]:
    """Dataset LPNs from ``gb2_ds_search dataset ...`` or ``collection --list_datasets``."""
    return [m[1] for m in (LFN_TOKEN.search(line) for line in text.splitlines()) if m]


@dataclass(frozen=True)
class DsGetReport:
    downloaded: tuple[str, ...]
    failed: tuple[str, ...]
    duplicated: tuple[str, ...]
    nothing_found: bool


def parse_ds_get(text: str) -> DsGetReport:
    """Sections of ``gb2_ds_get`` output: successfully downloaded, failed, duplicated."""
    sections: dict[str, list[str]] = {"ok": [], "failed": [], "dup": []}
    current = None
    for line in text.splitlines():
        lowered = line.strip().lower()
        if lowered.startswith("successfully downloaded files"):
            current = "ok"
        elif lowered.startswith("failed files"):
            current = "failed"
        elif lowered.startswith("files with duplicated jobid"):
            current = "dup"
        elif current and (match := LFN_TOKEN.search(line)):
            sections[current].append(match[1])
    return DsGetReport(
        tuple(sections["ok"]),
        tuple(sections["failed"]),
        tuple(sections["dup"]),
        "no file found" in text.lower(),
    )


def parse_failed_lfns(text: str) -> list[str]:
    """LFNs of a ``--failed_lfns`` file; drops the " in <local dir>" tail (field case C17)."""
    lfns = []
    for line in text.splitlines():
        match = LFN_TOKEN.search(line)
        if match:
            lfns.append(match[1])
    return lfns


def proxy_seconds_left(call: Gb2Caller) -> int:
    """Seconds the proxy has left as the gb2 tools see it; 0 when there is none."""
    from b2env.proxy import parse_proxy_info, seconds_from

    done = call(["gb2_proxy_info"])
    if done.returncode != 0:
        return 0
    return seconds_from(parse_proxy_info(done.stdout).get("timeleft", ""))


# -- actions ----------------------------------------------------------------------------------


def reschedule(call: Gb2Caller, job_ids: Sequence[str]) -> None:
    checked(call, ["gb2_job_reschedule", "--jobid", *job_ids, "--force"])


def reschedule_project(call: Gb2Caller, project: str) -> None:
    checked(call, ["gb2_job_reschedule", "-p", project, "--force"])


def kill(call: Gb2Caller, project: str) -> None:
    checked(call, ["gb2_job_kill", "--force", "-p", project])


def delete(call: Gb2Caller, project: str) -> None:
    checked(call, ["gb2_job_delete", "--force", "-p", project])


def project_known(call: Gb2Caller, project: str) -> bool:
    """True when the grid knows the project name (in the summary or as a dataset)."""
    summary = call(["gb2_project_summary", "-p", project])
    if any(row.project == project for row in parse_project_summary(summary.stdout)):
        return True
    listing = call(["gb2_ds_list", project])
    return listing.returncode == 0 and bool(parse_ds_list(listing.stdout))
