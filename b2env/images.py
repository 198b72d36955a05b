"""The b2env user image: choose its base (pulled, or bootstrapped when no registry answers),
build it from ``containers/b2env`` with a tag that is a hash of every input, and reuse it when
nothing changed.

Tags: ``b2env/user:<os>-<hash>`` plus the floating ``b2env/user:<os>``. The hash covers the
Dockerfile, the helpers, the OS package list, the build arguments and the base image ID, so a
rebuild with nothing changed is one lookup.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from b2env import bootstrap, engine
from b2env.config import Config
from b2env.errors import ConfigError, ImageError

log = logging.getLogger(__name__)

CONTEXT_DIR = Path(__file__).resolve().parent.parent / "containers" / "b2env"
USER_REPOSITORY = "b2env/user"
#: OS name -> the base image pulled where a registry answers.
BASES: dict[str, str] = {
    "debian12": "debian:12-slim",
    "ubuntu2404": "ubuntu:24.04",
    "el9": "almalinux:9",
}
#: Files of containers/b2env shared by every OS; ``packages/<os>.txt`` is added per OS.
COMMON_INPUTS = ("Dockerfile", "prepare-image", "libexec")


@dataclass(frozen=True)
class Base:
    ref: str  # what FROM names: a pulled tag or b2env/base:<os>-<hash>
    id: str  # local image ID
    source: str  # "local", "pull" or "bootstrap"


def check_os(os_name: str) -> str:
    if os_name not in BASES:
        raise ConfigError(
            f"unknown OS '{os_name}' for the user image",
            fix=f"use one of: {', '.join(BASES)}",
        )
    return os_name


def user_tag(os_name: str) -> str:
    """The floating tag of the user image for ``os_name`` (what compose.yaml names)."""
    return f"{USER_REPOSITORY}:{check_os(os_name)}"


def resolve_base(os_name: str, *, refresh: bool = False) -> Base:
    """The base image for ``os_name``: local, else pulled, else bootstrapped (Debian only)."""
    ref = BASES[check_os(os_name)]
    if not refresh:
        found = engine.image_id(ref)
        if found:
            return Base(ref, found, "local")
        bootstrapped = engine.image_id(f"{bootstrap.BASE_REPOSITORY}:{os_name}")
        if bootstrapped:
            return Base(_bootstrapped_tag(os_name, bootstrapped), bootstrapped, "bootstrap")
    pulled = _try_pull(ref)
    if pulled:
        return Base(ref, pulled, "pull")
    if os_name not in bootstrap.SUITES:
        raise ImageError(
            f"cannot get a base image for '{os_name}' ({ref})",
            why=f"no registry answered a pull of {ref}, and only Debian bases can be "
            "bootstrapped offline",
            fix=f"use --os debian12 here, or 'docker pull {ref}' on a machine with a registry "
            "and 'docker save | docker load' it here",
        )
    log.info("no registry answered a pull of %s: bootstrapping the base from the host's "
             "Debian mirror instead", ref)
    tag = bootstrap.bootstrap_base(os_name, rebuild=refresh)
    return Base(tag, engine.image_id(tag) or "", "bootstrap")


def planned_base(os_name: str) -> str:
    """The base a build would use, without pulling or bootstrapping (for --dry-run)."""
    ref = BASES[check_os(os_name)]
    if engine.image_id(ref):
        return ref
    bootstrapped = engine.image_id(f"{bootstrap.BASE_REPOSITORY}:{os_name}")
    return _bootstrapped_tag(os_name, bootstrapped) if bootstrapped else ref


def _bootstrapped_tag(os_name: str, image: str) -> str:
    """The hashed tag that the floating ``b2env/base:<os>`` points at."""
    tags = engine.client().images.get(image).tags
    hashed = [t for t in tags if t.startswith(f"{bootstrap.BASE_REPOSITORY}:{os_name}-")]
    return hashed[0] if hashed else f"{bootstrap.BASE_REPOSITORY}:{os_name}"


def _try_pull(ref: str) -> str | None:
    """Pull ``ref``; None (with the reason at debug level) when no registry answers."""
    from docker.errors import DockerException

    repository, tag = ref.rsplit(":", 1)
    try:
        engine.client().images.pull(repository, tag=tag)
    except DockerException as exc:
        log.debug("pull of %s failed: %s", ref, exc)
        return None
    return engine.image_id(ref)


def input_hash(context_dir: Path, files: list[Path], build_args: Mapping[str, str],
               base_id: str) -> str:
    """SHA-256 (12 hex digits) over file paths, executable bits, contents, build args, base ID."""
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(str(path.relative_to(context_dir)).encode() + b"\0")
        executable = path.stat().st_mode & 0o111  # umask-independent, like git
        digest.update(b"755\0" if executable else b"644\0")
        digest.update(path.read_bytes() + b"\0")
    digest.update(json.dumps(dict(sorted(build_args.items()))).encode())
    digest.update(base_id.encode())
    return digest.hexdigest()[:12]


def context_files(context_dir: Path, names: tuple[str, ...] | None = None) -> list[Path]:
    """Files under ``context_dir`` (or only under ``names`` in it), without caches."""
    roots = [context_dir / n for n in names] if names else [context_dir]
    found: list[Path] = []
    for root in roots:
        candidates = [root] if root.is_file() else sorted(root.rglob("*"))
        found += [p for p in candidates if p.is_file() and "__pycache__" not in p.parts]
    return found


def build_context_image(
    name: str,
    context_dir: Path,
    *,
    base: str,
    build_args: Mapping[str, str] | None = None,
    files: list[Path] | None = None,
    variant: str = "",
    no_cache: bool = False,
) -> str:
    """Build ``b2env/<name>:<hash of inputs>`` from ``context_dir`` unless that tag exists.

    ``base`` is the image the Dockerfile builds FROM (its ID enters the hash); ``build_args``
    are passed to the build; ``files`` limits the hashed inputs (default: the whole context);
    ``variant`` prefixes the hash (``b2env/user:debian12-<hash>``). Returns the hashed tag.
    """
    base_id = engine.image_id(base)
    if base_id is None:
        raise ImageError(f"the base image {base} of b2env/{name} is not in the engine",
                         fix="build it first (inv image.build)")
    args = {"BASE": base, **(build_args or {})}
    files = files if files is not None else context_files(context_dir)
    prefix = f"{variant}-" if variant else ""
    tag = f"b2env/{name}:{prefix}{input_hash(context_dir, files, args, base_id)}"
    if not no_cache and engine.image_id(tag):
        log.debug("image %s is up to date", tag)
        return tag
    with engine.build_lock(tag):
        if not no_cache and engine.image_id(tag):  # another process built it meanwhile
            return tag
        log.info("building %s from %s (a first build takes a few minutes)", tag, context_dir)
        _build(context_dir, tag, args, engine.labels("image", name=name, base=base), no_cache)
    return tag


def _build(context_dir: Path, tag: str, args: Mapping[str, str],
           labels: Mapping[str, str], no_cache: bool) -> None:
    """Run the build through the SDK, logging its output; raise with its tail on failure."""
    from docker.errors import DockerException

    tail: list[str] = []
    try:
        stream = engine.client().api.build(
            path=str(context_dir), tag=tag, buildargs=dict(args), labels=dict(labels),
            nocache=no_cache, rm=True, forcerm=True, pull=False, decode=True,
        )
        for chunk in stream:
            if "error" in chunk:
                raise ImageError(f"building {tag} failed", evidence=[*tail[-15:], chunk["error"]],
                                 fix="read the build output above; rerun with B2ENV_DEBUG=1")
            for line in str(chunk.get("stream", "")).splitlines():
                if line.strip():
                    tail.append(line)
                    log.debug("build: %s", line)
    except DockerException as exc:
        raise ImageError(
            f"building {tag} failed", why=str(exc)[:300], evidence=tail[-15:]
        ) from None


def user_inputs(os_name: str) -> list[Path]:
    return context_files(CONTEXT_DIR, (*COMMON_INPUTS, f"packages/{check_os(os_name)}.txt"))


def ensure_user_image(cfg: Config, *, no_cache: bool = False, refresh_base: bool = False) -> str:
    """The user image for ``cfg.os`` (``cfg.image`` when set), built when missing."""
    if cfg.image:
        return cfg.image
    os_name = check_os(cfg.os)
    base = resolve_base(os_name, refresh=refresh_base)
    files = user_inputs(os_name)
    tag = build_context_image(
        "user", CONTEXT_DIR, base=base.ref, build_args={"B2ENV_OS": os_name},
        files=files, variant=os_name, no_cache=no_cache,
    )
    engine.client().images.get(tag).tag(USER_REPOSITORY, os_name)
    _remember(cfg, files, tag, base)
    return tag


# -- fast path: `inv shell` should not wait for the engine to confirm an unchanged image ----
def _record_path(cfg: Config) -> Path:
    return cfg.state_path / "images" / f"user-{cfg.os}.json"


def _remember(cfg: Config, files: list[Path], tag: str, base: Base) -> None:
    record = {"inputs": input_hash(CONTEXT_DIR, files, {}, ""), "tag": tag, "base": base.ref,
              "base_id": base.id}
    try:
        _record_path(cfg).parent.mkdir(parents=True, exist_ok=True)
        _record_path(cfg).write_text(json.dumps(record, indent=2) + "\n")
    except OSError as exc:
        log.debug("cannot record the user image in %s: %s", _record_path(cfg), exc)


def remembered_tag(cfg: Config) -> str | None:
    """The tag last built for ``cfg.os`` when its context files are unchanged, else None."""
    try:
        record = json.loads(_record_path(cfg).read_text())
    except (OSError, ValueError):
        return None
    if record.get("inputs") != input_hash(CONTEXT_DIR, user_inputs(cfg.os), {}, ""):
        return None
    return str(record.get("tag")) or None


def check_present(tag: str) -> None:
    """After ``docker run`` refused to start: say so plainly when ``tag`` is gone."""
    if engine.image_id(tag) is None:
        os_name = tag.split(":", 1)[1].split("-", 1)[0]
        raise ImageError(
            f"the image {tag} is not in the Docker engine (removed since it was built?)",
            fix=f"rebuild it: inv image.build --os {os_name}",
        )


def remember_built_os(cfg: Config) -> None:
    """`inv image.build` records its OS: runs with no OS configured use that image."""
    path = cfg.state_path / "images" / "last-built-os"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(cfg.os + "\n")
    except OSError as exc:
        log.debug("cannot record the last built OS in %s: %s", path, exc)


def with_run_os(cfg: Config) -> Config:
    """``cfg`` with the OS of the last `inv image.build` when no layer chose an OS."""
    if cfg.image or cfg.sources.get("os", "default") != "default":
        return cfg
    try:
        built = (cfg.state_path / "images" / "last-built-os").read_text().strip()
    except OSError:
        return cfg
    if built in BASES and built != cfg.os:
        log.debug("no OS configured: using the %s image built last", built)
        return cfg.with_overrides(source="last inv image.build", os=built)
    return cfg


def planned_tag(cfg: Config) -> str:
    """The image a run would use, without building: for --dry-run."""
    cfg = with_run_os(cfg)
    return cfg.image or remembered_tag(cfg) or user_tag(cfg.os)


def user_image_tag(cfg: Config) -> str:
    """``cfg.image``, else the recorded tag of unchanged inputs, else build (ensure)."""
    cfg = with_run_os(cfg)
    return cfg.image or remembered_tag(cfg) or ensure_user_image(cfg)


# -- lock file: base and image digests; `inv image.verify` fails when a floating tag moved ----
LOCK_FILE = "b2env.lock"


@dataclass(frozen=True)
class Finding:
    name: str
    ok: bool
    detail: str


def lock_entry(cfg: Config, tag: str) -> dict[str, dict[str, str]]:
    """What the lock records for ``cfg.os`` after a build: base and user image IDs."""
    record = json.loads(_record_path(cfg).read_text())
    base = {"ref": record["base"], "floating": _floating_base(cfg.os, record["base"]),
            "id": record["base_id"]}
    digests = engine.client().images.get(record["base_id"]).attrs.get("RepoDigests") or []
    if digests:
        base["repo_digest"] = digests[0]
    image = {"tag": tag, "floating": user_tag(cfg.os), "id": engine.image_id(tag) or ""}
    return {"base": base, "image": image}


def _floating_base(os_name: str, ref: str) -> str:
    return f"{bootstrap.BASE_REPOSITORY}:{os_name}" if ref.startswith("b2env/") else ref


def write_lock(path: Path, os_name: str, entry: Mapping[str, object]) -> None:
    """Record ``entry`` for ``os_name`` in the lock file at ``path`` (other OSes kept)."""
    data = json.loads(path.read_text()) if path.is_file() else {}
    data[os_name] = entry
    path.write_text(json.dumps(dict(sorted(data.items())), indent=2) + "\n")


def verify_lock(path: Path) -> list[Finding]:
    """Compare every locked base and image with what the floating tags point at now."""
    if not path.is_file():
        raise ImageError(f"no lock file at {path}", fix="run 'inv image.build' to write it")
    findings = []
    for os_name, entry in sorted(json.loads(path.read_text()).items()):
        findings.append(_check_tag(f"{os_name} base", entry["base"]))
        findings.append(_check_tag(f"{os_name} image", entry["image"]))
    return findings


def _check_tag(name: str, locked: Mapping[str, str]) -> Finding:
    """One floating tag against its locked ID (and registry digest where one answers)."""
    floating, want = locked["floating"], locked["id"]
    remote = _registry_digest(floating) if "repo_digest" in locked else None
    if remote and remote != locked["repo_digest"].split("@", 1)[1]:
        return Finding(name, False, f"{floating} moved in the registry: "
                       f"{locked['repo_digest']} -> {remote}")
    found = engine.image_id(floating)
    if found is None:
        return Finding(name, False, f"{floating} is not in the engine (locked {want[:19]})")
    if found != want:
        return Finding(name, False, f"{floating} moved: locked {want[:19]}, now {found[:19]}")
    return Finding(name, True, f"{floating} = {want[:19]}")


def _registry_digest(ref: str) -> str | None:
    """The registry's current digest of ``ref``; None when no registry answers."""
    from docker.errors import DockerException

    try:
        return str(engine.client().images.get_registry_data(ref).id)
    except DockerException as exc:
        log.debug("no registry digest for %s: %s", ref, exc)
        return None


def managed_images() -> list[dict[str, str]]:
    """Tag, ID, size and creation time of every image b2env made (label org.b2env.managed)."""
    rows = []
    for image in engine.client().images.list(filters={"label": f"{engine.LABEL_PREFIX}.managed"}):
        for tag in image.tags or ["<none>"]:
            rows.append({"tag": tag, "id": image.short_id.split(":")[1],
                         "size_mb": f"{image.attrs.get('Size', 0) / 1e6:.0f}",
                         "created": str(image.attrs.get("Created", ""))[:19]})
    return sorted(rows, key=lambda r: r["tag"])
