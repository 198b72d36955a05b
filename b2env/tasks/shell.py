"""``inv shell``: an interactive shell, or one command, in the b2env user container."""

from __future__ import annotations

import shlex
import sys

from invoke import Collection
from invoke.exceptions import Exit

from b2env import apptainer, container, images, runner
from b2env.tasks._common import config, task


def remainder_words(remainder: str, argv: list[str] | None = None) -> list[str]:
    """The words after ``--``, with their quoting intact (Invoke joins them with spaces)."""
    argv = sys.argv if argv is None else argv
    if "--" in argv:
        words = argv[argv.index("--") + 1 :]
        if " ".join(words) == remainder:
            return words
    return shlex.split(remainder)


@task(
    help={
        "dry_run": "print the container command instead of running it",
        "os": "OS of the user image: el9, ubuntu2404 or debian12",
        "workdir": "analysis directory mounted as the work directory (default: here)",
    }
)
def run(c, dry_run=False, os=None, workdir=None):
    """Open a shell in the user container, or run `inv shell -- CMD ARGS...` and return its code."""
    cfg = config(workdir=workdir, os=os)
    argv = remainder_words(c.remainder) or ["/bin/bash"]
    if dry_run:
        spec = container.run_spec(cfg, argv, image=images.planned_tag(cfg))
        print(runner.command_line(container.docker_argv(spec)))
        if cfg.engine == "apptainer":
            print(runner.command_line(container.apptainer_argv(spec, apptainer.sif_path(cfg))))
        return
    spec = container.run_spec(cfg, argv)
    if cfg.engine == "apptainer":
        code = apptainer.execute(cfg, spec)
    else:
        code = container.execute(spec).returncode
    if code != 0:
        raise Exit(code=code)


# `inv shell` is this collection's default task. A top-level function named `shell` would
# clash with the collection of the same name in b2env.tasks.build (Invoke refuses both).
ns = Collection("shell")
ns.add_task(run, default=True)
