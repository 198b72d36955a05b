"""Layered configuration.

Layers, lowest first: packaged defaults < user file ``~/.config/b2env/config.yaml`` < project
file ``b2env.yaml`` in the analysis directory < ``B2ENV_*`` environment variables < task
arguments. Files are read with ``yaml.safe_load`` semantics; unknown keys, wrong types and bad
values are refused naming the file, the key and the line. The merged result is a frozen
:class:`Config` that remembers where each value came from.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import yaml

from b2env.errors import ConfigError

OsName = Literal["el9", "ubuntu2404", "debian12"]
CvmfsMode = Literal["auto", "host", "mock", "none"]
GridMode = Literal["auto", "real", "mock"]
EngineName = Literal["docker", "apptainer"]

RELEASE_PATTERN = re.compile(
    r"^(release-\d{2}-\d{2}-\d{2}|light-\d{4}-[a-z]+|prerelease-\d{2}-\d{2}-\d{2}[a-z]?)$"
)
GROUP_PATTERN = re.compile(r"^belle[a-z0-9_]*$")
PROJECT_FILE = "b2env.yaml"
ENV_PREFIX = "B2ENV_"


@dataclass(frozen=True)
class Config:
    """Every setting b2env reads. Field docs double as ``inv config.show`` help."""

    release: str = "release-08-00-00"  # basf2 release used locally and on the grid
    os: OsName = "el9"  # OS of the user image (el9 for real CVMFS)
    engine: EngineName = "docker"  # container engine
    cvmfs_mode: CvmfsMode = "auto"  # host: bind host /cvmfs; mock: the stand-in; auto detects
    cvmfs_repos: tuple[str, ...] = ("belle.cern.ch", "belle.kek.jp", "grid.cern.ch")
    globus_dir: str = "~/.globus"  # user certificate and key
    proxy_path: str = ""  # empty: $X509_USER_PROXY, else /tmp/x509up_u<uid>
    gbasf2_setup: str = ""  # override of the gbasf2 setup script (bashrc) path
    group: str = "belle"  # DIRAC group / VO group for proxies
    grid_mode: GridMode = "auto"  # real grid or the mock grid (auto: mock with mock CVMFS)
    mock_grid_url: str = "https://mock-grid:8443"  # mock grid address seen from containers
    network: str = "b2env-grid"  # Docker network joining the user container and the mock grid
    workdir: str = ""  # analysis directory; empty: the directory the command runs from
    image: str = ""  # explicit user image; empty: the tag b2env builds for ``os``
    state_dir: str = "~/.local/state/b2env"  # b2env's own state (test CA, staged mock CVMFS)
    proxy_hours: int = 24  # default proxy lifetime
    monitor_interval: int = 300  # seconds between monitor polls
    max_retries: int = 3  # reschedules per job before it counts as failed for good
    stalled_polls: int = 3  # polls a job may stay Stalled before it counts as failed
    lfn_max_length: int = 200  # longest output file base name accepted
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    # -- derived values -------------------------------------------------------------------
    @property
    def work_path(self) -> Path:
        return Path(self.workdir or os.getcwd()).expanduser().resolve()

    @property
    def globus_path(self) -> Path:
        return Path(self.globus_dir).expanduser()

    @property
    def state_path(self) -> Path:
        return Path(self.state_dir).expanduser()

    @property
    def proxy_file(self) -> Path:
        if self.proxy_path:
            return Path(self.proxy_path).expanduser()
        env = os.environ.get("X509_USER_PROXY")
        if env:
            return Path(env)
        return Path(f"/tmp/x509up_u{os.getuid()}")

    def with_overrides(self, source: str = "argument", **values: Any) -> Config:
        """A new Config with task arguments applied (``None`` means not given)."""
        given = {k: v for k, v in values.items() if v is not None}
        checked = {k: _coerce(k, v, source, None) for k, v in given.items()}
        sources = dict(self.sources) | {k: source for k in checked}
        return dataclasses.replace(self, **checked, sources=sources)


FIELDS = {f.name: f for f in dataclasses.fields(Config) if f.name != "sources"}


def _coerce(key: str, value: Any, source: str, line: int | None) -> Any:
    """Check ``value`` for ``key``; convert strings from the environment."""
    where = f"{source}" + (f", line {line}" if line else "")
    if key not in FIELDS:
        close = [k for k in FIELDS if k.startswith(key[:3])]
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ConfigError(
            f"unknown configuration key '{key}' in {where}{hint}",
            fix=f"remove it; known keys: {', '.join(sorted(FIELDS))}",
        )
    default = FIELDS[key].default
    try:
        if isinstance(default, bool):
            value = _to_bool(value)
        elif isinstance(default, int):
            if isinstance(value, bool):
                raise TypeError
            value = int(value)
        elif isinstance(default, tuple):
            if isinstance(value, str):
                value = [v for v in re.split(r"[,\s]+", value) if v]
            if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
                raise TypeError
            value = tuple(value)
        elif not isinstance(value, str):
            raise TypeError
    except (TypeError, ValueError):
        raise ConfigError(
            f"'{key}' in {where} has the wrong type ({type(value).__name__}: {value!r})",
            fix=f"give '{key}' a {type(default).__name__} value like {default!r}",
        ) from None
    choices = _choices(key)
    if choices and value not in choices:
        raise ConfigError(
            f"'{key}' in {where} is '{value}', which is not one of {', '.join(choices)}",
            fix=f"set {key} to one of: {', '.join(choices)}",
        )
    if key == "release":
        check_release(value, where)
    if key == "group" and not GROUP_PATTERN.match(value):
        raise ConfigError(
            f"group '{value}' in {where} is not a Belle II DIRAC group",
            fix="use 'belle' or another belle_* group, e.g. belle_starterkit",
        )
    return value


_LITERALS: dict[str, Any] = {
    "os": OsName,
    "cvmfs_mode": CvmfsMode,
    "grid_mode": GridMode,
    "engine": EngineName,
}


def _choices(key: str) -> tuple[str, ...]:
    return get_args(_LITERALS[key]) if key in _LITERALS else ()


def check_release(release: str, where: str = "argument") -> str:
    if not RELEASE_PATTERN.match(release):
        raise ConfigError(
            f"release '{release}' in {where} does not look like a basf2 release",
            why="releases are named release-AA-BB-CC, light-YYMM-name or prerelease-AA-BB-CCx",
            fix="pick one from 'inv basf2.releases', e.g. release-08-00-00",
        )
    return release


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).lower() in {"1", "true", "yes", "on"}:
        return True
    if str(value).lower() in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(value)


def read_file(path: Path) -> dict[str, tuple[Any, int]]:
    """Key -> (value, line) from one YAML file; refuse broken YAML and non-mappings."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}", fix=f"check {path}") from exc
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(
            f"{path}{line}: not valid YAML ({problem})",
            fix=f"fix the YAML syntax in {path}",
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
        raise ConfigError(
            f"{path}: the top level must be a mapping of keys to values",
            fix="write 'key: value' lines, e.g. 'release: release-08-00-00'",
        )
    lines = {k.value: k.start_mark.line + 1 for k, _ in node.value}
    return {str(k): (v, lines.get(str(k), 0)) for k, v in data.items()}


def user_config_file(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME", "~")) / ".config")
    return Path(base).expanduser() / "b2env" / "config.yaml"


def load_config(
    workdir: str | Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Merge every layer into one checked Config."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    sources: dict[str, str] = {k: "default" for k in FIELDS}

    env_workdir = env.get(f"{ENV_PREFIX}WORKDIR")
    project_dir = Path(workdir or env_workdir or os.getcwd()).expanduser()
    if not project_dir.is_dir():
        raise ConfigError(
            f"work directory {project_dir} does not exist",
            fix="run from your analysis directory or pass an existing --workdir",
        )
    for path in (user_config_file(env), project_dir / PROJECT_FILE):
        if path.is_file():
            for key, (value, line) in read_file(path).items():
                values[key] = _coerce(key, value, str(path), line)
                sources[key] = f"{path}:{line}"
    for name, raw in env.items():
        if not name.startswith(ENV_PREFIX) or name in _ENV_NOT_CONFIG:
            continue
        key = name[len(ENV_PREFIX) :].lower()
        values[key] = _coerce(key, raw, f"environment variable {name}", None)
        sources[key] = f"env {name}"
    if workdir:
        values["workdir"] = str(project_dir)
        sources["workdir"] = "argument"
    cfg = Config(**values, sources=sources)
    if overrides:
        cfg = cfg.with_overrides(**overrides)
    return cfg


#: B2ENV_* variables that steer b2env's behaviour but are not configuration keys.
_ENV_NOT_CONFIG = {"B2ENV_DEBUG", "B2ENV_KEEP_CONTAINERS", "B2ENV_NO_COLOR"}


def describe(cfg: Config) -> list[tuple[str, str, str]]:
    """(key, value, source) rows for ``inv config.show``."""
    rows = []
    for key in FIELDS:
        value = getattr(cfg, key)
        shown = ",".join(value) if isinstance(value, tuple) else str(value)
        rows.append((key, shown, cfg.sources.get(key, "default")))
    return rows
