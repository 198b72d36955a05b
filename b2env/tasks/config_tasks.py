"""``inv config.show``: the merged configuration and where each value came from."""

from __future__ import annotations

import json as jsonlib

from invoke import Collection

from b2env.config import describe
from b2env.tasks._common import config, task


@task(help={"json": "print JSON instead of a table", "workdir": "analysis directory"})
def show(c, json=False, workdir=None):
    """Print the merged configuration with the source of each value."""
    from b2env.images import with_run_os

    cfg = with_run_os(config(workdir=workdir))  # shows the OS runs will really use
    rows = describe(cfg)
    if json:
        print(jsonlib.dumps({k: {"value": v, "source": s} for k, v, s in rows}, indent=2))
        return
    width = max(len(k) for k, _, _ in rows)
    for key, value, source in rows:
        print(f"{key:<{width}}  {value:<40}  ({source})")


ns = Collection("config")
ns.add_task(show)
