"""The engine layer on the real Docker engine: build, reuse, run as the caller, helpers."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from b2env import bootstrap, compose, container, engine, images, runner
from b2env.config import Config
from b2env.container import Mount

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cfg(mock_cfg: Config) -> Config:
    """No CVMFS, real grid mode: the engine layer alone."""
    return mock_cfg.with_overrides(cvmfs_mode="none", grid_mode="real")


def run_in(cfg: Config, user_image: str, argv: list[str], **kw: object) -> runner.Completed:
    spec = container.run_spec(cfg, argv, interactive=False, image=user_image, **kw)  # type: ignore[arg-type]
    return container.execute(spec, capture=True)


def test_rebuild_with_nothing_changed_is_fast(user_image: str, mock_cfg: Config) -> None:
    started = time.monotonic()
    assert images.ensure_user_image(mock_cfg) == user_image
    assert time.monotonic() - started < 3
    assert user_image.startswith("b2env/user:debian12-")


def test_user_image_is_small_and_labelled(user_image: str) -> None:
    image = engine.client().images.get(user_image)
    assert image.attrs["Size"] < 400e6
    assert image.labels["org.b2env.managed"] == "true"
    assert engine.image_id(images.user_tag("debian12")) == image.id


def test_runs_as_the_caller(cfg: Config, user_image: str) -> None:
    done = run_in(cfg, user_image, ["id", "-u"])
    assert (done.returncode, done.stdout.strip()) == (0, str(os.getuid()))


def test_any_uid_gets_a_name_a_home_and_owns_its_files(
    cfg: Config, user_image: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "getuid", lambda: 4242)
    monkeypatch.setattr(os, "getgid", lambda: 4343)
    monkeypatch.setenv("USER", "alex")
    work = cfg.work_path
    work.chmod(0o777)
    script = "id -nu; id -gn; touch $HOME/probe && echo home-ok; touch made-here; pwd"
    done = run_in(cfg, user_image, ["sh", "-c", script])
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["alex", "alex", "home-ok", str(work)]
    made = work / "made-here"
    assert (made.stat().st_uid, made.stat().st_gid) == (4242, 4343)
    made.unlink()


def test_exit_code_and_environment(cfg: Config, user_image: str,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("B2ENV_TEST_SECRET", "must-not-leak")
    done = run_in(cfg, user_image, ["sh", "-c", "env; exit 7"])
    assert done.returncode == 7
    assert "must-not-leak" not in done.stdout
    assert f"X509_USER_PROXY={cfg.proxy_file}" in done.stdout
    assert "LANG=C.UTF-8" in done.stdout


def test_one_shot_containers_are_removed_unless_kept(
    cfg: Config, user_image: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = container.run_spec(cfg, ["true"], interactive=False, image=user_image)
    container.execute(spec, capture=True)
    assert not engine.client().containers.list(all=True, filters={"name": spec.name})
    monkeypatch.setenv("B2ENV_KEEP_CONTAINERS", "1")
    kept = container.run_spec(cfg, ["true"], interactive=False, image=user_image)
    container.execute(kept, capture=True)
    try:
        found = engine.client().containers.get(kept.name)
        assert found.labels["org.b2env.kind"] == "run"
        assert found.labels["org.b2env.workdir"] == str(cfg.work_path)
    finally:
        engine.client().containers.get(kept.name).remove()


def fake_cvmfs(root: Path) -> Path:
    """A tiny /cvmfs with a b2setup that knows one release and a gbasf2 bashrc."""
    tools = root / "belle.cern.ch" / "tools"
    tools.mkdir(parents=True)
    (tools / "b2setup").write_text(  # like the real one, arguments mean "set up this release"
        'if [ $# -gt 0 ]; then echo "b2setup: unexpected arguments: $*" >&2; return 2; fi\n'
        'echo "tools set up"\n'
        'b2setup() { if [ "$1" = release-08-00-00 ]; then export BELLE2_RELEASE=$1; '
        'else echo "Error: No central release $1 found." >&2; return 1; fi; }\n'
    )
    gbasf2 = root / "belle.kek.jp" / "grid" / "gbasf2" / "pro"
    gbasf2.mkdir(parents=True)
    (gbasf2 / "bashrc").write_text(
        'echo "gbasf2 set up for $2"\nexport GBASF2_GROUP=$2\n'
    )
    return root


def test_with_basf2_sets_up_a_release_or_fails_with_its_message(
    cfg: Config, user_image: str, tmp_path: Path
) -> None:
    cvmfs = [Mount(str(fake_cvmfs(tmp_path / "cvmfs")), "/cvmfs")]
    ok = run_in(cfg, user_image, container.with_basf2(
        "release-08-00-00", ["sh", "-c", "echo $BELLE2_RELEASE $BELLE2_NO_TOOLS_CHECK"]),
        mounts=cvmfs)
    assert (ok.returncode, ok.stdout.strip()) == (0, "release-08-00-00 1")
    assert "tools set up" in ok.stderr
    bad = run_in(cfg, user_image, container.with_basf2("release-99-00-00", ["true"]),
                 mounts=cvmfs)
    assert bad.returncode == 1
    assert "No central release release-99-00-00 found" in bad.stderr
    none = run_in(cfg, user_image, container.with_basf2("release-08-00-00", ["true"]))
    assert none.returncode == 1 and "not mounted" in none.stderr


def test_with_gbasf2_runs_in_a_clean_environment(
    cfg: Config, user_image: str, tmp_path: Path
) -> None:
    cvmfs = [Mount(str(fake_cvmfs(tmp_path / "cvmfs")), "/cvmfs")]
    argv = container.with_gbasf2(cfg.with_overrides(group="belle_starterkit"), ["env"])
    done = run_in(cfg, user_image, argv, mounts=cvmfs, env={"BELLE2_RELEASE": "leak"})
    assert done.returncode == 0, done.stderr
    names = {line.split("=", 1)[0] for line in done.stdout.splitlines()}
    assert "BELLE2_RELEASE" not in names and "BELLE2_NO_TOOLS_CHECK" not in names
    assert {"HOME", "USER", "LANG", "X509_USER_PROXY", "GBASF2_GROUP"} <= names
    assert "GBASF2_GROUP=belle_starterkit" in done.stdout
    assert "gbasf2 set up for belle_starterkit" in done.stderr


def inv(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "B2ENV_OS": "debian12", "B2ENV_CVMFS_MODE": "none",
            "B2ENV_GRID_MODE": "real", **(env or {})}
    return subprocess.run([sys.executable, "-m", "b2env.cli", *args], cwd=cwd, env=full,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)


def test_shell_task_returns_the_command_and_its_code(user_image: str, tmp_path: Path) -> None:
    assert inv("shell", "--", "id", "-u", cwd=tmp_path).stdout.strip() == str(os.getuid())
    assert inv("shell", "--", "sh", "-c", "exit 7", cwd=tmp_path).returncode == 7
    quoted = inv("shell", "--", "sh", "-c", "echo 'a  b'", cwd=tmp_path)
    assert quoted.stdout == "a  b\n"


def test_shell_dry_run_prints_the_docker_line(user_image: str, tmp_path: Path) -> None:
    done = inv("shell", "--dry-run", "--", "id", cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout.startswith("docker run --pull never ")
    assert f"source={tmp_path},target={tmp_path}" in done.stdout
    assert done.stdout.rstrip().endswith(" id")


def test_stopped_engine_is_one_message(tmp_path: Path) -> None:
    done = inv("image.list", cwd=tmp_path, env={"DOCKER_HOST": "unix:///nonexistent/b2env.sock"})
    assert done.returncode == 3
    assert done.stderr.count("error:") == 1 and "Traceback" not in done.stderr


def test_lock_verify_catches_a_moved_tag(user_image: str, tmp_path: Path) -> None:
    sdk = engine.client()
    floating = f"b2env/locktest:{secrets.token_hex(4)}"
    sdk.images.get(user_image).tag(floating)
    try:
        entry = {"ref": floating, "floating": floating, "id": engine.image_id(user_image) or ""}
        lock = tmp_path / "b2env.lock"
        images.write_lock(lock, "debian12", {"base": entry, "image": entry})
        assert all(f.ok for f in images.verify_lock(lock))
        base_id = sdk.images.get(user_image).attrs["Parent"] or "b2env/base:debian12"
        sdk.images.get(base_id).tag(floating)
        assert not any(f.ok for f in images.verify_lock(lock))
    finally:
        sdk.images.remove(floating)


def test_compose_file_validates(tmp_path: Path) -> None:
    done = runner.run(compose.compose_argv("--profile", "mock", "config", "--quiet"), check=False)
    assert done.returncode == 0, done.stderr


def test_el9_base_is_pulled_or_refused_cleanly(tmp_path: Path) -> None:
    """Where a registry answers, el9 builds; where none does (this host), one clean message."""
    done = inv("image.build", "--os", "el9", cwd=tmp_path)
    assert "Traceback" not in done.stderr
    if done.returncode == 0:
        assert done.stdout.startswith("b2env/user:el9-")
    else:
        assert done.returncode == 4
        assert done.stderr.count("error:") == 1
        assert "cannot get a base image for 'el9' (almalinux:9)" in done.stderr


def test_failed_build_leaves_no_tag_and_shows_the_evidence(user_image: str, tmp_path: Path) -> None:
    context = tmp_path / "broken"
    context.mkdir()
    (context / "Dockerfile").write_text(
        "ARG BASE\nFROM ${BASE}\nRUN echo b2env-build-evidence && exit 3\n")
    with pytest.raises(images.ImageError, match="building b2env/h1-broken-test:") as err:
        images.build_context_image("h1-broken-test", context, base=user_image)
    assert any("b2env-build-evidence" in line for line in err.value.evidence)
    tags = [t for i in engine.client().images.list("b2env/h1-broken-test") for t in i.tags]
    assert tags == []


def test_bootstrap_reuses_the_base_and_rootfs_comes_from_the_host_mirror(tmp_path: Path) -> None:
    lines = bootstrap.mirror_lines("bookworm", bootstrap.read_sources())
    started = time.monotonic()
    tag = bootstrap.bootstrap_base("debian12")
    assert time.monotonic() - started < 3
    assert tag == bootstrap.base_tag("debian12", lines)
    assert engine.client().images.get(tag).labels["org.b2env.source"] == "bootstrap"


@pytest.mark.slow
def test_rootfs_bootstrap_from_the_host_mirror(tmp_path: Path) -> None:
    lines = bootstrap.mirror_lines("bookworm", bootstrap.read_sources())
    tarball = tmp_path / "rootfs.tar"
    bootstrap._make_rootfs("bookworm", lines, tarball)
    with tarfile.open(tarball) as tar:
        names = set(tar.getnames())
        assert {"./etc/debian_version", "./usr/bin/apt-get"} <= names
        sources = tar.extractfile("./etc/apt/sources.list")
        assert sources is not None and lines[0] in sources.read().decode()


def test_apptainer_engine_is_shown_or_said_missing(user_image: str, tmp_path: Path) -> None:
    env = {"B2ENV_ENGINE": "apptainer"}
    dry = inv("shell", "--dry-run", "--", "id", cwd=tmp_path, env=env)
    assert dry.returncode == 0
    assert "\napptainer exec --cleanenv " in dry.stdout
    if shutil.which("apptainer") is None:
        done = inv("image.build", "--engine", "apptainer", cwd=tmp_path, env=env)
        assert done.returncode == 9
        assert "'apptainer' was not found on PATH" in done.stderr


def test_compose_shell_service_runs_the_user_image(user_image: str, tmp_path: Path) -> None:
    cvmfs = tmp_path / "cvmfs"
    cvmfs.mkdir()
    (cvmfs / "MARKER").write_text("x")
    env = {**os.environ, "B2ENV_IMAGE": user_image, "B2ENV_WORKDIR": str(tmp_path),
           "B2ENV_UID": str(os.getuid()), "B2ENV_GID": str(os.getgid()),
           "B2ENV_CVMFS_DIR": str(cvmfs)}
    argv = compose.compose_argv("run", "--rm", "-T", "b2env", "sh", "-c", "id -u; pwd; ls /cvmfs")
    done = runner.run(argv, env=env, check=False, timeout=180)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(os.getuid()), str(tmp_path), "MARKER"]
