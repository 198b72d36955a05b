"""The mock grid: a DIRAC-like service in a container, and what its clients need to reach it.

``write_config`` fills ``<state>/mock-grid/`` (mounted at ``/etc/mock-grid`` in the service
container): the server certificate, the test CA, the user registry and the failure-injection
settings. ``client_config`` is the text of the gbasf2 client configuration (``dirac.cfg``) that
the mock CVMFS ships. ``up``/``down``/``status``/``logs`` drive the container itself.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from b2env import testca
from b2env.config import Config
from b2env.errors import GridError
from b2env.runner import run

log = logging.getLogger(__name__)

CONTAINER = "b2env-mock-grid"  # on the default network; see instance_names()
VOLUME = "b2env-mock-grid-data"
DEFAULT_NETWORK = "b2env-grid"
ALIAS = "mock-grid"
PORT = 8443
IMAGE_NAME = "mock-grid"
CONTEXT_DIR = Path(__file__).resolve().parent.parent / "containers" / "mock-grid"
HOSTNAMES = [ALIAS, CONTAINER, "localhost"]
GROUPS = ("belle", "belle_starterkit")
LABELS = {"org.b2env.role": "mock-grid"}


def instance_names(cfg: Config) -> tuple[str, str]:
    """(container, volume) of the mock grid serving ``cfg.network``.

    One mock grid per network: the demo's on ``b2env-grid`` keeps the plain names, and a test
    session on its own network gets its own container and volume instead of replacing it.
    """
    if cfg.network == DEFAULT_NETWORK:
        return CONTAINER, VOLUME
    suffix = cfg.network.removeprefix(DEFAULT_NETWORK + "-")
    return f"{CONTAINER}-{suffix}", f"{CONTAINER}-{suffix}-data"


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


# -- the service container ------------------------------------------------------------------


@dataclass(frozen=True)
class Status:
    running: bool
    health: str  # healthy, starting, unhealthy, or "" when there is no container
    url: str  # the address seen from containers on cfg.network
    host_url: str  # the published loopback address on this machine ("" when not running)
    image: str


def up(cfg: Config, settings: FailureSettings | None = None, *, timeout: float = 900) -> str:
    """Build the image if needed, (re)start the service with ``settings``, wait until healthy."""
    from b2env import container, engine, images

    engine.client()
    config = write_config(cfg, settings)
    cvmfs = container.staged_mock_cvmfs(cfg)
    base = images.ensure_user_image(dataclasses.replace(cfg, os="debian12", image=""))
    image = images.build_context_image(
        IMAGE_NAME, CONTEXT_DIR, base=base, build_args={"BASE_IMAGE": base}
    )
    engine.client().images.get(image).tag(f"b2env/{IMAGE_NAME}", "latest")  # compose.yaml
    name, volume = instance_names(cfg)
    engine.ensure_network(cfg.network)
    _ensure_volume(volume)
    fingerprint = _fingerprint(config, image, cvmfs)
    current = _inspect(name)
    if current and current["Config"]["Labels"].get("org.b2env.fingerprint") == fingerprint:
        if not current["State"]["Running"]:
            run(["docker", "start", name], error=GridError)
    else:
        if current:
            log.info("restarting the mock grid with the new configuration")
            run(["docker", "rm", "-f", name], error=GridError)
        run(_run_argv(cfg, image, config, cvmfs, fingerprint), error=GridError,
            fix="see 'inv mock.logs'")
    _wait_healthy(name, timeout)
    log.info("mock grid ready at %s", cfg.mock_grid_url)
    return cfg.mock_grid_url


def _run_argv(cfg: Config, image: str, config: Path, cvmfs: Path, fingerprint: str) -> list[str]:
    from b2env import engine

    labels = engine.labels("mock-grid", fingerprint=fingerprint)
    name, volume = instance_names(cfg)
    argv = ["docker", "run", "-d", "--name", name, "--network", cfg.network,
            "--network-alias", ALIAS, "--publish", f"127.0.0.1::{PORT}",
            "--mount", f"type=bind,source={config},target=/etc/mock-grid,readonly",
            "--mount", f"type=bind,source={cvmfs},target=/cvmfs,readonly",
            "--mount", f"type=volume,source={volume},target=/var/lib/mock-grid"]
    for key, value in sorted(labels.items()):
        argv += ["--label", f"{key}={value}"]
    return [*argv, image]


def _fingerprint(config: Path, image: str, cvmfs: Path) -> str:
    digest = hashlib.sha256(f"{image}\0{cvmfs}".encode())
    for name in ("settings.json", "users.json", "hostcert.pem", "ca.pem"):
        digest.update((config / name).read_bytes())
    return digest.hexdigest()[:16]


def _ensure_volume(volume: str) -> None:
    from b2env import engine

    sdk = engine.client()
    if not sdk.volumes.list(filters={"name": volume}):
        sdk.volumes.create(volume, labels=engine.labels("volume", role="mock-grid"))


def _inspect(name: str) -> dict | None:
    done = run(["docker", "container", "inspect", name], check=False)
    if done.returncode != 0:
        return None
    found = json.loads(done.stdout)
    return found[0] if found else None


def _wait_healthy(name: str, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        state = (_inspect(name) or {}).get("State", {})
        health = state.get("Health", {}).get("Status", "")
        if health == "healthy":
            return
        if not state.get("Running") or health == "unhealthy":
            break
        time.sleep(1)
    raise GridError(
        f"the mock grid container {name} did not become healthy",
        evidence=_logs(name, 20).splitlines(),
        fix="read 'inv mock.logs'; 'inv mock.down --volumes' resets its state",
    )


def restart(cfg: Config, *, timeout: float = 300) -> None:
    """Restart the service container (its state volume stays) and wait until it is healthy."""
    name, _ = instance_names(cfg)
    run(["docker", "restart", name], error=GridError, fix="start it with 'inv mock.up'")
    _wait_healthy(name, timeout)


def down(cfg: Config, *, volumes: bool = False) -> None:
    """Remove the service container (its state volume too with ``volumes``)."""
    name, volume = instance_names(cfg)
    if _inspect(name):
        run(["docker", "rm", "-f", name], error=GridError)
    if volumes:
        run(["docker", "volume", "rm", "-f", volume], error=GridError)


def status(cfg: Config) -> Status:
    current = _inspect(instance_names(cfg)[0])
    if not current:
        return Status(False, "", cfg.mock_grid_url, "", "")
    state = current["State"]
    ports = (current.get("NetworkSettings", {}).get("Ports") or {}).get(f"{PORT}/tcp") or []
    host_url = f"https://localhost:{ports[0]['HostPort']}" if ports else ""
    return Status(bool(state.get("Running")), state.get("Health", {}).get("Status", ""),
                  cfg.mock_grid_url, host_url, current["Config"]["Image"])


def logs(cfg: Config, *, tail: int = 200) -> str:
    return _logs(instance_names(cfg)[0], tail)


def _logs(name: str, tail: int) -> str:
    done = run(["docker", "logs", "--tail", str(tail), name], check=False)
    return done.stdout + done.stderr


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
