"""gbasf2 project names and the project manifest.

A project name is at most 32 characters of ``[A-Za-z0-9_-]`` and can never be reused, not even
after the project was deleted (field case C14). The manifest records what a project was made
from (steering file hash, release, image, datasets, options, git commit); it lives next to the
analysis in ``.b2env/projects/<project>.json`` and later tasks read it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from b2env import gbasf2, runner
from b2env.errors import B2envError, ConfigError, GridError

log = logging.getLogger(__name__)

MAX_LENGTH = 32
HASH_LENGTH = 10
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]+$")
MANIFEST_DIR = Path(".b2env") / "projects"


def suggest_name(name: str) -> str:
    """A valid name close to ``name``: cleaned prefix plus a short hash of the original."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_-") or "project"
    digest = hashlib.sha1(name.encode()).hexdigest()[:HASH_LENGTH]
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
        raise GridError(
            f"project name '{name}' has been used before",
            why="a gbasf2 project name can never be reused, even after the project was deleted",
            fix=f"pick a new name, e.g. --project {suggest_name(name + dt.date.today().isoformat())}",
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
