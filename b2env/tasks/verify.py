"""``inv verify``: the environment doctor (host and in-container checks, one line each)."""

from __future__ import annotations

import json as jsonlib
from typing import TYPE_CHECKING

from invoke import Collection
from invoke.exceptions import Exit

from b2env.tasks._common import config, lazy_module, task
from b2env.tasks.cert import stdin_lines

if TYPE_CHECKING:
    from b2env import checks
else:
    checks = lazy_module("b2env.checks")


@task(help={"json": "print the documented JSON form (docs/doctor-json.md)",
            "pass_stdin": "read the key passphrase from stdin to compare key and certificate",
            "no_proxy": "leave out the proxy checks (before the first proxy.init)",
            "no_container": "host checks only",
            "os": "OS of the user image", "release": "basf2 release to check",
            "workdir": "analysis directory (for b2env.yaml)"})
def doctor(c, json=False, pass_stdin=False, no_proxy=False, no_container=False, os=None,
           release=None, workdir=None):
    """Check the engine, image, CVMFS, certificate, proxy, basf2, gbasf2 and grid; exit 1 on fail."""
    cfg = config(workdir=workdir, os=os, release=release)
    passphrase = stdin_lines(1)[0] if pass_stdin else None
    results = checks.run_checks(cfg, include_proxy=not no_proxy, passphrase=passphrase,
                                in_container=not no_container)
    if json:
        print(jsonlib.dumps(checks.as_json(results), indent=2))
    else:
        for result in results:
            print("\n".join(checks.lines(result)))
    bad = checks.failed(results)
    if bad:
        if not json:
            print(f"{len(bad)} check(s) failed; each fix is printed under it")
        raise Exit(code=1)


# `inv verify` is this collection's default task. The module has no attribute named `verify`
# on purpose: the task collector would add it a second time at the top level and clash with
# this collection's name.
ns = Collection("verify")
ns.add_task(doctor, name="verify", default=True)
