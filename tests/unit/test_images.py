"""Image inputs, tags, base resolution, bootstrap sources, lock file and compose, no engine."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest
import yaml

from b2env import apptainer, bootstrap, compose, images
from b2env.bootstrap import AptSource
from b2env.config import Config
from b2env.errors import ConfigError, ImageError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def context(tmp_path: Path) -> Path:
    (tmp_path / "libexec").mkdir()
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "libexec" / "helper").write_text("#!/bin/sh\n")
    return tmp_path


def test_input_hash_covers_files_modes_args_and_base(context: Path) -> None:
    files = images.context_files(context)
    first = images.input_hash(context, files, {"A": "1"}, "sha256:base")
    assert first == images.input_hash(context, files, {"A": "1"}, "sha256:base")
    assert first != images.input_hash(context, files, {"A": "2"}, "sha256:base")
    assert first != images.input_hash(context, files, {"A": "1"}, "sha256:other")
    (context / "libexec" / "helper").chmod(0o755)
    moded = images.input_hash(context, files, {"A": "1"}, "sha256:base")
    assert moded != first
    (context / "Dockerfile").write_text("FROM scratch\nRUN true\n")
    assert images.input_hash(context, files, {"A": "1"}, "sha256:base") != moded


def test_cache_directories_are_not_inputs(context: Path) -> None:
    (context / "__pycache__").mkdir()
    (context / "__pycache__" / "x.pyc").write_bytes(b"\0")
    assert all("__pycache__" not in p.parts for p in images.context_files(context))


def test_user_inputs_hold_only_that_os_package_list() -> None:
    names = {str(p.relative_to(images.CONTEXT_DIR)) for p in images.user_inputs("debian12")}
    assert {"Dockerfile", "prepare-image", "libexec/with-basf2", "libexec/with-gbasf2",
            "libexec/entrypoint", "packages/debian12.txt"} <= names
    assert "packages/el9.txt" not in names


def test_unknown_os_is_refused() -> None:
    with pytest.raises(ConfigError, match="unknown OS 'centos7'"):
        images.check_os("centos7")


def test_image_spec_has_the_basf2_runtime_packages() -> None:
    listed = {
        os_name: {line.split("#")[0].strip() for line in
                  (images.CONTEXT_DIR / "packages" / f"{os_name}.txt").read_text().splitlines()}
        for os_name in images.BASES
    }
    assert {"mesa-libGLU", "libglvnd-opengl", "libtirpc", "libicu", "libXpm", "libXft",
            "glibc-devel", "perl-FindBin", "procps-ng", "python3"} <= listed["el9"]
    assert {"libglu1-mesa", "libopengl0", "libtirpc3", "libicu72", "libxpm4", "libxft2",
            "libc6-dev", "perl", "procps", "python3", "ca-certificates"} <= listed["debian12"]
    assert {"libicu74", "libtirpc3t64"} <= listed["ubuntu2404"]
    for helper in ("entrypoint", "with-basf2", "with-gbasf2"):
        assert os.access(images.CONTEXT_DIR / "libexec" / helper, os.X_OK)


def test_no_base_for_el9_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(images.engine, "image_id", lambda ref: None)
    monkeypatch.setattr(images, "_try_pull", lambda ref: None)
    with pytest.raises(ImageError, match="cannot get a base image for 'el9'") as err:
        images.resolve_base("el9")
    assert "only Debian bases can be bootstrapped" in str(err.value)


def test_debian_falls_back_to_bootstrap_with_one_log_line(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    ids = {"b2env/base:debian12-abc": "sha256:boot"}
    monkeypatch.setattr(images.engine, "image_id", ids.get)
    monkeypatch.setattr(images, "_try_pull", lambda ref: None)
    monkeypatch.setattr(bootstrap, "bootstrap_base", lambda os_name, rebuild: next(iter(ids)))
    with caplog.at_level(logging.INFO, logger="b2env.images"):
        base = images.resolve_base("debian12")
    assert base == images.Base("b2env/base:debian12-abc", "sha256:boot", "bootstrap")
    assert [r.getMessage() for r in caplog.records] == [
        "no registry answered a pull of debian:12-slim: bootstrapping the base from the "
        "host's Debian mirror instead"]


def test_pulled_base_is_preferred(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(images.engine, "image_id", lambda ref: None)
    monkeypatch.setattr(images, "_try_pull", lambda ref: "sha256:pulled")
    assert images.resolve_base("ubuntu2404") == images.Base("ubuntu:24.04", "sha256:pulled", "pull")


def test_apt_sources_both_formats(tmp_path: Path) -> None:
    one_line = tmp_path / "sources.list"
    one_line.write_text("# comment\ndeb [signed-by=/k.gpg] http://mirror.example/debian "
                        "bookworm main contrib\ndeb-src http://x/debian bookworm main\n")
    deb822 = tmp_path / "debian.sources"
    deb822.write_text("Types: deb\n# http://snapshot/\nURIs: http://m2.example/debian\n"
                      "Suites: bookworm bookworm-updates\nComponents: main\n\n"
                      "Types: deb\nURIs: http://m2.example/debian-security\n"
                      "Suites: bookworm-security\nComponents: main\n")
    sources = bootstrap.read_sources([one_line, deb822])
    assert sources[0] == AptSource("http://mirror.example/debian", ("bookworm",),
                                   ("main", "contrib"))
    lines = bootstrap.mirror_lines("bookworm", sources[1:])
    assert lines == ["deb http://m2.example/debian bookworm main",
                     "deb http://m2.example/debian bookworm-updates main",
                     "deb http://m2.example/debian-security bookworm-security main"]
    assert bootstrap.base_tag("debian12", lines) == bootstrap.base_tag("debian12", lines)
    assert bootstrap.base_tag("debian12", lines).startswith("b2env/base:debian12-")


def test_no_mirror_for_the_suite_is_refused() -> None:
    sources = [AptSource("http://m/ubuntu", ("noble",), ("main",))]
    with pytest.raises(ImageError, match="no Debian mirror for 'bookworm'"):
        bootstrap.mirror_lines("bookworm", sources)


def test_bootstrapping_non_debian_is_refused() -> None:
    with pytest.raises(ImageError, match="only Debian bases can be bootstrapped"):
        bootstrap.bootstrap_base("el9")


def test_remembered_tag_follows_the_inputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = Config(os="debian12", state_dir=str(tmp_path / "state"))
    assert images.remembered_tag(cfg) is None
    base = images.Base("b2env/base:debian12-abc", "sha256:b", "bootstrap")
    images._remember(cfg, images.user_inputs("debian12"), "b2env/user:debian12-x", base)
    assert images.remembered_tag(cfg) == "b2env/user:debian12-x"
    monkeypatch.setattr(images, "user_inputs", lambda os_name: [images.CONTEXT_DIR / "Dockerfile"])
    assert images.remembered_tag(cfg) is None


def test_lock_verify_reports_a_moved_tag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lock = tmp_path / "b2env.lock"
    entry = {"base": {"ref": "b2env/base:debian12-abc", "floating": "b2env/base:debian12",
                      "id": "sha256:aaa"},
             "image": {"tag": "b2env/user:debian12-x", "floating": "b2env/user:debian12",
                       "id": "sha256:bbb"}}
    images.write_lock(lock, "debian12", entry)
    assert json.loads(lock.read_text()) == {"debian12": entry}
    now = {"b2env/base:debian12": "sha256:aaa", "b2env/user:debian12": "sha256:ccc"}
    monkeypatch.setattr(images.engine, "image_id", now.get)
    findings = images.verify_lock(lock)
    assert [f.ok for f in findings] == [True, False]
    assert "moved" in findings[1].detail


def test_missing_lock_says_how_to_make_it(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="no lock file"):
        images.verify_lock(tmp_path / "b2env.lock")


def test_apptainer_definition_from_the_docker_image(tmp_path: Path) -> None:
    text = apptainer.definition("b2env/user:debian12-x", "debian12")
    assert text.startswith("Bootstrap: docker-daemon\nFrom: b2env/user:debian12-x\n")
    assert "org.b2env.managed true" in text
    cfg = Config(os="debian12", state_dir=str(tmp_path))
    assert apptainer.build_argv(cfg, tmp_path / "x.def")[:2] == ["apptainer", "build"]


def test_compose_file_services() -> None:
    data = yaml.safe_load((REPO / "compose.yaml").read_text())
    shell, grid = data["services"]["b2env"], data["services"]["mock-grid"]
    assert shell["image"] == "${B2ENV_IMAGE:-b2env/user:debian12}"
    assert shell["user"] == "${B2ENV_UID:-1000}:${B2ENV_GID:-1000}"
    cvmfs = next(v for v in shell["volumes"] if v["target"] == "/cvmfs")
    assert cvmfs["read_only"] and cvmfs["source"] == "${B2ENV_CVMFS_DIR:-/cvmfs}"
    assert grid["profiles"] == ["mock"] and grid["container_name"] == "b2env-mock-grid"
    assert grid["networks"]["b2env-grid"]["aliases"] == ["mock-grid"]
    assert "b2env-mock-grid-data:/var/lib/mock-grid" in grid["volumes"]
    assert grid["healthcheck"]["test"] == ["CMD", "python3", "/opt/mock-grid/healthcheck.py"]


def test_compose_plugin_link(tmp_path: Path) -> None:
    env = {"DOCKER_CONFIG": str(tmp_path / "dc"), "HOME": str(tmp_path)}
    assert compose.plugin_path(env) == tmp_path / "dc" / "cli-plugins" / "docker-compose"
    link = compose.install_plugin(env)
    assert link.is_symlink() and link.resolve() == compose.compose_binary().resolve()
    assert compose.install_plugin(env) == link  # idempotent
    argv = compose.compose_argv("config", profiles=["mock"])
    assert argv[1:] == ["-f", str(compose.COMPOSE_FILE), "--profile", "mock", "config"]


def test_runs_use_the_last_built_os_only_when_none_is_configured(tmp_path: Path) -> None:
    state = str(tmp_path / "state")
    unset = Config(os="el9", state_dir=state, sources={"os": "default"})
    assert images.with_run_os(unset).os == "el9"
    images.remember_built_os(Config(os="debian12", state_dir=state))
    chosen = images.with_run_os(unset)
    assert (chosen.os, chosen.sources["os"]) == ("debian12", "last inv image.build")
    configured = Config(os="el9", state_dir=state, sources={"os": "env B2ENV_OS"})
    assert images.with_run_os(configured).os == "el9"
