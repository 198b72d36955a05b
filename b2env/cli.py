"""The ``b2env`` command: the same tasks as ``inv``, runnable from any analysis directory."""

from __future__ import annotations

import sys

from invoke import Program

from b2env import __version__
from b2env.tasks import build

program = Program(namespace=build(developer=False), version=__version__, name="b2env", binary="b2env")


def main() -> None:
    try:
        program.run()
    except BrokenPipeError:
        sys.stderr.close()


if __name__ == "__main__":
    main()
