"""The grid workflow on the real Docker engine: user container, mock CVMFS, mock grid.

One project is submitted over the mock grid's taupair dataset with injected failures, monitored
with automatic rescheduling (the monitor is stopped after two polls and resumed), downloaded
with transient transfer failures and merged with hadd in the container."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from b2env import certificates, mockgrid, proxy, testca
from b2env.analysis import BelleIIGridAnalysis
from b2env.config import Config
from b2env.errors import ConfigError, GridError

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "workflow test pass"
PROJECT = f"it_taupair_{int(time.time())}"  # the mock grid's state outlives a session


@pytest.fixture(scope="module")
def grid_cfg(mock_cfg: Config, user_image: str) -> Config:
    settings = mockgrid.FailureSettings(
        failure_rate=0.25, seed=3, time_scale=0.02, download_failure_rate=0.1
    )
    # Its own ~/.globus: other modules of the session import the same identity under
    # other passphrases.
    cfg = mock_cfg.with_overrides(globus_dir=str(mock_cfg.state_path.parent / "globus-workflow"))
    mockgrid.up(cfg, settings)
    user = testca.ensure_user(cfg.state_path, *testca.DEMO_USERS[0])
    if not (cfg.globus_path / "userkey.pem").is_file():
        certificates.import_p12(
            user.p12, cfg.globus_path, p12_password=user.password, key_passphrase=PASSPHRASE
        )
    proxy.init_proxy(cfg, PASSPHRASE, "belle", 6)
    shutil.copy(ROOT / "examples" / "steering_taupair.py", cfg.work_path)
    return cfg


def taupair(ana: BelleIIGridAnalysis) -> str:
    return next(lpn for lpn in ana.search_datasets(mc_event="taupair"))


def test_workflow_end_to_end(grid_cfg: Config) -> None:
    ana = BelleIIGridAnalysis(cfg=grid_cfg)
    dataset = taupair(ana)
    result = ana.submit("steering_taupair.py", project=PROJECT, datasets=[dataset])
    assert result.submitted and int(result.summary["Number of jobs"]) >= 20
    assert (grid_cfg.work_path / f".b2env/projects/{PROJECT}.json").is_file()

    first = ana.monitor(PROJECT, interval=2, auto_resubmit=True, max_polls=2)
    assert not first.finished
    summary = ana.monitor(PROJECT, interval=2, auto_resubmit=True, max_polls=300)
    assert summary.exit_code == 0, summary.lines()
    assert summary.reschedules >= 1

    report = ana.download(PROJECT)
    assert report.complete, report.lines()
    merged = ana.merge(PROJECT)
    assert sum(merged.entries.values()) > 0
    with pytest.raises(GridError, match="exists already"):
        ana.merge(PROJECT)


def test_submit_task_refuses_metacharacter_lpn_and_reused_name(grid_cfg: Config) -> None:
    ana = BelleIIGridAnalysis(cfg=grid_cfg)
    with pytest.raises(ConfigError):
        ana.submit("steering_taupair.py", project="it_bad_01", datasets=["/belle/MC/x;touch y"])
    argv = [
        sys.executable,
        "-m",
        "invoke",
        "--search-root",
        str(ROOT),
        "grid.submit",
        "steering_taupair.py",
        "--project",
        "it_bad_02",
        "--dataset",
        "/belle/MC/$(touch y)",
        "--workdir",
        str(grid_cfg.work_path),
        "--yes",
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2 and "characters the grid catalog cannot handle" in done.stderr
    assert not (grid_cfg.work_path / "y").exists()


def test_thousand_job_project_polled_end_to_end_under_3_s(grid_cfg: Config) -> None:
    from b2env import monitor

    ana = BelleIIGridAnalysis(cfg=grid_cfg)
    mumu = next(lpn for lpn in ana.search_datasets(mc_event="mumu"))
    project = f"it_mumu_{int(time.time())}"  # the grid's state outlives the session
    ana.submit("steering_taupair.py", project=project, datasets=[mumu], skip_local_test=True)
    try:
        watcher = monitor.Monitor(
            ana.call, project, grid_cfg.work_path / f"{project}.json", auto_resubmit=False
        )
        started = time.perf_counter()
        progress = watcher.poll()
        elapsed = time.perf_counter() - started
    finally:
        ana.kill(project)
    print(f"1000-job poll through the container: {elapsed:.2f} s")
    assert progress.total == 1000
    assert elapsed < 3.0
