"""`inv grid.*`: submit, watch, fetch and merge gbasf2 projects (a thin layer over
:class:`b2env.analysis.BelleIIGridAnalysis`)."""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from invoke import Collection, Context
from invoke.exceptions import Exit

from b2env.errors import ConfigError, GridError
from b2env.tasks._common import config, lazy_module, task

if TYPE_CHECKING:
    from b2env import analysis, gbasf2, projects
else:
    gbasf2 = lazy_module("b2env.gbasf2")
    projects = lazy_module("b2env.projects")
    analysis = lazy_module("b2env.analysis")

ns = Collection("grid")

PROJECT = "gbasf2 project name (<= 32 characters of A-Z a-z 0-9 _ -)"
WORKDIR = "analysis directory (default: the current directory)"


def _analysis(workdir: str | None, **overrides: object) -> analysis.BelleIIGridAnalysis:
    return analysis.BelleIIGridAnalysis(cfg=config(workdir=workdir, **overrides))


def _dry_run(workdir: str | None, argv: list[str]) -> None:
    """Print the exact container command a gb2 call would run; run nothing."""
    print(gbasf2.docker_line(config(workdir=workdir), argv))


def _int(value: object, option: str) -> int | None:
    if value is None:
        return None
    try:
        return int(str(value))
    except ValueError:
        raise ConfigError(f"{option} {value!r} is not a whole number", fix=f"{option} 10") from None


def _confirm_on_terminal(summary: str) -> bool:
    print(summary)
    if not sys.stdin.isatty():
        raise ConfigError(
            "submission needs a confirmation and there is no terminal",
            fix="check the summary with --dry-run, then pass --yes",
        )
    return input("Submit this project? [y/N] ").strip().lower() in ("y", "yes")


@task(
    auto_shortflags=False,
    positional=["steering"],
    iterable=["dataset", "site", "banned_site", "f"],
    help={
        "steering": "basf2 steering file (below the analysis directory)",
        "project": PROJECT,
        "release": "basf2 release on the grid (default: the configured release)",
        "dataset": "input dataset LPN (repeatable)",
        "dslist": "text file with one input LPN per line (instead of --dataset)",
        "files_per_job": "input files per job (gbasf2 -n; default 1)",
        "cputime": "expected CPU time per job in MINUTES",
        "priority": "job priority 0-10",
        "jobtype": "job type (default User)",
        "site": "allowed DIRAC site, e.g. LCG.KEK.jp (repeatable)",
        "banned_site": "banned DIRAC site (repeatable)",
        "f": "extra file for the input sandbox, at most 10 MB in total (repeatable)",
        "dry_run": "check everything and show the Project summary; submit nothing",
        "yes": "submit without asking",
        "skip_local_test": "skip the local run on one input file with -n 100",
        "workdir": WORKDIR,
    },
)
def submit(
    c: Context,
    steering: str,
    project: str,
    release: str | None = None,
    dataset: list[str] | None = None,
    dslist: str | None = None,
    files_per_job: str | None = None,
    cputime: str | None = None,
    priority: str | None = None,
    jobtype: str = "User",
    site: list[str] | None = None,
    banned_site: list[str] | None = None,
    f: list[str] | None = None,
    dry_run: bool = False,
    yes: bool = False,
    skip_local_test: bool = False,
    workdir: str | None = None,
) -> None:
    """Validate a project completely, then submit it with gbasf2 in the container."""
    analysis = _analysis(workdir, release=release)
    options = projects.Options(
        files_per_job=_int(files_per_job, "--files-per-job"),
        cputime=_int(cputime, "--cputime"),
        priority=_int(priority, "--priority"),
        jobtype=jobtype,
        sites=tuple(site or ()),
        banned_sites=tuple(banned_site or ()),
        sandbox_files=tuple(f or ()),
    )
    result = analysis.submit(
        steering,
        project=project,
        datasets=dataset or (),
        dslist=dslist,
        options=options,
        dry_run=dry_run,
        skip_local_test=skip_local_test,
        confirm=None if yes else _confirm_on_terminal,
    )
    jobs = result.summary.get("Number of jobs", "?")
    if result.submitted:
        print(f"submitted project {project}: {jobs} jobs; manifest {result.manifest}")
        print(f"next: inv grid.monitor --project {project} --auto-resubmit")
    else:
        print(f"project {project} checked, NOT submitted ({jobs} jobs would run)")


DRY_RUN = "print the docker run line, run nothing"


@task(
    help={
        "project": PROJECT,
        "json": "print JSON for scripts",
        "dry_run": DRY_RUN,
        "workdir": WORKDIR,
    }
)
def status(
    c: Context,
    project: str,
    json_: bool = False,
    dry_run: bool = False,
    workdir: str | None = None,
) -> None:
    """Job counts and per-job rows of a project (one gb2_job_status call)."""
    if dry_run:
        return _dry_run(workdir, ["gb2_job_status", "-p", projects.check_name(project)])
    report = _analysis(workdir).status(project)
    if json_:
        print(
            json.dumps(
                {
                    "project": project,
                    "counts": report.counts(),
                    "jobs": [asdict(j) for j in report.jobs],
                },
                indent=1,
            )
        )
        return
    done = sum(1 for j in report.jobs if j.status == "Done" and j.application_status == "Done")
    print(
        f"{project}: {done}/{len(report.jobs)} done | "
        + " ".join(f"{k}:{v}" for k, v in report.counts().items())
    )
    for j in report.jobs:
        print(
            f"  {j.job_id:<12} {j.status:<10} {j.application_status:<22} {j.site:<14} "
            f"{j.minor_status}"
        )


@task(
    help={
        "project": PROJECT,
        "interval": "seconds between polls (default: monitor_interval, 300)",
        "auto_resubmit": "reschedule failed jobs (up to --max-retries each)",
        "max_retries": "reschedules per job (default: max_retries, 3)",
        "log_file": "also write the progress log to this file",
        "workdir": WORKDIR,
    }
)
def monitor_(
    c: Context,
    project: str,
    interval: str | None = None,
    auto_resubmit: bool = False,
    max_retries: str | None = None,
    log_file: str | None = None,
    workdir: str | None = None,
) -> None:
    """Watch a project until all jobs are done or failed for good; resumable after a kill."""
    analysis = _analysis(workdir)
    progress_log = logging.getLogger("b2env.progress")
    progress_log.propagate = False
    if log_file:
        handler = logging.FileHandler(Path(log_file))
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logging.getLogger("b2env").addHandler(handler)  # warnings: reschedules, back-off
        progress_log.addHandler(handler)
        progress_log.setLevel(logging.INFO)

    def show(line: str) -> None:
        print(line, flush=True)
        progress_log.info("%s", line)

    summary = analysis.monitor(
        project,
        interval=_int(interval, "--interval"),
        auto_resubmit=auto_resubmit,
        max_retries=_int(max_retries, "--max-retries"),
        on_progress=lambda p: show(p.line()),
    )
    for line in summary.lines():
        show(line)
    if summary.exit_code:
        raise Exit(code=summary.exit_code)


@task(
    help={
        "project": PROJECT,
        "output_dir": "where <project>/subNN/ goes (default results/, below the analysis dir)",
        "allow_partial": "download although some jobs failed for good",
        "workdir": WORKDIR,
    }
)
def download(
    c: Context,
    project: str,
    output_dir: str = "results",
    allow_partial: bool = False,
    workdir: str | None = None,
) -> None:
    """Download and verify every output file (newest reschedule copy); resumable."""
    report = _analysis(workdir).download(project, output_dir, allow_partial=allow_partial)
    for line in report.lines():
        print(line)
    if not report.complete:
        raise GridError(
            f"{len(report.missing)} of {report.expected} files of '{project}' are missing",
            fix=f"run 'inv grid.download --project {project}' again: it fetches only those",
        )


@task(help={"project": PROJECT, "dry_run": DRY_RUN, "workdir": WORKDIR})
def logs(c: Context, project: str, dry_run: bool = False, workdir: str | None = None) -> None:
    """Fetch the jobs' output sandboxes (basf2 logs) into log/<project>/."""
    if dry_run:
        return _dry_run(workdir, ["gb2_job_output", "-p", projects.check_name(project)])
    print(f"output sandboxes in {_analysis(workdir).logs(project)}")


@task(
    help={
        "project": PROJECT,
        "output": "merged file (default results/<project>_merged.root)",
        "output_dir": "the download directory (default results/)",
        "force": "replace an existing output file",
        "allow_partial": "merge although files are missing",
        "workdir": WORKDIR,
    }
)
def merge(
    c: Context,
    project: str,
    output: str | None = None,
    output_dir: str = "results",
    force: bool = False,
    allow_partial: bool = False,
    workdir: str | None = None,
) -> None:
    """hadd the downloaded files in the container, checking schemas and entry counts."""
    result = _analysis(workdir).merge(
        project, output=output, output_dir=output_dir, force=force, allow_partial=allow_partial
    )
    for line in result.lines():
        print(line)


@task(help={"project": PROJECT, "dry_run": DRY_RUN, "workdir": WORKDIR})
def kill(c: Context, project: str, dry_run: bool = False, workdir: str | None = None) -> None:
    """Kill every job of a project (they can be rescheduled later)."""
    if dry_run:
        return _dry_run(workdir, ["gb2_job_kill", "--force", "-p", projects.check_name(project)])
    _analysis(workdir).kill(project)
    print(f"killed the jobs of {project}")


@task(help={"project": PROJECT, "yes": "do not ask", "workdir": WORKDIR})
def delete(c: Context, project: str, yes: bool = False, workdir: str | None = None) -> None:
    """Delete a project's jobs from the grid; the name stays used forever."""
    if not yes and (not sys.stdin.isatty() or input(f"delete {project}? [y/N] ") != "y"):
        raise ConfigError(f"not deleting {project} without confirmation", fix="pass --yes")
    _analysis(workdir).delete(project)
    print(f"deleted the jobs of {project} (the name can never be used again)")


@task(help={"project": PROJECT, "dry_run": DRY_RUN, "workdir": WORKDIR})
def reschedule(c: Context, project: str, dry_run: bool = False, workdir: str | None = None) -> None:
    """Reschedule every Failed, Killed or Stalled job of a project."""
    if dry_run:
        name = projects.check_name(project)
        return _dry_run(workdir, ["gb2_job_reschedule", "-p", name, "--force"])
    _analysis(workdir).reschedule(project)
    print(f"rescheduled the failed jobs of {project}")


@task(
    positional=["action"],
    help={
        "action": "search (by metadata), list (with --lpn), or an LPN to list",
        "lpn": "for list: the dataset, datablock or file LPN",
        "mc_event": "search: event type, e.g. taupair",
        "campaign": "search: campaign, e.g. MC15ri_b",
        "data_type": "search: mc or data",
        "beam_energy": "search: e.g. 4S",
        "bkg_level": "search: BGx0 or BGx1",
        "skim_decay": "search: skim code",
        "workdir": WORKDIR,
    },
)
def datasets(
    c: Context,
    action: str,
    lpn: str | None = None,
    mc_event: str | None = None,
    campaign: str | None = None,
    data_type: str | None = None,
    beam_energy: str | None = None,
    bkg_level: str | None = None,
    skim_decay: str | None = None,
    workdir: str | None = None,
) -> None:
    """`grid.datasets search --mc-event taupair`, `grid.datasets LPN` (or `list --lpn LPN`)."""
    analysis = _analysis(workdir)
    if action == "search":
        found = analysis.search_datasets(
            mc_event=mc_event,
            campaign=campaign,
            data_type=data_type,
            beam_energy=beam_energy,
            bkg_level=bkg_level,
            skim_decay=skim_decay,
        )
        print("\n".join(found) if found else "no matching datasets")
    elif (target := (lpn or "") if action == "list" else action).startswith("/belle"):
        for entry in analysis.list_dataset(target):
            size = f"  {entry.size}" if entry.size is not None else ""
            print(f"{entry.lfn}{size}")
    else:
        raise ConfigError(
            f"unknown datasets action '{action}' (or list without an LPN)",
            fix="inv grid.datasets search --mc-event taupair, or inv grid.datasets /belle/...",
        )


@task(help={"workdir": WORKDIR})
def projects_(c: Context, workdir: str | None = None) -> None:
    """Your projects of the last month (gb2_project_summary) and the local manifests."""
    analysis = _analysis(workdir)
    rows = analysis.projects()
    local = set(projects.known_projects(analysis.workdir))
    print(f"{'project':<34}{'status':<10}{'done':>6}{'fail':>6}{'run':>6}{'wait':>6}  manifest")
    for row in rows:
        mark = "yes" if row.project in local else "-"
        print(
            f"{row.project:<34}{row.status:<10}{row.done:>6}{row.failed:>6}{row.running:>6}"
            f"{row.waiting:>6}  {mark}"
        )


for body, name in (
    (submit, "submit"),
    (status, "status"),
    (monitor_, "monitor"),
    (download, "download"),
    (logs, "logs"),
    (merge, "merge"),
    (kill, "kill"),
    (delete, "delete"),
    (reschedule, "reschedule"),
    (datasets, "datasets"),
    (projects_, "projects"),
):
    ns.add_task(body, name=name)
