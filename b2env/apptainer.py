"""Apptainer: a SIF built from the Docker user image, with a definition file generated from
the same image spec, and ``apptainer exec`` runs of the same RunSpec."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from b2env import container, engine, images, runner
from b2env.config import Config
from b2env.errors import ToolMissingError

log = logging.getLogger(__name__)


def sif_path(cfg: Config) -> Path:
    """Where the SIF of the user image for ``cfg.os`` lives."""
    return cfg.state_path / "apptainer" / f"b2env-user-{cfg.os}.sif"


def definition(tag: str, os_name: str) -> str:
    """The Apptainer definition: the Docker user image, its labels, its environment."""
    labels = "\n".join(f"    {k} {v}" for k, v in engine.labels("sif", os=os_name).items())
    return (
        "Bootstrap: docker-daemon\n"
        f"From: {tag}\n\n"
        "%labels\n"
        f"{labels}\n"
        f"    org.b2env.image {tag}\n\n"
        "%environment\n"
        "    export LANG=C.UTF-8 LC_ALL=C.UTF-8\n\n"
        "%runscript\n"
        '    exec /usr/local/libexec/b2env/entrypoint "$@"\n'
    )


def build_argv(cfg: Config, definition_file: Path) -> list[str]:
    return ["apptainer", "build", "--force", str(sif_path(cfg)), str(definition_file)]


def require_apptainer() -> None:
    if shutil.which("apptainer") is None:
        raise ToolMissingError(
            "'apptainer' was not found on PATH",
            why="building and running SIF images needs Apptainer",
            fix=runner.INSTALL_HINTS["apptainer"],
        )


def write_definition(cfg: Config, tag: str) -> Path:
    path = sif_path(cfg).with_suffix(".def")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(definition(tag, cfg.os))
    return path


def build(cfg: Config, tag: str) -> Path:
    """Build the SIF from the Docker image ``tag``; returns the SIF path."""
    require_apptainer()
    definition_file = write_definition(cfg, tag)
    log.info("building %s from %s", sif_path(cfg), tag)
    runner.run(build_argv(cfg, definition_file), capture=False)
    return sif_path(cfg)


def execute(cfg: Config, spec: container.RunSpec) -> int:
    """Run ``spec`` with apptainer from the SIF (built first when missing)."""
    require_apptainer()
    sif = sif_path(cfg)
    if not sif.is_file():
        build(cfg, images.ensure_user_image(cfg))
    return runner.run(container.apptainer_argv(spec, sif), check=False, capture=False).returncode
