"""The staged mock CVMFS: the committed stand-in tree plus what cannot be committed.

``ensure_staged(cfg)`` returns a host directory that containers bind read-only at ``/cvmfs``.
It holds ``containers/mock-cvmfs/tree`` (``belle.cern.ch`` with the basf2 stand-in,
``belle.kek.jp`` with the gbasf2 client), the Python wheels the stand-ins import (installed on
the host with ``pip --target`` for CPython 3.9/3.11/3.12 manylinux x86_64, cached under
``~/.cache/b2env/wheels``), the grid-security files of the test CA under ``grid.cern.ch`` and
the gbasf2 client configuration. A content hash of all inputs names the staged directory; it
is built in a temporary directory and renamed into place, so a half-written tree is never used.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from b2env import runner, testca
from b2env.config import Config
from b2env.errors import ImageError

log = logging.getLogger(__name__)

TREE = Path(__file__).resolve().parent.parent / "containers" / "mock-cvmfs" / "tree"
WHEEL_CACHE = Path("~/.cache/b2env/wheels").expanduser()
INSTALLED_CACHE = Path("~/.cache/b2env/site-packages").expanduser()
#: The image Pythons the externals' python3 may run on: el9 (3.9), debian12 (3.11), ubuntu2404.
PYTHON_VERSIONS = ("3.9", "3.11", "3.12")
PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64")
EXTERNALS_VERSION = "v02-00-03"
EXTERNALS_LIB = f"belle.cern.ch/el9/externals/{EXTERNALS_VERSION}/Linux_x86_64/common/lib"
#: (where under the staged tree, which requirements, for which Python) of the staged wheels.
WHEEL_SETS = (
    *(
        (f"{EXTERNALS_LIB}/python{version}/site-packages", ("uproot", "numpy", "awkward"), version)
        for version in PYTHON_VERSIONS
    ),
    *(
        (f"belle.kek.jp/grid/gbasf2/pro/lib/site-packages/python{version}", ("cryptography",), version)
        for version in PYTHON_VERSIONS
    ),
)
GRID_SECURITY = "grid.cern.ch/etc/grid-security"
VOMS_HOST_DN = "/DC=org/DC=b2env-test/CN=mock-grid"
VOMS_PORT = 15020
KEEP_STAGED = 3  # older staged trees may still be bound by a running mock grid
STAGE_FORMAT = "1"  # bump when the staging steps change


class MockCvmfsError(ImageError):
    """The mock CVMFS tree could not be staged (an environment build failure, like images)."""


def ensure_staged(cfg: Config) -> Path:
    """The staged tree for ``cfg`` (built when its inputs changed); see the module doc."""
    root = cfg.state_path / "mock-cvmfs"
    ca = testca.ensure_ca(cfg.state_path)
    client = _client_config(cfg)
    digest = input_hash(TREE, ca.cert_pem, client)
    staged = root / f"tree-{digest[:16]}"
    if (staged / ".b2env-staged").is_file():
        log.debug("mock CVMFS already staged at %s", staged)
        return staged

    log.info("staging the mock CVMFS tree at %s", staged)
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".staging-", dir=root))
    try:
        shutil.copytree(TREE, work, symlinks=True, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        for target, requirements, python in WHEEL_SETS:
            place_site_packages(work / target, requirements, python)
        write_grid_security(work, ca)
        if client is not None:
            (work / "belle.kek.jp/grid/gbasf2/pro/etc").mkdir(parents=True, exist_ok=True)
            (work / "belle.kek.jp/grid/gbasf2/pro/etc/dirac.cfg").write_text(client)
        (work / ".b2env-staged").write_text(f"{digest}\n")
        _publish(work, staged)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    prune(root, keep=staged)
    return staged


def _client_config(cfg: Config) -> str | None:
    """The gbasf2 client configuration from b2env.mockgrid, when that module provides it."""
    try:
        from b2env import mockgrid
    except ImportError:
        return None
    maker = getattr(mockgrid, "client_config", None)
    return maker(cfg) if maker is not None else None


def input_hash(tree: Path, ca_pem: bytes, client: str | None) -> str:
    """Hash of everything that ends up in the staged tree."""
    digest = hashlib.sha256(f"format {STAGE_FORMAT}\n".encode())
    for path in sorted(_tree_files(tree)):
        relative = path.relative_to(tree).as_posix()
        if path.is_symlink():
            digest.update(f"L {relative} {os.readlink(path)}\n".encode())
        else:
            mode = "x" if os.access(path, os.X_OK) else "-"
            digest.update(f"F {relative} {mode}\n".encode())
            digest.update(path.read_bytes())
    for target, requirements, python in WHEEL_SETS:
        digest.update(f"W {target} {' '.join(requirements)} {python}\n".encode())
    digest.update(ca_pem)
    digest.update((client or "").encode())
    return digest.hexdigest()


def _tree_files(tree: Path) -> Iterable[Path]:
    for directory, dirs, files in os.walk(tree):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        here = Path(directory)
        for name in [*files, *(d for d in dirs if (here / d).is_symlink())]:
            if not name.endswith(".pyc"):
                yield here / name


def pip_platform_args(python: str) -> list[str]:
    args = ["--only-binary=:all:", "--python-version", python, "--implementation", "cp"]
    for platform in PLATFORMS:
        args += ["--platform", platform]
    return args


def place_site_packages(target: Path, requirements: tuple[str, ...], python: str) -> None:
    """Put the installed ``requirements`` at ``target``: hard links into a cached install."""
    key = hashlib.sha256(f"{python} {' '.join(requirements)}".encode()).hexdigest()[:16]
    installed = INSTALLED_CACHE / f"cp{python.replace('.', '')}-{key}"
    if not (installed / ".complete").is_file():
        shutil.rmtree(installed, ignore_errors=True)
        install_wheels(installed, requirements, python)
        (installed / ".complete").write_text(" ".join(requirements) + "\n")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        shutil.copytree(installed, target, copy_function=os.link,
                        ignore=shutil.ignore_patterns(".complete"))
    except (OSError, shutil.Error):  # another file system: copy instead of linking
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(installed, target, ignore=shutil.ignore_patterns(".complete"))


def install_wheels(target: Path, requirements: Iterable[str], python: str) -> None:
    """Install ``requirements`` into ``target`` from the wheel cache (downloading what's new).

    Each Python version has its own cache directory holding what ``pip download`` chose for it
    (that step honours the packages' Requires-Python for the target version); the install from
    it skips that check, which pip would otherwise make against the host's own Python.
    """
    cache = WHEEL_CACHE / f"cp{python.replace('.', '')}"
    target.mkdir(parents=True, exist_ok=True)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    offline = [*pip, "install", "--quiet", "--no-index", "--find-links", str(cache),
               "--ignore-requires-python", "--target", str(target),
               *pip_platform_args(python), *requirements]
    if cache.is_dir() and runner.run(offline, check=False).returncode == 0:
        return
    cache.mkdir(parents=True, exist_ok=True)
    log.info("downloading wheels for %s (CPython %s) into %s", ", ".join(requirements), python,
             cache)
    runner.run(
        [*pip, "download", "--quiet", "--dest", str(cache), *pip_platform_args(python),
         *requirements],
        error=MockCvmfsError,
        fix=f"check that pip can download wheels on this host, or put the wheels for "
        f"{', '.join(requirements)} (CPython {python}, manylinux x86_64) into {cache}",
    )
    runner.run(offline, error=MockCvmfsError,
               fix=f"remove {cache} and run again to download the wheels afresh")


def write_grid_security(staged: Path, ca: testca.Identity) -> None:
    """certificates/, vomses and vomsdir of the test CA and the mock grid's VOMS server."""
    security = staged / GRID_SECURITY
    testca.write_ca_dir(ca, security / "certificates")
    (security / "vomses").mkdir(parents=True, exist_ok=True)
    (security / "vomses" / "belle").write_text(
        f'"belle" "mock-grid" "{VOMS_PORT}" "{VOMS_HOST_DN}" "belle"\n'
    )
    (security / "vomsdir" / "belle").mkdir(parents=True, exist_ok=True)
    (security / "vomsdir" / "belle" / "mock-grid.lsc").write_text(
        f"{VOMS_HOST_DN}\n{testca.dn(ca.cert)}\n"
    )
    (staged / "grid.cern.ch" / "MOCK-CVMFS.txt").write_text(
        "MOCK CVMFS -- b2env stand-in for /cvmfs/grid.cern.ch (NOT the real repository)\n\n"
        "Generated by b2env when the mock CVMFS is staged: the grid-security files of the b2env\n"
        "test CA and of the mock grid's VOMS server. They are trusted only inside b2env's own\n"
        "containers and are never committed.\n"
    )


def _publish(work: Path, staged: Path) -> None:
    """Rename the finished tree into place; a concurrent stager may have won the race."""
    try:
        work.rename(staged)
    except OSError:
        if not (staged / ".b2env-staged").is_file():
            raise MockCvmfsError(
                f"could not move the staged mock CVMFS into {staged}",
                fix=f"remove {staged} and run again",
            ) from None
    staged.chmod(0o755)


def prune(root: Path, keep: Path) -> None:
    """Remove staged trees beyond the newest few (a running mock grid may bind an older one)."""
    trees = sorted(
        (p for p in root.glob("tree-*") if p.is_dir() and p != keep),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in trees[KEEP_STAGED - 1:]:
        log.debug("removing old staged mock CVMFS %s", old)
        shutil.rmtree(old, ignore_errors=True)


def staged_path(cfg: Config) -> Path | None:
    """The newest staged tree, without staging (for status output); None when none exists."""
    trees = [p for p in (cfg.state_path / "mock-cvmfs").glob("tree-*")
             if (p / ".b2env-staged").is_file()]
    return max(trees, key=lambda p: p.stat().st_mtime) if trees else None
