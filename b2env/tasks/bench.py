"""``inv bench.run``: speed figures as ratios against baselines measured in the same run."""

from __future__ import annotations

from pathlib import Path

from invoke import Collection

from b2env.errors import ConfigError
from b2env.tasks._common import config, task


@task(
    help={
        "only": "comma-separated subset of: shell, rebuild, basf2 (default: all)",
        "repeat": "timed runs per measurement after one warm-up (default 5)",
        "json": "also write the figures to this JSON file",
        "os": "image OS to measure (default from configuration)",
    }
)
def run(c, only=None, repeat=5, json=None, os=None):
    """Measure b2env against the bare operation it wraps, and print the ratios."""
    from b2env import bench

    names = [n for n in (only or ",".join(bench.BENCHMARKS)).split(",") if n]
    unknown = [n for n in names if n not in bench.BENCHMARKS]
    if unknown:
        raise ConfigError(
            f"unknown benchmark {', '.join(unknown)}",
            fix=f"choose from {', '.join(bench.BENCHMARKS)}",
        )
    figures = bench.run_all(config(os=os), names, int(repeat))
    print(bench.table(figures))
    if json:
        bench.write_json(figures, Path(json))


ns = Collection("bench")
ns.add_task(run)
