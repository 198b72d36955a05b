"""Benchmarks: each figure is a ratio against a baseline measured in the same run.

Timed tests are flaky; a benchmark that measures b2env and the bare operation it wraps, one after
the other on the same machine, gives a ratio that travels between machines. ``inv bench.run``
prints the table and can write it as JSON.
"""

from __future__ import annotations

import logging
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from b2env.config import Config
from b2env.runner import run

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Figure:
    name: str
    subject_s: float
    baseline_s: float
    baseline: str
    target: float | None  # the ratio the issue asks for, if any

    @property
    def ratio(self) -> float:
        return self.subject_s / self.baseline_s if self.baseline_s > 0 else float("inf")

    @property
    def verdict(self) -> str:
        if self.target is None:
            return "-"
        return "ok" if self.ratio <= self.target else "over"

    def as_dict(self) -> dict[str, object]:
        return asdict(self) | {"ratio": round(self.ratio, 3), "verdict": self.verdict}


def median_seconds(action: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``repeat`` runs after one warm-up run."""
    action()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def shell_startup(cfg: Config, repeat: int) -> Figure:
    """``b2env shell -- true`` end to end against a bare ``docker run --rm IMAGE true``."""
    from b2env import images

    image = images.ensure_user_image(cfg)
    b2env = [sys.executable, "-m", "b2env.cli", "shell", "--os", cfg.os, "--", "true"]
    subject = median_seconds(lambda: run(b2env, cwd=cfg.work_path), repeat)
    baseline = median_seconds(lambda: run(["docker", "run", "--rm", image, "true"]), repeat)
    return Figure("shell -- true", subject, baseline, "docker run --rm IMAGE true", 1.3)


def rebuild_unchanged(cfg: Config, repeat: int) -> Figure:
    """An image build with nothing changed against ``docker image inspect`` of the same tag."""
    from b2env import images

    image = images.ensure_user_image(cfg)
    subject = median_seconds(lambda: images.ensure_user_image(cfg), repeat)
    baseline = median_seconds(lambda: run(["docker", "image", "inspect", image]), repeat)
    return Figure("image.build, no change", subject, baseline, "docker image inspect", None)


def basf2_smoke(cfg: Config, repeat: int) -> Figure:
    """``basf2.test`` (10 events) against starting the same container with ``true``."""
    from b2env import basf2, container

    subject = median_seconds(lambda: basf2.smoke_test(cfg), repeat)
    spec = container.run_spec(cfg, ["true"])
    baseline = median_seconds(lambda: container.execute(spec, capture=True), repeat)
    return Figure("basf2.test (warm)", subject, baseline, "same container running true", None)


BENCHMARKS: dict[str, Callable[[Config, int], Figure]] = {
    "shell": shell_startup,
    "rebuild": rebuild_unchanged,
    "basf2": basf2_smoke,
}


def run_all(cfg: Config, names: list[str], repeat: int) -> list[Figure]:
    figures = []
    for name in names:
        log.info("benchmark %s (%d runs)", name, repeat)
        figures.append(BENCHMARKS[name](cfg, repeat))
    return figures


def table(figures: list[Figure]) -> str:
    rows = [f"{'benchmark':<24} {'b2env s':>9} {'baseline s':>10} {'ratio':>6}  target  baseline"]
    for f in figures:
        target = f"<={f.target}" if f.target else "-"
        rows.append(
            f"{f.name:<24} {f.subject_s:>9.3f} {f.baseline_s:>10.3f} {f.ratio:>6.2f}  "
            f"{target:<6}  {f.baseline}"
        )
    return "\n".join(rows)


def write_json(figures: list[Figure], path: Path) -> None:
    import json

    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps([f.as_dict() for f in figures], indent=2) + "\n")
    tmp.replace(path)
