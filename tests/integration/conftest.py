"""Session fixtures for integration tests: a mock-mode configuration in throw-away directories
and the debian12 user image built (or reused) on the real Docker engine."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from b2env import engine, images
from b2env.config import Config


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/integration uses the engine: mark it so `-m integration` works."""
    for item in items:
        if "tests/integration" in str(item.path):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def docker_engine() -> None:
    """Fail (not skip) with b2env's own message when the engine is unusable."""
    engine.client()


@pytest.fixture(scope="session")
def mock_cfg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Config]:
    """debian12, mock CVMFS, mock grid; state, work, globus and proxy in session tmp dirs."""
    root = tmp_path_factory.mktemp("b2env-session")
    (root / "work").mkdir()
    (root / "proxy").mkdir()
    cfg = Config(
        os="debian12",
        cvmfs_mode="mock",
        grid_mode="mock",
        state_dir=str(root / "state"),
        workdir=str(root / "work"),
        globus_dir=str(root / "globus"),
        proxy_path=str(root / "proxy" / "x509up_test"),
        # Its own network, so its own mock grid: a demo's (or another session's) stays untouched.
        network=f"b2env-grid-tests-{os.getpid()}",
    )
    yield cfg
    _remove_session_grid(cfg)


def _remove_session_grid(cfg: Config) -> None:
    """The session's mock grid container, volume and network go with the session."""
    from b2env import mockgrid

    mockgrid.down(cfg, volumes=True)
    subprocess.run(["docker", "network", "rm", cfg.network], capture_output=True, check=False)


@pytest.fixture(scope="session")
def user_image(docker_engine: None, mock_cfg: Config) -> str:
    """The debian12 user image tag (built once; later sessions reuse it in well under 3 s)."""
    return images.ensure_user_image(mock_cfg)


@pytest.fixture
def work_dir(mock_cfg: Config) -> Path:
    return mock_cfg.work_path
