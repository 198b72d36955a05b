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

USER_MODULES = (config_tasks, image, shell, cert, proxy, verify, basf2, mock, grid, bench)


def build(*, developer: bool) -> Collection:
    """All task namespaces; ``developer`` adds ``inv test`` and ``dev.*`` (repository only)."""
    ns = Collection()
    for module in USER_MODULES + ((dev,) if developer else ()):
        ns.add_collection(module.ns)
    # Tasks called without a namespace: `inv shell`, `inv verify`, `inv demo`, `inv test`.
    top = [(shell, "shell"), (verify, "verify"), (demo, "demo")]
    if developer:
        top.append((dev, "test"))
    for module, name in top:
        body = getattr(module, name, None)
        if body is not None:
            ns.add_task(body, name=name)
    return ns


ns = build(developer=True)
