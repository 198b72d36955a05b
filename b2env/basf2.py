"""Local basf2 runs in the b2env container.

A run sets up the release with the image's ``with-basf2`` helper, runs ``basf2`` on a steering
file in the work directory (mounted at the same path, so file names mean the same inside and
out), streams or captures its log, and returns basf2's own exit code together with the ROOT
files it wrote, their trees and entry counts (read with uproot on the host).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from b2env import container
from b2env.config import Config
from b2env.errors import Basf2Error

log = logging.getLogger(__name__)

#: The 10-event check of ``inv basf2.test`` (EventInfoSetter + Progress), fed on stdin.
TEST_STEERING = """\
import basf2
main = basf2.Path()
main.add_module("EventInfoSetter", evtNumList=[10])
main.add_module("Progress")
basf2.process(main)
print(basf2.statistics)
"""
VERSION_PREFIX = "basf2 (Belle II Analysis Software Framework), Version:"


@dataclass(frozen=True)
class OutputFile:
    """A ROOT file a run wrote: its path and the entries of each TTree (None: unreadable)."""

    path: Path
    trees: dict[str, int] | None

    def describe(self) -> str:
        if self.trees is None:
            return f"{self.path.name}: not readable as a ROOT file"
        listing = ", ".join(f"{name} ({n} entries)" for name, n in self.trees.items())
        return f"{self.path.name}: {listing or 'no trees'}"


@dataclass(frozen=True)
class RunResult:
    exit_code: int
    outputs: list[OutputFile] = field(default_factory=list)
    log: str = ""  # stdout then stderr, when captured


@dataclass(frozen=True)
class TestResult:
    passed: bool
    version: str  # the `basf2 --version` line ("" when none was printed)
    seconds: float
    log: str


def basf2_argv(
    steering: str,
    *,
    inputs: Sequence[str] = (),
    events: int | None = None,
    output: str | None = None,
    args: Sequence[str] = (),
    dry_run: bool = False,
) -> list[str]:
    """The ``basf2`` command line (before the release wrapper)."""
    argv = ["basf2", steering]
    for name in inputs:
        argv += ["-i", name]
    if events is not None:
        argv += ["-n", str(events)]
    if output:
        argv += ["-o", output]
    if dry_run:
        argv.append("--dry-run")
    if args:
        argv += ["--", *args]
    return argv


def in_work_dir(cfg: Config, name: str, what: str) -> str:
    """``name`` as seen in the container; refuse paths outside the mounted work directory."""
    path = (cfg.work_path / name).resolve()
    if path != cfg.work_path and cfg.work_path not in path.parents:
        raise Basf2Error(
            f"the {what} {name} is outside the work directory {cfg.work_path}",
            why="only the work directory is mounted in the container",
            fix=f"copy it into {cfg.work_path} or run from the directory that holds it",
        )
    return str(path)


def check_work_dir(cfg: Config) -> None:
    work = cfg.work_path
    if not work.is_dir():
        raise Basf2Error(f"the work directory {work} does not exist",
                         fix="create it or pass --workdir")
    if not os.access(work, os.W_OK | os.X_OK):
        raise Basf2Error(
            f"the work directory {work} is not writable for you",
            why="basf2 writes its output files there",
            fix=f"run from a directory you own, or fix the permissions of {work}",
        )


def run(
    cfg: Config,
    steering: str,
    *,
    inputs: Sequence[str] = (),
    events: int | None = None,
    output: str | None = None,
    args: Sequence[str] = (),
    capture: bool = False,
) -> RunResult:
    """Run ``steering`` with ``cfg.release``; basf2's exit code and what it wrote."""
    check_work_dir(cfg)
    steering_path = in_work_dir(cfg, steering, "steering file")
    if not Path(steering_path).is_file():
        raise Basf2Error(f"the steering file {steering} does not exist",
                         fix="check the name; it is looked up relative to the work directory")
    inside = [in_work_dir(cfg, name, "input file") for name in inputs]
    argv = basf2_argv(steering_path, inputs=inside, events=events, output=output, args=args)
    before = root_files(cfg.work_path)
    spec = container.run_spec(cfg, container.with_basf2(cfg.release, argv), interactive=False)
    log.info("running basf2 %s with %s", steering, cfg.release)
    done = container.execute(spec, capture=capture)
    written = [p for p, stamp in root_files(cfg.work_path).items() if before.get(p) != stamp]
    return RunResult(done.returncode, [describe_file(p) for p in sorted(written)],
                     done.stdout + done.stderr)


def root_files(directory: Path) -> dict[Path, tuple[int, int]]:
    """The .root files directly in ``directory`` with (mtime_ns, size)."""
    found = {}
    for path in directory.glob("*.root"):
        if path.is_file():
            stat = path.stat()
            found[path] = (stat.st_mtime_ns, stat.st_size)
    return found


def describe_file(path: Path) -> OutputFile:
    """The TTrees of a ROOT file and their entry counts, read with uproot."""
    import uproot

    try:
        with uproot.open(path) as root_file:
            trees = {
                key.split(";")[0]: int(root_file[key].num_entries)
                for key, cls in root_file.classnames().items()
                if cls == "TTree"
            }
    except Exception as exc:  # noqa: BLE001 - any unreadable file is reported, not raised
        log.debug("reading %s failed: %s", path, exc)
        return OutputFile(path, None)
    return OutputFile(path, trees)


def test_release(cfg: Config) -> TestResult:
    """``basf2 --version`` and the 10-event check in one container start."""
    script = "basf2 --version && basf2 -n 10"
    argv = container.with_basf2(cfg.release, ["bash", "-c", script])
    spec = container.run_spec(cfg, argv, interactive=True)
    started = time.monotonic()
    done = container.execute(spec, input=TEST_STEERING, capture=True)
    elapsed = time.monotonic() - started
    text = done.stdout + done.stderr
    version = next((line for line in done.stdout.splitlines()
                    if line.startswith(VERSION_PREFIX)), "")
    passed = done.returncode == 0 and bool(version) and "Processed:" in done.stdout
    return TestResult(passed, version, elapsed, text)


def smoke_test(cfg: Config) -> TestResult:
    """:func:`test_release`, raising Basf2Error (with the log's tail) when it fails."""
    result = test_release(cfg)
    if not result.passed:
        raise Basf2Error(
            f"the basf2 test of {cfg.release} failed",
            evidence=[line for line in result.log.splitlines() if line.strip()][-12:],
            fix="run 'inv doctor' for the CVMFS and release checks, or 'inv basf2.releases' "
            "for the installed releases",
        )
    return result


def list_releases(cfg: Config) -> tuple[list[str], str]:
    """(installed releases, recommended release) from ``b2setup --help``/``b2help-releases``."""
    script = (
        "export BELLE2_NO_TOOLS_CHECK=1; . /cvmfs/belle.cern.ch/tools/b2setup '' >/dev/null"
        " && b2setup --help 2>&1 && echo '--recommended--' && b2help-releases"
    )
    spec = container.run_spec(cfg, ["bash", "-c", script], interactive=False)
    done = container.execute(spec, capture=True)
    if done.returncode != 0:
        raise Basf2Error(
            "listing the basf2 releases failed",
            evidence=done.tail(),
            fix="run 'inv doctor' to check that /cvmfs/belle.cern.ch is available",
        )
    return parse_release_listing(done.stdout)


def parse_release_listing(text: str) -> tuple[list[str], str]:
    """Parse the output of the listing script of :func:`list_releases`."""
    lines = text.splitlines()
    releases: list[str] = []
    recommended = ""
    in_list = False
    for index, line in enumerate(lines):
        if line.startswith("The following releases are available:"):
            in_list = True
        elif line == "--recommended--":
            in_list = False
            recommended = lines[index + 1].strip() if index + 1 < len(lines) else ""
            break
        elif in_list and line.startswith("  ") and line.strip():
            releases.append(line.strip())
    return releases, recommended
