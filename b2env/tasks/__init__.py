"""The Invoke task collection shared by ``inv`` (via tasks.py) and the ``b2env`` command."""

from __future__ import annotations

from invoke import Collection, Task

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

USER_MODULES = (config_tasks, image, shell, cert, proxy, verify, basf2, mock, grid, bench, demo)


def build(*, developer: bool) -> Collection:
    """All task namespaces; ``developer`` adds ``inv test`` and ``dev.*`` (repository only)."""
    ns = Collection()
    for module in USER_MODULES + ((dev,) if developer else ()):
        collection = module.ns
        body = getattr(module, collection.name, None)
        if isinstance(body, Task) and collection.name not in collection.tasks:
            collection.add_task(body)
        if collection.default is None and collection.name in collection.tasks:
            collection.default = collection.name  # `inv demo` runs demo.demo
        ns.add_collection(collection)
    # `inv shell`, `inv verify` and `inv demo` are the default tasks of their collections;
    # `inv test` is the developer's one top-level task.
    if developer:
        ns.add_task(dev.test, name="test")
    return ns


ns = build(developer=True)
