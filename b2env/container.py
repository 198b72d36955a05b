"""What a b2env container run looks like: mounts, environment, user, network, labels.

The policy (:func:`run_spec`): the caller's uid:gid; the work directory bound read-write at
the same path and used as cwd; ``/cvmfs`` per CVMFS mode (host: all of /cvmfs read-only,
rslave, after stat-ing each repository so autofs mounts it; mock: the staged stand-in
read-only; none: nothing); HOME = the caller's home path on a private tmpfs, with
``~/.globus`` bound read-only inside it; the proxy's directory shared read-write and the
X509_* variables pointing into /cvmfs/grid.cern.ch; only allow-listed host variables; the mock
grid's network when the mock grid is in use; ``org.b2env.*`` labels; ``--rm`` unless
B2ENV_KEEP_CONTAINERS=1; no-new-privileges. :func:`docker_argv` and :func:`apptainer_argv`
turn a spec into the exact command line; :func:`execute` runs it through the docker CLI.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import logging
import os
import pwd
import secrets
import stat
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from b2env import engine, runner
from b2env.config import Config
from b2env.errors import ConfigError, EngineError, ImageError

log = logging.getLogger(__name__)

LIBEXEC = "/usr/local/libexec/b2env"
GRID_SECURITY = "/cvmfs/grid.cern.ch/etc/grid-security"
#: Host variables a container may see; everything else stays outside.
ENV_ALLOW = ("TERM", "LANG", "LC_ALL", "TZ", "COLUMNS", "LINES", "DISPLAY")
CvmfsUse = Literal["host", "mock", "none"]


@dataclass(frozen=True)
class Mount:
    source: str
    target: str
    read_only: bool = True
    propagation: str | None = None
    kind: str = "bind"  # "bind", "volume" or "tmpfs" (source unused; owned by the caller)


@dataclass(frozen=True)
class RunSpec:
    image: str
    argv: tuple[str, ...]
    user: str
    workdir: str
    mounts: tuple[Mount, ...]
    env: Mapping[str, str]
    tty: bool
    interactive: bool
    network: str | None
    labels: Mapping[str, str]
    remove: bool
    name: str
    security_opts: tuple[str, ...] = field(default=("no-new-privileges",))


def run_spec(
    cfg: Config,
    argv: Sequence[str],
    *,
    interactive: bool | None = None,
    env: Mapping[str, str] | None = None,
    network: str | None = None,
    mounts: Sequence[Mount] = (),
    workdir: str | None = None,
    image: str | None = None,
) -> RunSpec:
    """The container run for ``argv`` under ``cfg``; see the module doc for the policy."""
    from b2env import images

    cfg = images.with_run_os(cfg)
    stdin_tty = _isatty(sys.stdin) and _isatty(sys.stdout)
    interactive = stdin_has_input() if interactive is None else interactive
    work = str(cfg.work_path)
    cvmfs = cvmfs_use(cfg)
    home = container_home(cfg)
    policy_mounts = [
        Mount(work, work, read_only=False),
        *cvmfs_mounts(cfg, cvmfs),
        *proxy_mounts(cfg),
        *home_mounts(cfg, home),
        *mounts,
    ]
    return RunSpec(
        image=image or images.user_image_tag(cfg),
        argv=tuple(argv),
        user=f"{os.getuid()}:{os.getgid()}",
        workdir=workdir or work,
        mounts=tuple(_dedupe(policy_mounts)),
        env=container_env(cfg, home, env or {}),
        tty=interactive and stdin_tty,
        interactive=interactive,
        network=network or (cfg.network if uses_mock_grid(cfg, cvmfs) else None),
        labels=engine.labels("run", workdir=work, os=cfg.os),
        remove=not engine.keep_containers(),
        name=f"b2env-run-{secrets.token_hex(4)}",
    )


def _isatty(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError):
        return False


def stdin_has_input() -> bool:
    """True when stdin is a terminal, a pipe or a file: then the container gets it (-i)."""
    if _isatty(sys.stdin):
        return True
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (AttributeError, OSError, ValueError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISREG(mode)


def cvmfs_use(cfg: Config) -> CvmfsUse:
    """The CVMFS mode in effect: ``auto`` means host when /cvmfs/belle.cern.ch has content."""
    if cfg.cvmfs_mode != "auto":
        return cfg.cvmfs_mode
    return "host" if host_has_cvmfs(cfg) else "mock"


def host_has_cvmfs(cfg: Config, root: Path = Path("/cvmfs")) -> bool:
    """Stat each repository (which makes autofs mount it); True when belle.cern.ch has content."""
    present = {}
    for repo in cfg.cvmfs_repos:
        try:
            present[repo] = any(os.scandir(root / repo))
        except OSError:
            present[repo] = False
    log.debug("host CVMFS repositories: %s", present)
    return present.get("belle.cern.ch", False)


def uses_mock_grid(cfg: Config, cvmfs: CvmfsUse) -> bool:
    return cfg.grid_mode == "mock" or (cfg.grid_mode == "auto" and cvmfs == "mock")


def cvmfs_mounts(cfg: Config, cvmfs: CvmfsUse) -> list[Mount]:
    """Host: all of /cvmfs, read-only, rslave (never one repository). Mock: the staged tree."""
    if cvmfs == "none":
        return []
    if cvmfs == "host":
        if not host_has_cvmfs(cfg):
            raise ConfigError(
                "cvmfs_mode is 'host' but /cvmfs/belle.cern.ch is empty or missing on this host",
                fix="install and configure the CVMFS client (cvmfs_config probe belle.cern.ch), "
                "or set cvmfs_mode to mock",
            )
        propagation = "rslave" if propagates("/cvmfs") else None
        if propagation is None:
            log.warning("/cvmfs is on a private mount: repositories that autofs mounts after the "
                        "container starts will not appear in it (make it shared: "
                        "sudo mount --make-rshared /)")
        return [Mount("/cvmfs", "/cvmfs", read_only=True, propagation=propagation)]
    return [Mount(str(staged_mock_cvmfs(cfg)), "/cvmfs", read_only=True)]


def propagates(path: str, mountinfo: str | None = None) -> bool:
    """Whether the mount holding ``path`` is shared or a slave (needed for an rslave bind)."""
    if mountinfo is None:
        try:
            mountinfo = Path("/proc/self/mountinfo").read_text()
        except OSError:
            return False
    best, tags = "", ""
    for line in mountinfo.splitlines():
        fields = line.split(" - ", 1)[0].split()
        if len(fields) < 6:
            continue
        point = fields[4]
        inside = path == point or path.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, tags = point, " ".join(fields[6:])
    return "shared:" in tags or "master:" in tags


def staged_mock_cvmfs(cfg: Config) -> Path:
    """The staged mock CVMFS tree (b2env.mockcvmfs), imported only when mock mode is used."""
    try:
        from b2env import mockcvmfs  # type: ignore[attr-defined,unused-ignore]
    except ImportError as exc:
        raise ImageError(
            "the mock CVMFS stand-in is not available in this b2env checkout",
            why=f"importing b2env.mockcvmfs failed: {exc}",
            fix="update b2env, or set cvmfs_mode to host (real CVMFS) or none",
        ) from None
    return Path(mockcvmfs.ensure_staged(cfg))


def container_home(cfg: Config) -> str:
    """HOME inside the container: the caller's home path, so ``~/.globus`` resolves."""
    return str(Path(os.environ.get("HOME") or "/tmp").expanduser())


def home_mounts(cfg: Config, home: str) -> list[Mount]:
    """A private writable HOME (tmpfs) unless the work dir holds it, and ~/.globus read-only."""
    mounts = []
    work = cfg.work_path
    home_path = Path(home)
    if home_path != work and work not in home_path.parents and home != "/":
        mounts.append(Mount("", home, read_only=False, kind="tmpfs"))
    globus = cfg.globus_path
    if globus.is_dir():
        mounts.append(Mount(str(globus), str(globus), read_only=True))
    elif str(globus) not in _warned:
        _warned.add(str(globus))
        log.warning("%s does not exist: no grid certificate in the container "
                    "(run 'inv cert.import' to install one)", globus)
    return mounts


_warned: set[str] = set()


def proxy_mounts(cfg: Config) -> list[Mount]:
    """The proxy's directory, shared read-write so gb2_proxy_init's proxy reaches the host."""
    parent = cfg.proxy_file.parent
    if not parent.is_dir():
        return []
    return [Mount(str(parent), str(parent), read_only=False)]


def container_env(cfg: Config, home: str, extra: Mapping[str, str]) -> dict[str, str]:
    """The allow-listed host variables plus b2env's own; ``extra`` wins."""
    env = {name: os.environ[name] for name in ENV_ALLOW if name in os.environ}
    env.update(
        HOME=home,
        USER=caller_name(),
        X509_USER_PROXY=str(cfg.proxy_file),
        X509_CERT_DIR=f"{GRID_SECURITY}/certificates",
        X509_VOMSES=f"{GRID_SECURITY}/vomses",
        X509_VOMS_DIR=f"{GRID_SECURITY}/vomsdir",
    )
    env.update(extra)
    return env


def caller_name() -> str:
    """The caller's user name ($USER, else the passwd entry, else b2env)."""
    if os.environ.get("USER"):
        return os.environ["USER"]
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return "b2env"


def _dedupe(mounts: list[Mount]) -> list[Mount]:
    """One mount per target, the first one wins (the work dir beats the proxy's /tmp)."""
    seen: dict[str, Mount] = {}
    for mount in mounts:
        seen.setdefault(mount.target, mount)
    return list(seen.values())


# -- command lines ---------------------------------------------------------------------------
def _csv(fields: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(fields)
    return out.getvalue()


def mount_option(mount: Mount) -> list[str]:
    """``--mount``/``--tmpfs`` options for one mount (CSV-quoted as the docker CLI reads them)."""
    if mount.kind == "tmpfs":
        return ["--tmpfs", f"{mount.target}:uid={os.getuid()},gid={os.getgid()},mode=0700,exec"]
    fields = [f"type={mount.kind}", f"source={mount.source}", f"target={mount.target}"]
    if mount.read_only:
        fields.append("readonly")
    if mount.propagation:
        fields.append(f"bind-propagation={mount.propagation}")
    return ["--mount", _csv(fields)]


def docker_argv(spec: RunSpec) -> list[str]:
    """The exact ``docker run`` command line for ``spec`` (what --dry-run prints)."""
    argv = ["docker", "run", "--pull", "never", "--name", spec.name, "--user", spec.user]
    argv += ["--workdir", spec.workdir]
    argv += ["--rm"] if spec.remove else []
    argv += ["--interactive"] if spec.interactive else []
    argv += ["--tty"] if spec.tty else []
    argv += ["--network", spec.network] if spec.network else []
    for opt in spec.security_opts:
        argv += ["--security-opt", opt]
    for key, value in sorted(spec.labels.items()):
        argv += ["--label", f"{key}={value}"]
    for mount in spec.mounts:
        argv += mount_option(mount)
    for key, value in spec.env.items():
        argv += ["--env", f"{key}={value}"]
    return [*argv, spec.image, *spec.argv]


def apptainer_argv(spec: RunSpec, sif: str | Path) -> list[str]:
    """The ``apptainer exec`` line for ``spec``: clean environment, same binds, same cwd."""
    argv = ["apptainer", "exec", "--cleanenv", "--pwd", spec.workdir]
    for mount in spec.mounts:
        if mount.kind == "bind":
            argv += ["--bind", f"{mount.source}:{mount.target}:{'ro' if mount.read_only else 'rw'}"]
    for key, value in spec.env.items():
        argv += ["--env", f"{key}={value}"]
    return [*argv, str(sif), *spec.argv]


def execute(
    spec: RunSpec,
    *,
    input: str | bytes | None = None,
    capture: bool = False,
    check: bool = False,
    timeout: float | None = None,
) -> runner.Completed:
    """Run ``spec`` with the docker CLI; output streams to the terminal unless ``capture``."""
    from b2env import images

    if input is not None:
        spec = dataclasses.replace(spec, interactive=True, tty=False)
    elif capture:  # no TTY (it would merge stderr into stdout), no stdin taken from the caller
        spec = dataclasses.replace(spec, interactive=False, tty=False)
    if spec.network and not engine.network_known(spec.network):
        engine.ensure_network(spec.network)
    argv = docker_argv(spec)
    done = runner.run(argv, check=False, capture=capture, input=input, timeout=timeout)
    if done.returncode == 125 and spec.network and not engine.network_exists(spec.network):
        engine.ensure_network(spec.network)  # removed since b2env last saw it
        done = runner.run(argv, check=False, capture=capture, input=input, timeout=timeout)
    if done.returncode == 125 and spec.image.startswith(images.USER_REPOSITORY):
        images.check_present(spec.image)
    if check and done.returncode != 0:
        raise EngineError(
            f"'{' '.join(spec.argv)}' in the b2env container failed with exit code "
            f"{done.returncode}",
            evidence=done.tail(),
            fix="run it in 'inv shell' to investigate",
        )
    return done


def with_basf2(release: str, argv: Sequence[str]) -> list[str]:
    """``argv`` wrapped to run with basf2 ``release`` set up (in-container helper)."""
    return [f"{LIBEXEC}/with-basf2", release, "--", *argv]


def with_gbasf2(cfg: Config, argv: Sequence[str]) -> list[str]:
    """``argv`` wrapped to run in a clean gbasf2 environment for ``cfg.group``."""
    setup = ["--setup", cfg.gbasf2_setup] if cfg.gbasf2_setup else []
    return [f"{LIBEXEC}/with-gbasf2", "--group", cfg.group, *setup, "--", *argv]
