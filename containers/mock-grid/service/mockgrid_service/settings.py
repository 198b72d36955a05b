"""Where the service finds its configuration (``/etc/mock-grid``) and keeps its state."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Settings:
    config_dir: Path
    state_dir: Path
    host: str = "0.0.0.0"
    port: int = 8443
    failure_rate: float = 0.0
    seed: int = 0
    time_scale: float = 1.0
    retry_failure_factor: float = 0.0
    download_failure_rate: float = 0.0
    outage_site: str = ""
    kinds: dict[str, float] = field(default_factory=dict)
    max_running: int = 4
    basf2_wrapper: list[str] = field(
        default_factory=lambda: ["/usr/local/libexec/b2env/with-basf2"]
    )
    job_timeout: float = 600.0
    seed_release: str = "release-08-00-00"
    seed_events: int = 100
    make_mdst_args: list[str] = field(
        default_factory=lambda: ["{output}", "--events", "{events}", "--seed", "{seed}"]
    )
    cvmfs_root: Path = Path("/cvmfs")

    @property
    def database(self) -> Path:
        return self.state_dir / "mockgrid.db"

    @property
    def storage(self) -> Path:
        return self.state_dir / "se"

    @property
    def sandboxes(self) -> Path:
        return self.state_dir / "sandbox"

    def users(self) -> dict[str, dict]:
        return json.loads((self.config_dir / "users.json").read_text())["users"]


def load() -> Settings:
    """Settings from ``$MOCK_GRID_CONFIG`` (``/etc/mock-grid``) and the environment."""
    settings = load_from(
        Path(os.environ.get("MOCK_GRID_CONFIG", "/etc/mock-grid")),
        Path(os.environ.get("MOCK_GRID_STATE", "/var/lib/mock-grid")),
    )
    settings.port = int(os.environ.get("MOCK_GRID_PORT", settings.port))
    settings.host = os.environ.get("MOCK_GRID_HOST", settings.host)
    return settings


def load_from(config_dir: Path, state_dir: Path) -> Settings:
    settings = Settings(config_dir=config_dir, state_dir=state_dir)
    path = config_dir / "settings.json"
    if path.is_file():
        for key, value in json.loads(path.read_text()).items():
            if hasattr(settings, key) and key not in ("config_dir", "state_dir"):
                setattr(settings, key, Path(value) if key == "cvmfs_root" else value)
    return settings
