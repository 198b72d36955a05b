"""Build a Debian base image offline: bootstrap a root file system from the host's own Debian
mirror (read from ``/etc/apt/sources.list`` and ``sources.list.d`` at run time) with mmdebstrap,
else debootstrap, and ``import`` it into the engine.

Used when no registry answers a pull. Only Debian bases can be made this way; el9 and Ubuntu
bases must come from a registry.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from b2env import engine
from b2env.errors import ImageError, ToolMissingError
from b2env.runner import run

log = logging.getLogger(__name__)

APT_SOURCES = Path("/etc/apt/sources.list")
APT_SOURCES_DIR = Path("/etc/apt/sources.list.d")
#: OS name -> Debian suite that can be bootstrapped.
SUITES = {"debian12": "bookworm"}
BASE_REPOSITORY = "b2env/base"


@dataclass(frozen=True)
class AptSource:
    uri: str
    suites: tuple[str, ...]
    components: tuple[str, ...]


def read_sources(files: list[Path] | None = None) -> list[AptSource]:
    """Every ``deb`` source of the host's apt configuration, one-line and deb822 formats."""
    if files is None:
        files = [APT_SOURCES] if APT_SOURCES.is_file() else []
        if APT_SOURCES_DIR.is_dir():
            files += sorted(APT_SOURCES_DIR.glob("*.list"))
            files += sorted(APT_SOURCES_DIR.glob("*.sources"))
    sources: list[AptSource] = []
    for path in files:
        text = path.read_text(errors="replace")
        parse = _parse_deb822 if path.suffix == ".sources" else _parse_one_line
        sources += parse(text)
    return sources


def _parse_one_line(text: str) -> list[AptSource]:
    found = []
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) >= 3 and words[0] == "deb":
            if words[1].startswith("["):  # options such as [signed-by=...]
                while words and not words[0].endswith("]"):
                    words.pop(0)
                words = ["deb", *words[1:]]
            if len(words) >= 3:
                found.append(AptSource(words[1], (words[2],), tuple(words[3:])))
    return found


def _parse_deb822(text: str) -> list[AptSource]:
    found = []
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line:
                continue
            key, value = line.split(":", 1)
            fields[key.strip().lower()] = value.strip()
        if "deb" not in fields.get("types", "").split() or fields.get("enabled") == "no":
            continue
        for uri in fields.get("uris", "").split():
            found.append(
                AptSource(uri, tuple(fields.get("suites", "").split()), tuple(
                    fields.get("components", "main").split()
                ))
            )
    return found


def mirror_lines(suite: str, sources: list[AptSource]) -> list[str]:
    """One-line apt sources for ``suite`` (and its -updates/-security) from the host's mirrors."""
    wanted = {suite, f"{suite}-updates", f"{suite}-security"}
    lines = [
        f"deb {src.uri} {s} main"
        for src in sources
        for s in src.suites
        if s in wanted and "main" in (src.components or ("main",))
    ]
    if not any(line.split()[2] == suite for line in lines):
        raise ImageError(
            f"the host's apt configuration has no Debian mirror for '{suite}'",
            why=f"no 'deb' source with suite {suite} in {APT_SOURCES} or {APT_SOURCES_DIR}",
            fix=f"add a Debian {suite} mirror to the host's apt sources, or pull the base image "
            "on a machine with a registry and 'docker load' it here",
        )
    return list(dict.fromkeys(lines))


def base_tag(os_name: str, lines: list[str]) -> str:
    """``b2env/base:<os>-<hash of the mirror lines and variant>``."""
    digest = hashlib.sha256("\n".join(["minbase", *lines]).encode()).hexdigest()[:12]
    return f"{BASE_REPOSITORY}:{os_name}-{digest}"


def bootstrap_base(os_name: str, *, rebuild: bool = False) -> str:
    """Bootstrap the Debian base for ``os_name``, import it, and return its tag."""
    suite = SUITES.get(os_name)
    if suite is None:
        raise ImageError(
            f"cannot bootstrap a base image for '{os_name}'",
            why="only Debian bases can be bootstrapped offline (debian12); "
            f"{os_name} needs a registry to pull its base from",
            fix="use --os debian12 here, or build on a machine whose Docker engine can pull",
        )
    lines = mirror_lines(suite, read_sources())
    tag = base_tag(os_name, lines)
    if not rebuild and engine.image_id(tag):
        return tag
    with engine.build_lock(tag), tempfile.TemporaryDirectory(prefix="b2env-bootstrap-") as tmp:
        tarball = Path(tmp) / "rootfs.tar"
        _make_rootfs(suite, lines, tarball)
        _import(tarball, tag, os_name, lines)
    engine.client().images.get(tag).tag(BASE_REPOSITORY, os_name)
    log.info("base image %s bootstrapped from %s", tag, lines[0].split()[1])
    return tag


def _make_rootfs(suite: str, lines: list[str], tarball: Path) -> None:
    """A minbase root file system of ``suite`` as a tarball, by mmdebstrap or debootstrap."""
    if shutil.which("mmdebstrap"):
        argv = ["mmdebstrap", "--variant=minbase", "--format=tar", "--quiet", suite, str(tarball)]
        run(argv + lines, error=ImageError, fix="check the host's Debian mirror is reachable")
        return
    if not shutil.which("debootstrap"):
        raise ToolMissingError(
            "neither mmdebstrap nor debootstrap was found on PATH",
            why="bootstrapping the base image offline needs one of them",
            fix="sudo apt-get install mmdebstrap   (or debootstrap)",
        )
    rootfs = tarball.parent / "rootfs"
    mirror = lines[0].split()[1]
    run(["debootstrap", "--variant=minbase", suite, str(rootfs), mirror], error=ImageError,
        fix="debootstrap needs root; run as root or install mmdebstrap")
    (rootfs / "etc/apt/sources.list").write_text("\n".join(lines) + "\n")
    run(["tar", "-C", str(rootfs), "-cf", str(tarball), "."], error=ImageError)


def _import(tarball: Path, tag: str, os_name: str, lines: list[str]) -> None:
    """``docker import`` through the SDK, with b2env's labels and a sane default command."""
    repository, version = tag.split(":", 1)
    label_changes = [
        f'LABEL {key}="{value}"'
        for key, value in engine.labels("base", os=os_name, source="bootstrap").items()
    ]
    changes = [*label_changes, 'CMD ["/bin/bash"]', "ENV LANG=C.UTF-8"]
    engine.client().api.import_image_from_file(
        str(tarball), repository=repository, tag=version, changes=changes
    )
    if not engine.image_id(tag):
        raise ImageError(f"importing the bootstrapped root file system as {tag} failed")
