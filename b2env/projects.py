"""gbasf2 project names and the project manifest.

A project name is at most 32 characters of ``[A-Za-z0-9_-]`` and can never be reused, not even
after the project was deleted (field case C14). The manifest records what a project was made
from (steering file hash, release, image, datasets, options, git commit); it lives next to the
analysis in ``.b2env/projects/<project>.json`` and later tasks read it.
"""

from __future__ import annotations

import ast
import datetime as dt
import hashlib
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from b2env import gbasf2, lfn, runner
from b2env.config import Config
from b2env.errors import B2envError, ConfigError, GridError, ProxyError

log = logging.getLogger(__name__)

MAX_LENGTH = 32
HASH_LENGTH = 10
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]+$")
MANIFEST_DIR = Path(".b2env") / "projects"


def suggest_name(name: str, salt: str = "") -> str:
    """A valid name close to ``name``: cleaned prefix plus a short hash of the original."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_-") or "project"
    digest = hashlib.sha1((name + salt).encode()).hexdigest()[:HASH_LENGTH]
    prefix = cleaned[: MAX_LENGTH - HASH_LENGTH - 1].rstrip("_-")
    return f"{prefix}_{digest}"


def check_name(name: str) -> str:
    """Return ``name`` when gbasf2 accepts it; else ConfigError with a suggested name."""
    problem = None
    if not name:
        problem = "it is empty"
    elif not NAME_PATTERN.match(name):
        bad = sorted({c for c in name if not re.match(r"[A-Za-z0-9_-]", c)})
        problem = "it contains " + " ".join(repr(c) for c in bad)
    elif len(name) > MAX_LENGTH:
        problem = f"it is {len(name)} characters long"
    if problem:
        raise ConfigError(
            f"project name '{name}' is not allowed: {problem}",
            why=f"gbasf2 project names are at most {MAX_LENGTH} characters of A-Z a-z 0-9 _ -",
            fix=f"use --project {suggest_name(name)}",
        )
    return name


def ensure_unused(call: gbasf2.Gb2Caller, name: str) -> None:
    """Refuse a name the grid already knows: project names are never reused (C14)."""
    if gbasf2.project_known(call, name):
        fresh = suggest_name(name, salt=dt.datetime.now(dt.timezone.utc).isoformat())
        raise GridError(
            f"project name '{name}' has been used before",
            why="a gbasf2 project name can never be reused, even after the project was deleted",
            fix=f"pick a new name, e.g. --project {fresh}",
        )


@dataclass
class Manifest:
    """What a project was made from; written at submission, read by later tasks."""

    project: str
    steering_file: str
    steering_sha256: str
    release: str
    image: str
    datasets: list[str]
    options: dict[str, Any] = field(default_factory=dict)
    git_commit: str | None = None
    submitted_at: str = ""
    group: str = "belle"

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"


def manifest_path(workdir: Path, project: str) -> Path:
    return workdir / MANIFEST_DIR / f"{project}.json"


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def git_commit(directory: Path) -> str | None:
    """The analysis directory's commit (with '-dirty' when it has changes), or None."""
    try:
        head = runner.run(["git", "-C", str(directory), "rev-parse", "HEAD"], check=False)
        if head.returncode != 0:
            return None
        dirty = runner.run(["git", "-C", str(directory), "status", "--porcelain"], check=False)
    except B2envError:  # git missing: the manifest just has no commit
        return None
    return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def write_manifest(workdir: Path, manifest: Manifest) -> Path:
    path = manifest_path(workdir, manifest.project)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not manifest.submitted_at:
        manifest.submitted_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    temporary = path.with_suffix(".tmp")
    temporary.write_text(manifest.to_json())
    temporary.replace(path)
    log.info("project manifest written to %s", path)
    return path


def read_manifest(workdir: Path, project: str) -> Manifest | None:
    path = manifest_path(workdir, project)
    if not path.is_file():
        return None
    try:
        return Manifest(**json.loads(path.read_text()))
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"project manifest {path} is damaged ({exc})",
            fix=f"restore it from version control or remove {path}",
        ) from None


def known_projects(workdir: Path) -> list[str]:
    directory = workdir / MANIFEST_DIR
    return sorted(p.stem for p in directory.glob("*.json")) if directory.is_dir() else []


# -- submission -------------------------------------------------------------------------------

SITE_PATTERN = re.compile(r"^[A-Za-z0-9._-]+$")
SANDBOX_LIMIT = 10 * 1024 * 1024
MIN_PROXY_SECONDS = 3600


@dataclass(frozen=True)
class Options:
    """gbasf2 options b2env passes through (all checked before anything is submitted)."""

    files_per_job: int | None = None  # -n
    cputime: int | None = None  # --cputime, minutes
    priority: int | None = None  # --priority, 0-10
    jobtype: str = "User"  # --jobtype
    sites: tuple[str, ...] = ()  # --site
    banned_sites: tuple[str, ...] = ()  # --banned_site
    sandbox_files: tuple[str, ...] = ()  # -f


@dataclass(frozen=True)
class Plan:
    """A checked submission: everything gbasf2 needs, nothing unchecked."""

    project: str
    steering: Path
    release: str
    datasets: tuple[str, ...]
    dslist: Path | None
    options: Options
    workdir: Path

    def argv(self) -> list[str]:
        o = self.options
        argv = ["gbasf2", str(self.steering), "-p", self.project, "-s", self.release]
        argv += (
            ["--input_dslist", str(self.dslist)] if self.dslist else ["-i", ",".join(self.datasets)]
        )
        argv += ["-n", str(o.files_per_job)] if o.files_per_job else []
        argv += ["--cputime", str(o.cputime)] if o.cputime else []
        argv += ["--priority", str(o.priority)] if o.priority is not None else []
        argv += ["--jobtype", o.jobtype]
        argv += ["--site", ",".join(o.sites)] if o.sites else []
        argv += ["--banned_site", ",".join(o.banned_sites)] if o.banned_sites else []
        argv += ["-f", *o.sandbox_files] if o.sandbox_files else []
        return argv


def check_options(options: Options, workdir: Path) -> None:
    """Refuse out-of-range values and odd names before the grid is asked anything."""
    if options.priority is not None and not 0 <= options.priority <= 10:
        raise ConfigError(f"--priority {options.priority} is not in 0-10", fix="--priority 5")
    if options.cputime is not None and options.cputime <= 0:
        raise ConfigError(
            f"--cputime {options.cputime} must be positive (minutes)",
            fix="--cputime 60  (one hour)",
        )
    if options.files_per_job is not None and options.files_per_job < 1:
        raise ConfigError(
            f"--files-per-job {options.files_per_job} must be at least 1", fix="--files-per-job 1"
        )
    for site in (*options.sites, *options.banned_sites, options.jobtype):
        if not SITE_PATTERN.match(site):
            raise ConfigError(
                f"'{site}' is not a DIRAC site or job type name",
                fix="use names like LCG.KEK.jp (letters, digits, '.', '_', '-')",
            )
    total = 0
    for name in options.sandbox_files:
        path = inside_workdir(Path(name), workdir, "-f")
        lfn.check_output_name(path.name, 200)
        total += path.stat().st_size
    if total > SANDBOX_LIMIT:
        raise ConfigError(
            f"the sandbox files are {total // 1024} kB together",
            why="the input sandbox takes at most 10 MB",
            fix="put large inputs on the grid and pass them as datasets",
        )


def inside_workdir(path: Path, workdir: Path, what: str) -> Path:
    """``path`` resolved against the analysis directory; it must exist below it."""
    resolved = (path if path.is_absolute() else workdir / path).resolve()
    if not resolved.is_file():
        raise ConfigError(f"{what} file {path} does not exist", fix=f"check the path {resolved}")
    if not resolved.is_relative_to(workdir):
        raise ConfigError(
            f"{what} file {resolved} is outside the analysis directory {workdir}",
            why="only the analysis directory is mounted into the container",
            fix=f"copy it below {workdir} or run from a directory that contains it",
        )
    return resolved


def read_dslist(path: Path) -> list[str]:
    lines = [line.split("#")[0].strip() for line in path.read_text().splitlines()]
    return lfn.check_lpns([line for line in lines if line], what=f"LPN in {path.name}")


def prepare(
    cfg: Config,
    call: gbasf2.Gb2Caller,
    steering: Path,
    project: str,
    datasets: Sequence[str],
    dslist: Path | None,
    options: Options,
) -> Plan:
    """Every check before submission: local ones first, then what only the grid knows."""
    check_name(project)
    workdir = cfg.work_path
    lpns = lfn.check_lpns(datasets)
    list_file = inside_workdir(dslist, workdir, "--dslist") if dslist else None
    if bool(lpns) == bool(list_file):
        raise ConfigError(
            "give the input as --dataset LPN (repeatable) or as --dslist FILE",
            fix="e.g. --dataset /belle/MC/.../taupair/mdst",
        )
    lpns = read_dslist(list_file) if list_file else lpns
    check_options(options, workdir)
    steering_path = inside_workdir(steering, workdir, "steering")
    check_steering(steering_path, cfg.lfn_max_length)

    left = gbasf2.proxy_seconds_left(call)
    if left < MIN_PROXY_SECONDS:
        raise ProxyError(
            f"the proxy has {left // 60} min left, less than the hour a submission needs",
            fix=f"inv proxy.init --group {cfg.group}",
        )
    ensure_unused(call, project)
    check_release_on_grid(call, cfg.release)
    for lpn in lpns:
        check_dataset_exists(call, lpn)
    return Plan(project, steering_path, cfg.release, tuple(lpns), list_file, options, workdir)


def check_steering(path: Path, lfn_max_length: int = 200) -> None:
    """The steering file is Python that parses (it is not run here), and every ``.root`` name
    it writes is a clean, short base name: it becomes part of an output LFN (field case C18)."""
    if path.suffix != ".py":
        raise ConfigError(
            f"steering file {path.name} is not a .py file",
            fix="pass the basf2 steering script, e.g. steering_taupair.py",
        )
    try:
        tree = ast.parse(path.read_text(), str(path))
    except SyntaxError as exc:
        raise ConfigError(
            f"steering file {path.name} has a syntax error on line {exc.lineno}",
            evidence=[str(exc)],
            fix=f"fix {path}, then run 'inv basf2.check'",
        ) from None
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if node.value.endswith(".root"):
                lfn.check_output_name(Path(node.value).name, lfn_max_length)
    _basf2_check(path)


def _basf2_check(path: Path) -> None:
    """The static checks of ``inv basf2.check``: errors refuse, warnings are logged."""
    from b2env import steering

    findings = steering.check_file(path)
    for finding in findings:
        if finding.level == "warning":
            log.warning("%s: %s", path.name, finding)
    errors = [str(f) for f in findings if f.level == "error"]
    if errors:
        raise ConfigError(
            f"steering file {path.name} is not ready for the grid",
            evidence=errors,
            fix=f"fix it, then check with 'inv basf2.check {path.name}'",
        )


def check_release_on_grid(call: gbasf2.Gb2Caller, release: str) -> None:
    releases = gbasf2.checked(call, ["gb2_check_release"]).stdout.split()
    if release not in releases:
        raise GridError(
            f"release {release} is not available on the grid",
            evidence=[f"available: {' '.join(releases[-8:])}"],
            fix="pick one of the releases 'gb2_check_release' lists, e.g. --release "
            + (releases[-1] if releases else "release-08-00-00"),
        )


def check_dataset_exists(call: gbasf2.Gb2Caller, lpn: str) -> None:
    done = call(["gb2_ds_list", lpn])
    if done.returncode != 0 or not gbasf2.parse_ds_list(done.stdout):
        raise GridError(
            f"dataset {lpn} does not exist on the grid (or is empty)",
            evidence=done.tail(3),
            fix="find datasets with 'inv grid.datasets search --mc-event taupair'",
        )


@dataclass(frozen=True)
class Submitted:
    fields: dict[str, str]
    lines: list[str]


def run_gbasf2(call: gbasf2.Gb2Caller, plan: Plan, *, dry_run: bool) -> Submitted:
    """gbasf2 with ``--dry_run`` (summary only) or ``--force`` (the user has confirmed)."""
    argv = [*plan.argv(), "--dry_run" if dry_run else "--force"]
    done = gbasf2.checked(call, argv, cwd=plan.workdir)
    return Submitted(gbasf2.parse_submission_summary(done.stdout), done.stdout.splitlines())


def manifest_for(cfg: Config, plan: Plan, image: str) -> Manifest:
    o = plan.options
    return Manifest(
        project=plan.project,
        steering_file=str(plan.steering.relative_to(plan.workdir)),
        steering_sha256=sha256_of(plan.steering),
        release=plan.release,
        image=image,
        datasets=list(plan.datasets),
        options={
            "files_per_job": o.files_per_job,
            "cputime": o.cputime,
            "priority": o.priority,
            "jobtype": o.jobtype,
            "sites": list(o.sites),
            "banned_sites": list(o.banned_sites),
            "sandbox_files": list(o.sandbox_files),
        },
        git_commit=git_commit(plan.workdir),
        group=cfg.group,
    )
