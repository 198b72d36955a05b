"""The ``b2env`` command: the same tasks as ``inv``, runnable from any analysis directory."""

from __future__ import annotations

from invoke import Program

from b2env import __version__
from b2env.tasks import ns

program = Program(namespace=ns, version=__version__, name="b2env", binary="b2env")


def main() -> None:
    program.run()
