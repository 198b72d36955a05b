"""The Docker engine behind b2env: one SDK client, its version check, and b2env's labels.

Images, builds, inspection, networks and volumes go through the docker SDK (this module's
:func:`client`); only ``docker run`` goes through the CLI (see :mod:`b2env.container`), so that
``--dry-run`` prints exactly what runs and TTYs work. A missing, stopped or too old engine
becomes one :class:`~b2env.errors.EngineError` that says what to do.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import logging
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from b2env import __version__
from b2env.errors import EngineError

if TYPE_CHECKING:
    import docker

log = logging.getLogger(__name__)

#: Oldest Docker Engine API b2env uses (Docker 20.10: ``--pull never``, ``rslave`` binds).
MIN_API_VERSION = (1, 41)
LABEL_PREFIX = "org.b2env"
START_HINT = "start it with 'sudo systemctl start docker' (or start Docker Desktop)"


def labels(kind: str, **extra: str) -> dict[str, str]:
    """The ``org.b2env.*`` labels every container, image, network and volume b2env makes carries."""
    base = {f"{LABEL_PREFIX}.managed": "true", f"{LABEL_PREFIX}.kind": kind}
    base[f"{LABEL_PREFIX}.version"] = __version__
    base.update({f"{LABEL_PREFIX}.{key.replace('_', '-')}": value for key, value in extra.items()})
    return base


def keep_containers() -> bool:
    """``B2ENV_KEEP_CONTAINERS=1`` keeps one-shot containers for debugging."""
    return os.environ.get("B2ENV_KEEP_CONTAINERS", "") not in ("", "0")


@functools.cache
def client() -> docker.DockerClient:
    """A connected, version-checked docker SDK client (one per process)."""
    try:
        import docker
        from docker.errors import DockerException
    except ImportError as exc:  # pragma: no cover - docker is a dependency
        raise EngineError(
            "the docker Python package is not installed",
            fix="pip install -e '.[test]' (or pip install docker)",
        ) from exc
    try:
        sdk = docker.from_env(timeout=120)
        version = sdk.version()
    except DockerException as exc:
        raise _unreachable(exc) from None
    check_version(version)
    log.debug("docker engine %s (API %s)", version.get("Version"), version.get("ApiVersion"))
    return sdk


def check_version(version: Mapping[str, object]) -> None:
    """Refuse an engine whose API is older than :data:`MIN_API_VERSION`."""
    api = str(version.get("ApiVersion", "0.0"))
    try:
        found = tuple(int(part) for part in api.split(".")[:2])
    except ValueError:
        found = (0, 0)
    if found < MIN_API_VERSION:
        wanted = ".".join(map(str, MIN_API_VERSION))
        raise EngineError(
            f"the Docker engine is too old (API {api}, Docker {version.get('Version', '?')})",
            why=f"b2env needs Docker Engine API {wanted} (Docker 20.10) or newer",
            fix="upgrade Docker Engine: https://docs.docker.com/engine/install/",
        )


def _unreachable(exc: Exception) -> EngineError:
    """Turn the SDK's connection failure into what/why/fix."""
    text = str(exc)
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if "Permission denied" in text:
        return EngineError(
            f"no permission to use the Docker engine at {host}",
            why="your user is not in the 'docker' group",
            fix="sudo usermod -aG docker $USER, then log in again",
        )
    if "No such file" in text or "Connection refused" in text or "connection" in text.lower():
        return EngineError(
            f"the Docker engine at {host} is not running or not installed",
            why=text.splitlines()[0][:300],
            fix=f"install Docker Engine (https://docs.docker.com/engine/install/) and {START_HINT}",
        )
    return EngineError(
        f"cannot talk to the Docker engine at {host}", why=text[:300], fix=START_HINT
    )


def image_id(ref: str) -> str | None:
    """The local image ID of ``ref``, or None when the engine does not have it."""
    from docker.errors import ImageNotFound

    try:
        return str(client().images.get(ref).id)
    except ImageNotFound:
        return None


def ensure_network(name: str) -> None:
    """Create the b2env network ``name`` unless it exists; remember that it exists."""
    if not network_exists(name):
        log.info("creating Docker network %s", name)
        client().networks.create(name, driver="bridge", labels=labels("network"))
    _network_marker(name).touch(exist_ok=True)


def network_exists(name: str) -> bool:
    return any(net.name == name for net in client().networks.list(names=[name]))


def network_known(name: str) -> bool:
    """True when this machine's engine had network ``name`` last time b2env looked.

    Lets a container run skip importing the SDK (a quarter second) on the common path; a run
    that fails because the network went away checks again (see container.execute).
    """
    return _network_marker(name).is_file()


def _network_marker(name: str) -> Path:
    host = hashlib.sha256(os.environ.get("DOCKER_HOST", "default").encode()).hexdigest()[:8]
    return Path(tempfile.gettempdir()) / f"b2env-network-{name}-{host}-uid{os.getuid()}"


@contextlib.contextmanager
def build_lock(tag: str) -> Iterator[None]:
    """One build of ``tag`` at a time on this machine (parallel test sessions, two shells)."""
    safe = tag.replace("/", "_").replace(":", "_")
    path = Path(tempfile.gettempdir()) / f"b2env-build-{safe}.lock"
    fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
