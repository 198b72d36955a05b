"""`inv mock.*`: start, stop and inspect the mock grid service (CI's stand-in for the grid)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from invoke import Collection, Context
from invoke.exceptions import Exit

from b2env.errors import ConfigError
from b2env.tasks._common import config, lazy_module, task

if TYPE_CHECKING:
    from b2env import mockgrid
else:
    mockgrid = lazy_module("b2env.mockgrid")

ns = Collection("mock")


@task(
    help={
        "failure_rate": "share of job attempts hit by an injected failure, 0-1 (default 0)",
        "seed": "seed of the failure injection: the same seed gives the same failures",
        "time_scale": "multiplies every job state duration; 0.02 runs a project in seconds",
        "download_failure_rate": "share of file downloads that fail transiently, 0-1",
        "outage_site": "a site whose pilots never run (jobs matched there stall), e.g. LCG.KIT.de",
        "workdir": "analysis directory (default: the current directory)",
    }
)
def up(
    c: Context,
    failure_rate: float = 0.0,
    seed: int = 0,
    time_scale: float = 1.0,
    download_failure_rate: float = 0.0,
    outage_site: str = "",
    workdir: str | None = None,
) -> None:
    """Start the mock grid (building its image when needed) and wait until it is healthy."""
    cfg = config(workdir=workdir)
    for name, rate in (("failure-rate", failure_rate), ("download-failure-rate",
                                                       download_failure_rate)):
        if not 0.0 <= rate <= 1.0:
            raise ConfigError(f"--{name} {rate} is not between 0 and 1", fix=f"--{name} 0.2")
    if time_scale <= 0:
        raise ConfigError(f"--time-scale {time_scale} must be positive", fix="--time-scale 0.02")
    settings = mockgrid.FailureSettings(
        failure_rate=failure_rate, seed=seed, time_scale=time_scale,
        download_failure_rate=download_failure_rate, outage_site=outage_site,
    )
    url = mockgrid.up(cfg, settings)
    print(f"mock grid up at {url} (network {cfg.network}); failure rate {failure_rate}, "
          f"seed {seed}, time scale {time_scale}")


@task(help={"volumes": "also delete its state (jobs, catalog, storage)"})
def down(c: Context, volumes: bool = False, workdir: str | None = None) -> None:
    """Stop and remove the mock grid container."""
    mockgrid.down(config(workdir=workdir), volumes=volumes)
    print("mock grid removed" + (" with its state" if volumes else " (state kept)"))


@task
def status(c: Context, workdir: str | None = None) -> None:
    """Say whether the mock grid runs, its health and its addresses."""
    state = mockgrid.status(config(workdir=workdir))
    if not state.image:
        print("mock grid: not created (start it with 'inv mock.up')")
        raise Exit(code=1)
    print(f"mock grid: {'running' if state.running else 'stopped'}, health {state.health or '-'}")
    print(f"  url (containers): {state.url}")
    print(f"  url (this host):  {state.host_url or '-'}")
    print(f"  image:            {state.image}")
    if not (state.running and state.health == "healthy"):
        raise Exit(code=1)


@task(help={"tail": "number of log lines (default 200)"})
def logs(c: Context, tail: int = 200) -> None:
    """Print the mock grid service log."""
    print(mockgrid.logs(config(), tail=tail), end="")


ns.add_task(up)
ns.add_task(down)
ns.add_task(status)
ns.add_task(logs)
