"""``inv basf2.*``: test a release, run and check steering files locally, list releases."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from invoke import Collection
from invoke.exceptions import Exit

from b2env.errors import Basf2Error
from b2env.tasks._common import config, lazy_module, task
from b2env.tasks.shell import remainder_words

if TYPE_CHECKING:
    from b2env import basf2 as local
    from b2env import steering as checks
else:
    local = lazy_module("b2env.basf2")
    checks = lazy_module("b2env.steering")

ns = Collection("basf2")

RELEASE_HELP = "basf2 release (default: the configured release)"
WORKDIR_HELP = "analysis directory mounted as the work directory (default: here)"


@task(help={"release": RELEASE_HELP, "workdir": WORKDIR_HELP})
def test(c, release=None, workdir=None):
    """The 10-event check (EventInfoSetter + Progress) in the container, with the version."""
    cfg = config(workdir=workdir, release=release)
    result = local.smoke_test(cfg)
    print(f"basf2 test passed: {result.version} ({result.seconds:.1f} s)")


@task(
    positional=["steering"],
    iterable=["input"],
    help={
        "steering": "steering file (in the work directory)",
        "input": "input file for RootInput, like basf2 -i (repeatable)",
        "n_events": "number of events (basf2 -n)",
        "output": "output file of the first RootOutput (basf2 -o)",
        "release": RELEASE_HELP,
        "workdir": WORKDIR_HELP,
    },
)
def run(c, steering, input=None, n_events=None, output=None, release=None, workdir=None):
    """Run STEERING with basf2 in the container; words after -- go to the steering file."""
    cfg = config(workdir=workdir, release=release)
    n = int(n_events) if n_events is not None else None
    result = local.run(cfg, steering, inputs=input or [], events=n, output=output,
                       args=remainder_words(c.remainder))
    if result.outputs:
        print("files written:")
        for written in result.outputs:
            print(f"  {written.describe()}")
    if result.exit_code != 0:
        print(f"basf2 exited with code {result.exit_code}", file=sys.stderr)
        raise Exit(code=result.exit_code)


@task(
    positional=["steering"],
    help={
        "steering": "steering file to check (in the work directory)",
        "no_dry_run": "static checks only; do not run basf2 --dry-run in the container",
        "release": RELEASE_HELP,
        "workdir": WORKDIR_HELP,
    },
)
def check(c, steering, no_dry_run=False, release=None, workdir=None):
    """Check STEERING before the grid: parses, no hard-coded inputs, plain .root outputs."""
    cfg = config(workdir=workdir, release=release)
    path = cfg.work_path / steering
    findings = checks.check_file(path)
    for finding in findings:
        print(finding)
    errors = [f for f in findings if f.level == "error"]
    if not no_dry_run and path.is_file() and not any(f.line and "syntax" in f.message
                                                     for f in errors):
        errors = unique_errors(errors + report_dry_run(checks.dry_run(cfg, Path(steering))))
    if errors:
        raise Basf2Error(f"{steering}: {len(errors)} problem(s) to fix before the grid",
                         fix="fix the lines listed above and run 'inv basf2.check' again")
    print(f"{steering}: ready for the grid ({len(findings)} warning(s))")


def report_dry_run(result: checks.DryRun) -> list[checks.Finding]:
    """Print what basf2 --dry-run says; the errors it implies."""
    if result.exit_code != 0:
        print(result.log.rstrip(), file=sys.stderr)
        failed = checks.Finding("error", 0, f"basf2 --dry-run failed with exit code "
                                            f"{result.exit_code} (its log is above)")
        print(failed)
        return [failed]
    print(f"basf2 --dry-run reads: {', '.join(result.inputs) or '(nothing)'}")
    print(f"basf2 --dry-run writes: {', '.join(result.outputs) or '(nothing)'}")
    problems = [p for name in result.outputs for p in checks.output_name_problems(name)]
    for problem in problems:
        print(f"error: {problem}")
    return [checks.Finding("error", 0, p) for p in problems]


def unique_errors(findings: list[checks.Finding]) -> list[checks.Finding]:
    """One error per message: the dry run often repeats what the static check found."""
    seen: dict[str, checks.Finding] = {}
    for finding in findings:
        seen.setdefault(finding.message, finding)
    return list(seen.values())


@task(help={"workdir": WORKDIR_HELP})
def releases(c, workdir=None):
    """List the basf2 releases on /cvmfs, marking the recommended one."""
    cfg = config(workdir=workdir)
    names, recommended = local.list_releases(cfg)
    for name in names:
        marks = [m for m, on in (("recommended", name == recommended),
                                 ("configured", name == cfg.release)) if on]
        print(f"{name}{'  (' + ', '.join(marks) + ')' if marks else ''}")


ns.add_task(test)
ns.add_task(run)
ns.add_task(check)
ns.add_task(releases)
