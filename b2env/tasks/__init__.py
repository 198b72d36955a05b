"""The Invoke task collection shared by ``inv`` (via tasks.py) and the ``b2env`` command."""

from __future__ import annotations

from invoke import Collection

from b2env.tasks import (
    basf2,
    bench,
    cert,
    config_tasks,
    demo,
    dev,
    grid,
    image,
    mock,
    proxy,
    shell,
    verify,
)

ns = Collection()
for module in (config_tasks, image, shell, cert, proxy, verify, basf2, mock, grid, bench, dev):
    ns.add_collection(module.ns)
# Tasks users call without a namespace: `inv shell`, `inv verify`, `inv demo`, `inv test`.
for module, name in ((shell, "shell"), (verify, "verify"), (demo, "demo"), (dev, "test")):
    body = getattr(module, name, None)
    if body is not None:
        ns.add_task(body, name=name)
