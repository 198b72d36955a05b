"""The mock grid: a DIRAC-like service in a container, and what its clients need to reach it.

``write_config`` fills ``<state>/mock-grid/`` (mounted at ``/etc/mock-grid`` in the service
container): the server certificate, the test CA, the user registry and the failure-injection
settings. ``client_config`` is the text of the gbasf2 client configuration (``dirac.cfg``) that
the mock CVMFS ships. ``up``/``down``/``status``/``logs`` drive the container itself.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from b2env import testca
from b2env.config import Config

log = logging.getLogger(__name__)

CONTAINER = "b2env-mock-grid"
VOLUME = "b2env-mock-grid-data"
ALIAS = "mock-grid"
PORT = 8443
IMAGE_NAME = "mock-grid"
CONTEXT_DIR = Path(__file__).resolve().parent.parent / "containers" / "mock-grid"
HOSTNAMES = [ALIAS, CONTAINER, "localhost"]
GROUPS = ("belle", "belle_starterkit")
LABELS = {"org.b2env.role": "mock-grid"}


@dataclass(frozen=True)
class FailureSettings:
    """How often and how the mock grid misbehaves; the same seed gives the same failures."""

    failure_rate: float = 0.0  # share of job attempts that hit an injected failure
    seed: int = 0
    time_scale: float = 1.0  # multiplies every state duration; 0.02 runs a project in seconds
    retry_failure_factor: float = 0.0  # failure_rate multiplier per reschedule (0: retries pass)
    download_failure_rate: float = 0.0  # share of file transfers that fail transiently
    outage_site: str = ""  # a site whose pilots never run: jobs matched there stall
    kinds: dict[str, float] = field(
        default_factory=lambda: {
            "application": 1.0,  # basf2 fails: Failed / Application Finished With Errors
            "stall": 1.0,  # Running -> Stalled -> Failed (watchdog)
            "done_app_failed": 1.0,  # Done, but the application status is not Done
            "long_waiting": 1.0,  # stays Waiting for a long time, then runs normally
        }
    )
    max_running: int = 4  # jobs executing at once in the container


@dataclass(frozen=True)
class RegisteredUser:
    username: str
    dn: str
    groups: tuple[str, ...]


def config_dir(cfg: Config) -> Path:
    return cfg.state_path / "mock-grid"


def ensure_registry(cfg: Config) -> list[RegisteredUser]:
    """Make the demo/test identities (if missing) and return them as registry entries."""
    users = []
    for username, common_name in testca.DEMO_USERS:
        user = testca.ensure_user(cfg.state_path, username, common_name)
        users.append(RegisteredUser(username, user.dn, GROUPS))
    return users


def write_config(cfg: Config, settings: FailureSettings | None = None) -> Path:
    """Write what the service reads at ``/etc/mock-grid``; return that host directory."""
    directory = config_dir(cfg)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    ca = testca.ensure_ca(cfg.state_path)
    (directory / "ca.pem").write_bytes(ca.cert_pem)
    if not _host_cert_valid(directory, ca):
        host = testca.make_host(ca, HOSTNAMES)
        (directory / "hostcert.pem").write_bytes(host.cert_pem)
        _write_private(directory / "hostkey.pem", host.key_pem())
    registry = {
        u.username: {"dn": u.dn, "groups": list(u.groups)} for u in ensure_registry(cfg)
    }
    _write_json(directory / "users.json", {"users": registry})
    if settings is not None or not (directory / "settings.json").is_file():
        _write_json(directory / "settings.json", asdict(settings or FailureSettings()))
    log.debug("mock grid configuration in %s", directory)
    return directory


def read_settings(cfg: Config) -> FailureSettings:
    path = config_dir(cfg) / "settings.json"
    if not path.is_file():
        return FailureSettings()
    return FailureSettings(**json.loads(path.read_text()))


def client_config(cfg: Config) -> str:
    """The gbasf2 client configuration (``pro/etc/dirac.cfg``) pointing at the mock grid."""
    users = ensure_registry(cfg)
    lines = [
        "# gbasf2 client configuration of the b2env MOCK grid (generated; not Belle II's).",
        "DIRAC",
        "{",
        "  Setup = Belle-KEK",
        "  VirtualOrganization = belle",
        "  Configuration",
        "  {",
        f"    Servers = {cfg.mock_grid_url}/Configuration/Server",
        "  }",
        "}",
        "MockGrid",
        "{",
        f"  URL = {cfg.mock_grid_url}",
        "}",
        "Registry",
        "{",
        "  DefaultGroup = belle",
        "  Users",
        "  {",
    ]
    for user in users:
        lines += [f"    {user.username}", "    {", f"      DN = {user.dn}", "    }"]
    lines += ["  }", "  Groups", "  {"]
    for group in GROUPS:
        members = ", ".join(u.username for u in users if group in u.groups)
        lines += [
            f"    {group}",
            "    {",
            f"      Users = {members}",
            "      Properties = NormalUser",
            "      VOMSRole = /belle",
            "    }",
        ]
    lines += ["  }", "}"]
    return "\n".join(lines) + "\n"


def _host_cert_valid(directory: Path, ca: testca.Identity) -> bool:
    cert_file, key_file = directory / "hostcert.pem", directory / "hostkey.pem"
    if not (cert_file.is_file() and key_file.is_file()):
        return False
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    fresh = cert.not_valid_after_utc.timestamp() - time.time() > 7 * 86400
    return fresh and cert.issuer == ca.cert.subject


def _write_json(path: Path, data: object) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)


def _write_private(path: Path, data: bytes) -> None:
    path.unlink(missing_ok=True)
    path.touch(mode=0o600)
    path.write_bytes(data)
