"""`inv demo`: the whole workflow, end to end, on a throw-away identity and the mock grid."""

from __future__ import annotations

from typing import TYPE_CHECKING

from invoke import Collection, Context

from b2env.tasks._common import config, lazy_module, task

if TYPE_CHECKING:
    from b2env import demo as demo_lib
else:
    demo_lib = lazy_module("b2env.demo")

ns = Collection("demo")


@task(help={"workdir": "analysis directory (default: the current directory)"})
def demo(c: Context, workdir: str | None = None) -> None:
    """Build the images, start the mock grid, and run certificate to merged ntuple."""
    cfg = config(workdir=workdir)
    print(f"b2env demo in {demo_lib.demo_home(cfg).parent} (your ~/.globus is not touched)")
    runner = demo_lib.Demo(
        cfg, on_stage=lambda name, s: print(f"  done: {name} ({s:.1f} s)", flush=True)
    )
    report = runner.run()
    for line in report.lines():
        print(line)
