"""Invoke entry point for ``inv`` in this repository; the tasks live in ``b2env.tasks``."""

from b2env.tasks import ns  # noqa: F401

namespace = ns
